// guided_filter / guided_filter_coefficients on the GPU backends (<op>_cuda, <op>_emu).
#include <cstdint>

#include "../../ops/guided_filter/guided_filter_cuda.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

namespace {

// Call f(guide_view, src_view) with each input viewed as uint8 or float32, whichever it is.
template <typename F>
void with_inputs(GpuCall& call, py::handle guide, py::handle src, F&& f) {
    if (element_is_u8(guide)) {
        auto g = call.input<std::uint8_t>(guide, "guide");
        if (element_is_u8(src))
            f(g, call.input<std::uint8_t>(src, "src"));
        else
            f(g, call.input<float>(src, "src"));
    } else {
        auto g = call.input<float>(guide, "guide");
        if (element_is_u8(src))
            f(g, call.input<std::uint8_t>(src, "src"));
        else
            f(g, call.input<float>(src, "src"));
    }
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_guided_filter_gpu) {
    // Radii up to this (clipped to the image width - 1) run the fused two-kernel path; wider
    // ones the multi-pass kernels. The results agree either way; the tests cover both sides.
    m.attr("guided_filter_fused_max_radius" ALPHACUT_GPU_SUFFIX) = kGuidedFusedMaxRadius;
    m.def(
        "guided_filter" ALPHACUT_GPU_SUFFIX,
        [](py::object guide, py::object src, int radius, double eps, std::uintptr_t stream) {
            GpuCall call(stream);
            with_inputs(call, guide, src, [&](auto g, auto s) {
                auto o = call.output_image<float>(g.height, g.width, 1, false);
                py::gil_scoped_release nogil;
                guided_filter(g, s, radius, eps, o, call.stream());
            });
            return call.finish();
        },
        py::arg("guide"), py::arg("src"), py::arg("radius"), py::arg("eps"), py::kw_only(), py::arg("stream") = 0,
        "Guided filter q = mean(a) . I + mean(b) on " ALPHACUT_GPU_NAME
        "; guide (H, W) or (H, W, 3), src (H, W), uint8 (scaled by 1/255) or float32. Returns float32 (H, W).");
    m.def(
        "guided_filter_coefficients" ALPHACUT_GPU_SUFFIX,
        [](py::object guide, py::object src, int radius, double eps, std::uintptr_t stream) {
            GpuCall call(stream);
            with_inputs(call, guide, src, [&](auto g, auto s) {
                // mean_a keeps its channel axis, (H, W, 1) for a grey guide, as the CPU op returns it.
                auto a = call.output_image<float>(g.height, g.width, g.channels, true);
                auto b = call.output_image<float>(g.height, g.width, 1, false);
                py::gil_scoped_release nogil;
                guided_filter_coefficients(g, s, radius, eps, a, b, call.stream());
            });
            return call.finish();
        },
        py::arg("guide"), py::arg("src"), py::arg("radius"), py::arg("eps"), py::kw_only(), py::arg("stream") = 0,
        "The box-averaged coefficients (mean_a (H, W, C), mean_b (H, W)) on " ALPHACUT_GPU_NAME ".");
}
