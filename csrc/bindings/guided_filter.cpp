#include "../ops/guided_filter/guided_filter.hpp"

#include <cstdint>

#include "convert.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

// Call f(guide_view, src_view) with each array viewed as uint8 or float32, whichever it is.
template <typename F>
void with_views(const py::array& guide, const py::array& src, F&& f) {
    if (is_u8(guide)) {
        auto g = as_const(view_of<std::uint8_t>(guide, "guide"));
        if (is_u8(src))
            f(g, as_const(view_of<std::uint8_t>(src, "src")));
        else
            f(g, as_const(view_of<float>(src, "src")));
    } else {
        auto g = as_const(view_of<float>(guide, "guide"));
        if (is_u8(src))
            f(g, as_const(view_of<std::uint8_t>(src, "src")));
        else
            f(g, as_const(view_of<float>(src, "src")));
    }
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_guided_filter) {
    m.def(
        "guided_filter_cpu",
        [](py::array guide, py::array src, int radius, double eps) {
            check_image(guide, "guide");
            check_image(src, "src");
            auto out = new_image<float>(static_cast<int>(guide.shape(0)), static_cast<int>(guide.shape(1)));
            auto o = view_of<float>(out, "out", true);
            with_views(guide, src, [&](auto g, auto s) {
                py::gil_scoped_release nogil;
                guided_filter_cpu(g, s, radius, eps, o);
            });
            return out;
        },
        py::arg("guide"), py::arg("src"), py::arg("radius"), py::arg("eps"),
        "Guided filter q = mean(a) . I + mean(b) over clipped (2r+1)^2 windows. guide (H, W) or (H, W, 3), "
        "src (H, W); each uint8 (scaled by 1/255) or float32. Returns float32 (H, W).");
    m.def(
        "guided_filter_coefficients_cpu",
        [](py::array guide, py::array src, int radius, double eps) {
            check_image(guide, "guide");
            check_image(src, "src");
            const int h = static_cast<int>(guide.shape(0)), w = static_cast<int>(guide.shape(1));
            const int c = guide.ndim() == 3 ? static_cast<int>(guide.shape(2)) : 1;
            py::array_t<float> mean_a = c == 1 ? py::array_t<float>({h, w, 1}) : new_image<float>(h, w, c);
            auto mean_b = new_image<float>(h, w);
            auto a = view_of<float>(mean_a, "mean_a", true);
            auto b = view_of<float>(mean_b, "mean_b", true);
            with_views(guide, src, [&](auto g, auto s) {
                py::gil_scoped_release nogil;
                guided_filter_coefficients_cpu(g, s, radius, eps, a, b);
            });
            return py::make_tuple(mean_a, mean_b);
        },
        py::arg("guide"), py::arg("src"), py::arg("radius"), py::arg("eps"),
        "The box-averaged guided-filter coefficients (mean_a float32 (H, W, C), mean_b float32 (H, W)), "
        "so that q = mean_a . I + mean_b.");
}
