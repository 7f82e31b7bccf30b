// guided_filter, guided_filter_coefficients for every backend (see call.hpp).
#include "../ops/guided_filter/guided_filter.hpp"

#include "call.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/guided_filter/guided_filter_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

// f(guide_view, src_view) with each viewed as uint8 or float32, whichever it is.
template <typename F>
void with_inputs(Call& call, py::handle guide, py::handle src, F&& f) {
    with_u8_or_f32(call, guide, "guide", [&](auto g) { with_u8_or_f32(call, src, "src", [&](auto s) { f(g, s); }); });
}

Result<py::array_t<float>> guided_filter_entry(Call& call, Array guide, Array src, int radius, double eps) {
    with_inputs(call, guide, src, [&](auto g, auto s) {
        auto o = call.output_image<float>(g.height, g.width, 1, false);
        ALPHACUT_RUN(call, guided_filter, g, s, radius, eps, o);
    });
    return call.finish();
}

Result<py::typing::Tuple<py::array_t<float>, py::array_t<float>>> guided_filter_coefficients_entry(
    Call& call, Array guide, Array src, int radius, double eps) {
    with_inputs(call, guide, src, [&](auto g, auto s) {
        auto a = call.output_image<float>(g.height, g.width, g.channels, true);
        auto b = call.output_image<float>(g.height, g.width, 1, false);
        ALPHACUT_RUN(call, guided_filter_coefficients, g, s, radius, eps, a, b);
    });
    return call.finish();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_guided_filter) {
#if ALPHACUT_BINDINGS_GPU
    // Radii up to this (clipped to the image width - 1) run the fused two-kernel path; wider
    // ones the multi-pass kernels. The results agree either way; the tests cover both sides.
    m.attr("guided_filter_fused_max_radius" ALPHACUT_GPU_SUFFIX) = ::alphacut::ALPHACUT_GPU_NS::kGuidedFusedMaxRadius;
#endif
    def<&guided_filter_entry>(m, "guided_filter",
                              "Guided filter q = mean(a) . I + mean(b) over clipped (2r+1)^2 windows. guide (H, W) "
                              "or (H, W, 3), src (H, W); each uint8 (scaled by 1/255) or float32. Returns float32 "
                              "(H, W).",
                              py::arg("guide"), py::arg("src"), py::arg("radius"), py::arg("eps"));
    def<&guided_filter_coefficients_entry>(
        m, "guided_filter_coefficients",
        "The box-averaged guided-filter coefficients (mean_a float32 (H, W, C), mean_b float32 (H, W)), so that "
        "q = mean_a . I + mean_b; mean_a keeps its channel axis, (H, W, 1) for a grey guide.",
        py::arg("guide"), py::arg("src"), py::arg("radius"), py::arg("eps"));
}
