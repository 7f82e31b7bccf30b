// resize on the GPU backends (<op>_cuda, <op>_emu).
#include <cstdint>

#include "../../ops/resize/resize_cuda.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

namespace {

// The output keeps the input's rank: (H, W) -> (height, width), (H, W, C) -> (height, width, C).
bool has_channel_axis(py::handle obj) {
    if (is_device_array(obj)) {
        py::dict cai = obj.attr("__cuda_array_interface__");
        return py::len(cai["shape"]) == 3;
    }
    return py::array::ensure(obj).ndim() == 3;
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_resize_gpu) {
    m.def(
        "resize" ALPHACUT_GPU_SUFFIX,
        [](py::object image, int height, int width, int method, std::uintptr_t stream) {
            ALPHACUT_CHECK(method >= 0 && method <= 2, "method must be 0 (bilinear), 1 (area) or 2 (bicubic)");
            ALPHACUT_CHECK(height > 0 && width > 0, "size must be positive, got (" << height << ", " << width << ")");
            GpuCall call(stream);
            const bool keep = has_channel_axis(image);
            auto go = [&](auto src) {
                using T = std::remove_const_t<std::remove_reference_t<decltype(*src.data)>>;
                auto o = call.output_image<T>(height, width, src.channels, keep);
                py::gil_scoped_release nogil;
                resize<T>(src, o, static_cast<ResizeMethod>(method), call.stream());
            };
            if (element_is_u8(image))
                go(call.input<std::uint8_t>(image, "image"));
            else
                go(call.input<float>(image, "image"));
            return call.finish();
        },
        py::arg("image"), py::arg("height"), py::arg("width"), py::arg("method"), py::kw_only(), py::arg("stream") = 0,
        "Resize (H, W) or (H, W, C) uint8/float32 to (height, width[, C]) on " ALPHACUT_GPU_NAME
        "; method 0 bilinear, 1 area, 2 bicubic.");
}
