// Guided-filter kernels: separable box sums by running sums, so the cost per pixel does not
// grow with the radius, in double like the CPU op (the variance is a difference of nearly
// equal means), with the per-pixel math from guided_filter_pixel.hpp:
//   1. colsum_products: a thread per (column, band of kSeg rows) runs the vertical window sums
//      of I, p, I I^T, I p (13 planes colour / 4 grey) down its band -> V (double planes)
//   2. rowsum_coeffs:   a thread per (row, segment of kSeg columns) runs the horizontal window
//      sums of V, divides by the clipped window's pixel count and solves for (a, b) (the 3x3
//      system fused, gf_coeffs_rgb) -> A (C + 1 float planes, as the CPU op rounds them)
//   3. colsum_plain:    vertical window sums of A -> V
//   4. rowsum_apply:    horizontal window sums of V -> q = mean(a) . I + mean(b) (gf_apply_*)
//                       or the means themselves (guided_filter_coefficients)
// Each thread starts its band/segment by summing one whole (clipped) window: min(2r+1, n)
// loads per kSeg outputs, so the radius adds at most (2r+1)/kSeg work per pixel.
//
// Bytes moved per pixel, colour guide (float32 guide, float32 src):
//   read I, p 16 (twice: passes 1 and 4) + V 13*8 written and read + A 4*4 written and read
//   (twice: passes 2-3) + V 4*8 written and read + out 4
//   = 32 + 208 + 32 + 64 + 4 = 340 B  -> 12 MP: 4.1 GB, H100 floor 1.4 ms.
// Grey guide: 16 + 64 + 16 + 32 + 4 + 8 = 140 B -> 12 MP: 1.7 GB, floor 0.56 ms.
// (Fusing passes 1-2 and 3-4 through shared-memory tiles would cut the V traffic; the
// running-sum structure is kept simple here and verified against the CPU op by emulation.)
#include "guided_filter_cuda.hpp"

#include "../../common/border.hpp"
#include "guided_filter_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace {

constexpr int kSeg = 64;  // outputs per thread along the scan direction

ALPHACUT_DEVICE float gf_unit(unsigned char v) { return static_cast<float>(v) * (1.0f / 255.0f); }
ALPHACUT_DEVICE float gf_unit(float v) { return v; }

// The products of one pixel: I0, I1, I2, p, I00, I01, I02, I11, I12, I22, I0p, I1p, I2p (colour)
// or I, p, II, Ip (grey), formed in double from the float values as the CPU op does.
template <int CN, typename TG, typename TP>
ALPHACUT_DEVICE void gf_products(const ImageView<const TG>& guide, const ImageView<const TP>& src, int y, int x,
                                 double* f) {
    const double p = gf_unit(src.at(y, x));
    if constexpr (CN == 3) {
        const double a0 = gf_unit(guide.at(y, x, 0)), a1 = gf_unit(guide.at(y, x, 1)), a2 = gf_unit(guide.at(y, x, 2));
        f[0] = a0;
        f[1] = a1;
        f[2] = a2;
        f[3] = p;
        f[4] = a0 * a0;
        f[5] = a0 * a1;
        f[6] = a0 * a2;
        f[7] = a1 * a1;
        f[8] = a1 * a2;
        f[9] = a2 * a2;
        f[10] = a0 * p;
        f[11] = a1 * p;
        f[12] = a2 * p;
    } else {
        const double a = gf_unit(guide.at(y, x));
        f[0] = a;
        f[1] = p;
        f[2] = a * a;
        f[3] = a * p;
    }
}

