// upscale_alpha, area_downscale for every backend (see call.hpp).
#include "../ops/upscale_alpha/upscale_alpha.hpp"

#include "call.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/upscale_alpha/upscale_alpha_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

Result<py::array_t<float>> upscale_alpha_entry(Call& call, Array alpha_low, Array guide_full, int radius, double eps) {
    with_u8_or_f32(call, alpha_low, "alpha_low", [&](auto a) {
        with_u8_or_f32(call, guide_full, "guide_full", [&](auto g) {
            auto o = call.output_image<float>(g.height, g.width, 1, false);
            ALPHACUT_RUN(call, upscale_alpha, a, g, radius, eps, o);
        });
    });
    return call.finish();
}

#if !ALPHACUT_BINDINGS_GPU
// The CPU's fused step of the cutout (a device pipeline packs on the device after its foreground).
py::object upscale_alpha_rgba_entry(Call& call, Array alpha_low, Array guide_full, int radius, double eps) {
    auto g = call.input<std::uint8_t>(guide_full, "guide_full");
    ALPHACUT_CHECK(g.channels == 3, "guide_full must be (H, W, 3) uint8 RGB, got " << g.channels << " channels");
    with_u8_or_f32(call, alpha_low, "alpha_low", [&](auto a) {
        auto o = call.output_image<float>(g.height, g.width, 1, false);
        auto r = call.output_image<std::uint8_t>(g.height, g.width, 4, true);
        ALPHACUT_RUN(call, upscale_alpha_rgba, a, g, radius, eps, o, r);
    });
    return call.finish();
}
#endif

Result<py::array_t<float>> area_downscale_entry(Call& call, Array src, int h, int w) {
    ALPHACUT_CHECK(h > 0 && w > 0, "area_downscale: the target size must be positive, got (" << h << ", " << w << ")");
    with_u8_or_f32(call, src, "src", [&](auto s) {
        auto o = call.output_image<float>(h, w, s.channels, false);
        ALPHACUT_RUN(call, area_downscale, s, o);
    });
    return call.finish();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_upscale_alpha) {
#if !ALPHACUT_BINDINGS_GPU
    def<&upscale_alpha_rgba_entry>(m, "upscale_alpha_rgba",
                                   "upscale_alpha with a uint8 RGB guide_full (H, W, 3), each row of the alpha also "
                                   "packed as pack_rgba does (no foreground): returns (alpha (H, W) float32, "
                                   "rgba (H, W, 4) uint8).",
                                   py::arg("alpha_low"), py::arg("guide_full"), py::arg("radius"), py::arg("eps"));
#endif
    def<&upscale_alpha_entry>(m, "upscale_alpha",
                              "Fast guided upsampling: alpha_low (h, w) and guide_full (H, W[, 3]), each uint8 "
                              "(scaled by 1/255) or float32; returns float32 (H, W) in [0, 1].",
                              py::arg("alpha_low"), py::arg("guide_full"), py::arg("radius"), py::arg("eps"));
    def<&area_downscale_entry>(m, "area_downscale",
                               "Area-average (H, W[, C]) down to (height, width[, C]) float32; uint8 is scaled by "
                               "1/255. The guide downscale inside upscale_alpha.",
                               py::arg("src"), py::arg("height"), py::arg("width"));
}
