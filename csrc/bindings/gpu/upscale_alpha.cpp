// upscale_alpha / area_downscale on the GPU backends (<op>_cuda, <op>_emu).
#include <cstdint>

#include "../../ops/upscale_alpha/upscale_alpha_cuda.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

ALPHACUT_REGISTER_BINDINGS(bind_upscale_alpha_gpu) {
    m.def(
        "upscale_alpha" ALPHACUT_GPU_SUFFIX,
        [](py::object alpha_low, py::object guide_full, int radius, double eps, std::uintptr_t stream) {
            GpuCall call(stream);
            auto run = [&](auto a) {
                auto go = [&](auto g) {
                    auto o = call.output_image<float>(g.height, g.width, 1, false);
                    py::gil_scoped_release nogil;
                    upscale_alpha(a, g, radius, eps, o, call.stream());
                };
                if (element_is_u8(guide_full))
                    go(call.input<std::uint8_t>(guide_full, "guide_full"));
                else
                    go(call.input<float>(guide_full, "guide_full"));
            };
            if (element_is_u8(alpha_low))
                run(call.input<std::uint8_t>(alpha_low, "alpha_low"));
            else
                run(call.input<float>(alpha_low, "alpha_low"));
            return call.finish();
        },
        py::arg("alpha_low"), py::arg("guide_full"), py::arg("radius"), py::arg("eps"), py::kw_only(),
        py::arg("stream") = 0,
        "Fast guided upsampling on " ALPHACUT_GPU_NAME ": alpha_low (h, w), guide_full (H, W[, 3]), uint8 or "
        "float32; returns float32 (H, W) in [0, 1].");
    m.def(
        "area_downscale" ALPHACUT_GPU_SUFFIX,
        [](py::object src, int h, int w, std::uintptr_t stream) {
            GpuCall call(stream);
            auto go = [&](auto s) {
                auto o = call.output_image<float>(h, w, s.channels, false);
                py::gil_scoped_release nogil;
                area_downscale(s, o, call.stream());
            };
            ALPHACUT_CHECK(h > 0 && w > 0, "area_downscale: size must be positive");
            if (element_is_u8(src))
                go(call.input<std::uint8_t>(src, "src"));
            else
                go(call.input<float>(src, "src"));
            return call.finish();
        },
        py::arg("src"), py::arg("height"), py::arg("width"), py::kw_only(), py::arg("stream") = 0,
        "Area-average (H, W[, C]) down to (height, width[, C]) float32 on " ALPHACUT_GPU_NAME ".");
}
