#include <cstdint>

#include "../ops/resize/resize.hpp"
#include "convert.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

template <typename T>
py::array resize_binding(const py::array& image, int height, int width, ResizeMethod method) {
    auto src = view_of<T>(image, "image");
    ALPHACUT_CHECK(height > 0 && width > 0, "size must be positive, got (" << height << ", " << width << ")");
    py::array out = image.ndim() == 3 ? py::array(new_image<T>(height, width, src.channels))
                                      : py::array(py::array_t<T>({height, width}));
    auto o = view_of<T>(out, "out", true);
    {
        py::gil_scoped_release nogil;
        resize_cpu(as_const(src), o, method);
    }
    return out;
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_resize) {
    m.def(
        "resize_cpu",
        [](py::array image, int height, int width, int method) {
            ALPHACUT_CHECK(method >= 0 && method <= 2, "method must be 0 (bilinear), 1 (area) or 2 (bicubic)");
            const auto mth = static_cast<ResizeMethod>(method);
            if (py::dtype::of<std::uint8_t>().is(image.dtype()))
                return resize_binding<std::uint8_t>(image, height, width, mth);
            return resize_binding<float>(image, height, width, mth);  // raises for any other dtype
        },
        py::arg("image"), py::arg("height"), py::arg("width"), py::arg("method"),
        "Resize (H, W) or (H, W, C) uint8/float32 to (height, width[, C]), same dtype. method: 0 bilinear, "
        "1 area, 2 bicubic (a = -0.75); pixel-centre grid, clamped edges.");
}
