#include "../ops/composite/composite.hpp"

#include "convert.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

ALPHACUT_REGISTER_BINDINGS(bind_composite) {
    m.def(
        "composite_cpu",
        [](py::array fg, py::array alpha, py::array bg) {
            auto f = view_of<float>(fg, "foreground");
            auto a = view_of<float>(alpha, "alpha");
            auto b = view_of<float>(bg, "background");
            auto out = new_image<float>(f.height, f.width, f.channels);
            auto o = view_of<float>(out, "out", true);
            {
                py::gil_scoped_release nogil;
                composite_cpu(as_const(f), as_const(a), as_const(b), o);
            }
            return out;
        },
        py::arg("foreground"), py::arg("alpha"), py::arg("background"),
        "out = alpha * foreground + (1 - alpha) * background; float32 (H, W, C), (H, W), (H, W, C).");
    m.def(
        "premultiply_cpu",
        [](py::array image, py::array alpha) {
            auto i = view_of<float>(image, "image");
            auto a = view_of<float>(alpha, "alpha");
            auto out = new_image<float>(i.height, i.width, i.channels);
            auto o = view_of<float>(out, "out", true);
            {
                py::gil_scoped_release nogil;
                premultiply_cpu(as_const(i), as_const(a), o);
            }
            return out;
        },
        py::arg("image"), py::arg("alpha"), "out = alpha * image; float32.");
    m.def(
        "unpremultiply_cpu",
        [](py::array image, py::array alpha) {
            auto i = view_of<float>(image, "image");
            auto a = view_of<float>(alpha, "alpha");
            auto out = new_image<float>(i.height, i.width, i.channels);
            auto o = view_of<float>(out, "out", true);
            {
                py::gil_scoped_release nogil;
                unpremultiply_cpu(as_const(i), as_const(a), o);
            }
            return out;
        },
        py::arg("image"), py::arg("alpha"), "out = image / alpha (0 where alpha == 0), clamped to [0, 1].");
}
