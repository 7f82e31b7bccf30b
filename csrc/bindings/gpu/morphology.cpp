// dilate / erode / make_trimap on the GPU backends (<op>_cuda, <op>_emu).
#include <cstdint>
#include <string>

#include "../../ops/make_trimap/make_trimap_cuda.hpp"
#include "../../ops/morphology/morphology_cuda.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

namespace {

// Calls f(view) with the mask viewed as uint8 (also for bool), float32 or float64.
template <typename F>
void with_mask(GpuCall& call, py::handle mask, const char* name, F&& f) {
    const std::string t = element_typestr(mask);
    if (t == "|u1" || t == "|b1")
        f(call.input<std::uint8_t>(mask, name));
    else if (t == "<f4")
        f(call.input<float>(mask, name));
    else if (t == "<f8")
        f(call.input<double>(mask, name));
    else
        ALPHACUT_CHECK(false, name << ": dtype " << t << " is not supported (bool, uint8, float32, float64)");
}

py::object morph(py::object mask, int radius, bool erode_, std::uintptr_t stream) {
    GpuCall call(stream);
    with_mask(call, mask, "mask", [&](auto m) {
        ALPHACUT_CHECK(m.channels == 1, "mask: expected an (H, W) array");
        auto o = call.output_image<std::uint8_t>(m.height, m.width, 1, false, "|b1");
        py::gil_scoped_release nogil;
        if (erode_)
            erode(m, radius, o, call.stream());
        else
            dilate(m, radius, o, call.stream());
    });
    return call.finish();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_morphology_gpu) {
    m.def(
        "dilate" ALPHACUT_GPU_SUFFIX,
        [](py::object mask, int radius, std::uintptr_t stream) { return morph(mask, radius, false, stream); },
        py::arg("mask"), py::arg("radius"), py::kw_only(), py::arg("stream") = 0,
        "Binary dilation, square (2r+1)^2 element, outside = background, on " ALPHACUT_GPU_NAME "; bool (H, W).");
    m.def(
        "erode" ALPHACUT_GPU_SUFFIX,
        [](py::object mask, int radius, std::uintptr_t stream) { return morph(mask, radius, true, stream); },
        py::arg("mask"), py::arg("radius"), py::kw_only(), py::arg("stream") = 0,
        "Binary erosion, square (2r+1)^2 element, outside = foreground, on " ALPHACUT_GPU_NAME "; bool (H, W).");
    m.def(
        "make_trimap" ALPHACUT_GPU_SUFFIX,
        [](py::object prob, double fg_threshold, double bg_threshold, int radius, std::uintptr_t stream) {
            GpuCall call(stream);
            with_mask(call, prob, "prob", [&](auto p) {
                ALPHACUT_CHECK(p.channels == 1, "prob: expected an (H, W) array");
                auto o = call.output_image<std::uint8_t>(p.height, p.width, 1, false);
                using T = std::remove_const_t<std::remove_reference_t<decltype(*p.data)>>;
                py::gil_scoped_release nogil;
                if constexpr (std::is_same_v<T, double>)
                    make_trimap<double, double>(p, fg_threshold, bg_threshold, radius, o, call.stream());
                else
                    make_trimap<T, float>(p, static_cast<float>(fg_threshold), static_cast<float>(bg_threshold),
                                          radius, o, call.stream());
            });
            return call.finish();
        },
        py::arg("prob"), py::arg("fg_threshold"), py::arg("bg_threshold"), py::arg("radius"), py::kw_only(),
        py::arg("stream") = 0,
        "(H, W) uint8 trimap 0/128/255 on " ALPHACUT_GPU_NAME ": sure foreground = erode(prob >= fg_threshold, r), "
        "sure background = erode(prob <= bg_threshold, r).");
}
