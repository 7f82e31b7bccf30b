// Multi-level foreground estimation (Germer et al. 2020) on the GPU, with the per-pixel update of
// estimate_foreground_pixel.hpp (fb_begin / fb_add_neighbour / fb_solve, fb_nearest_index,
// fb_start_*, fb_is_active), the same functions the CPU op calls.
//
// Structure (coarse to fine over foreground_levels(H, W), as the CPU op):
//   1. fg_mean_partials: a fixed grid of blocks sums, per block, the colour where alpha > 0.9 and
//      where alpha < 0.1 (and the counts) in double, added up in shared memory; the partial
//      sums are written per block, not added atomically, so the result does not depend on the
//      order blocks run in.
//   2. fg_small_levels: ONE block of kSmallThreads threads finishes the mean colours (the 1 x 1
//      start) and solves every level of at most kOneBlockPixels pixels, coarse to fine, with
//      __syncthreads between the start copy, each colour of each sweep and each level: on a
//      12 MP image that is 7 levels and 124 half-sweeps in one launch instead of 131 launches
//      of a few hundred threads each.
//   3. Each larger level: fg_init_level (start F and B from the coarser level, nearest; on banded
//      levels opaque F = I and transparent B = I via fb_start_*, and the band mask), then per sweep
//      two launches of fg_sweep, one per colour (red: x + y even, then black).
// Every level reads the image and alpha through fb_nearest_index on the fly (no resampled
// copies); the finest level is instantiated without the index maps.
//
// Red-black instead of scan order: Gauss-Seidel in scan order is sequential, so the GPU sweeps
// every level red-black (each colour only reads the other colour, so a colour updates in place
// and in parallel: no ping-pong of F and B). Levels above params.band_min_pixels are banded as on
// the CPU, where the CPU op is red-black too: only the pixels within one pixel (3 x 3) of an
// active pixel (fb_is_active) are updated, everything else keeps its start value. The launch
// covers every pixel of the colour and the others return after reading one mask byte; the fixed
// point semantics (and the order of updates) are those of the CPU op's banded levels. Levels at
// or below band_min_pixels are swept in full, red-black where the CPU op sweeps in scan order:
// these differ (neither is converged after 2 sweeps), which is why emu/cuda agree with the CPU op
// only within the tolerances of csrc/ops/README.md, not bit for bit.
//
// Memory: two (F, B) pairs of packed (h, w, 3) float32 planes sized for the second-finest level,
// used alternately per level; the finest level writes F into the output and B into the output or
// a scratch plane; one uint8 band mask of the finest size.
//
// Bytes moved per pixel of the finest level, uint8 image and alpha (float32: +9 image, +3 alpha,
// twice each: mean pass and init):
//   mean pass: read image 3 + alpha 1 = 4
//   init:      read image 3 + alpha 1 (the 3 x 3 neighbourhood from cache) + coarse F, B 24 per
//              coarse pixel, ~4 fine pixels each = 6; write F, B 24 + mask 1 = 35
//   sweeps:    1 mask byte per pixel per sweep (2 sweeps) = 2, plus the band's pixels
//              (~5 neighbours' F, B 120 B + own 24 B, read mostly from cache) - a few % of the
//              image on photographs
//   = ~41 B; the coarser levels add about a third of the init traffic (~12 B per finest pixel).
//   12 MP (4000 x 3000): ~0.64 GB, H100 floor (3 TB/s) 0.21 ms. Launches: 2 + 5 per level above
//   kOneBlockPixels = 32 on 4000 x 3000, ~0.1 ms of launch latency at ~3 us each: the op is
//   near launch-bound at this size; a CUDA graph of the sequence would remove most of it.
#include "estimate_foreground_cuda.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "estimate_foreground_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace {

constexpr int kMeanThreads = 256;  // threads per block of the mean pass (a power of two)
constexpr int kMeanBlocks = 264;   // at most; fixed, so the sums are the same on every device
constexpr int kSmallThreads = 256;
constexpr long long kOneBlockPixels = 64 * 64;  // levels this small are solved in the one block
constexpr int kMaxLevels = 34;                  // ceil(log2(2^31)) + 1 levels at most

// As the CPU op's conversion table: v / 255 in float (not v * (1 / 255), which rounds differently).
ALPHACUT_DEVICE float fg_unit(unsigned char v) { return static_cast<float>(v) / 255.f; }
ALPHACUT_DEVICE float fg_unit(float v) { return v; }

