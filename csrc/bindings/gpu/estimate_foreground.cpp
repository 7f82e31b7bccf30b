// estimate_foreground on the GPU backends (<op>_cuda, <op>_emu).
#include <cmath>
#include <cstdint>
#include <string>

#include "../../ops/estimate_foreground/estimate_foreground_cuda.hpp"
#include "../op_params.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

namespace {

// Host float alpha is checked before the upload, as the CPU op does in its mean pass; device
// arrays cannot be read here without a synchronisation, so their values are the caller's.
void check_host_alpha(py::handle alpha) {
    if (is_device_array(alpha)) return;
    py::array arr = py::array::ensure(alpha);
    if (!arr || !py::dtype::of<float>().is(arr.dtype()) || arr.ndim() != 2 || arr.size() == 0) return;  // see input()
    auto v = bindings::view_of<float>(arr, "alpha");
    long long bad = 0;
    for (int y = 0; y < v.height; ++y) {
        const float* r = v.row(y);
        for (int x = 0; x < v.width; ++x) bad += !(r[x] >= 0.f && r[x] <= 1.f);
    }
    ALPHACUT_CHECK(bad == 0, "alpha: " << bad << " values are NaN or outside [0, 1]; pass alpha in [0, 1]");
}

// Empty host arrays fail the stride checks of the upload with a less clear message.
void check_not_empty(py::handle obj, const char* name) {
    if (is_device_array(obj)) return;
    py::array arr = py::array::ensure(obj);
    ALPHACUT_CHECK(!arr || arr.size() > 0, name << " is empty (shape with a zero dimension)");
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_estimate_foreground_gpu) {
    m.def(
        "estimate_foreground" ALPHACUT_GPU_SUFFIX,
        [](py::object image, py::object alpha, float regularization, int n_small_iterations, int n_big_iterations,
           int small_size, float gradient_weight, bool return_background, long long band_min_pixels,
           std::uintptr_t stream) -> py::object {
            const auto prm = bindings::foreground_params(regularization, n_small_iterations, n_big_iterations,
                                                         small_size, gradient_weight, band_min_pixels);
            const std::string at = element_typestr(alpha);
            ALPHACUT_CHECK(at != "|b1" || !is_device_array(alpha),
                           "alpha: bool device arrays are not supported; pass uint8 (0..255) or float32 in [0, 1]");
            check_not_empty(image, "image");
            check_not_empty(alpha, "alpha");
            check_host_alpha(alpha);
            GpuCall call(stream);
            auto run = [&](auto i) {
                ALPHACUT_CHECK(i.channels == 3, "image must have 3 channels, got " << i.channels);
                auto go = [&](auto a) {
                    ALPHACUT_CHECK(a.height == i.height && a.width == i.width && a.channels == 1,
                                   "alpha has shape (" << a.height << ", " << a.width << ", " << a.channels
                                                       << "), expected (" << i.height << ", " << i.width << ")");
                    auto f = call.output_image<float>(i.height, i.width, 3, true);
                    ImageView<float> b;
                    if (return_background) b = call.output_image<float>(i.height, i.width, 3, true);
                    py::gil_scoped_release nogil;
                    estimate_foreground(i, a, prm, f, b, call.stream());
                };
                if (element_is_u8(alpha))
                    go(call.input<std::uint8_t>(alpha, "alpha"));
                else
                    go(call.input<float>(alpha, "alpha"));
            };
            if (element_is_u8(image))
                run(call.input<std::uint8_t>(image, "image"));
            else
                run(call.input<float>(image, "image"));
            return call.finish();
        },
        py::arg("image"), py::arg("alpha"), py::kw_only(), py::arg("regularization") = 1e-5f,
        py::arg("n_small_iterations") = 10, py::arg("n_big_iterations") = 2, py::arg("small_size") = 32,
        py::arg("gradient_weight") = 1.f, py::arg("return_background") = false,
        py::arg("band_min_pixels") = 1LL << 16, py::arg("stream") = 0,
        "Multi-level foreground estimation on " ALPHACUT_GPU_NAME ": image (H, W, 3) uint8 or float32 in [0, 1],\n"
        "alpha (H, W) uint8 or float32 in [0, 1] (NumPy arrays or device arrays). Returns F, or (F, B) with\n"
        "return_background: (H, W, 3) float32 in [0, 1], on the device when an input was a device array.\n"
        "Every level is swept red-black; levels above band_min_pixels only in the band around the soft edge.");
}
