// Guided-filter kernels (He, Sun & Tang), the per-pixel math from guided_filter_pixel.hpp.
//
// Fused path (radius clipped to the image width - 1 at most kGuidedFusedMaxRadius = 96):
//   1. fused_coeffs: a block owns tw output columns x th rows; its nt = tw + 2 rx threads each
//      own one column of the strip and its halo and run the vertical window sums of I, p,
//      I I^T, I p (13 values colour / 4 grey) down the band in registers; per output row the
//      sums go to shared memory (nt x 13 doubles) and each output thread adds its 2 rx + 1
//      neighbours (the horizontal window), divides by the clipped window's pixel count and
//      solves the 3x3 system (gf_coeffs_rgb) -> (a0, a1, a2, b) as one float4-sized store.
//   2. fused_apply: the same structure over (a, b) (read as one 16 B / 8 B vector per pixel),
//      then q = mean(a) . I + mean(b) (gf_apply_*), or the means (guided_filter_coefficients).
// Sums are double like the CPU op's: the variance is a difference of nearly equal means. Float
// window sums (the same sequential horizontal-then-vertical order, in NumPy float32) put a off by
// up to 2.6e-3 against float64 on the 300 x 400 corner of p3m_p_514ca06a__on_beach at r = 8,
// eps = 1e-4: past the 1e-4 budget. The doubles stay in registers and shared memory; only (a, b)
// go through global memory, as float (the CPU op rounds them alike).
//
// Counted work (fused path), colour guide:
//   launches 2; global passes: read I, p once (pass 1) and I again (pass 2); the row leaving the
//   vertical window is read again 2 ry + 1 rows later (an L2 hit: the working set of all blocks
//   is ~(2 ry + 2) rows of the image, 1.2 MB at 4000 columns, r = 8);
//   shared memory per block: 13 x nt doubles = 13 KB (nt = 128, r <= 32) or 26 KB (nt = 256),
//   pass 2: 4 x nt doubles = 4 or 8 KB; 2 barriers per output row;
//   arithmetic per pixel: 2 x 13 (vertical) + 13 x (2 rx + 1) (horizontal) double adds in
//   pass 1, 2 x 4 + 4 x (2 rx + 1) in pass 2 (r = 8: ~300 double adds per pixel);
//   halo overhead: reads scale by nt / tw (r = 8: 128 / 112 = 1.14) across strips and by
//   (th + 2 ry) / th (r = 8: 80 / 64 = 1.25) across bands, partly served by L2.
// Bytes moved per pixel through DRAM, once each (float32 guide and src):
//   pass 1: read I 12 + p 4, write (a, b) 16; pass 2: read (a, b) 16 + I 12, write q 4
//   = 64 B -> 12 MP: 768 MB, H100 floor (3 TB/s) 0.26 ms. uint8 guide, float32 src (the
//   benchmark's case): 3 + 4 + 16 + 16 + 3 + 4 = 46 B -> 552 MB, 0.18 ms. Grey guide, float32:
//   4 + 4 + 8 + 8 + 4 + 4 = 32 B -> 384 MB, 0.13 ms. guided_filter_coefficients writes the
//   means (16 B) instead of reading I and writing q: 64 B colour.
//   With the halo factors above and no L2 reuse, the reads grow by at most 1.43x (r = 8).
// Occupancy estimate (sm_90: 64K registers, 228 KB shared memory, 2048 threads per SM), from
// `nvcc -arch=sm_90 -Xptxas -v` (no spills): fused_coeffs colour 124 registers -> 4 blocks of
// 128 threads per SM (25 % occupancy, register-bound; shared memory would allow 17), grey 59 ->
// 8 blocks (50 %); fused_apply colour 56, grey 48 -> 9-10 blocks (56-62 %). 12 MP, r = 8:
// 36 strips x 47 bands = 1692 blocks of 128 threads, ~3 waves of 528 resident blocks.
// On GPUs with slow double arithmetic (sm_86 / sm_89: 1/64 rate) the ~300 double adds per
// pixel, not the bytes, bound pass 1.
//
// Multi-pass fallback (wider radii, where tw + 2 rx would pass 256 threads): four kernels with
// running sums, a thread per (column, band of kSeg rows) or (row, segment of kSeg columns):
//   mp_colsum_products (vertical sums -> V, double planes), mp_rowsum_coeffs (horizontal sums,
//   3x3 solve -> A, float planes), mp_colsum_plain (vertical sums of A -> V), mp_rowsum_apply
//   (horizontal sums -> q or the means). Each thread starts its band/segment by summing one
//   whole (clipped) window: min(2r+1, n) loads per kSeg outputs.
//   Bytes per pixel, colour: read I, p 16 twice + V 13 doubles written and read 208 + A 4 floats
//   written and read twice 64... = 340 B -> 12 MP: 4.1 GB, floor 1.4 ms; grey 140 B, 0.56 ms.
#include "guided_filter_cuda.hpp"