// The input seen at one level of size h x w: nearest index maps into the full-size input
// (Mapped), or the input itself (the finest level).
template <typename TI, typename TA, bool Mapped>
struct FgSrc {
    ImageView<const TI> image;
    ImageView<const TA> alpha;
    int h, w;
    ALPHACUT_DEVICE int sy(int y) const {
        if constexpr (Mapped)
            return fb_nearest_index(y, h, alpha.height);
        else
            return y;
    }
    ALPHACUT_DEVICE int sx(int x) const {
        if constexpr (Mapped)
            return fb_nearest_index(x, w, alpha.width);
        else
            return x;
    }
    ALPHACUT_DEVICE float a(int y, int x) const { return fg_unit(alpha.row(sy(y))[sx(x)]); }
    ALPHACUT_DEVICE float i(int y, int x, int c) const { return fg_unit(image.row(sy(y))[3 * sx(x) + c]); }
};

ALPHACUT_DEVICE std::ptrdiff_t fg_px(int y, int x, int w) { return 3 * (static_cast<std::ptrdiff_t>(y) * w + x); }

// fb_is_active at (y, x) with the border clamped, as the CPU op's band.
template <typename S>
ALPHACUT_DEVICE bool fg_active(const S& s, int y, int x) {
    const int xl = x > 0 ? x - 1 : 0, xr = x + 1 < s.w ? x + 1 : s.w - 1;
    const int yu = y > 0 ? y - 1 : 0, yd = y + 1 < s.h ? y + 1 : s.h - 1;
    return fb_is_active(s.a(y, x), s.a(y, xl), s.a(y, xr), s.a(yu, x), s.a(yd, x));
}

// Whether a banded level sweeps (y, x): an active pixel within its 3 x 3 neighbourhood (pixels
// outside the image are not active).
template <typename S>
ALPHACUT_DEVICE bool fg_swept(const S& s, int y, int x) {
    for (int dy = -1; dy <= 1; ++dy) {
        const int yy = y + dy;
        if (yy < 0 || yy >= s.h) continue;
        for (int dx = -1; dx <= 1; ++dx) {
            const int xx = x + dx;
            if (xx >= 0 && xx < s.w && fg_active(s, yy, xx)) return true;
        }
    }
    return false;
}

// Start values of (y, x) from the coarser level (ph x pw, packed), nearest.
template <typename S>
ALPHACUT_DEVICE void fg_start(const S& s, int y, int x, const float* pf, const float* pb, int ph, int pw, bool banded,
                              float* f, float* b) {
    const std::ptrdiff_t q = fg_px(fb_nearest_index(y, s.h, ph), fb_nearest_index(x, s.w, pw), pw);
    const std::ptrdiff_t o = fg_px(y, x, s.w);
    if (!banded) {
        for (int c = 0; c < 3; ++c) {
            f[o + c] = pf[q + c];
            b[o + c] = pb[q + c];
        }
        return;
    }
    const float a = s.a(y, x);
    for (int c = 0; c < 3; ++c) {
        const float ic = s.i(y, x, c);
        f[o + c] = fb_start_foreground(a, ic, pf[q + c]);
        b[o + c] = fb_start_background(a, ic, pb[q + c]);
    }
}

// One pixel's update in place, neighbours left, right, up, down (clamped), as the CPU op.
template <typename S>
ALPHACUT_DEVICE void fg_update(const S& s, float* f, float* b, int y, int x, float reg, float gw) {
    const int w = s.w;
    const int xl = x > 0 ? x - 1 : 0, xr = x + 1 < w ? x + 1 : w - 1;
    const int yu = y > 0 ? y - 1 : 0, yd = y + 1 < s.h ? y + 1 : s.h - 1;
    FbSystem sys;
    fb_begin(sys, s.a(y, x), s.i(y, x, 0), s.i(y, x, 1), s.i(y, x, 2));
    fb_add_neighbour(sys, s.a(y, xl), f + fg_px(y, xl, w), b + fg_px(y, xl, w), reg, gw);
    fb_add_neighbour(sys, s.a(y, xr), f + fg_px(y, xr, w), b + fg_px(y, xr, w), reg, gw);
    fb_add_neighbour(sys, s.a(yu, x), f + fg_px(yu, x, w), b + fg_px(yu, x, w), reg, gw);
    fb_add_neighbour(sys, s.a(yd, x), f + fg_px(yd, x, w), b + fg_px(yd, x, w), reg, gw);
    fb_solve(sys, f + fg_px(y, x, w), b + fg_px(y, x, w));
}

