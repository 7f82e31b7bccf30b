// preprocess / pack_rgba on the GPU backends (<op>_cuda, <op>_emu).
#include <array>
#include <cstdint>

#include "../../ops/pack_rgba/pack_rgba_cuda.hpp"
#include "../../ops/preprocess/preprocess_cuda.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

namespace {

PreprocessParams make_params(float scale, std::array<float, 3> mean, std::array<float, 3> std, bool swap_rb) {
    PreprocessParams p{};
    p.scale = scale;
    for (int c = 0; c < 3; ++c) {
        p.mean[c] = mean[c];
        p.std[c] = std[c];
    }
    p.swap_rb = swap_rb ? 1 : 0;
    return p;
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_preprocess_gpu) {
    m.def(
        "preprocess" ALPHACUT_GPU_SUFFIX,
        [](py::object image, int out_h, int out_w, float scale, std::array<float, 3> mean, std::array<float, 3> std,
           bool swap_rb, bool fp16, std::uintptr_t stream) {
            ALPHACUT_CHECK(out_h > 0 && out_w > 0, "preprocess: output size must be positive");
            GpuCall call(stream);
            auto src = call.input<std::uint8_t>(image, "image");
            const auto p = make_params(scale, mean, std, swap_rb);
            const std::vector<py::ssize_t> shape{1, 3, out_h, out_w};
            if (fp16) {
                auto* out = call.output<std::uint16_t>(shape);
                py::gil_scoped_release nogil;
                preprocess_fp16(src, out_h, out_w, p, out, call.stream());
            } else {
                auto* out = call.output<float>(shape);
                py::gil_scoped_release nogil;
                preprocess(src, out_h, out_w, p, out, call.stream());
            }
            return call.finish();
        },
        py::arg("image"), py::arg("out_h"), py::arg("out_w"), py::arg("scale"), py::arg("mean"), py::arg("std"),
        py::arg("swap_rb") = false, py::arg("fp16") = false, py::kw_only(), py::arg("stream") = 0,
        "Bilinear resize + (v * scale - mean[c]) / std[c] + HWC->NCHW on " ALPHACUT_GPU_NAME
        "; (1, 3, out_h, out_w) float32 or float16.");
    m.def(
        "preprocess_into" ALPHACUT_GPU_SUFFIX,
        [](py::object out, py::object image, float scale, std::array<float, 3> mean, std::array<float, 3> std,
           bool swap_rb, std::uintptr_t stream) {
            GpuCall call(stream);
            auto target = call.device_output(out, "out");
            ALPHACUT_CHECK(target.shape.size() == 4 && target.shape[0] == 1 && target.shape[1] == 3,
                           "out: expected a (1, 3, H, W) device array");
            auto src = call.input<std::uint8_t>(image, "image");
            const int oh = static_cast<int>(target.shape[2]), ow = static_cast<int>(target.shape[3]);
            const auto p = make_params(scale, mean, std, swap_rb);
            {
                py::gil_scoped_release nogil;
                if (target.typestr == "<f4")
                    preprocess(src, oh, ow, p, reinterpret_cast<float*>(target.ptr), call.stream());
                else if (target.typestr == "<f2")
                    preprocess_fp16(src, oh, ow, p, reinterpret_cast<std::uint16_t*>(target.ptr), call.stream());
                else
                    ALPHACUT_CHECK(false, "out: device array type must be <f4 or <f2, got " << target.typestr);
            }
            call.complete();
        },
        py::arg("out"), py::arg("image"), py::arg("scale"), py::arg("mean"), py::arg("std"),
        py::arg("swap_rb") = false, py::kw_only(), py::arg("stream") = 0,
        "preprocess written into `out`, a C-contiguous (1, 3, H, W) float32/float16 device array "
        "(__cuda_array_interface__), e.g. a network's input binding.");
    m.def(
        "pack_rgba" ALPHACUT_GPU_SUFFIX,
        [](py::object rgb, py::object alpha, std::uintptr_t stream) {
            GpuCall call(stream);
            auto s = call.input<std::uint8_t>(rgb, "image");
            auto a = call.input<float>(alpha, "alpha");
            auto o = call.output_image<std::uint8_t>(s.height, s.width, 4, true);
            {
                py::gil_scoped_release nogil;
                pack_rgba(s, a, o, call.stream());
            }
            return call.finish();
        },
        py::arg("image"), py::arg("alpha"), py::kw_only(), py::arg("stream") = 0,
        "uint8 (H, W, 3) + float32 alpha (H, W) -> uint8 (H, W, 4) on " ALPHACUT_GPU_NAME ".");
}
