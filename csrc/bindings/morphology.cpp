#include <cstdint>

#include "../ops/morphology/morphology.hpp"
#include "convert.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

template <typename Fn>
py::array morph_binding(const py::array& mask, int radius, Fn&& fn) {
    ALPHACUT_CHECK(mask.ndim() == 2, "mask: expected an (H, W) array, got " << mask.ndim() << " dimensions");
    const int h = static_cast<int>(mask.shape(0)), w = static_cast<int>(mask.shape(1));
    py::array_t<bool> out({h, w});
    auto o = make_view<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.mutable_data()), h, w);
    if (py::dtype::of<std::uint8_t>().is(mask.dtype()) || py::dtype::of<bool>().is(mask.dtype())) {
        auto src = mask;
        if (py::dtype::of<bool>().is(mask.dtype())) src = mask.attr("view")(py::dtype::of<std::uint8_t>());
        auto m = view_of<std::uint8_t>(src, "mask");
        py::gil_scoped_release nogil;
        fn(as_const(m), radius, o);
    } else if (py::dtype::of<float>().is(mask.dtype())) {
        auto m = view_of<float>(mask, "mask");
        py::gil_scoped_release nogil;
        fn(as_const(m), radius, o);
    } else {
        auto m = view_of<double>(mask, "mask");  // raises for any other dtype
        py::gil_scoped_release nogil;
        fn(as_const(m), radius, o);
    }
    return out;
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_morphology) {
    m.def(
        "dilate_cpu",
        [](py::array mask, int radius) {
            return morph_binding(mask, radius, [](auto m, int r, ImageView<std::uint8_t> o) { dilate_cpu(m, r, o); });
        },
        py::arg("mask"), py::arg("radius"),
        "Binary dilation, square (2r+1)^2 element, outside = background. mask (H, W) bool/uint8 (non-zero = "
        "set) or float32/float64 (>= 0.5 = set) -> (H, W) bool.");
    m.def(
        "erode_cpu",
        [](py::array mask, int radius) {
            return morph_binding(mask, radius, [](auto m, int r, ImageView<std::uint8_t> o) { erode_cpu(m, r, o); });
        },
        py::arg("mask"), py::arg("radius"),
        "Binary erosion, square (2r+1)^2 element, outside = foreground. mask (H, W) bool/uint8 (non-zero = "
        "set) or float32/float64 (>= 0.5 = set) -> (H, W) bool.");
}