// Pass 1: per block, sums of the colour where alpha > 0.9 (0..2) and their count (3), and where
// alpha < 0.1 (4..6, 7). Rows by block, columns by thread (coalesced).
template <typename TI, typename TA>
__global__ void fg_mean_partials(ImageView<const TI> image, ImageView<const TA> alpha, double* partials) {
    ALPHACUT_SHARED(double, red, [8][kMeanThreads]);
    const int t = threadIdx.x;
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int y = blockIdx.x; y < alpha.height; y += gridDim.x) {
        const TA* ap = alpha.row(y);
        const TI* ip = image.row(y);
        for (int x = t; x < alpha.width; x += blockDim.x) {
            const float a = fg_unit(ap[x]);
            const float r = fg_unit(ip[3 * x]), g = fg_unit(ip[3 * x + 1]), bl = fg_unit(ip[3 * x + 2]);
            if (a > 0.9f) {
                s[0] += r;
                s[1] += g;
                s[2] += bl;
                s[3] += 1.0;
            }
            if (a < 0.1f) {
                s[4] += r;
                s[5] += g;
                s[6] += bl;
                s[7] += 1.0;
            }
        }
    }
    for (int k = 0; k < 8; ++k) red[k][t] = s[k];
    __syncthreads();
    // One barrier, then 8 threads add up a column each in a fixed order (a tree would take
    // log2(kMeanThreads) barriers for 8 numbers per block).
    if (t < 8) {
        double sum = 0.0;
        for (int i = 0; i < kMeanThreads; ++i) sum += red[t][i];
        partials[8 * static_cast<std::ptrdiff_t>(blockIdx.x) + t] = sum;
    }
}

// A level as the kernels see it: size, sweeps, banded, and where its F and B live (packed).
struct FgLevel {
    int h, w, iters, banded;
    float* f;
    float* b;
};
struct FgPlan {
    int count;  // levels solved by fg_small_levels
    FgLevel lv[kMaxLevels];
};

// One level inside the single block of fg_small_levels: start values from the coarser level,
// then red-black sweeps, a barrier after each colour (every thread of the block calls this).
template <typename S>
ALPHACUT_DEVICE void fg_block_level(const S& s, const FgLevel& lv, const float* pf, const float* pb, int ph, int pw,
                                    float reg, float gw) {
    const int t = threadIdx.x, nt = blockDim.x;
    const int w = lv.w, n = lv.h * lv.w;  // n <= kOneBlockPixels
    for (int p = t; p < n; p += nt) fg_start(s, p / w, p % w, pf, pb, ph, pw, lv.banded, lv.f, lv.b);
    __syncthreads();
    for (int it = 0; it < lv.iters; ++it)
        for (int colour = 0; colour < 2; ++colour) {
            for (int p = t; p < n; p += nt) {
                const int y = p / w, x = p % w;
                if (((x + y) & 1) != colour || (lv.banded && !fg_swept(s, y, x))) continue;
                fg_update(s, lv.f, lv.b, y, x, reg, gw);
            }
            __syncthreads();
        }
}

// Pass 2: one block. The mean colours from the partial sums (fixed order), then every level of
// the plan coarse to fine: start values, then red-black sweeps, a barrier after each colour.
template <typename TI, typename TA>
__global__ void fg_small_levels(ImageView<const TI> image, ImageView<const TA> alpha, const double* partials,
                                int nparts, FgPlan plan, float reg, float gw) {
    ALPHACUT_SHARED(double, tot, [8]);
    ALPHACUT_SHARED(float, start, [6]);
    const int t = threadIdx.x;
    if (t < 8) {
        double s = 0.0;
        for (int p = 0; p < nparts; ++p) s += partials[8 * static_cast<std::ptrdiff_t>(p) + t];
        tot[t] = s;
    }
    __syncthreads();
    if (t < 3) {
        start[t] = static_cast<float>(tot[t] / (tot[3] + 1e-5));
        start[3 + t] = static_cast<float>(tot[4 + t] / (tot[7] + 1e-5));
    }
    __syncthreads();
    const float* pf = ALPHACUT_SHARED_RAW(start);  // then the levels' F and B, in global memory
    const float* pb = pf + 3;
    int ph = 1, pw = 1;
    for (int li = 0; li < plan.count; ++li) {
        const FgLevel lv = plan.lv[li];
        const int h = lv.h, w = lv.w;
        if (h == alpha.height && w == alpha.width)
            fg_block_level(FgSrc<TI, TA, false>{image, alpha, h, w}, lv, pf, pb, ph, pw, reg, gw);
        else
            fg_block_level(FgSrc<TI, TA, true>{image, alpha, h, w}, lv, pf, pb, ph, pw, reg, gw);
        pf = lv.f;
        pb = lv.b;
        ph = h;
        pw = w;
    }
}

