// Fast guided upsampling kernels (He & Sun 2015) with the math of upscale_alpha_pixel.hpp:
//   1. area_downscale_kernel: a thread per low-resolution pixel and channel sums its source
//      rectangle, rows first (float, exact weights area_weight) then columns (double), in the
//      same order as the CPU op, so both round alike;
//   2. the guided-filter coefficients at low resolution (guided_filter_cuda.cu);
//   3. upscale_apply_kernel: a thread per full-resolution pixel interpolates mean(a), mean(b)
//      bilinearly (linear_tap, lerp_tap: horizontal then vertical, as the CPU op) and writes
//      q = clamp(mean(a) . I + mean(b), 0, 1) (upscale_apply_*).
//
// Bytes moved (colour, uint8 guide, 12 MP output from a 1 MP matte): read the guide twice
// (downscale 3 B + apply 3 B), write out 4 B per full-resolution pixel -> 10 B * 12 MP = 120 MB;
// per low-resolution pixel: g_low written 12 B, the fused guided-filter coefficients 64 B (read
// g_low 12 + alpha 4, (a, b) 16 written and read, the means 16 written), the means read back by
// the apply kernel 16 B -> 92 B * 1 MP = 92 MB (the four-pass kernels moved ~340 MB here).
// H100 floor: 0.04 ms full-resolution + 0.031 ms low-resolution = ~0.071 ms.
#include "upscale_alpha_cuda.hpp"

#include "../guided_filter/guided_filter_cuda.hpp"
#include "upscale_alpha.hpp"
#include "upscale_alpha_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace {

ALPHACUT_DEVICE float ua_unit(unsigned char v) { return static_cast<float>(v) * (1.0f / 255.0f); }
ALPHACUT_DEVICE float ua_unit(float v) { return v; }
ALPHACUT_DEVICE float ua_scale(const unsigned char*) { return 1.0f / 255.0f; }
ALPHACUT_DEVICE float ua_scale(const float*) { return 1.0f; }
ALPHACUT_DEVICE float ua_raw(unsigned char v) { return static_cast<float>(v); }
ALPHACUT_DEVICE float ua_raw(float v) { return v; }

template <typename T>
__global__ void area_downscale_kernel(ImageView<const T> src, ImageView<float> dst) {
    const int j = pixel_col(dst.width);
    const int i = pixel_row(dst.height);
    if (j >= dst.width || i >= dst.height) return;
    const int H = src.height, W = src.width, h = dst.height, w = dst.width;
    const float k = ua_scale(src.data);
    const int y0 = area_first(i, h, H), y1 = area_last(i, h, H);
    const int x0 = area_first(j, w, W), x1 = area_last(j, w, W);
    for (int c = 0; c < src.channels; ++c) {
        double s = 0.0;
        for (int x = x0; x <= x1; ++x) {
            float acc = 0.0f;  // the CPU op's vertical accumulation, in float
            for (int y = y0; y <= y1; ++y)
                acc += static_cast<float>(area_weight<double>(i, y, h, H)) * k * ua_raw(src.at(y, x, c));
            s += area_weight<double>(j, x, w, W) * acc;
        }
        dst.at(i, j, c) = static_cast<float>(s);
    }
}

