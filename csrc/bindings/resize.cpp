// resize for every backend (see call.hpp).
#include "../ops/resize/resize.hpp"

#include "call.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/resize/resize_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

Result<py::array> resize_entry(Call& call, Array image, int height, int width, int method) {
    ALPHACUT_CHECK(method >= 0 && method <= 3, "method must be 0 (bilinear), 1 (area), 2 (bicubic) or 3 (triangle)");
    ALPHACUT_CHECK(height > 0 && width > 0, "size must be positive, got (" << height << ", " << width << ")");
    // The result keeps the image's rank, but an (H, W, 1) image gives (height, width) on the CPU,
    // as it always has, and (height, width, 1) on the GPU backends.
    const bool keep = kGpu && call.ndim(image) == 3;
    with_u8_or_f32(call, image, "image", [&](auto src) {
        auto o = call.output_image<element_t<decltype(src)>>(height, width, src.channels, keep);
        ALPHACUT_RUN(call, resize, src, o, static_cast<ResizeMethod>(method));
    });
    return call.finish();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_resize) {
    def<&resize_entry>(m, "resize",
                       "Resize (H, W) or (H, W, C) uint8/float32 to (height, width[, C]), same dtype. method: 0 "
                       "bilinear, 1 area, 2 bicubic (a = -0.75), 3 triangle (antialiased bilinear, PIL's); "
                       "pixel-centre grid, clamped edges.",
                       py::arg("image"), py::arg("height"), py::arg("width"), py::arg("method"));
}
