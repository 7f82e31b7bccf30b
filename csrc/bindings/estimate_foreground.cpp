// estimate_foreground for every backend (see call.hpp).
#include "../ops/estimate_foreground/estimate_foreground.hpp"

#include <cstdint>

#include "call.hpp"
#include "op_params.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/estimate_foreground/estimate_foreground_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

// The CPU op checks the alpha values in its mean pass; the kernels cannot, so a GPU call checks
// NumPy float alpha here, before the upload. Device arrays cannot be read without a
// synchronisation: their values are the caller's.
void check_host_alpha(Call& call, py::handle alpha) {
    if (!kGpu || call.on_device(alpha)) return;
    py::array arr = as_array(alpha, "alpha");
    if (typestr_of(arr) != "<f4") return;
    auto v = host_image<float>(arr, "alpha");
    long long bad = 0;
    for (int y = 0; y < v.height; ++y) {
        const float* r = v.row(y);
        for (int x = 0; x < v.width; ++x) bad += !(r[x] >= 0.f && r[x] <= 1.f);
    }
    ALPHACUT_CHECK(bad == 0, "alpha: " << bad << " values are NaN or outside [0, 1]; pass alpha in [0, 1]");
}

py::object estimate_foreground_entry(Call& call, Array image, Array alpha, float regularization, int n_small_iterations,
                                     int n_big_iterations, int small_size, float gradient_weight,
                                     bool return_background, long long band_min_pixels) {
    const auto prm = foreground_params(regularization, n_small_iterations, n_big_iterations, small_size,
                                       gradient_weight, band_min_pixels);
    ALPHACUT_CHECK(call.dtype(alpha) != "|b1" || !call.on_device(alpha),
                   "alpha: bool device arrays are not supported; pass uint8 (0..255) or float32 in [0, 1]");
    check_host_alpha(call, alpha);
    with_u8_or_f32(call, image, "image", [&](auto i) {
        ALPHACUT_CHECK(i.channels == 3, "image must have 3 channels, got " << i.channels);
        with_u8_or_f32(call, alpha, "alpha", [&](auto a) {
            ALPHACUT_CHECK(a.height == i.height && a.width == i.width && a.channels == 1,
                           "alpha has shape (" << a.height << ", " << a.width << ", " << a.channels << "), expected ("
                                               << i.height << ", " << i.width << ")");
            auto f = call.output_image<float>(i.height, i.width, 3, true);
            ImageView<float> b;
            if (return_background) b = call.output_image<float>(i.height, i.width, 3, true);
            ALPHACUT_RUN(call, estimate_foreground, i, a, prm, f, b);
        });
    });
    return call.finish();
}

#if !ALPHACUT_BINDINGS_GPU
// The CPU's fused cutout (the device backends compose estimate_foreground and pack_rgba).
py::object estimate_foreground_rgba_entry(Call& call, Array image, Array alpha, py::object out, py::object window,
                                          float regularization, int n_small_iterations, int n_big_iterations,
                                          int small_size, float gradient_weight, long long band_min_pixels) {
    const auto prm = foreground_params(regularization, n_small_iterations, n_big_iterations, small_size,
                                       gradient_weight, band_min_pixels);
    auto i = call.input<std::uint8_t>(image, "image");
    ALPHACUT_CHECK(i.channels == 3, "image must have 3 channels, got " << i.channels);
    ALPHACUT_CHECK(out.is_none() == window.is_none(), "out and window go together (a tile of a packed cutout)");
    ForegroundWindow win;
    ImageView<std::uint8_t> o;
    if (!out.is_none()) {
        auto t = window.cast<std::tuple<int, int, int, int>>();
        win = ForegroundWindow{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t)};
        o = call.inout_image<std::uint8_t>(out, "out");
    } else {
        o = call.output_image<std::uint8_t>(i.height, i.width, 4, true);
    }
    const ForegroundWindow* wp = out.is_none() ? nullptr : &win;
    if (call.dtype(alpha) == "|u1") {
        auto a = call.input<std::uint8_t>(alpha, "alpha");
        ALPHACUT_RUN(call, estimate_foreground_rgba, i, a, prm, o, wp);
    } else {
        auto a = call.input<float>(alpha, "alpha");
        ALPHACUT_RUN(call, estimate_foreground_rgba, i, a, prm, o, wp);
    }
    if (!out.is_none()) {
        call.complete();
        return py::none();
    }
    return call.finish();
}
#endif

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_estimate_foreground) {
#if !ALPHACUT_BINDINGS_GPU
    def<&estimate_foreground_rgba_entry>(
        m, "estimate_foreground_rgba",
        "The (H, W, 4) uint8 cutout of pack_rgba with the estimated foreground as the colour of the soft pixels,\n"
        "without a full-size F: image (H, W, 3) uint8, alpha (H, W) float32 in [0, 1] or uint8. With out (an\n"
        "(H, W, 4) uint8 packed cutout) and window (y0, y1, x0, x1): in place, only the colour of the soft pixels\n"
        "inside the window, and None.",
        py::arg("image"), py::arg("alpha"), py::kw_only(), py::arg("out") = py::none(), py::arg("window") = py::none(),
        py::arg("regularization") = 1e-5f, py::arg("n_small_iterations") = 10, py::arg("n_big_iterations") = 2,
        py::arg("small_size") = 32, py::arg("gradient_weight") = 1.f, py::arg("band_min_pixels") = 1LL << 16);
#endif
    def<&estimate_foreground_entry>(
        m, "estimate_foreground",
        "Multi-level foreground estimation. image (H, W, 3) uint8 or float32 in [0, 1], alpha (H, W) uint8 or\n"
        "float32 in [0, 1]. Returns F, or (F, B) with return_background: (H, W, 3) float32 in [0, 1].\n"
        "band_min_pixels: levels with more pixels are swept only in a band around the soft edge. The CPU\n"
        "sweeps the other levels in scan order, the GPU backends red-black.",
        py::arg("image"), py::arg("alpha"), py::kw_only(), py::arg("regularization") = 1e-5f,
        py::arg("n_small_iterations") = 10, py::arg("n_big_iterations") = 2, py::arg("small_size") = 32,
        py::arg("gradient_weight") = 1.f, py::arg("return_background") = false, py::arg("band_min_pixels") = 1LL << 16);
}