#include "../../common/border.hpp"
#include "guided_filter_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace {

constexpr int kSeg = 64;  // multi-pass: outputs per thread along the scan direction
constexpr int kFusedMinColumns = 64;  // fused: output columns per block when the image is wide
constexpr int kFusedMaxThreads = 256;
constexpr int kFusedBand = 64;  // fused: output rows per block (at least)
static_assert(kGuidedFusedMaxRadius == (kFusedMaxThreads - kFusedMinColumns) / 2, "the fused radius limit");

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

// ---- the multi-pass kernels (the fallback) ---------------------------------------------------

// Pass 1: V[k][y][x] = sum over rows [y - r, y + r] (clipped) of product k at column x.
template <int CN, typename TG, typename TP>
__global__ void mp_colsum_products(ImageView<const TG> guide, ImageView<const TP> src, int r, double* V) {
    constexpr int NK = CN == 3 ? 13 : 4;
    const int H = guide.height, W = guide.width;
    const int x = pixel_col(W);
    const long long band = block_row() * kSeg;
    if (x >= W || band >= H) return;
    const int y0 = static_cast<int>(band);
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
__global__ void mp_colsum_plain(const float* A, int NK, int H, int W, int r, double* V) {
    const int x = pixel_col(W);
    const long long band = block_row() * kSeg;
    if (x >= W || band >= H) return;
    const int y0 = static_cast<int>(band);
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
ALPHACUT_DEVICE void mp_row_windows(const double* V, long long plane, int H, int W, int r, int y, int x0, int x1,
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
__global__ void mp_rowsum_coeffs(const double* V, int H, int W, int r, double eps, float* A) {
    constexpr int NK = CN == 3 ? 13 : 4;
    const int y = pixel_row(H);
    const long long seg = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) * kSeg;
    if (y >= H || seg >= W) return;
    const int x0 = static_cast<int>(seg);
    const int x1 = x0 + kSeg < W ? x0 + kSeg : W;
    const long long plane = static_cast<long long>(H) * W;
    mp_row_windows<NK>(V, plane, H, W, r, y, x0, x1, [&](int x, const double* s, double k) {
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
__global__ void mp_rowsum_apply(const double* V, ImageView<const TG> guide, int r, ImageView<float> out,
                                ImageView<float> mean_a, ImageView<float> mean_b) {
    const int H = guide.height, W = guide.width;
    const int y = pixel_row(H);
    const long long seg = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) * kSeg;
    if (y >= H || seg >= W) return;
    const int x0 = static_cast<int>(seg);
    const int x1 = x0 + kSeg < W ? x0 + kSeg : W;
    const long long plane = static_cast<long long>(H) * W;
    mp_row_windows<CN + 1>(V, plane, H, W, r, y, x0, x1, [&](int x, const double* s, double k) {
        if (mean_a.data) {
            for (int c = 0; c < CN; ++c) mean_a.at(y, x, c) = static_cast<float>(s[c] * k);
            mean_b.at(y, x) = static_cast<float>(s[CN] * k);
        } else if constexpr (CN == 3) {
            out.at(y, x) = static_cast<float>(
                gf_apply_rgb<double>(s[0] * k, s[1] * k, s[2] * k, s[3] * k, gf_unit(guide.at(y, x, 0)),
                                     gf_unit(guide.at(y, x, 1)), gf_unit(guide.at(y, x, 2))));
        } else {
            out.at(y, x) = static_cast<float>(gf_apply_grey<double>(s[0] * k, s[1] * k, gf_unit(guide.at(y, x))));
        }
    });
}

template <int CN, typename TG, typename TP>
void run_multipass(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
                   ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream) {
    constexpr int NK = CN == 3 ? 13 : 4;
    const int H = guide.height, W = guide.width;
    const int r = radius < (H > W ? H : W) ? radius : (H > W ? H : W);  // wider than the image = the image
    const std::size_t plane = static_cast<std::size_t>(H) * W;
    DeviceBuffer<double> V(NK * plane);
    DeviceBuffer<float> A((CN + 1) * plane);

    const dim3 col_block(128, 1, 1), col_grid = folded_grid(div_up(W, 128), div_up(H, kSeg));
    const int segs = static_cast<int>(div_up(W, kSeg));
    const dim3 row_block(segs < 32 ? segs : 32, 4, 1);
    const dim3 row_grid = folded_grid(div_up(segs, row_block.x), div_up(H, 4));

    auto k1 = mp_colsum_products<CN, TG, TP>;
    ALPHACUT_LAUNCH(k1, col_grid, col_block, 0, stream, guide, src, r, V.get());
    ALPHACUT_CHECK_LAUNCH("mp_colsum_products");
    auto k2 = mp_rowsum_coeffs<CN>;
    ALPHACUT_LAUNCH(k2, row_grid, row_block, 0, stream, V.get(), H, W, r, eps, A.get());
    ALPHACUT_CHECK_LAUNCH("mp_rowsum_coeffs");
    ALPHACUT_LAUNCH(mp_colsum_plain, col_grid, col_block, 0, stream, A.get(), CN + 1, H, W, r, V.get());
    ALPHACUT_CHECK_LAUNCH("mp_colsum_plain");
    auto k4 = mp_rowsum_apply<CN, TG>;
    ALPHACUT_LAUNCH(k4, row_grid, row_block, 0, stream, V.get(), guide, r, out, mean_a, mean_b);
    ALPHACUT_CHECK_LAUNCH("mp_rowsum_apply");
    // The scratch buffers are freed when this returns: wait for the kernels that use them.
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));
}

// ---- the fused kernels ------------------------------------------------------------------------
//
// A block owns a strip of `tw` output columns and a band of `th` rows. Its nt = tw + 2 rx threads
// each own one column of the strip plus its horizontal halo (columns outside the image hold
// zero sums, which is what clips the window). Down the band, each thread keeps the vertical
// window sums of its column in registers (double), adding the row entering the window and
// subtracting the row leaving it; per output row the block publishes those sums to shared
// memory and every output thread adds its 2 rx + 1 neighbours' sums (the horizontal window).

// (a0, a1, a2, b) or (a, b) of one pixel, one aligned vector load / store (16 or 8 B).
template <int N>
struct alignas(4 * N) GfPacked {
    float v[N];
};

// The products of one pixel, subtracted (sign -1) or added (sign +1) into the running sums.
template <int CN, typename TG, typename TP>
ALPHACUT_DEVICE void fused_accumulate(const ImageView<const TG>& guide, const ImageView<const TP>& src, int y, int x,
                                      double sign, double* v) {
    constexpr int NK = CN == 3 ? 13 : 4;
    double f[NK];
    gf_products<CN>(guide, src, y, x, f);
    for (int k = 0; k < NK; ++k) v[k] += sign * f[k];
}

// The horizontal window of each output column: the vertical sums of its 2 rx + 1 neighbours,
// which the block's threads left in shared memory (sh[k * nt + thread], NK planes).
// sh: shared memory (ALPHACUT_DYNAMIC_SHARED).
template <int NK, typename Sh>
ALPHACUT_DEVICE void horizontal_window_sums(Sh sh, int nt, int t, int rx, double* s) {
    for (int k = 0; k < NK; ++k) {
        double acc = 0.0;
        for (int j = t - rx; j <= t + rx; ++j) acc += sh[k * nt + j];
        s[k] = acc;
    }
}

// Pass 1: the coefficients (a, b) of every pixel -> A (packed per pixel, float).
template <int CN, typename TG, typename TP>
__global__ void fused_coeffs(ImageView<const TG> guide, ImageView<const TP> src, int rx, int ry, int th, double eps,
                             GfPacked<CN + 1>* A) {
    constexpr int NK = CN == 3 ? 13 : 4;
    ALPHACUT_DYNAMIC_SHARED(double, sh);  // NK planes of nt column sums
    const int H = guide.height, W = guide.width;
    const int t = static_cast<int>(threadIdx.x), nt = static_cast<int>(blockDim.x);
    const int tw = nt - 2 * rx;
    const int x = static_cast<int>(blockIdx.x) * tw - rx + t;  // this thread's column
    const bool in_image = x >= 0 && x < W;
    const bool writes = in_image && t >= rx && t < rx + tw;  // an output column of this block
    const long long band = block_row() * th;  // the same for the whole block: no divergent barrier
    const int y0 = band < H ? static_cast<int>(band) : H;
    const int y1 = y0 + th < H ? y0 + th : H;

    double v[NK];
    for (int k = 0; k < NK; ++k) v[k] = 0.0;
    if (in_image) {
        const Span w = clipped_window(y0, ry, H);
        for (int y = w.lo; y <= w.hi; ++y) fused_accumulate<CN>(guide, src, y, x, 1.0, v);
    }
    for (int y = y0; y < y1; ++y) {
        for (int k = 0; k < NK; ++k) sh[k * nt + t] = v[k];
        __syncthreads();
        if (writes) {
            double s[NK];
            horizontal_window_sums<NK>(sh, nt, t, rx, s);
            const double n = 1.0 / (static_cast<double>(gf_window_count(x, rx, W)) * gf_window_count(y, ry, H));
            GfPacked<CN + 1> c;
            if constexpr (CN == 3) {
                double a0, a1, a2, b;
                gf_coeffs_rgb<double>(s[0] * n, s[1] * n, s[2] * n, s[3] * n, s[4] * n, s[5] * n, s[6] * n, s[7] * n,
                                      s[8] * n, s[9] * n, s[10] * n, s[11] * n, s[12] * n, eps, a0, a1, a2, b);
                c.v[0] = static_cast<float>(a0);
                c.v[1] = static_cast<float>(a1);
                c.v[2] = static_cast<float>(a2);
                c.v[3] = static_cast<float>(b);
            } else {
                double a, b;
                gf_coeffs_grey<double>(s[0] * n, s[1] * n, s[2] * n, s[3] * n, eps, a, b);
                c.v[0] = static_cast<float>(a);
                c.v[1] = static_cast<float>(b);
            }
            A[static_cast<long long>(y) * W + x] = c;
        }
        __syncthreads();  // every thread has read sh before it is overwritten
        if (in_image) {
            if (y + ry + 1 < H) fused_accumulate<CN>(guide, src, y + ry + 1, x, 1.0, v);
            if (y - ry >= 0) fused_accumulate<CN>(guide, src, y - ry, x, -1.0, v);
        }
    }
}

// Pass 2: the box means of (a, b) -> q = mean(a) . I + mean(b), or the means themselves (when
// mean_a.data is set).
template <int CN, typename TG>
__global__ void fused_apply(const GfPacked<CN + 1>* A, ImageView<const TG> guide, int rx, int ry, int th,
                            ImageView<float> out, ImageView<float> mean_a, ImageView<float> mean_b) {
    constexpr int NK = CN + 1;
    ALPHACUT_DYNAMIC_SHARED(double, sh);
    const int H = guide.height, W = guide.width;
    const int t = static_cast<int>(threadIdx.x), nt = static_cast<int>(blockDim.x);
    const int tw = nt - 2 * rx;
    const int x = static_cast<int>(blockIdx.x) * tw - rx + t;
    const bool in_image = x >= 0 && x < W;
    const bool writes = in_image && t >= rx && t < rx + tw;
    const long long band = block_row() * th;  // the same for the whole block: no divergent barrier
    const int y0 = band < H ? static_cast<int>(band) : H;
    const int y1 = y0 + th < H ? y0 + th : H;

    double v[NK];
    for (int k = 0; k < NK; ++k) v[k] = 0.0;
    auto add_row = [&](int y, double sign) {
        const GfPacked<NK> c = A[static_cast<long long>(y) * W + x];
        for (int k = 0; k < NK; ++k) v[k] += sign * static_cast<double>(c.v[k]);
    };
    if (in_image) {
        const Span w = clipped_window(y0, ry, H);
        for (int y = w.lo; y <= w.hi; ++y) add_row(y, 1.0);
    }
    for (int y = y0; y < y1; ++y) {
        for (int k = 0; k < NK; ++k) sh[k * nt + t] = v[k];
        __syncthreads();
        if (writes) {
            double s[NK];
            horizontal_window_sums<NK>(sh, nt, t, rx, s);
            const double n = 1.0 / (static_cast<double>(gf_window_count(x, rx, W)) * gf_window_count(y, ry, H));
            if (mean_a.data) {
                for (int c = 0; c < CN; ++c) mean_a.at(y, x, c) = static_cast<float>(s[c] * n);
                mean_b.at(y, x) = static_cast<float>(s[CN] * n);
            } else if constexpr (CN == 3) {
                out.at(y, x) = static_cast<float>(
                    gf_apply_rgb<double>(s[0] * n, s[1] * n, s[2] * n, s[3] * n, gf_unit(guide.at(y, x, 0)),
                                         gf_unit(guide.at(y, x, 1)), gf_unit(guide.at(y, x, 2))));
            } else {
                out.at(y, x) = static_cast<float>(gf_apply_grey<double>(s[0] * n, s[1] * n, gf_unit(guide.at(y, x))));
            }
        }
        __syncthreads();
        if (in_image) {
            if (y + ry + 1 < H) add_row(y + ry + 1, 1.0);
            if (y - ry >= 0) add_row(y - ry, -1.0);
        }
    }
}

// Launch geometry of the fused kernels: a radius wider than the image is the image, per axis.
struct FusedGeometry {
    int rx, ry;  // the radius clipped to W - 1 and H - 1 (the same clipped windows)
    int nt, tw;  // threads per block (a multiple of 32), output columns per block
    int th;      // output rows per block
};

FusedGeometry fused_geometry(int H, int W, int radius) {
    FusedGeometry g;
    g.rx = radius < W - 1 ? radius : W - 1;
    g.ry = radius < H - 1 ? radius : H - 1;
    const int cap = 2 * g.rx + kFusedMinColumns <= 128 ? 128 : kFusedMaxThreads;
    const int need = static_cast<int>(div_up(W + 2 * g.rx, 32)) * 32;  // a narrow image needs fewer
    g.nt = need < cap ? need : cap;
    g.tw = g.nt - 2 * g.rx;
    g.th = 2 * g.ry > kFusedBand ? 2 * g.ry : kFusedBand;  // warm-up rows at most ~ the band
    return g;
}

template <int CN, typename TG, typename TP>
void run_fused(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
               ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream) {
    constexpr int NK = CN == 3 ? 13 : 4;
    const int H = guide.height, W = guide.width;
    const FusedGeometry g = fused_geometry(H, W, radius);
    DeviceBuffer<GfPacked<CN + 1>> A(static_cast<std::size_t>(H) * W);
    const dim3 grid = folded_grid(div_up(W, g.tw), div_up(H, g.th)), block(g.nt, 1, 1);

    auto k1 = fused_coeffs<CN, TG, TP>;
    ALPHACUT_LAUNCH(k1, grid, block, NK * g.nt * sizeof(double), stream, guide, src, g.rx, g.ry, g.th, eps, A.get());
    ALPHACUT_CHECK_LAUNCH("fused_coeffs");
    auto k2 = fused_apply<CN, TG>;
    ALPHACUT_LAUNCH(k2, grid, block, (CN + 1) * g.nt * sizeof(double), stream, A.get(), guide, g.rx, g.ry, g.th, out,
                    mean_a, mean_b);
    ALPHACUT_CHECK_LAUNCH("fused_apply");
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));  // before A is freed
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

enum class Path { Auto, MultiPass };

template <typename TG, typename TP>
void dispatch(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
              ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream, Path path) {
    const bool fused = path == Path::Auto && guided_filter_fused(guide.height, guide.width, radius);
    if (guide.channels == 3) {
        if (fused)
            run_fused<3>(guide, src, radius, eps, out, mean_a, mean_b, stream);
        else
            run_multipass<3>(guide, src, radius, eps, out, mean_a, mean_b, stream);
    } else {
        if (fused)
            run_fused<1>(guide, src, radius, eps, out, mean_a, mean_b, stream);
        else
            run_multipass<1>(guide, src, radius, eps, out, mean_a, mean_b, stream);
    }
}

template <typename TG, typename TP>
void filter(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
            cudaStream_t stream, Path path) {
    check_args("guided_filter", guide, src, radius, eps);
    ALPHACUT_CHECK(out.height == guide.height && out.width == guide.width && out.channels == 1,
                   "guided_filter: out must be (" << guide.height << ", " << guide.width << ")");
    dispatch(guide, src, radius, eps, out, ImageView<float>{}, ImageView<float>{}, stream, path);
}

template <typename TG, typename TP>
void coefficients(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> mean_a,
                  ImageView<float> mean_b, cudaStream_t stream, Path path) {
    check_args("guided_filter_coefficients", guide, src, radius, eps);
    ALPHACUT_CHECK(mean_a.height == guide.height && mean_a.width == guide.width && mean_a.channels == guide.channels,
                   "guided_filter_coefficients: mean_a must be (H, W, C) like the guide");
    ALPHACUT_CHECK(mean_b.height == guide.height && mean_b.width == guide.width && mean_b.channels == 1,
                   "guided_filter_coefficients: mean_b must be (H, W)");
    ALPHACUT_CHECK(mean_a.data != nullptr, "guided_filter_coefficients: mean_a has no data");
    dispatch(guide, src, radius, eps, ImageView<float>{}, mean_a, mean_b, stream, path);
}

}  // namespace

