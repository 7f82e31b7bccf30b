// Multi-level foreground estimation on the CPU.
//
// Coarse to fine over the levels of foreground_levels(): each level reads the image and alpha
// through nearest-neighbour index maps into the input (no resampled copies), starts F and B from
// the coarser level (nearest) and runs a few Gauss-Seidel sweeps of the per-pixel update in
// estimate_foreground_pixel.hpp.
//
// Small levels sweep every pixel in scan order, exactly as pymatting. Large levels (nearly all of
// the work) only sweep where the update can change anything: the active pixels (soft alpha, or a
// neighbour with a different alpha) dilated by one pixel. Sweeping a wider band (up to 2 pixels
// per sweep, which reproduces full-image sweeps on the active pixels) changed the error against
// the true foreground of the shared composites by less than 1e-5. The sweeps there are
// red-black, so each colour is updated in parallel. Outside the band an opaque pixel keeps
// F = I and a transparent one B = I (the update's fixed points); the rest keeps the coarse value.
// On the finest level B is only written where the sweeps read it, unless it is returned.
//
// estimate_foreground_rgba_cpu (the cutout with F on the soft pixels) solves the large levels in
// strips of rows instead (solve_level_strips): the same band and order of updates, but each
// strip's band kept in parity-split planar buffers, whose red-black updates vectorise, and its
// finest level written straight into the cutout (no full-size F or B).
//
// Build with -DALPHACUT_FG_TRACE to print the CPU time of each phase to stderr.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"
#include "../../common/simd.hpp"
#include "../pack_rgba/pack_rgba_pixel.hpp"
#include "estimate_foreground.hpp"
#include "estimate_foreground_pixel.hpp"

#ifdef ALPHACUT_FG_TRACE
#include <chrono>
#include <cstdio>
#include <cstdlib>
#define FG_TRACE(...) std::fprintf(stderr, __VA_ARGS__)
#include <ctime>
// Process CPU time (all threads), steadier than wall time on a shared machine.
static double fg_now_ms() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
#include <mutex>
static double fg_thread_ms() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
#else
#define FG_TRACE(...) ((void)0)
static double fg_now_ms() { return 0.0; }
static double fg_thread_ms() { return 0.0; }
#endif

