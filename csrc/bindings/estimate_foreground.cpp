#include "../ops/estimate_foreground/estimate_foreground.hpp"

#include <cstdint>

#include "convert.hpp"
#include "op_params.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

template <typename TI, typename TA>
void run(const py::array& image, const py::array& alpha, const ForegroundParams& prm, ImageView<float> f,
         ImageView<float> b) {
    auto i = view_of<TI>(image, "image");
    auto a = view_of<TA>(alpha, "alpha");
    py::gil_scoped_release nogil;
    estimate_foreground_cpu(as_const(i), as_const(a), prm, f, b);
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_estimate_foreground) {
    m.def(
        "estimate_foreground_cpu",
        [](py::array image, py::array alpha, float regularization, int n_small_iterations, int n_big_iterations,
           int small_size, float gradient_weight, bool return_background, long long band_min_pixels) -> py::object {
            ALPHACUT_CHECK(image.ndim() == 3, "image: expected (H, W, 3), got " << image.ndim() << " dimensions");
            ALPHACUT_CHECK(alpha.ndim() == 2, "alpha: expected (H, W), got " << alpha.ndim() << " dimensions");
            const int h = static_cast<int>(image.shape(0)), w = static_cast<int>(image.shape(1));
            ALPHACUT_CHECK(h > 0 && w > 0, "image is empty (" << h << " x " << w << ")");
            const auto prm = bindings::foreground_params(regularization, n_small_iterations, n_big_iterations,
                                                         small_size, gradient_weight, band_min_pixels);
            auto fg = new_image<float>(h, w, 3);
            auto f = view_of<float>(fg, "foreground", true);
            py::array_t<float> bg;
            ImageView<float> b;
            if (return_background) {
                bg = new_image<float>(h, w, 3);
                b = view_of<float>(bg, "background", true);
            }
            const bool iu = is_u8(image), au = is_u8(alpha);
            if (iu && au)
                run<std::uint8_t, std::uint8_t>(image, alpha, prm, f, b);
            else if (iu)
                run<std::uint8_t, float>(image, alpha, prm, f, b);
            else if (au)
                run<float, std::uint8_t>(image, alpha, prm, f, b);
            else
                run<float, float>(image, alpha, prm, f, b);
            if (return_background) return py::make_tuple(fg, bg);
            return std::move(fg);
        },
        py::arg("image"), py::arg("alpha"), py::kw_only(), py::arg("regularization") = 1e-5f,
        py::arg("n_small_iterations") = 10, py::arg("n_big_iterations") = 2, py::arg("small_size") = 32,
        py::arg("gradient_weight") = 1.f, py::arg("return_background") = false,
        py::arg("band_min_pixels") = 1LL << 16,
        "Multi-level foreground estimation. image (H, W, 3) uint8 or float32 in [0, 1], alpha (H, W) uint8 or\n"
        "float32 in [0, 1]. Returns F, or (F, B) with return_background: (H, W, 3) float32 in [0, 1].\n"
        "band_min_pixels: levels with more pixels are swept only in a band around the soft edge.");
}
