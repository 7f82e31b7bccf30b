#include "../ops/pack_rgba/pack_rgba.hpp"

#include "convert.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

ALPHACUT_REGISTER_BINDINGS(bind_pack_rgba) {
    m.def(
        "pack_rgba_cpu",
        [](py::array image, py::array alpha, py::object fg, int fg_y0, int fg_x0) {
            auto i = view_of<unsigned char>(image, "image");
            auto a = view_of<float>(alpha, "alpha");
            ImageView<float> f;
            if (!fg.is_none()) f = view_of<float>(py::cast<py::array>(fg), "foreground");
            auto out = new_image<unsigned char>(i.height, i.width, 4);
            auto o = view_of<unsigned char>(out, "out", true);
            {
                py::gil_scoped_release nogil;
                pack_rgba_cpu(as_const(i), as_const(a), as_const(f), fg_y0, fg_x0, o);
            }
            return out;
        },
        py::arg("image"), py::arg("alpha"), py::arg("foreground") = py::none(), py::arg("fg_y0") = 0,
        py::arg("fg_x0") = 0,
        "(H, W, 4) uint8 cutout from a uint8 (H, W, 3) image, float32 (H, W) alpha and an optional float32 "
        "(h, w, 3) foreground colour of the rectangle at (fg_y0, fg_x0).");
    m.def(
        "pack_rgba_patch_cpu",
        [](py::array image, py::array fg, int fg_y0, int fg_x0, py::array out) {
            auto i = view_of<unsigned char>(image, "image");
            auto f = view_of<float>(fg, "foreground");
            auto o = view_of<unsigned char>(out, "out", true);
            {
                py::gil_scoped_release nogil;
                pack_rgba_patch_cpu(as_const(i), as_const(f), fg_y0, fg_x0, o);
            }
        },
        py::arg("image"), py::arg("foreground"), py::arg("fg_y0"), py::arg("fg_x0"), py::arg("out"),
        "In place: the colour of the soft pixels of the (H, W, 4) uint8 `out` inside the rectangle of the float32 "
        "(h, w, 3) foreground at (fg_y0, fg_x0) becomes round(255 * foreground).");
}
