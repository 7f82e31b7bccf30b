// composite, premultiply, unpremultiply for every backend (see call.hpp).
#include "../ops/composite/composite.hpp"

#include "call.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/composite/composite_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

// The results have the image's (H, W, C); for C = 1 the CPU has always returned (H, W) and the
// GPU backends (H, W, 1).
constexpr bool kKeepChannelAxis = kGpu;

Result<py::array_t<float>> composite_entry(Call& call, Array fg, Array alpha, Array bg) {
    auto f = call.input<float>(fg, "foreground");
    auto a = call.input<float>(alpha, "alpha");
    auto b = call.input<float>(bg, "background");
    auto o = call.output_image<float>(f.height, f.width, f.channels, kKeepChannelAxis);
    ALPHACUT_RUN(call, composite, f, a, b, o);
    return call.finish();
}

Result<py::array_t<float>> premultiply_entry(Call& call, Array image, Array alpha) {
    auto i = call.input<float>(image, "image");
    auto a = call.input<float>(alpha, "alpha");
    auto o = call.output_image<float>(i.height, i.width, i.channels, kKeepChannelAxis);
    ALPHACUT_RUN(call, premultiply, i, a, o);
    return call.finish();
}

Result<py::array_t<float>> unpremultiply_entry(Call& call, Array image, Array alpha) {
    auto i = call.input<float>(image, "image");
    auto a = call.input<float>(alpha, "alpha");
    auto o = call.output_image<float>(i.height, i.width, i.channels, kKeepChannelAxis);
    ALPHACUT_RUN(call, unpremultiply, i, a, o);
    return call.finish();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_composite) {
    def<&composite_entry>(m, "composite",
                          "out = alpha * foreground + (1 - alpha) * background. foreground float32 (H, W, C), "
                          "alpha float32 (H, W), background float32 (H, W, C); returns float32 (H, W, C).",
                          py::arg("foreground"), py::arg("alpha"), py::arg("background"));
    def<&premultiply_entry>(m, "premultiply", "out = alpha * image; image float32 (H, W, C), alpha float32 (H, W).",
                            py::arg("image"), py::arg("alpha"));
    def<&unpremultiply_entry>(m, "unpremultiply",
                              "out = image / alpha (0 where alpha == 0), clamped to [0, 1]; image float32 (H, W, C), "
                              "alpha float32 (H, W).",
                              py::arg("image"), py::arg("alpha"));
}
