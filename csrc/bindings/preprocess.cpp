// preprocess, preprocess_into for every backend (see call.hpp).
#include "../ops/preprocess/preprocess.hpp"

#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <vector>

#include "call.hpp"
#include "op_params.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/preprocess/preprocess_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

using Channels = std::array<float, 3>;

Result<py::array> preprocess_entry(Call& call, Array image, int out_h, int out_w, float scale, Channels mean,
                                   Channels std, bool swap_rb, bool fp16) {
    ALPHACUT_CHECK(out_h > 0 && out_w > 0, "preprocess: output size must be positive");
    auto src = call.input<std::uint8_t>(image, "image");
    const auto p = preprocess_params(scale, mean, std, swap_rb);
    const std::vector<py::ssize_t> shape{1, 3, out_h, out_w};
    if (fp16) {
        auto* out = call.output<std::uint16_t>(shape);
        ALPHACUT_RUN(call, preprocess_fp16, src, out_h, out_w, p, out);
    } else {
        auto* out = call.output<float>(shape);
        ALPHACUT_RUN(call, preprocess, src, out_h, out_w, p, out);
    }
    return call.finish();
}

void preprocess_into_entry(Call& call, Array out, Array image, float scale, Channels mean, Channels std, bool swap_rb) {
    auto t = call.target(out, "out");
    ALPHACUT_CHECK(t.shape.size() == 4 && t.shape[0] == 1 && t.shape[1] == 3,
                   "out: expected a (1, 3, H, W) array, got shape " << shape_str(t.shape));
    ALPHACUT_CHECK(t.typestr == "<f4" || t.typestr == "<f2",
                   "out: dtype must be float32 (<f4) or float16 (<f2), got " << t.typestr);
    auto src = call.input<std::uint8_t>(image, "image");
    const int oh = static_cast<int>(t.shape[2]), ow = static_cast<int>(t.shape[3]);
    const auto p = preprocess_params(scale, mean, std, swap_rb);
    if (t.typestr == "<f4")
        ALPHACUT_RUN(call, preprocess, src, oh, ow, p, reinterpret_cast<float*>(t.ptr));
    else
        ALPHACUT_RUN(call, preprocess_fp16, src, oh, ow, p, reinterpret_cast<std::uint16_t*>(t.ptr));
    call.complete();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_preprocess) {
    def<&preprocess_entry>(m, "preprocess",
                           "Bilinear resize of uint8 (H, W, 3|4) to (out_h, out_w), then (v * scale - mean[c]) / "
                           "std[c], as a (1, 3, out_h, out_w) float32 (or float16) array (HWC -> NCHW).",
                           py::arg("image"), py::arg("out_h"), py::arg("out_w"), py::arg("scale"), py::arg("mean"),
                           py::arg("std"), py::arg("swap_rb") = false, py::arg("fp16") = false);
    def<&preprocess_into_entry>(m, "preprocess_into",
                                "preprocess written into `out`, a C-contiguous (1, 3, H, W) float32 or float16 array "
                                "(on the GPU backends a device array, e.g. a network's input binding).",
                                py::arg("out"), py::arg("image"), py::arg("scale"), py::arg("mean"), py::arg("std"),
                                py::arg("swap_rb") = false);
}
