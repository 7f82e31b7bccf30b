#include "../ops/upscale_alpha/upscale_alpha.hpp"

#include <cstdint>

#include "convert.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;


ALPHACUT_REGISTER_BINDINGS(bind_upscale_alpha) {
    m.def(
        "upscale_alpha_cpu",
        [](py::array alpha_low, py::array guide_full, int radius, double eps) {
            check_image(alpha_low, "alpha_low");
            check_image(guide_full, "guide_full");
            auto out = new_image<float>(static_cast<int>(guide_full.shape(0)), static_cast<int>(guide_full.shape(1)));
            auto o = view_of<float>(out, "out", true);
            auto run = [&](auto a) {
                if (is_u8(guide_full)) {
                    auto g = as_const(view_of<std::uint8_t>(guide_full, "guide_full"));
                    py::gil_scoped_release nogil;
                    upscale_alpha_cpu(a, g, radius, eps, o);
                } else {
                    auto g = as_const(view_of<float>(guide_full, "guide_full"));
                    py::gil_scoped_release nogil;
                    upscale_alpha_cpu(a, g, radius, eps, o);
                }
            };
            if (is_u8(alpha_low))
                run(as_const(view_of<std::uint8_t>(alpha_low, "alpha_low")));
            else
                run(as_const(view_of<float>(alpha_low, "alpha_low")));
            return out;
        },
        py::arg("alpha_low"), py::arg("guide_full"), py::arg("radius"), py::arg("eps"),
        "Fast guided upsampling: alpha_low (h, w) and guide_full (H, W[, 3]), each uint8 (scaled by 1/255) or "
        "float32; returns float32 (H, W) in [0, 1].");
    m.def(
        "area_downscale_cpu",
        [](py::array src, int h, int w) {
            check_image(src, "src");
            ALPHACUT_CHECK(h > 0 && w > 0, "area_downscale: the target size must be positive, got (" << h << ", " << w << ")");
            const int c = src.ndim() == 3 ? static_cast<int>(src.shape(2)) : 1;
            auto out = new_image<float>(h, w, c);
            auto o = view_of<float>(out, "out", true);
            if (is_u8(src)) {
                auto s = as_const(view_of<std::uint8_t>(src, "src"));
                py::gil_scoped_release nogil;
                area_downscale_cpu(s, o);
            } else {
                auto s = as_const(view_of<float>(src, "src"));
                py::gil_scoped_release nogil;
                area_downscale_cpu(s, o);
            }
            return out;
        },
        py::arg("src"), py::arg("height"), py::arg("width"),
        "Area-average (H, W[, C]) down to (height, width[, C]) float32; uint8 is scaled by 1/255. The guide "
        "downscale inside upscale_alpha.");
}
