#include <cstdint>

#include "../ops/make_trimap/make_trimap.hpp"
#include "convert.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

ALPHACUT_REGISTER_BINDINGS(bind_make_trimap) {
    m.def(
        "make_trimap_cpu",
        [](py::array prob, double fg_threshold, double bg_threshold, int radius) {
            ALPHACUT_CHECK(prob.ndim() == 2, "prob: expected an (H, W) array, got " << prob.ndim() << " dimensions");
            const int h = static_cast<int>(prob.shape(0)), w = static_cast<int>(prob.shape(1));
            auto out = new_image<std::uint8_t>(h, w);
            auto o = view_of<std::uint8_t>(out, "out", true);
            const float fg = static_cast<float>(fg_threshold), bg = static_cast<float>(bg_threshold);
            if (py::dtype::of<std::uint8_t>().is(prob.dtype())) {
                auto p = view_of<std::uint8_t>(prob, "prob");
                py::gil_scoped_release nogil;
                make_trimap_cpu(as_const(p), fg, bg, radius, o);
            } else if (py::dtype::of<float>().is(prob.dtype())) {
                auto p = view_of<float>(prob, "prob");
                py::gil_scoped_release nogil;
                make_trimap_cpu(as_const(p), fg, bg, radius, o);
            } else {
                auto p = view_of<double>(prob, "prob");  // raises for any other dtype
                py::gil_scoped_release nogil;
                make_trimap_cpu(as_const(p), fg_threshold, bg_threshold, radius, o);
            }
            return out;
        },
        py::arg("prob"), py::arg("fg_threshold"), py::arg("bg_threshold"), py::arg("radius"),
        "(H, W) uint8 trimap 0/128/255 from prob (H, W) uint8 (as prob / 255), float32 or float64: sure "
        "foreground = erode(prob >= fg_threshold, r), sure background = erode(prob <= bg_threshold, r).");
}