bool guided_filter_fused(int height, int width, int radius) {
    (void)height;  // the vertical window lives in registers: any height fits
    const int rx = radius < width - 1 ? radius : width - 1;
    return rx <= kGuidedFusedMaxRadius;
}

template <typename TG, typename TP>
void guided_filter(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
                   cudaStream_t stream) {
    filter(guide, src, radius, eps, out, stream, Path::Auto);
}

template <typename TG, typename TP>
void guided_filter_coefficients(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                                ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream) {
    coefficients(guide, src, radius, eps, mean_a, mean_b, stream, Path::Auto);
}

template <typename TG, typename TP>
void guided_filter_multipass(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                             ImageView<float> out, cudaStream_t stream) {
    filter(guide, src, radius, eps, out, stream, Path::MultiPass);
}

template <typename TG, typename TP>
void guided_filter_coefficients_multipass(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                                          ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream) {
    coefficients(guide, src, radius, eps, mean_a, mean_b, stream, Path::MultiPass);
}

#define ALPHACUT_GF_CUDA_INSTANTIATE(TG, TP)                                                                          \
    template void guided_filter<TG, TP>(ImageView<const TG>, ImageView<const TP>, int, double, ImageView<float>,      \
                                        cudaStream_t);                                                                \
    template void guided_filter_coefficients<TG, TP>(ImageView<const TG>, ImageView<const TP>, int, double,           \
                                                     ImageView<float>, ImageView<float>, cudaStream_t);               \
    template void guided_filter_multipass<TG, TP>(ImageView<const TG>, ImageView<const TP>, int, double,              \
                                                  ImageView<float>, cudaStream_t);                                    \
    template void guided_filter_coefficients_multipass<TG, TP>(ImageView<const TG>, ImageView<const TP>, int, double, \
                                                               ImageView<float>, ImageView<float>, cudaStream_t);
ALPHACUT_GF_CUDA_INSTANTIATE(float, float)
ALPHACUT_GF_CUDA_INSTANTIATE(float, std::uint8_t)
ALPHACUT_GF_CUDA_INSTANTIATE(std::uint8_t, float)
ALPHACUT_GF_CUDA_INSTANTIATE(std::uint8_t, std::uint8_t)

}  // namespace alphacut::ALPHACUT_GPU_NS