// Pass 3a: start values of one larger level from the coarser one; on banded levels also the
// band mask (1 where the sweeps update the pixel).
template <typename TI, typename TA, bool Mapped>
__global__ void fg_init_level(FgSrc<TI, TA, Mapped> s, const float* pf, const float* pb, int ph, int pw, int banded,
                              float* f, float* b, std::uint8_t* mask) {
    const int x = pixel_col(s.w);
    const int y = pixel_row(s.h);
    if (x >= s.w || y >= s.h) return;
    fg_start(s, y, x, pf, pb, ph, pw, banded != 0, f, b);
    if (mask) mask[static_cast<std::ptrdiff_t>(y) * s.w + x] = fg_swept(s, y, x) ? 1 : 0;
}

// Pass 3b: one colour of one sweep: a thread per pixel with (x + y) % 2 == colour.
template <typename TI, typename TA, bool Mapped>
__global__ void fg_sweep(FgSrc<TI, TA, Mapped> s, int colour, const std::uint8_t* mask, float* f, float* b, float reg,
                         float gw) {
    const int y = pixel_row(s.h);
    const long long xx = 2LL * (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) + ((y + colour) & 1);
    if (xx >= s.w || y >= s.h) return;
    const int x = static_cast<int>(xx);
    if (mask && !mask[static_cast<std::ptrdiff_t>(y) * s.w + x]) return;
    fg_update(s, f, b, y, x, reg, gw);
}

template <typename TI, typename TA, bool Mapped>
void solve_level(ImageView<const TI> image, ImageView<const TA> alpha, const FgLevel& lv, const float* pf,
                 const float* pb, int ph, int pw, std::uint8_t* mask, float reg, float gw, cudaStream_t stream) {
    const FgSrc<TI, TA, Mapped> s{image, alpha, lv.h, lv.w};
    std::uint8_t* m = lv.banded && lv.iters > 0 ? mask : nullptr;
    ALPHACUT_LAUNCH((fg_init_level<TI, TA, Mapped>), pixel_grid(lv.h, lv.w), pixel_block(), 0, stream, s, pf, pb, ph,
                    pw, lv.banded, lv.f, lv.b, m);
    ALPHACUT_CHECK_LAUNCH("fg_init_level");
    const dim3 grid = folded_grid(div_up((lv.w + 1) / 2, 32), div_up(lv.h, 8));
    for (int it = 0; it < lv.iters; ++it)
        for (int colour = 0; colour < 2; ++colour) {
            ALPHACUT_LAUNCH((fg_sweep<TI, TA, Mapped>), grid, pixel_block(), 0, stream, s, colour,
                            static_cast<const std::uint8_t*>(m), lv.f, lv.b, reg, gw);
            ALPHACUT_CHECK_LAUNCH("fg_sweep");
        }
}

}  // namespace