// Pass 1: V[k][y][x] = sum over rows [y - r, y + r] (clipped) of product k at column x.
template <int CN, typename TG, typename TP>
__global__ void colsum_products(ImageView<const TG> guide, ImageView<const TP> src, int r, double* V) {
    constexpr int NK = CN == 3 ? 13 : 4;
    const int H = guide.height, W = guide.width;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y0 = blockIdx.y * kSeg;
    if (x >= W || y0 >= H) return;
    const long long plane = static_cast<long long>(H) * W;
    double s[NK], f[NK];
    for (int k = 0; k < NK; ++k) s[k] = 0.0;
    const Span w = clipped_window(y0, r, H);
    for (int y = w.lo; y <= w.hi; ++y) {
        gf_products<CN>(guide, src, y, x, f);
        for (int k = 0; k < NK; ++k) s[k] += f[k];
    }
    const int y1 = y0 + kSeg < H ? y0 + kSeg : H;
    for (int y = y0; y < y1; ++y) {
        const long long i = static_cast<long long>(y) * W + x;
        for (int k = 0; k < NK; ++k) V[k * plane + i] = s[k];
        if (y + 1 == y1) break;
        if (y + r + 1 < H) {
            gf_products<CN>(guide, src, y + r + 1, x, f);
            for (int k = 0; k < NK; ++k) s[k] += f[k];
        }
        if (y - r >= 0) {
            gf_products<CN>(guide, src, y - r, x, f);
            for (int k = 0; k < NK; ++k) s[k] -= f[k];
        }
    }
}

// Pass 3: V[k][y][x] = sum over rows [y - r, y + r] of A[k][.][x] (float planes).
__global__ void colsum_plain(const float* A, int NK, int H, int W, int r, double* V) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y0 = blockIdx.y * kSeg;
    if (x >= W || y0 >= H) return;
    const long long plane = static_cast<long long>(H) * W;
    const Span w = clipped_window(y0, r, H);
    const int y1 = y0 + kSeg < H ? y0 + kSeg : H;
    for (int k = 0; k < NK; ++k) {
        const float* a = A + k * plane + x;
        double s = 0.0;
        for (int y = w.lo; y <= w.hi; ++y) s += a[static_cast<long long>(y) * W];
        for (int y = y0; y < y1; ++y) {
            V[k * plane + static_cast<long long>(y) * W + x] = s;
            if (y + r + 1 < H) s += a[static_cast<long long>(y + r + 1) * W];
            if (y - r >= 0) s -= a[static_cast<long long>(y - r) * W];
        }
    }
}

// Horizontal running sums of NK planes of V along row y for x in [x0, x1): calls
// emit(x, sums, k) with k = 1 / (pixels in the clipped window at (y, x)).
template <int NK, typename Emit>
ALPHACUT_DEVICE void row_windows(const double* V, long long plane, int H, int W, int r, int y, int x0, int x1,
                                 Emit&& emit) {
    const double* row = V + static_cast<long long>(y) * W;
    double s[NK];
    for (int k = 0; k < NK; ++k) s[k] = 0.0;
    const Span w = clipped_window(x0, r, W);
    for (int x = w.lo; x <= w.hi; ++x)
        for (int k = 0; k < NK; ++k) s[k] += row[k * plane + x];
    const double inv_ny = 1.0 / gf_window_count(y, r, H);
    for (int x = x0; x < x1; ++x) {
        emit(x, s, (1.0 / gf_window_count(x, r, W)) * inv_ny);
        if (x + r + 1 < W)
            for (int k = 0; k < NK; ++k) s[k] += row[k * plane + x + r + 1];
        if (x - r >= 0)
            for (int k = 0; k < NK; ++k) s[k] -= row[k * plane + x - r];
    }
}