namespace alphacut {

namespace {

struct U8Table {
    float v[256];
    U8Table() {
        for (int i = 0; i < 256; ++i) v[i] = static_cast<float>(i) / 255.f;
    }
};
const U8Table kUnit;

inline float to_unit(std::uint8_t v) { return kUnit.v[v]; }

// 8-bit alpha a has to_unit(a) > 0.9 exactly when a > kFgThreshold, and < 0.1 when a < kBgThreshold.
constexpr std::uint8_t kFgThreshold = 229;  // 229 / 255 = 0.898, 230 / 255 = 0.902
constexpr std::uint8_t kBgThreshold = 26;   // 25 / 255 = 0.098, 26 / 255 = 0.102
inline float to_unit(float v) { return v; }
inline std::uint8_t unit_to_u8(std::uint8_t v) { return v; }
inline std::uint8_t unit_to_u8(float v) { return to_u8(clamp01(v) * 255.f); }

// An owned, uninitialised float image. Large ones are 2 MiB aligned and, on Linux, advised to use
// transparent huge pages (as NumPy does for its arrays): first touch of a fresh buffer is a
// large part of this op's time, and huge pages fault 512 times less often.
struct FreeDeleter {
    void operator()(float* p) const { std::free(p); }
};
struct Owned {
    std::unique_ptr<float, FreeDeleter> mem;
    ImageView<float> view;
    Owned() = default;
    // `huge = false` for buffers only partly written: the kernel zeroes each page it maps.
    Owned(int h, int w, int c, bool huge = true) {
        const std::size_t bytes = static_cast<std::size_t>(h) * w * c * sizeof(float);
        constexpr std::size_t kHuge = std::size_t(1) << 21;
        void* p = nullptr;
        if (huge && bytes >= 2 * kHuge) {
            p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
#ifdef __linux__
            if (p) madvise(p, (bytes + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);
#endif
        } else {
            p = std::malloc(bytes > 0 ? bytes : 1);
        }
        if (!p) throw std::bad_alloc();
        mem.reset(static_cast<float*>(p));
        view = make_view<float>(mem.get(), h, w, c);
    }
};

// The input seen at one level: row and column maps into the input (nearest), or the input itself.
template <typename T, bool Mapped>
struct Src {
    ImageView<const T> v;
    const int* ym = nullptr;
    const int* xm = nullptr;
    int height = 0;
    int width = 0;
    const T* row(int y) const {
        if constexpr (Mapped)
            return v.row(ym[y]);
        else
            return v.row(y);
    }
    int col(int x) const {
        if constexpr (Mapped)
            return xm[x];
        else
            return x;
    }
};

// Split [0, n) rows into `parts` nearly equal contiguous parts; f(part, y0, y1) in parallel.
template <typename F>
void for_parts(int n, int parts, F&& f) {
    parallel_for(0, parts, [&](int p0, int p1) {
        for (int p = p0; p < p1; ++p) {
            const int y0 = static_cast<int>(static_cast<long long>(n) * p / parts);
            const int y1 = static_cast<int>(static_cast<long long>(n) * (p + 1) / parts);
            if (y1 > y0) f(p, y0, y1);
        }
    }, 1);
}

// The mean colour where alpha > 0.9 (foreground) and < 0.1 (background): the 1 x 1 start.
// Float alpha outside [0, 1] (or NaN) is rejected here, in the same pass.
template <typename TI, typename TA>
void mean_colours(ImageView<const TI> image, ImageView<const TA> alpha, float* f_mean, float* b_mean) {
    const int h = image.height, w = image.width;
    const int parts = std::max(1, std::min(h, get_num_threads() * 2));
    std::vector<double> sums(static_cast<std::size_t>(parts) * 8, 0.0);
    std::vector<long long> bad(parts, 0);
    for_parts(h, parts, [&](int p, int y0, int y1) {
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        long long nbad = 0;
        for (int y = y0; y < y1; ++y) {
            const TI* ip = image.row(y);
            const TA* ap = alpha.row(y);
            if constexpr (std::is_same_v<TI, std::uint8_t> && std::is_same_v<TA, std::uint8_t>) {
                // Exact integer sums; the thresholds are those of the float test on to_unit(a).
                const std::uint8_t tf = kFgThreshold, tb = kBgThreshold;
                std::uint32_t rf[4] = {0, 0, 0, 0}, rb[4] = {0, 0, 0, 0};
                for (int x = 0; x < w; ++x) {
                    const std::uint32_t sf = ap[x] > tf ? 1u : 0u, sb = ap[x] < tb ? 1u : 0u;
                    rf[0] += sf * ip[3 * x];
                    rf[1] += sf * ip[3 * x + 1];
                    rf[2] += sf * ip[3 * x + 2];
                    rf[3] += sf;
                    rb[0] += sb * ip[3 * x];
                    rb[1] += sb * ip[3 * x + 1];
                    rb[2] += sb * ip[3 * x + 2];
                    rb[3] += sb;
                }
                for (int k = 0; k < 3; ++k) {
                    s[k] += rf[k] / 255.0;
                    s[4 + k] += rb[k] / 255.0;
                }
                s[3] += rf[3];
                s[7] += rb[3];
                continue;
            }
            float rf[4] = {0, 0, 0, 0}, rb[4] = {0, 0, 0, 0};  // one row: float is exact enough
            for (int x = 0; x < w; ++x) {
                const float a = to_unit(ap[x]);
                if (!(a >= 0.f && a <= 1.f)) ++nbad;
                const float r = to_unit(ip[3 * x]), g = to_unit(ip[3 * x + 1]), bl = to_unit(ip[3 * x + 2]);
                const float sf = a > 0.9f ? 1.f : 0.f, sb = a < 0.1f ? 1.f : 0.f;
                rf[0] += sf * r;
                rf[1] += sf * g;
                rf[2] += sf * bl;
                rf[3] += sf;
                rb[0] += sb * r;
                rb[1] += sb * g;
                rb[2] += sb * bl;
                rb[3] += sb;
            }
            for (int k = 0; k < 4; ++k) {
                s[k] += rf[k];
                s[4 + k] += rb[k];
            }
        }
        for (int k = 0; k < 8; ++k) sums[static_cast<std::size_t>(p) * 8 + k] = s[k];
        bad[p] = nbad;
    });
    double t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long long nbad = 0;
    for (int p = 0; p < parts; ++p) {
        for (int k = 0; k < 8; ++k) t[k] += sums[static_cast<std::size_t>(p) * 8 + k];
        nbad += bad[p];
    }
    ALPHACUT_CHECK(nbad == 0, "alpha: " << nbad << " values are NaN or outside [0, 1]; pass alpha in [0, 1]");
    for (int c = 0; c < 3; ++c) {
        f_mean[c] = static_cast<float>(t[c] / (t[3] + 1e-5));
        b_mean[c] = static_cast<float>(t[4 + c] / (t[7] + 1e-5));
    }
}

// One pixel's update, reading and writing F and B in place.
template <typename SI, typename SA>
inline void update_pixel(const SI& image, const SA& alpha, const ImageView<float>& f, const ImageView<float>& b, int y,
                         int x, float reg, float gw) {
    const int h = alpha.height, w = alpha.width;
    const auto* ip = image.row(y) + 3 * image.col(x);
    const auto* ap = alpha.row(y);
    FbSystem s;
    fb_begin(s, to_unit(ap[alpha.col(x)]), to_unit(ip[0]), to_unit(ip[1]), to_unit(ip[2]));
    const int xl = x > 0 ? x - 1 : 0, xr = x + 1 < w ? x + 1 : w - 1;
    const int yu = y > 0 ? y - 1 : 0, yd = y + 1 < h ? y + 1 : h - 1;
    const float* fr = f.row(y);
    const float* br = b.row(y);
    fb_add_neighbour(s, to_unit(ap[alpha.col(xl)]), fr + 3 * xl, br + 3 * xl, reg, gw);
    fb_add_neighbour(s, to_unit(ap[alpha.col(xr)]), fr + 3 * xr, br + 3 * xr, reg, gw);
    const int ax = alpha.col(x);
    fb_add_neighbour(s, to_unit(alpha.row(yu)[ax]), f.row(yu) + 3 * x, b.row(yu) + 3 * x, reg, gw);
    fb_add_neighbour(s, to_unit(alpha.row(yd)[ax]), f.row(yd) + 3 * x, b.row(yd) + 3 * x, reg, gw);
    fb_solve(s, f.row(y) + 3 * x, b.row(y) + 3 * x);
}

// Pixel runs [x0, x1) per row.
struct Runs {
    std::vector<int> row_begin;  // h + 1 offsets into spans, in runs
    std::vector<int> spans;      // x0, x1 pairs
};

// The band of a large level: `sweep` = active pixels dilated by one pixel (3 x 3), `touched` =
// dilated by two (5 x 5: every pixel a sweep reads), `parts` = rows split so that each part
// holds about the same number of swept pixels.
struct Band {
    Runs sweep;
    Runs touched;
    std::vector<int> parts;
};

// out[x] = 1 where pixel (y, x) is active (fb_is_active, compared on the raw values: the
// conversion to [0, 1] is one-to-one), else 0.
template <typename SA>
void active_row(const SA& alpha, int y, std::uint8_t* out) {
    using T = std::remove_cv_t<std::remove_reference_t<decltype(*alpha.row(0))>>;
    const T one = std::is_same_v<T, std::uint8_t> ? T(255) : T(1);
    const int h = alpha.height, w = alpha.width;
    const T* ap = alpha.row(y);
    const T* au = alpha.row(y > 0 ? y - 1 : 0);
    const T* ad = alpha.row(y + 1 < h ? y + 1 : h - 1);
    auto act = [&](int x, int xl, int xr) {
        const int cx = alpha.col(x);
        const T a = ap[cx];
        const bool soft = a > T(0) && a < one;
        return static_cast<std::uint8_t>(soft | (a != ap[alpha.col(xl)]) | (a != ap[alpha.col(xr)]) | (a != au[cx]) |
                                         (a != ad[cx]));
    };
    if (w == 1) {
        out[0] = act(0, 0, 0);
        return;
    }
    out[0] = act(0, 0, 1);
    for (int x = 1; x < w - 1; ++x) out[x] = act(x, x - 1, x + 1);
    out[w - 1] = act(w - 1, w - 2, w - 1);
}

// From the active rows y - 2 .. y + 2 (r0 .. r4), the row of the 3 x 3 dilation (ms) and of the
// 5 x 5 dilation (mt). a1, a2: scratch with 2 zero columns on either side. Byte-wise, vectorised.
inline void dilate_rows(const std::uint8_t* __restrict r0, const std::uint8_t* __restrict r1,
                        const std::uint8_t* __restrict r2, const std::uint8_t* __restrict r3,
                        const std::uint8_t* __restrict r4, std::uint8_t* __restrict a1, std::uint8_t* __restrict a2,
                        std::uint8_t* __restrict ms, std::uint8_t* __restrict mt, int w) {
    for (int x = 0; x < w; ++x) {
        const std::uint8_t c = r1[x] | r2[x] | r3[x];
        a1[x] = c;
        a2[x] = c | r0[x] | r4[x];
    }
    for (int x = 0; x < w; ++x) {
        ms[x] = a1[x - 1] | a1[x] | a1[x + 1];
        mt[x] = a2[x - 2] | a2[x - 1] | a2[x] | a2[x + 1] | a2[x + 2];
    }
}

inline std::uint64_t load8(const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

// Runs of non-zero bytes of the 0/1 mask m[0, w), appended to out; returns (runs, pixels).
inline std::pair<int, long long> emit_runs(const std::uint8_t* m, int w, std::vector<int>& out) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ull;
    int runs = 0, x = 0;
    long long pixels = 0;
    while (x < w) {
        while (x + 8 <= w && load8(m + x) == 0) x += 8;
        while (x < w && !m[x]) ++x;
        if (x >= w) break;
        const int x0 = x;
        while (x + 8 <= w && load8(m + x) == kOnes) x += 8;
        while (x < w && m[x]) ++x;
        out.push_back(x0);
        out.push_back(x);
        pixels += x - x0;
        ++runs;
    }
    return {runs, pixels};
}

template <typename SA>
Band build_band(const SA& alpha) {
    const int h = alpha.height, w = alpha.width;
    const int parts = std::max(1, std::min(h, get_num_threads() * 4));
    std::vector<std::vector<int>> sweep_spans(parts), touched_spans(parts);
    std::vector<int> sweep_runs(h, 0), touched_runs(h, 0);
    std::vector<long long> sweep_pixels(h, 0);
    for_parts(h, parts, [&](int p, int y0, int y1) {
        // The active rows y - 2 .. y + 2 live in a ring of 5; rows outside the image are empty.
        std::vector<std::uint8_t> ring(static_cast<std::size_t>(5) * w), v1(w + 4, 0), v2(w + 4, 0), ms(w), mt(w);
        std::vector<std::uint8_t> zero(w, 0);
        auto slot = [&](int yy) { return ring.data() + static_cast<std::size_t>(yy % 5) * w; };
        auto fill = [&](int yy) {
            if (yy >= 0 && yy < h) active_row(alpha, yy, slot(yy));
        };
        auto get = [&](int yy) -> const std::uint8_t* { return yy >= 0 && yy < h ? slot(yy) : zero.data(); };
        for (int yy = y0 - 2; yy <= y0 + 1; ++yy) fill(yy);
        for (int y = y0; y < y1; ++y) {
            fill(y + 2);
            const std::uint8_t *r0 = get(y - 2), *r1 = get(y - 1), *r2 = get(y), *r3 = get(y + 1), *r4 = get(y + 2);
            dilate_rows(r0, r1, r2, r3, r4, v1.data() + 2, v2.data() + 2, ms.data(), mt.data(), w);
            const auto s = emit_runs(ms.data(), w, sweep_spans[p]);
            sweep_runs[y] = s.first;
            sweep_pixels[y] = s.second;
            touched_runs[y] = emit_runs(mt.data(), w, touched_spans[p]).first;
        }
    });
    Band band;
    auto gather = [&](Runs& runs, const std::vector<int>& counts, std::vector<std::vector<int>>& spans) {
        runs.row_begin.assign(static_cast<std::size_t>(h) + 1, 0);
        for (int y = 0; y < h; ++y) runs.row_begin[y + 1] = runs.row_begin[y] + counts[y];
        runs.spans.reserve(static_cast<std::size_t>(runs.row_begin[h]) * 2);
        for (auto& v : spans) runs.spans.insert(runs.spans.end(), v.begin(), v.end());
    };
    gather(band.sweep, sweep_runs, sweep_spans);
    gather(band.touched, touched_runs, touched_spans);
    std::vector<long long> cum(static_cast<std::size_t>(h) + 1, 0);
    for (int y = 0; y < h; ++y) cum[y + 1] = cum[y] + sweep_pixels[y];
    const int threads = std::max(1, get_num_threads());
    band.parts.assign(1, 0);
    for (int t = 1; t < threads; ++t) {
        const long long target = cum[h] * t / threads;
        int y = static_cast<int>(std::lower_bound(cum.begin(), cum.end(), target) - cum.begin());
        band.parts.push_back(std::max(band.parts.back(), std::min(h, y)));
    }
    band.parts.push_back(h);
    return band;
}

// One run [x0, x1) of row y, every other pixel from the first of `colour`: fb_* on row pointers
// fetched once per run.
template <typename SI, typename SA>
inline void sweep_run(const SI& image, const SA& alpha, const ImageView<float>& f, const ImageView<float>& b, int y,
                      int x0, int x1, int colour, float reg, float gw) {
    const int h = alpha.height, w = alpha.width;
    const int yu = y > 0 ? y - 1 : 0, yd = y + 1 < h ? y + 1 : h - 1;
    const auto* ip = image.row(y);
    const auto* ap = alpha.row(y);
    const auto* au = alpha.row(yu);
    const auto* ad = alpha.row(yd);
    float* fr = f.row(y);
    float* br = b.row(y);
    const float* fu = f.row(yu);
    const float* bu = b.row(yu);
    const float* fd = f.row(yd);
    const float* bd = b.row(yd);
    for (int x = x0 + ((x0 + y + colour) & 1); x < x1; x += 2) {
        const int xl = x > 0 ? x - 1 : 0, xr = x + 1 < w ? x + 1 : w - 1;
        const int ax = alpha.col(x), ix = 3 * image.col(x);
        FbSystem s;
        fb_begin(s, to_unit(ap[ax]), to_unit(ip[ix]), to_unit(ip[ix + 1]), to_unit(ip[ix + 2]));
        fb_add_neighbour(s, to_unit(ap[alpha.col(xl)]), fr + 3 * xl, br + 3 * xl, reg, gw);
        fb_add_neighbour(s, to_unit(ap[alpha.col(xr)]), fr + 3 * xr, br + 3 * xr, reg, gw);
        fb_add_neighbour(s, to_unit(au[ax]), fu + 3 * x, bu + 3 * x, reg, gw);
        fb_add_neighbour(s, to_unit(ad[ax]), fd + 3 * x, bd + 3 * x, reg, gw);
        fb_solve(s, fr + 3 * x, br + 3 * x);
    }
}

// One red-black sweep over the band: colour 0 updates pixels with (x + y) even, then colour 1
// the others; a pixel of one colour only reads the other colour. The two half-sweeps are fused
// into one pass over the rows (red of row y, then black of row y - 1, whose red neighbours are
// all final by then), so each row is brought into cache once per sweep. Each thread runs that
// wavefront on its own rows; black on the first and last row of each part waits for the
// neighbouring parts' red rows, in a second short pass. The result is that of two separate
// half-sweeps, whatever the number of threads.
template <typename SI, typename SA>
void sweep_band(const SI& image, const SA& alpha, const ImageView<float>& f, const ImageView<float>& b,
                const Band& band, float reg, float gw) {
    const int nparts = static_cast<int>(band.parts.size()) - 1;
    const Runs& runs = band.sweep;
    auto row = [&](int y, int colour) {
        for (int k = runs.row_begin[y]; k < runs.row_begin[y + 1]; ++k)
            sweep_run(image, alpha, f, b, y, runs.spans[2 * k], runs.spans[2 * k + 1], colour, reg, gw);
    };
    parallel_for(0, nparts, [&](int p0, int p1) {
        for (int p = p0; p < p1; ++p) {
            const int y0 = band.parts[p], y1 = band.parts[p + 1];
            for (int y = y0; y < y1; ++y) {
                row(y, 0);
                if (y - 1 > y0) row(y - 1, 1);
            }
        }
    }, 1);
    parallel_for(0, nparts, [&](int p0, int p1) {
        for (int p = p0; p < p1; ++p) {
            const int y0 = band.parts[p], y1 = band.parts[p + 1];
            if (y1 <= y0) continue;
            row(y0, 1);
            if (y1 - 1 > y0) row(y1 - 1, 1);
        }
    }, 1);
}

// Start values of pixels [x0, x1) of row y of a banded level: F (or, with Background, B) from
// the coarser level's row `prev` read at xs, by fb_start_foreground (fb_start_background).
template <bool Background, typename SI, typename SA>
inline void start_span(const SI& image, const SA& alpha, int y, int x0, int x1, const float* prev, const int* xs,
                       float* out) {
    const auto* ip = image.row(y);
    const auto* ap = alpha.row(y);
    for (int x = x0; x < x1; ++x) {
        const float a = to_unit(ap[alpha.col(x)]);
        const int ix = 3 * image.col(x);
        for (int c = 0; c < 3; ++c) {
            const float v = to_unit(ip[ix + c]), coarse = prev[3 * xs[x] + c];
            out[3 * x + c] = Background ? fb_start_background(a, v, coarse) : fb_start_foreground(a, v, coarse);
        }
    }
}

// Solve one level: start F and B from the coarser level, then sweep. With `sparse_b`, B is only
// written on the pixels the sweeps read (the finest level, when B is not returned).
template <typename SI, typename SA>
void solve_level(const SI& image, const SA& alpha, ImageView<float> f, ImageView<float> b,
                 ImageView<const float> f_prev, ImageView<const float> b_prev, int n_iter, bool banded, bool sparse_b,
                 const ForegroundParams& prm) {
    const int h = alpha.height, w = alpha.width;
    [[maybe_unused]] const double t0 = fg_now_ms();
    std::vector<int> xs(w);
    for (int x = 0; x < w; ++x) xs[x] = fb_nearest_index(x, w, f_prev.width);
    Band band;
    if (banded && n_iter > 0) band = build_band(alpha);
    [[maybe_unused]] const double t1 = fg_now_ms();
    if (!banded) sparse_b = false;
    parallel_for(0, h, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const int py = fb_nearest_index(y, h, f_prev.height);
            const float* fp = f_prev.row(py);
            const float* bp = b_prev.row(py);
            float* fo = f.row(y);
            float* bo = b.row(y);
            if (!banded) {
                for (int x = 0; x < w; ++x)
                    for (int c = 0; c < 3; ++c) {
                        fo[3 * x + c] = fp[3 * xs[x] + c];
                        bo[3 * x + c] = bp[3 * xs[x] + c];
                    }
                continue;
            }
            start_span<false>(image, alpha, y, 0, w, fp, xs.data(), fo);
            if (sparse_b) {
                if (n_iter <= 0) continue;
                for (int k = band.touched.row_begin[y]; k < band.touched.row_begin[y + 1]; ++k)
                    start_span<true>(image, alpha, y, band.touched.spans[2 * k], band.touched.spans[2 * k + 1], bp,
                                     xs.data(), bo);
            } else {
                start_span<true>(image, alpha, y, 0, w, bp, xs.data(), bo);
            }
        }
    });
    [[maybe_unused]] const double t2 = fg_now_ms();
    if (n_iter > 0) {
        const float reg = prm.regularization, gw = prm.gradient_weight;
        if (!banded) {
            for (int it = 0; it < n_iter; ++it)
                for (int y = 0; y < h; ++y)
                    for (int x = 0; x < w; ++x) update_pixel(image, alpha, f, b, y, x, reg, gw);
        } else {
            for (int it = 0; it < n_iter; ++it) sweep_band(image, alpha, f, b, band, reg, gw);
        }
    }
    FG_TRACE("level %dx%d banded %d band(%zu runs) %.1f init %.1f sweeps %.1f ms\n", h, w, (int)banded,
             band.sweep.spans.size() / 2, t1 - t0, t2 - t1, fg_now_ms() - t2);
}

// ---------------------------------------------------------------------------------------------
// Strip solver: a large level in horizontal strips, each in planar, parity-split buffers
// ---------------------------------------------------------------------------------------------
//
// The same band and the same red-black sweeps as sweep_band, but each thread takes strips of
// kStripRows rows (plus a halo of 2 * n_iter + 1 rows on either side, recomputed by both
// neighbours: a sweep carries values at most two rows, so the strip's own rows come out exactly
// as from whole-level sweeps), and keeps only the band's pixels, in buffers split by the parity
// of x and by plane (alpha, image, F, B per channel). A colour's pixels of one row are then
// contiguous, and so are each of their four neighbours: the update vectorises. Nothing of the
// level is written densely but what the sink asks for (the next level's start, or the RGBA).

constexpr int kStripRows = 64;
constexpr int kMergeGap = 8;  // runs of the band this close are swept as one
constexpr int kPlanes = 10;  // alpha, image r g b, F r g b, B r g b
enum Plane { kA = 0, kI = 1, kF = 4, kB = 7 };

struct StripScratch {
    int rows = 0, stride = 0;
    std::vector<float> data;  // [parity][plane][row][stride], one pad float before each half-row
    std::vector<std::uint8_t> act, v1, v2, ms, mt, zero;
    std::vector<int> sweep, touched;     // x0, x1 pairs
    std::vector<int> sweep_at, touched_at;  // per row: first run (rows + 1 offsets)
    void reserve(int r, int w) {
        rows = r;
        stride = (w + 1) / 2 + 2;
        data.resize(static_cast<std::size_t>(2) * kPlanes * rows * stride);
        act.resize(static_cast<std::size_t>(rows + 4) * w);
        v1.assign(w + 4, 0);
        v2.assign(w + 4, 0);
        ms.resize(static_cast<std::size_t>(rows) * w);
        mt.resize(static_cast<std::size_t>(rows) * w);
        zero.assign(w, 0);
        sweep_at.resize(rows + 1);
        touched_at.resize(rows + 1);
    }
    float* at(int parity, int plane, int r) {
        return data.data() + (static_cast<std::size_t>(parity * kPlanes + plane) * rows + r) * stride + 1;
    }
};

// One colour of one strip row, planar: the pixel's own planes (alpha, colour, F and B, written)
// at index i, the left and right neighbours' in the other parity's planes (index i + dl, i + dr),
// those above and below in the same parity's planes of the rows above and below. The rows above
// and below are other rows (at the image's or the strip's top or bottom edge the scalar path
// runs), so nothing written is read by another pixel of the same call.
struct PlanarRow {
    const float *a, *aq, *au, *ad;  // alpha: the pixel's, the other parity's, above, below
    const float* i[3];              // the pixel's colour
    float *f[3], *b[3];             // its F and B (written)
    const float *fq[3], *bq[3];     // the other parity's F and B (left and right neighbours)
    const float *fu[3], *bu[3];     // above
    const float *fd[3], *bd[3];     // below
    int dl, dr;  // x - 1 and x + 1 in the other parity: index i + dl, i + dr
};

// Pixels i = i0 .. i0 + n - 1 of a PlanarRow (one per two columns).
ALPHACUT_SIMD_CLONES void update_planar(const PlanarRow& p, int i0, int n, float reg, float gw) {
    const int l0 = i0 + p.dl, r0 = i0 + p.dr;
#pragma GCC ivdep
    for (int k = 0; k < n; ++k) {
        const int i = i0 + k, il = l0 + k, ir = r0 + k;
        FbSystem s;
        fb_begin(s, p.a[i], p.i[0][i], p.i[1][i], p.i[2][i]);
        const float fl[3] = {p.fq[0][il], p.fq[1][il], p.fq[2][il]}, bl[3] = {p.bq[0][il], p.bq[1][il], p.bq[2][il]};
        const float fr[3] = {p.fq[0][ir], p.fq[1][ir], p.fq[2][ir]}, br[3] = {p.bq[0][ir], p.bq[1][ir], p.bq[2][ir]};
        const float fu[3] = {p.fu[0][i], p.fu[1][i], p.fu[2][i]}, bu[3] = {p.bu[0][i], p.bu[1][i], p.bu[2][i]};
        const float fd[3] = {p.fd[0][i], p.fd[1][i], p.fd[2][i]}, bd[3] = {p.bd[0][i], p.bd[1][i], p.bd[2][i]};
        fb_add_neighbour(s, p.aq[il], fl, bl, reg, gw);
        fb_add_neighbour(s, p.aq[ir], fr, br, reg, gw);
        fb_add_neighbour(s, p.au[i], fu, bu, reg, gw);
        fb_add_neighbour(s, p.ad[i], fd, bd, reg, gw);
        float f[3], b[3];
        fb_solve(s, f, b);
        for (int c = 0; c < 3; ++c) {
            p.f[c][i] = f[c];
            p.b[c][i] = b[c];
        }
    }
}

// One pixel with clamped neighbours from the planar buffers: rows at the top or bottom of the
// image or of the strip, and the first and last column. (r, x): strip row and column; ru / rd
// the strip rows read as the rows above and below (the pixel's own row at an edge).
inline void update_planar_one(StripScratch& st, int r, int ru, int rd, int x, int w, float reg, float gw) {
    const int p = x & 1, i = x >> 1;
    auto val = [&](int plane, int rr, int xx) -> float { return st.at(xx & 1, plane, rr)[xx >> 1]; };
    const int xl = x > 0 ? x - 1 : 0, xr = x + 1 < w ? x + 1 : w - 1;
    FbSystem s;
    fb_begin(s, val(kA, r, x), val(kI, r, x), val(kI + 1, r, x), val(kI + 2, r, x));
    auto add = [&](int rr, int xx) {
        const float fn[3] = {val(kF, rr, xx), val(kF + 1, rr, xx), val(kF + 2, rr, xx)};
        const float bn[3] = {val(kB, rr, xx), val(kB + 1, rr, xx), val(kB + 2, rr, xx)};
        fb_add_neighbour(s, val(kA, rr, xx), fn, bn, reg, gw);
    };
    add(r, xl);
    add(r, xr);
    add(ru, x);
    add(rd, x);
    float f[3], b[3];
    fb_solve(s, f, b);
    for (int c = 0; c < 3; ++c) {
        st.at(p, kF + c, r)[i] = f[c];
        st.at(p, kB + c, r)[i] = b[c];
    }
}

// One colour of strip row r (image row y): the pixels of parity p of each run [x0, x1),
// vectorised where no neighbour is clamped.
inline void update_row(StripScratch& st, int r, int n_rows, int y, int h, int w, int p, const int* runs, int n_runs,
                       float reg, float gw) {
    if (n_runs == 0) return;
    const int ru = r > 0 && y > 0 ? r - 1 : r, rd = r + 1 < n_rows && y + 1 < h ? r + 1 : r;
    if (ru == r || rd == r) {
        for (int k = 0; k < n_runs; ++k)
            for (int x = runs[2 * k] + ((runs[2 * k] ^ p) & 1); x < runs[2 * k + 1]; x += 2)
                update_planar_one(st, r, ru, rd, x, w, reg, gw);
        return;
    }
    const int q = p ^ 1;
    PlanarRow pr;
    pr.a = st.at(p, kA, r);
    pr.aq = st.at(q, kA, r);
    pr.au = st.at(p, kA, ru);
    pr.ad = st.at(p, kA, rd);
    for (int c = 0; c < 3; ++c) {
        pr.i[c] = st.at(p, kI + c, r);
        pr.f[c] = st.at(p, kF + c, r);
        pr.b[c] = st.at(p, kB + c, r);
        pr.fq[c] = st.at(q, kF + c, r);
        pr.bq[c] = st.at(q, kB + c, r);
        pr.fu[c] = st.at(p, kF + c, ru);
        pr.bu[c] = st.at(p, kB + c, ru);
        pr.fd[c] = st.at(p, kF + c, rd);
        pr.bd[c] = st.at(p, kB + c, rd);
    }
    pr.dl = p == 0 ? -1 : 0;  // x = 2i: x - 1 = 2(i - 1) + 1; x = 2i + 1: x - 1 = 2i
    pr.dr = p == 0 ? 0 : 1;
    for (int k = 0; k < n_runs; ++k) {
        int a = runs[2 * k] + ((runs[2 * k] ^ p) & 1), b = runs[2 * k + 1];  // pixels a, a + 2, ... < b
        if (a >= b) continue;
        if (a == 0) {
            update_planar_one(st, r, ru, rd, 0, w, reg, gw);
            a = 2;
        }
        const int last = a + ((b - 1 - a) / 2) * 2;
        if (last == w - 1 && last >= a) {
            update_planar_one(st, r, ru, rd, last, w, reg, gw);
            b = last;
        }
        if (a < b) update_planar(pr, a >> 1, (b - a + 1) / 2, reg, gw);
    }
}

// Fill the gaps of at most `gap` zeros between runs of ones in the 0/1 row m[0, w): sweeping
// those few pixels too (as whole-image sweeps would) makes fewer, longer runs to vectorise.
inline void close_gaps(std::uint8_t* m, int w, int gap) {
    int last_end = -1;  // end of the previous run
    for (int x = 0; x < w;) {
        if (!m[x]) {
            ++x;
            continue;
        }
        if (last_end >= 0 && x - last_end <= gap) std::memset(m + last_end, 1, x - last_end);
        while (x < w && m[x]) ++x;
        last_end = x;
    }
}

// What a strip solver does with a strip's own rows once its sweeps are done.
//   DenseSink: the level's F and B, dense (the next level's start), everywhere.
//   RgbaSink: the cutout (pack_rgba's rule), colour from F on soft pixels.
// Both receive (y, strip row r, scratch) for y in the strip's own rows.

// Solve a banded level in strips. prev_f / prev_b: the coarser level (dense), read at the
// nearest pixel; sink(y, r, scratch) is called for each of the strip's own rows. merge_gap > 0
// also sweeps the gaps of up to that many pixels between runs of the band (longer runs).
template <typename SI, typename SA, typename Sink>
void solve_level_strips(const SI& image, const SA& alpha, ImageView<const float> prev_f, ImageView<const float> prev_b,
                        int n_iter, int merge_gap, const ForegroundParams& prm, Sink&& sink) {
    const int h = alpha.height, w = alpha.width;
    const int halo = 2 * std::max(0, n_iter) + 1;
    const int n_strips = (h + kStripRows - 1) / kStripRows;
    std::vector<int> xs(w);
    for (int x = 0; x < w; ++x) xs[x] = fb_nearest_index(x, w, prev_f.width);
    const float reg = prm.regularization, gw = prm.gradient_weight;
    std::atomic<int> next{0};
    const int threads = std::max(1, std::min(get_num_threads(), n_strips));
#ifdef ALPHACUT_FG_TRACE
    std::mutex trace_mutex;
    double tr[6] = {0, 0, 0, 0, 0, 0};
#endif
    parallel_for(0, threads, [&](int t0, int t1) {
        StripScratch st;
        st.reserve(kStripRows + 2 * halo, w);
        for (int t = t0; t < t1; ++t) {
            for (int s = next++; s < n_strips; s = next++) {
                const int y0 = s * kStripRows, y1 = std::min(h, y0 + kStripRows);
                const int Y0 = std::max(0, y0 - halo), Y1 = std::min(h, y1 + halo), n = Y1 - Y0;
                // Active rows Y0 - 2 .. Y1 + 1 (outside the image: none), then per row the band
                // (active dilated 3 x 3) and the pixels its sweeps read (5 x 5).
                auto act = [&](int y) -> const std::uint8_t* {
                    return y < 0 || y >= h ? st.zero.data() : st.act.data() + static_cast<std::size_t>(y - Y0 + 2) * w;
                };
                [[maybe_unused]] double tp0 = fg_thread_ms();
                for (int y = std::max(0, Y0 - 2); y < std::min(h, Y1 + 2); ++y)
                    active_row(alpha, y, st.act.data() + static_cast<std::size_t>(y - Y0 + 2) * w);
                st.sweep.clear();
                st.touched.clear();
                auto ms = [&](int r) { return st.ms.data() + static_cast<std::size_t>(r) * w; };
                auto mt = [&](int r) { return st.mt.data() + static_cast<std::size_t>(r) * w; };
                for (int r = 0; r < n; ++r) {
                    const int y = Y0 + r;
                    dilate_rows(act(y - 2), act(y - 1), act(y), act(y + 1), act(y + 2), st.v1.data() + 2,
                                st.v2.data() + 2, ms(r), mt(r), w);
                    if (merge_gap > 0) close_gaps(ms(r), w, merge_gap);
                }
                for (int r = 0; r < n; ++r) {
                    // The closed gaps' pixels and their neighbours are read too.
                    std::uint8_t* t = mt(r);
                    const std::uint8_t* c = ms(r);
                    const std::uint8_t* u = ms(r > 0 ? r - 1 : r);
                    const std::uint8_t* d = ms(r + 1 < n ? r + 1 : r);
                    for (int x = 0; x < w; ++x) t[x] |= c[x] | u[x] | d[x];
                    for (int x = 1; x < w; ++x) t[x] |= c[x - 1];
                    for (int x = 0; x + 1 < w; ++x) t[x] |= c[x + 1];
                    st.sweep_at[r] = static_cast<int>(st.sweep.size() / 2);
                    st.touched_at[r] = static_cast<int>(st.touched.size() / 2);
                    emit_runs(ms(r), w, st.sweep);
                    emit_runs(t, w, st.touched);
                }
                st.sweep_at[n] = static_cast<int>(st.sweep.size() / 2);
                st.touched_at[n] = static_cast<int>(st.touched.size() / 2);
                [[maybe_unused]] double tp1 = fg_thread_ms();
                // Start values on the pixels the sweeps read.
                for (int r = 0; r < n; ++r) {
                    const int y = Y0 + r;
                    const auto* ip = image.row(y);
                    const auto* ap = alpha.row(y);
                    const int py = fb_nearest_index(y, h, prev_f.height);
                    const float* fp = prev_f.row(py);
                    const float* bp = prev_b.row(py);
                    float* pa[2] = {st.at(0, kA, r), st.at(1, kA, r)};
                    for (int k = st.touched_at[r]; k < st.touched_at[r + 1]; ++k) {
                        for (int x = st.touched[2 * k]; x < st.touched[2 * k + 1]; ++x) {
                            const int p = x & 1, i = x >> 1, ix = 3 * image.col(x), px = 3 * xs[x];
                            const float a = to_unit(ap[alpha.col(x)]);
                            pa[p][i] = a;
                            for (int c = 0; c < 3; ++c) {
                                const float v = to_unit(ip[ix + c]);
                                st.at(p, kI + c, r)[i] = v;
                                st.at(p, kF + c, r)[i] = fb_start_foreground(a, v, fp[px + c]);
                                st.at(p, kB + c, r)[i] = fb_start_background(a, v, bp[px + c]);
                            }
                        }
                    }
                }
                [[maybe_unused]] double tp2 = fg_thread_ms();
                // Red-black sweeps: colour c updates the pixels with (x + y) % 2 == c.
                for (int it = 0; it < n_iter; ++it)
                    for (int colour = 0; colour < 2; ++colour)
                        for (int r = 0; r < n; ++r) {
                            const int y = Y0 + r;
                            update_row(st, r, n, y, h, w, (colour + y) & 1, st.sweep.data() + 2 * st.sweep_at[r],
                                       st.sweep_at[r + 1] - st.sweep_at[r], reg, gw);
                        }
                [[maybe_unused]] double tp3 = fg_thread_ms();
                for (int y = y0; y < y1; ++y) sink(y, y - Y0, st);
#ifdef ALPHACUT_FG_TRACE
                double tp4 = fg_thread_ms();
                std::lock_guard<std::mutex> lock(trace_mutex);
                tr[0] += tp1 - tp0;
                tr[1] += tp2 - tp1;
                tr[2] += tp3 - tp2;
                tr[3] += tp4 - tp3;
                tr[4] += (double)st.sweep.size() / 2;
                tr[5] += 0;
#endif
            }
        }
    }, 1);
    FG_TRACE("strips %dx%d masks %.1f init %.1f sweeps %.1f sink %.1f ms (thread CPU), %.0f sweep runs\n", h, w, tr[0],
             tr[1], tr[2], tr[3], tr[4]);
}

// A banded coarser level in strips, written densely: the strips' F and B on the pixels the
// sweeps read, the start values (fb_start_*) everywhere else, as solve_level leaves them.
template <typename SI, typename SA>
void solve_level_dense(const SI& image, const SA& alpha, ImageView<float> f, ImageView<float> b,
                       ImageView<const float> f_prev, ImageView<const float> b_prev, int n_iter,
                       const ForegroundParams& prm) {
    const int h = alpha.height, w = alpha.width;
    std::vector<int> xs(w);
    for (int x = 0; x < w; ++x) xs[x] = fb_nearest_index(x, w, f_prev.width);
    solve_level_strips(image, alpha, f_prev, b_prev, n_iter, 0, prm, [&](int y, int r, StripScratch& st) {
        const int py = fb_nearest_index(y, h, f_prev.height);
        const float* fp = f_prev.row(py);
        const float* bp = b_prev.row(py);
        float* fo = f.row(y);
        float* bo = b.row(y);
        start_span<false>(image, alpha, y, 0, w, fp, xs.data(), fo);
        start_span<true>(image, alpha, y, 0, w, bp, xs.data(), bo);
        for (int k = st.touched_at[r]; k < st.touched_at[r + 1]; ++k)
            for (int x = st.touched[2 * k]; x < st.touched[2 * k + 1]; ++x)
                for (int c = 0; c < 3; ++c) {
                    fo[3 * x + c] = st.at(x & 1, kF + c, r)[x >> 1];
                    bo[3 * x + c] = st.at(x & 1, kB + c, r)[x >> 1];
                }
    });
}

void check_shapes(int ih, int iw, int ic, int ah, int aw, int ac, const ImageView<float>& f,
                  const ImageView<float>& b) {
    ALPHACUT_CHECK(ih > 0 && iw > 0, "image is empty (" << ih << " x " << iw << ")");
    ALPHACUT_CHECK(ic == 3, "image must have 3 channels, got " << ic);
    ALPHACUT_CHECK(ah == ih && aw == iw && ac == 1,
                   "alpha has shape (" << ah << ", " << aw << ", " << ac << "), expected (" << ih << ", " << iw << ")");
    ALPHACUT_CHECK(f.height == ih && f.width == iw && f.channels == 3, "foreground output has the wrong shape");
    if (b.data)
        ALPHACUT_CHECK(b.height == ih && b.width == iw && b.channels == 3, "background output has the wrong shape");
}

// The levels coarse to fine; the finest is left to solve_finest(image, alpha, f_prev, b_prev, n_iter,
// banded) on the unmapped input. With `strips`, large coarser levels are solved in strips
// (solve_level_dense: the same band and order of updates as solve_level).
template <typename TI, typename TA, typename Finest>
void coarse_to_fine(ImageView<const TI> image, ImageView<const TA> alpha, const ForegroundParams& prm, bool strips,
                    Finest&& solve_finest) {
    [[maybe_unused]] const double t0 = fg_now_ms();
    Owned f_prev(1, 1, 3), b_prev(1, 1, 3);
    mean_colours(image, alpha, f_prev.view.data, b_prev.view.data);
    FG_TRACE("mean colours %.1f ms\n", fg_now_ms() - t0);

    const int H = image.height, W = image.width;
    const auto levels = foreground_levels(H, W);
    for (std::size_t li = 0; li < levels.size(); ++li) {
        const int h = levels[li].first, w = levels[li].second;
        const bool finest = li + 1 == levels.size();
        const int n_iter = (w <= prm.small_size && h <= prm.small_size) ? prm.n_small_iterations : prm.n_big_iterations;
        const bool banded = static_cast<long long>(h) * w > prm.band_min_pixels;
        if (finest) {
            Src<TI, false> si{image, nullptr, nullptr, H, W};
            Src<TA, false> sa{alpha, nullptr, nullptr, H, W};
            solve_finest(si, sa, as_const(f_prev.view), as_const(b_prev.view), n_iter, banded);
            FG_TRACE("total %.1f ms\n", fg_now_ms() - t0);
            return;
        }
        std::vector<int> ym(h), xm(w);
        for (int y = 0; y < h; ++y) ym[y] = fb_nearest_index(y, h, H);
        for (int x = 0; x < w; ++x) xm[x] = fb_nearest_index(x, w, W);
        Src<TI, true> si{image, ym.data(), xm.data(), h, w};
        Src<TA, true> sa{alpha, ym.data(), xm.data(), h, w};
        Owned f(h, w, 3), b(h, w, 3);
        if (strips && banded && n_iter > 0)
            solve_level_dense(si, sa, f.view, b.view, as_const(f_prev.view), as_const(b_prev.view), n_iter, prm);
        else
            solve_level(si, sa, f.view, b.view, as_const(f_prev.view), as_const(b_prev.view), n_iter, banded, false,
                        prm);
        f_prev = std::move(f);
        b_prev = std::move(b);
    }
}

template <typename TI, typename TA>
void estimate(ImageView<const TI> image, ImageView<const TA> alpha, const ForegroundParams& prm, ImageView<float> fg,
              ImageView<float> bg) {
    check_shapes(image.height, image.width, image.channels, alpha.height, alpha.width, alpha.channels, fg, bg);
    check_foreground_params(prm);
    coarse_to_fine(image, alpha, prm, false,
                   [&](const auto& si, const auto& sa, ImageView<const float> f_prev, ImageView<const float> b_prev,
                       int n_iter, bool banded) {
        Owned b_own;
        ImageView<float> b = bg;
        if (!b.data) {
            b_own = Owned(sa.height, sa.width, 3, /*huge=*/false);  // written only around the band
            b = b_own.view;
        }
        solve_level(si, sa, fg, b, f_prev, b_prev, n_iter, banded, !bg.data, prm);
    });
}

// The cutout: pack_rgba's rule, with the finest level's F on the soft pixels, straight from the
// strips (no full-size F or B). With `pack_all`, every pixel of `rgba` is written; otherwise only
// the colour of the soft pixels inside `window` (the rest is the caller's: a packed cutout).
template <typename TI, typename TA>
void estimate_rgba(ImageView<const TI> image, ImageView<const TA> alpha, const ForegroundParams& prm,
                   ImageView<std::uint8_t> rgba, const ForegroundWindow& window, bool pack_all) {
    ALPHACUT_CHECK(image.height > 0 && image.width > 0,
                   "image is empty (" << image.height << " x " << image.width << ")");
    ALPHACUT_CHECK(image.channels == 3, "image must have 3 channels, got " << image.channels);
    ALPHACUT_CHECK(alpha.height == image.height && alpha.width == image.width && alpha.channels == 1,
                   "alpha has shape (" << alpha.height << ", " << alpha.width << ", " << alpha.channels
                                       << "), expected (" << image.height << ", " << image.width << ")");
    ALPHACUT_CHECK(rgba.height == image.height && rgba.width == image.width && rgba.channels == 4,
                   "rgba has shape (" << rgba.height << ", " << rgba.width << ", " << rgba.channels << "), expected ("
                                      << image.height << ", " << image.width << ", 4)");
    ALPHACUT_CHECK(window.y0 >= 0 && window.y0 <= window.y1 && window.y1 <= image.height && window.x0 >= 0 &&
                       window.x0 <= window.x1 && window.x1 <= image.width,
                   "window (" << window.y0 << ", " << window.y1 << ", " << window.x0 << ", " << window.x1
                              << ") must lie inside the image (" << image.height << " x " << image.width << ")");
    check_foreground_params(prm);
    const int w = image.width;
    // One row of the cutout: transparent pixels carry no colour, the others the image's.
    auto pack_row = [&](int y) {
        const TI* ip = image.row(y);
        const TA* ap = alpha.row(y);
        std::uint8_t* o = rgba.row(y);
        for (int x = 0; x < w; ++x) {
            const std::uint8_t a8 = pack_alpha_u8(to_unit(ap[x]));
            for (int c = 0; c < 3; ++c) o[4 * x + c] = pack_colour_u8(unit_to_u8(ip[3 * x + c]), a8);
            o[4 * x + 3] = a8;
        }
    };
    // The foreground's colour on the soft pixels of [x0, x1) of row y; f(c, x) gives F.
    auto soft_colour = [&](int y, int x0, int x1, auto&& f) {
        if (y < window.y0 || y >= window.y1) return;
        x0 = std::max(x0, window.x0);
        x1 = std::min(x1, window.x1);
        const TA* ap = alpha.row(y);
        std::uint8_t* o = rgba.row(y);
        for (int x = x0; x < x1; ++x) {
            const std::uint8_t a8 = pack_alpha_u8(to_unit(ap[x]));
            if (a8 == 0 || a8 == 255) continue;
            for (int c = 0; c < 3; ++c) o[4 * x + c] = to_u8(clamp01(f(c, x)) * 255.f);
        }
    };
    coarse_to_fine(image, alpha, prm, true,
                   [&](const auto& si, const auto& sa, ImageView<const float> f_prev, ImageView<const float> b_prev,
                       int n_iter, bool banded) {
        if (banded && n_iter > 0) {
            solve_level_strips(si, sa, f_prev, b_prev, n_iter, kMergeGap, prm, [&](int y, int r, StripScratch& st) {
                if (pack_all) pack_row(y);
                for (int k = st.touched_at[r]; k < st.touched_at[r + 1]; ++k)
                    soft_colour(y, st.touched[2 * k], st.touched[2 * k + 1],
                                [&](int c, int x) { return st.at(x & 1, kF + c, r)[x >> 1]; });
            });
            return;
        }
        // A small image: the dense level, then the rule.
        Owned f(sa.height, sa.width, 3), b(sa.height, sa.width, 3);
        solve_level(si, sa, f.view, b.view, f_prev, b_prev, n_iter, banded, false, prm);
        parallel_for(0, sa.height, [&](int y0, int y1) {
            for (int y = y0; y < y1; ++y) {
                if (pack_all) pack_row(y);
                const float* fr = f.view.row(y);
                soft_colour(y, 0, w, [&](int c, int x) { return fr[3 * x + c]; });
            }
        });
    });
}

}  // namespace