template <int CN, typename TG>
__global__ void upscale_apply_kernel(ImageView<const float> ma, ImageView<const float> mb, ImageView<const TG> guide,
                                     ImageView<float> out) {
    const int H = guide.height, W = guide.width, h = ma.height, w = ma.width;
    const int x = pixel_col(W);
    const int y = pixel_row(H);
    if (x >= W || y >= H) return;
    int xi0, xi1, yi0, yi1;
    double xw_d, yw_d;
    linear_tap<double>(x, W, w, xi0, xi1, xw_d);
    linear_tap<double>(y, H, h, yi0, yi1, yw_d);
    const float xw = static_cast<float>(xw_d), yw = static_cast<float>(yw_d);
    float a[CN + 1];
    for (int c = 0; c < CN; ++c) {
        const float r0 = lerp_tap(ma.at(yi0, xi0, c), ma.at(yi0, xi1, c), xw);
        const float r1 = lerp_tap(ma.at(yi1, xi0, c), ma.at(yi1, xi1, c), xw);
        a[c] = lerp_tap(r0, r1, yw);
    }
    const float b0 = lerp_tap(mb.at(yi0, xi0), mb.at(yi0, xi1), xw);
    const float b1 = lerp_tap(mb.at(yi1, xi0), mb.at(yi1, xi1), xw);
    a[CN] = lerp_tap(b0, b1, yw);
    if constexpr (CN == 3)
        out.at(y, x) = upscale_apply_rgb(a[0], a[1], a[2], a[3], ua_unit(guide.at(y, x, 0)), ua_unit(guide.at(y, x, 1)),
                                         ua_unit(guide.at(y, x, 2)));
    else
        out.at(y, x) = upscale_apply_grey(a[0], a[1], ua_unit(guide.at(y, x)));
}

}  // namespace

template <typename T>
void area_downscale(ImageView<const T> src, ImageView<float> dst, cudaStream_t stream) {
    ALPHACUT_CHECK(src.height > 0 && src.width > 0 && dst.height > 0 && dst.width > 0, "area_downscale: empty image");
    ALPHACUT_CHECK(dst.channels == src.channels,
                   "area_downscale: dst has " << dst.channels << " channels, src " << src.channels);
    ALPHACUT_CHECK(dst.height <= src.height && dst.width <= src.width,
                   "area_downscale: (" << dst.height << ", " << dst.width << ") is larger than the source ("
                                       << src.height << ", " << src.width << ")");
    auto kernel = area_downscale_kernel<T>;
    ALPHACUT_LAUNCH(kernel, pixel_grid(dst.height, dst.width), pixel_block(), 0, stream, src, dst);
    ALPHACUT_CHECK_LAUNCH("area_downscale_kernel");
}

template <typename TA, typename TG>
void upscale_alpha(ImageView<const TA> alpha_low, ImageView<const TG> guide, int radius, double eps,
                   ImageView<float> out, cudaStream_t stream) {
    const int H = guide.height, W = guide.width, C = guide.channels;
    const int h = alpha_low.height, w = alpha_low.width;
    check_upscale_alpha_args(h, w, alpha_low.channels, H, W, C, out, radius, eps);

    auto g_low = alloc_image<float>(h, w, C);
    auto ma = alloc_image<float>(h, w, C);
    auto mb = alloc_image<float>(h, w, 1);
    area_downscale<TG>(guide, g_low.view, stream);
    guided_filter_coefficients<float, TA>(as_const(g_low.view), alpha_low, radius, eps, ma.view, mb.view, stream);
    auto kernel = C == 3 ? upscale_apply_kernel<3, TG> : upscale_apply_kernel<1, TG>;
    ALPHACUT_LAUNCH(kernel, pixel_grid(H, W), pixel_block(), 0, stream, as_const(ma.view), as_const(mb.view), guide,
                    out);
    ALPHACUT_CHECK_LAUNCH("upscale_apply_kernel");
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));  // before the scratch images are freed
}

template void area_downscale<float>(ImageView<const float>, ImageView<float>, cudaStream_t);
template void area_downscale<std::uint8_t>(ImageView<const std::uint8_t>, ImageView<float>, cudaStream_t);
#define ALPHACUT_UA_CUDA_INSTANTIATE(TA, TG)                                                                     \
    template void upscale_alpha<TA, TG>(ImageView<const TA>, ImageView<const TG>, int, double, ImageView<float>, \
                                        cudaStream_t);
ALPHACUT_UA_CUDA_INSTANTIATE(float, float)
ALPHACUT_UA_CUDA_INSTANTIATE(std::uint8_t, float)
ALPHACUT_UA_CUDA_INSTANTIATE(float, std::uint8_t)
ALPHACUT_UA_CUDA_INSTANTIATE(std::uint8_t, std::uint8_t)

}  // namespace alphacut::ALPHACUT_GPU_NS
