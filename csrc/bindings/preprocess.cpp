#include <pybind11/stl.h>

#include <array>
#include <cstdint>

#include "../ops/preprocess/preprocess.hpp"
#include "convert.hpp"
#include "op_params.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

// Writes into `out`, a C-contiguous (1, 3, out_h, out_w) float32 or float16 array.
void run_into(py::array out, py::array image, float scale, std::array<float, 3> mean, std::array<float, 3> std,
              bool swap_rb) {
    auto src = view_of<std::uint8_t>(image, "image");
    ALPHACUT_CHECK(out.ndim() == 4 && out.shape(0) == 1 && out.shape(1) == 3,
                   "out: expected a (1, 3, H, W) array, got " << out.ndim() << " dimensions");
    ALPHACUT_CHECK(out.flags() & py::array::c_style, "out: must be C-contiguous");
    ALPHACUT_CHECK(out.writeable(), "out: array is read-only");
    const int oh = static_cast<int>(out.shape(2)), ow = static_cast<int>(out.shape(3));
    const auto p = bindings::preprocess_params(scale, mean, std, swap_rb);
    if (py::dtype::of<float>().is(out.dtype())) {
        auto* dst = static_cast<float*>(out.mutable_data());
        py::gil_scoped_release nogil;
        preprocess_cpu(as_const(src), oh, ow, p, dst);
    } else {
        ALPHACUT_CHECK(out.dtype().kind() == 'f' && out.itemsize() == 2,
                       "out: dtype must be float32 or float16, got " << std::string(py::str(out.dtype())));
        auto* dst = static_cast<std::uint16_t*>(out.mutable_data());
        py::gil_scoped_release nogil;
        preprocess_fp16_cpu(as_const(src), oh, ow, p, dst);
    }
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_preprocess) {
    m.def(
        "preprocess_cpu",
        [](py::array image, int out_h, int out_w, float scale, std::array<float, 3> mean, std::array<float, 3> std,
           bool swap_rb, bool fp16) {
            ALPHACUT_CHECK(out_h > 0 && out_w > 0, "preprocess: output size must be positive");
            py::array out(fp16 ? py::dtype("float16") : py::dtype::of<float>(),
                          std::vector<py::ssize_t>{1, 3, out_h, out_w});
            run_into(out, image, scale, mean, std, swap_rb);
            return out;
        },
        py::arg("image"), py::arg("out_h"), py::arg("out_w"), py::arg("scale"), py::arg("mean"), py::arg("std"),
        py::arg("swap_rb") = false, py::arg("fp16") = false,
        "Bilinear resize of uint8 (H, W, 3|4) to (out_h, out_w), then (v * scale - mean[c]) / std[c], as a "
        "(1, 3, out_h, out_w) float32 (or float16) array.");
    m.def("preprocess_into_cpu", &run_into, py::arg("out"), py::arg("image"), py::arg("scale"), py::arg("mean"),
          py::arg("std"), py::arg("swap_rb") = false,
          "preprocess written into `out`, a C-contiguous (1, 3, H, W) float32 or float16 array.");
}