void check_foreground_params(const ForegroundParams& prm) {
    ALPHACUT_CHECK(prm.regularization > 0.f && std::isfinite(prm.regularization),
                   "regularization must be positive and finite, got " << prm.regularization);
    ALPHACUT_CHECK(prm.gradient_weight >= 0.f && std::isfinite(prm.gradient_weight),
                   "gradient_weight must be non-negative and finite, got " << prm.gradient_weight);
    ALPHACUT_CHECK(prm.n_small_iterations >= 0 && prm.n_big_iterations >= 0 && prm.small_size >= 0,
                   "n_small_iterations, n_big_iterations and small_size must be non-negative");
}

std::vector<std::pair<int, int>> foreground_levels(int height, int width) {
    const int m = std::max(height, width);
    const int n = static_cast<int>(std::ceil(std::log2(static_cast<double>(m))));
    std::vector<std::pair<int, int>> out;
    if (n <= 0) {
        out.emplace_back(height, width);
        return out;
    }
    for (int i = 0; i <= n; ++i) {
        const double e = static_cast<double>(i) / n;
        const int h = static_cast<int>(std::nearbyint(std::pow(static_cast<double>(height), e)));
        const int w = static_cast<int>(std::nearbyint(std::pow(static_cast<double>(width), e)));
        out.emplace_back(std::max(1, h), std::max(1, w));
    }
    return out;
}