template <typename TI, typename TA>
void estimate_foreground(ImageView<const TI> image, ImageView<const TA> alpha, const ForegroundParams& prm,
                         ImageView<float> fg, ImageView<float> bg, cudaStream_t stream) {
    const int H = image.height, W = image.width;
    ALPHACUT_CHECK(H > 0 && W > 0, "image is empty (" << H << " x " << W << ")");
    ALPHACUT_CHECK(image.channels == 3, "image must have 3 channels, got " << image.channels);
    ALPHACUT_CHECK(alpha.height == H && alpha.width == W && alpha.channels == 1,
                   "alpha has shape (" << alpha.height << ", " << alpha.width << ", " << alpha.channels
                                       << "), expected (" << H << ", " << W << ")");
    ALPHACUT_CHECK(fg.height == H && fg.width == W && fg.channels == 3 && fg.row_stride == 3LL * W,
                   "foreground output must be packed (H, W, 3)");
    if (bg.data)
        ALPHACUT_CHECK(bg.height == H && bg.width == W && bg.channels == 3 && bg.row_stride == 3LL * W,
                       "background output must be packed (H, W, 3)");
    check_foreground_params(prm);

    const auto sizes = foreground_levels(H, W);
    const int nlev = static_cast<int>(sizes.size());
    ALPHACUT_ASSERT(nlev <= kMaxLevels, "too many levels: " << nlev);

    // Scratch: two (F, B) pairs for the levels below the finest, B of the finest unless returned.
    std::size_t inner = 1;
    for (int li = 0; li + 1 < nlev; ++li)
        inner = std::max(inner, static_cast<std::size_t>(sizes[li].first) * sizes[li].second);
    DeviceBuffer<float> pair_f[2], pair_b[2];
    if (nlev > 1)
        for (int k = 0; k < 2; ++k) {
            pair_f[k] = DeviceBuffer<float>(3 * inner, stream);
            pair_b[k] = DeviceBuffer<float>(3 * inner, stream);
        }
    DeviceBuffer<float> b_own;
    float* b_fin = bg.data;
    if (!b_fin) {
        b_own = DeviceBuffer<float>(3 * static_cast<std::size_t>(H) * W, stream);
        b_fin = b_own.get();
    }

    std::vector<FgLevel> levels(nlev);
    bool any_mask = false;
    for (int li = 0; li < nlev; ++li) {
        FgLevel& lv = levels[li];
        lv.h = sizes[li].first;
        lv.w = sizes[li].second;
        lv.iters = (lv.w <= prm.small_size && lv.h <= prm.small_size) ? prm.n_small_iterations : prm.n_big_iterations;
        lv.banded = static_cast<long long>(lv.h) * lv.w > prm.band_min_pixels ? 1 : 0;
        const bool finest = li + 1 == nlev;
        lv.f = finest ? fg.data : pair_f[li % 2].get();
        lv.b = finest ? b_fin : pair_b[li % 2].get();
        if (static_cast<long long>(lv.h) * lv.w > kOneBlockPixels && lv.banded && lv.iters > 0) any_mask = true;
    }
    FgPlan plan{};
    while (plan.count < nlev &&
           static_cast<long long>(levels[plan.count].h) * levels[plan.count].w <= kOneBlockPixels) {
        plan.lv[plan.count] = levels[plan.count];
        ++plan.count;
    }
    DeviceBuffer<std::uint8_t> mask;
    if (any_mask) {
        std::size_t most = 0;
        for (int li = plan.count; li < nlev; ++li)
            most = std::max(most, static_cast<std::size_t>(levels[li].h) * levels[li].w);
        mask = DeviceBuffer<std::uint8_t>(most, stream);
    }

    const int nparts = std::min(kMeanBlocks, H);
    DeviceBuffer<double> partials(8 * static_cast<std::size_t>(nparts), stream);
    ALPHACUT_LAUNCH((fg_mean_partials<TI, TA>), dim3(nparts, 1, 1), dim3(kMeanThreads, 1, 1), 0, stream, image, alpha,
                    partials.get());
    ALPHACUT_CHECK_LAUNCH("fg_mean_partials");
    // The first level is 1 x 1 (or the whole image when it is 1 x 1), so the plan is never empty.
    ALPHACUT_ASSERT(plan.count > 0, "the coarsest level is larger than " << kOneBlockPixels << " pixels");
    ALPHACUT_LAUNCH((fg_small_levels<TI, TA>), dim3(1, 1, 1), dim3(kSmallThreads, 1, 1), 0, stream, image, alpha,
                    static_cast<const double*>(partials.get()), nparts, plan, prm.regularization, prm.gradient_weight);
    ALPHACUT_CHECK_LAUNCH("fg_small_levels");

    const float reg = prm.regularization, gw = prm.gradient_weight;
    for (int li = plan.count; li < nlev; ++li) {
        const FgLevel& lv = levels[li];
        const FgLevel& pv = levels[li - 1];
        if (lv.h == H && lv.w == W)
            solve_level<TI, TA, false>(image, alpha, lv, pv.f, pv.b, pv.h, pv.w, mask.get(), reg, gw, stream);
        else
            solve_level<TI, TA, true>(image, alpha, lv, pv.f, pv.b, pv.h, pv.w, mask.get(), reg, gw, stream);
    }
    // The scratch buffers are allocated and freed in the stream's order: freeing them on return
    // neither waits for nor races the kernels still queued.
}

template void estimate_foreground<std::uint8_t, std::uint8_t>(ImageView<const std::uint8_t>,
                                                              ImageView<const std::uint8_t>, const ForegroundParams&,
                                                              ImageView<float>, ImageView<float>, cudaStream_t);
template void estimate_foreground<std::uint8_t, float>(ImageView<const std::uint8_t>, ImageView<const float>,
                                                       const ForegroundParams&, ImageView<float>, ImageView<float>,
                                                       cudaStream_t);
template void estimate_foreground<float, std::uint8_t>(ImageView<const float>, ImageView<const std::uint8_t>,
                                                       const ForegroundParams&, ImageView<float>, ImageView<float>,
                                                       cudaStream_t);
template void estimate_foreground<float, float>(ImageView<const float>, ImageView<const float>, const ForegroundParams&,
                                                ImageView<float>, ImageView<float>, cudaStream_t);

}  // namespace alphacut::ALPHACUT_GPU_NS