// Pass 2: the coefficients (a, b) -> A (CN + 1 float planes).
template <int CN>
__global__ void rowsum_coeffs(const double* V, int H, int W, int r, double eps, float* A) {
    constexpr int NK = CN == 3 ? 13 : 4;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int x0 = (blockIdx.x * blockDim.x + threadIdx.x) * kSeg;
    if (y >= H || x0 >= W) return;
    const int x1 = x0 + kSeg < W ? x0 + kSeg : W;
    const long long plane = static_cast<long long>(H) * W;
    row_windows<NK>(V, plane, H, W, r, y, x0, x1, [&](int x, const double* s, double k) {
        const long long i = static_cast<long long>(y) * W + x;
        if constexpr (CN == 3) {
            double a0, a1, a2, b;
            gf_coeffs_rgb<double>(s[0] * k, s[1] * k, s[2] * k, s[3] * k, s[4] * k, s[5] * k, s[6] * k, s[7] * k,
                                  s[8] * k, s[9] * k, s[10] * k, s[11] * k, s[12] * k, eps, a0, a1, a2, b);
            A[i] = static_cast<float>(a0);
            A[plane + i] = static_cast<float>(a1);
            A[2 * plane + i] = static_cast<float>(a2);
            A[3 * plane + i] = static_cast<float>(b);
        } else {
            double a, b;
            gf_coeffs_grey<double>(s[0] * k, s[1] * k, s[2] * k, s[3] * k, eps, a, b);
            A[i] = static_cast<float>(a);
            A[plane + i] = static_cast<float>(b);
        }
    });
}

// Pass 4: q = mean(a) . I + mean(b), or the means (when mean_a.data is set).
template <int CN, typename TG>
__global__ void rowsum_apply(const double* V, ImageView<const TG> guide, int r, ImageView<float> out,
                             ImageView<float> mean_a, ImageView<float> mean_b) {
    const int H = guide.height, W = guide.width;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int x0 = (blockIdx.x * blockDim.x + threadIdx.x) * kSeg;
    if (y >= H || x0 >= W) return;
    const int x1 = x0 + kSeg < W ? x0 + kSeg : W;
    const long long plane = static_cast<long long>(H) * W;
    row_windows<CN + 1>(V, plane, H, W, r, y, x0, x1, [&](int x, const double* s, double k) {
        if (mean_a.data) {
            for (int c = 0; c < CN; ++c) mean_a.at(y, x, c) = static_cast<float>(s[c] * k);
            mean_b.at(y, x) = static_cast<float>(s[CN] * k);
        } else if constexpr (CN == 3) {
            out.at(y, x) = static_cast<float>(gf_apply_rgb<double>(
                s[0] * k, s[1] * k, s[2] * k, s[3] * k, gf_unit(guide.at(y, x, 0)), gf_unit(guide.at(y, x, 1)),
                gf_unit(guide.at(y, x, 2))));
        } else {
            out.at(y, x) = static_cast<float>(gf_apply_grey<double>(s[0] * k, s[1] * k, gf_unit(guide.at(y, x))));
        }
    });
}

template <int CN, typename TG, typename TP>
void run(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
         ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream) {
    constexpr int NK = CN == 3 ? 13 : 4;
    const int H = guide.height, W = guide.width;
    const int r = radius < (H > W ? H : W) ? radius : (H > W ? H : W);  // wider than the image = the image
    const std::size_t plane = static_cast<std::size_t>(H) * W;
    DeviceBuffer<double> V(NK * plane);
    DeviceBuffer<float> A((CN + 1) * plane);

    const dim3 col_block(128, 1, 1), col_grid(div_up(W, 128), div_up(H, kSeg), 1);
    const int segs = static_cast<int>(div_up(W, kSeg));
    const dim3 row_block(segs < 32 ? segs : 32, 4, 1);
    const dim3 row_grid(div_up(segs, row_block.x), div_up(H, 4), 1);

    auto k1 = colsum_products<CN, TG, TP>;
    ALPHACUT_LAUNCH(k1, col_grid, col_block, 0, stream, guide, src, r, V.get());
    ALPHACUT_CHECK_LAUNCH("colsum_products");
    auto k2 = rowsum_coeffs<CN>;
    ALPHACUT_LAUNCH(k2, row_grid, row_block, 0, stream, V.get(), H, W, r, eps, A.get());
    ALPHACUT_CHECK_LAUNCH("rowsum_coeffs");
    ALPHACUT_LAUNCH(colsum_plain, col_grid, col_block, 0, stream, A.get(), CN + 1, H, W, r, V.get());
    ALPHACUT_CHECK_LAUNCH("colsum_plain");
    auto k4 = rowsum_apply<CN, TG>;
    ALPHACUT_LAUNCH(k4, row_grid, row_block, 0, stream, V.get(), guide, r, out, mean_a, mean_b);
    ALPHACUT_CHECK_LAUNCH("rowsum_apply");
    // The scratch buffers are freed when this returns: wait for the kernels that use them.
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));
}

