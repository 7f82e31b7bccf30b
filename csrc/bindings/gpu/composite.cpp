// composite / premultiply / unpremultiply on the GPU backends (<op>_cuda, <op>_emu).
#include "../../ops/composite/composite_cuda.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

namespace {

py::object blend(py::object image, py::object alpha, std::uintptr_t stream, bool un) {
    GpuCall call(stream);
    auto i = call.input<float>(image, "image");
    auto a = call.input<float>(alpha, "alpha");
    auto o = call.output_image<float>(i.height, i.width, i.channels, true);
    {
        py::gil_scoped_release nogil;
        if (un)
            unpremultiply(i, a, o, call.stream());
        else
            premultiply(i, a, o, call.stream());
    }
    return call.finish();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_composite_gpu) {
    m.def(
        "composite" ALPHACUT_GPU_SUFFIX,
        [](py::object fg, py::object alpha, py::object bg, std::uintptr_t stream) {
            GpuCall call(stream);
            auto f = call.input<float>(fg, "foreground");
            auto a = call.input<float>(alpha, "alpha");
            auto b = call.input<float>(bg, "background");
            auto o = call.output_image<float>(f.height, f.width, f.channels, true);
            {
                py::gil_scoped_release nogil;
                composite(f, a, b, o, call.stream());
            }
            return call.finish();
        },
        py::arg("foreground"), py::arg("alpha"), py::arg("background"), py::kw_only(), py::arg("stream") = 0,
        "out = alpha * foreground + (1 - alpha) * background on " ALPHACUT_GPU_NAME
        "; float32 (H, W, C), (H, W), (H, W, C). NumPy or __cuda_array_interface__ inputs.");
    m.def(
        "premultiply" ALPHACUT_GPU_SUFFIX,
        [](py::object image, py::object alpha, std::uintptr_t stream) { return blend(image, alpha, stream, false); },
        py::arg("image"), py::arg("alpha"), py::kw_only(), py::arg("stream") = 0,
        "out = alpha * image on " ALPHACUT_GPU_NAME "; float32.");
    m.def(
        "unpremultiply" ALPHACUT_GPU_SUFFIX,
        [](py::object image, py::object alpha, std::uintptr_t stream) { return blend(image, alpha, stream, true); },
        py::arg("image"), py::arg("alpha"), py::kw_only(), py::arg("stream") = 0,
        "out = image / alpha (0 where alpha == 0), clamped to [0, 1], on " ALPHACUT_GPU_NAME ".");
}
