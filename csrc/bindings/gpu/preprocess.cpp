// preprocess / pack_rgba on the GPU backends (<op>_cuda, <op>_emu).
#include <array>
#include <cstdint>

#include "../../ops/pack_rgba/pack_rgba_cuda.hpp"
#include "../../ops/preprocess/preprocess_cuda.hpp"
#include "../op_params.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

ALPHACUT_REGISTER_BINDINGS(bind_preprocess_gpu) {
    m.def(
        "preprocess" ALPHACUT_GPU_SUFFIX,
        [](py::object image, int out_h, int out_w, float scale, std::array<float, 3> mean, std::array<float, 3> std,
           bool swap_rb, bool fp16, std::uintptr_t stream) {
            ALPHACUT_CHECK(out_h > 0 && out_w > 0, "preprocess: output size must be positive");
            GpuCall call(stream);
            auto src = call.input<std::uint8_t>(image, "image");
            const auto p = bindings::preprocess_params(scale, mean, std, swap_rb);
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
            const auto p = bindings::preprocess_params(scale, mean, std, swap_rb);
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
        [](py::object rgb, py::object alpha, py::object fg, int fg_y0, int fg_x0, std::uintptr_t stream) {
            GpuCall call(stream);
            auto s = call.input<std::uint8_t>(rgb, "image");
            auto a = call.input<float>(alpha, "alpha");
            ImageView<const float> f;
            if (!fg.is_none()) f = call.input<float>(fg, "foreground");
            auto o = call.output_image<std::uint8_t>(s.height, s.width, 4, true);
            {
                py::gil_scoped_release nogil;
                pack_rgba(s, a, f, fg_y0, fg_x0, o, call.stream());
            }
            return call.finish();
        },
        py::arg("image"), py::arg("alpha"), py::arg("foreground") = py::none(), py::arg("fg_y0") = 0,
        py::arg("fg_x0") = 0, py::kw_only(), py::arg("stream") = 0,
        "(H, W, 4) uint8 cutout on " ALPHACUT_GPU_NAME " from a uint8 (H, W, 3) image, float32 (H, W) alpha and an "
        "optional float32 (h, w, 3) foreground colour of the rectangle at (fg_y0, fg_x0).");
    m.def(
        "pack_rgba_patch" ALPHACUT_GPU_SUFFIX,
        [](py::object rgb, py::object fg, int fg_y0, int fg_x0, py::object out, std::uintptr_t stream) {
            GpuCall call(stream);
            auto s = call.input<std::uint8_t>(rgb, "image");
            auto f = call.input<float>(fg, "foreground");
            if (is_device_array(out)) {
                auto t = call.device_output(out, "out");
                ALPHACUT_CHECK(t.typestr == "|u1" && t.shape.size() == 3 && t.shape[2] == 4,
                               "out: expected a uint8 (H, W, 4) device array");
                auto o = make_view<std::uint8_t>(reinterpret_cast<std::uint8_t*>(t.ptr), static_cast<int>(t.shape[0]),
                                                 static_cast<int>(t.shape[1]), 4);
                py::gil_scoped_release nogil;
                pack_rgba_patch(s, f, fg_y0, fg_x0, o, call.stream());
            } else {
                py::array arr = py::array::ensure(out);
                ALPHACUT_CHECK(arr, "out: expected a uint8 (H, W, 4) array");
                auto host = bindings::view_of<std::uint8_t>(arr, "out", true);
                auto d = upload<std::uint8_t>(as_const(host), call.stream());
                py::gil_scoped_release nogil;
                pack_rgba_patch(s, f, fg_y0, fg_x0, d.view, call.stream());
                download<std::uint8_t>(as_const(d.view), host, call.stream());
                ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(call.stream()));
            }
            call.complete();
        },
        py::arg("image"), py::arg("foreground"), py::arg("fg_y0"), py::arg("fg_x0"), py::arg("out"), py::kw_only(),
        py::arg("stream") = 0,
        "In place on " ALPHACUT_GPU_NAME ": soft pixels of the (H, W, 4) uint8 `out` inside the rectangle of the "
        "float32 (h, w, 3) foreground at (fg_y0, fg_x0) become round(255 * foreground).");
}