template <typename TG, typename TP>
void check_args(const char* op, ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps) {
    ALPHACUT_CHECK(guide.height > 0 && guide.width > 0, op << ": the guide is empty");
    ALPHACUT_CHECK(guide.channels == 1 || guide.channels == 3,
                   op << ": the guide must have 1 or 3 channels, got " << guide.channels);
    ALPHACUT_CHECK(src.height == guide.height && src.width == guide.width && src.channels == 1,
                   op << ": src must be (" << guide.height << ", " << guide.width << ")");
    ALPHACUT_CHECK(radius >= 0, op << ": radius must be >= 0, got " << radius);
    ALPHACUT_CHECK(eps > 0, op << ": eps must be > 0, got " << eps);
}

}  // namespace

template <typename TG, typename TP>
void guided_filter(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
                   cudaStream_t stream) {
    check_args("guided_filter", guide, src, radius, eps);
    ALPHACUT_CHECK(out.height == guide.height && out.width == guide.width && out.channels == 1,
                   "guided_filter: out must be (" << guide.height << ", " << guide.width << ")");
    if (guide.channels == 3)
        run<3>(guide, src, radius, eps, out, ImageView<float>{}, ImageView<float>{}, stream);
    else
        run<1>(guide, src, radius, eps, out, ImageView<float>{}, ImageView<float>{}, stream);
}

template <typename TG, typename TP>
void guided_filter_coefficients(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                                ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream) {
    check_args("guided_filter_coefficients", guide, src, radius, eps);
    ALPHACUT_CHECK(mean_a.height == guide.height && mean_a.width == guide.width && mean_a.channels == guide.channels,
                   "guided_filter_coefficients: mean_a must be (H, W, C) like the guide");
    ALPHACUT_CHECK(mean_b.height == guide.height && mean_b.width == guide.width && mean_b.channels == 1,
                   "guided_filter_coefficients: mean_b must be (H, W)");
    ALPHACUT_CHECK(mean_a.data != nullptr, "guided_filter_coefficients: mean_a has no data");
    if (guide.channels == 3)
        run<3>(guide, src, radius, eps, ImageView<float>{}, mean_a, mean_b, stream);
    else
        run<1>(guide, src, radius, eps, ImageView<float>{}, mean_a, mean_b, stream);
}

#define ALPHACUT_GF_CUDA_INSTANTIATE(TG, TP)                                                                      \
    template void guided_filter<TG, TP>(ImageView<const TG>, ImageView<const TP>, int, double, ImageView<float>,   \
                                        cudaStream_t);                                                            \
    template void guided_filter_coefficients<TG, TP>(ImageView<const TG>, ImageView<const TP>, int, double,        \
                                                     ImageView<float>, ImageView<float>, cudaStream_t);
ALPHACUT_GF_CUDA_INSTANTIATE(float, float)
ALPHACUT_GF_CUDA_INSTANTIATE(float, std::uint8_t)
ALPHACUT_GF_CUDA_INSTANTIATE(std::uint8_t, float)
ALPHACUT_GF_CUDA_INSTANTIATE(std::uint8_t, std::uint8_t)

}  // namespace alphacut::ALPHACUT_GPU_NS
