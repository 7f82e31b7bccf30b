#include <cstdint>

#include "../ops/pack_rgba/pack_rgba.hpp"
#include "convert.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

ALPHACUT_REGISTER_BINDINGS(bind_pack_rgba) {
    m.def(
        "pack_rgba_cpu",
        [](py::array rgb, py::array alpha) {
            auto s = view_of<std::uint8_t>(rgb, "image");
            auto a = view_of<float>(alpha, "alpha");
            auto out = new_image<std::uint8_t>(s.height, s.width, 4);
            auto o = view_of<std::uint8_t>(out, "out", true);
            {
                py::gil_scoped_release nogil;
                pack_rgba_cpu(as_const(s), as_const(a), o);
            }
            return out;
        },
        py::arg("image"), py::arg("alpha"),
        "uint8 (H, W, 3) + float32 alpha (H, W) in [0, 1] -> uint8 (H, W, 4), alpha = round(255 * a).");
}