void estimate_foreground_cpu(ImageView<const std::uint8_t> image, ImageView<const std::uint8_t> alpha,
                             const ForegroundParams& params, ImageView<float> foreground, ImageView<float> background) {
    estimate(image, alpha, params, foreground, background);
}
void estimate_foreground_cpu(ImageView<const float> image, ImageView<const float> alpha, const ForegroundParams& params,
                             ImageView<float> foreground, ImageView<float> background) {
    estimate(image, alpha, params, foreground, background);
}
void estimate_foreground_cpu(ImageView<const std::uint8_t> image, ImageView<const float> alpha,
                             const ForegroundParams& params, ImageView<float> foreground, ImageView<float> background) {
    estimate(image, alpha, params, foreground, background);
}
void estimate_foreground_cpu(ImageView<const float> image, ImageView<const std::uint8_t> alpha,
                             const ForegroundParams& params, ImageView<float> foreground, ImageView<float> background) {
    estimate(image, alpha, params, foreground, background);
}

void estimate_foreground_rgba_cpu(ImageView<const std::uint8_t> image, ImageView<const float> alpha,
                                  const ForegroundParams& params, ImageView<std::uint8_t> rgba,
                                  const ForegroundWindow* window) {
    const ForegroundWindow all{0, image.height, 0, image.width};
    estimate_rgba(image, alpha, params, rgba, window ? *window : all, window == nullptr);
}
void estimate_foreground_rgba_cpu(ImageView<const std::uint8_t> image, ImageView<const std::uint8_t> alpha,
                                  const ForegroundParams& params, ImageView<std::uint8_t> rgba,
                                  const ForegroundWindow* window) {
    const ForegroundWindow all{0, image.height, 0, image.width};
    estimate_rgba(image, alpha, params, rgba, window ? *window : all, window == nullptr);
}

}  // namespace alphacut
