// CPU guided filter. The image is cut into tiles (column strips of ~512 px, and row bands when
// the image is narrow) so one tile's row buffers stay in the core's L2. Each tile streams rows:
//   stage A: running column sums (double) of I, p, I*I^T, I*p over the vertical window, a
//            horizontal window sum, then the coefficients (a, b) of one row;
//   stage B: the same box over the rows of (a, b) held in a ring of 2r+2 rows, then
//            q = mean(a) . I + mean(b) (or the means themselves, for upscale_alpha).
// Tiles overlap by 2r columns (and 2r rows between bands); columns and rows outside the image
// hold zero sums, so a window sum over them is the sum over the clipped window.
// Sums run in double: box means of I*I and I are nearly equal at the scale of eps, and float
// running sums over a 12 MP image drift well past the 1e-4 error budget. The per-pixel formulas
// come from guided_filter_pixel.hpp.
#include "guided_filter.hpp"

// The pixel functions are instantiated on 4-double SIMD values below and always inlined, so
// GCC's note about the ABI of passing such values to out-of-line functions does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"
#include "guided_filter_pixel.hpp"

#include "../../common/simd.hpp"
#define GF_CLONES ALPHACUT_SIMD_CLONES

namespace alphacut {

namespace {

// ---- hot loops: plain functions on planar rows (plane stride s), vectorised over x ----------

// Stage A, colour: V (13 planes) += f(n) - f(o) over `count` columns, where n and o are input
// rows as 4 planes (I0, I1, I2, p) and f gives I0, I1, I2, p, I00, I01, I02, I11, I12, I22, I0p,
// I1p, I2p. Products are formed in double: exact for float inputs.
GF_CLONES void accumulate_rgb(double* V, std::ptrdiff_t s, const float* n, const float* o, int count) {
#pragma GCC ivdep
    for (int x = 0; x < count; ++x) {
        const double a0 = n[x], a1 = n[s + x], a2 = n[2 * s + x], ap = n[3 * s + x];
        const double b0 = o[x], b1 = o[s + x], b2 = o[2 * s + x], bp = o[3 * s + x];
        V[x] += a0 - b0;
        V[s + x] += a1 - b1;
        V[2 * s + x] += a2 - b2;
        V[3 * s + x] += ap - bp;
        V[4 * s + x] += a0 * a0 - b0 * b0;
        V[5 * s + x] += a0 * a1 - b0 * b1;
        V[6 * s + x] += a0 * a2 - b0 * b2;
        V[7 * s + x] += a1 * a1 - b1 * b1;
        V[8 * s + x] += a1 * a2 - b1 * b2;
        V[9 * s + x] += a2 * a2 - b2 * b2;
        V[10 * s + x] += a0 * ap - b0 * bp;
        V[11 * s + x] += a1 * ap - b1 * bp;
        V[12 * s + x] += a2 * ap - b2 * bp;
    }
}

// Stage A, grey: V (4 planes: I, p, II, Ip) += f(n) - f(o); n, o are 2 planes (I, p).
GF_CLONES void accumulate_grey(double* V, std::ptrdiff_t s, const float* n, const float* o, int count) {
#pragma GCC ivdep
    for (int x = 0; x < count; ++x) {
        const double a = n[x], ap = n[s + x];
        const double b = o[x], bp = o[s + x];
        V[x] += a - b;
        V[s + x] += ap - bp;
        V[2 * s + x] += a * a - b * b;
        V[3 * s + x] += a * ap - b * bp;
    }
}

// Stage B: V (count values) += n - o.
GF_CLONES void accumulate_plain(double* V, std::ptrdiff_t count, const float* n, const float* o) {
#pragma GCC ivdep
    for (std::ptrdiff_t i = 0; i < count; ++i) V[i] += static_cast<double>(n[i]) - static_cast<double>(o[i]);
}

// Four doubles as one value: GCC/Clang vector extensions, so the same code is one AVX register
// in the x86-64-v3 clone and two SSE2 registers in the baseline one.
typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
#define GF_INLINE inline __attribute__((always_inline))
GF_INLINE v4d load4(const double* p) {
    v4d v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
GF_INLINE void store4(double* p, v4d v) { std::memcpy(p, &v, sizeof v); }
GF_INLINE v4d load4f(const float* p) {
    v4f v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, v4d);
}
GF_INLINE void store4f(float* p, v4d v) {
    const v4f f = __builtin_convertvector(v, v4f);
    std::memcpy(p, &f, sizeof f);
}
GF_INLINE v4d sum4(const double* p) { return (load4(p) + load4(p + 1)) + (load4(p + 2) + load4(p + 3)); }
GF_INLINE v4d splat(double x) { return v4d{x, x, x, x}; }

// Horizontal window sums of NCH planes (stride sv) of column sums: for output column i the
// window is V[c][i .. i + L - 1]. f(i, sums) gets the sums of columns i .. i + 3 for i = 0, 4,
// ... while i < n. Four outputs advance together, sum(i + 4) = sum(i) + T4(i + L) - T4(i) with
// T4(j) four sums of 4 consecutive values: a scalar running sum would be one long chain of
// dependent additions. Each plane must hold n + L + 3 values (zeros past the data).
template <int NCH, typename F>
GF_INLINE void sliding_blocks(const double* V, std::ptrdiff_t sv, int n, int L, F&& f) {
    v4d acc[NCH];
    for (int c = 0; c < NCH; ++c) {
        const double* v = V + c * sv;
        double s0 = 0.0;
        for (int k = 0; k < L; ++k) s0 += v[k];
        const double s1 = s0 - v[0] + v[L], s2 = s1 - v[1] + v[L + 1], s3 = s2 - v[2] + v[L + 2];
        acc[c] = v4d{s0, s1, s2, s3};
    }
    for (int i = 0;; i += 4) {
        f(i, acc);
        if (i + 4 >= n) break;
        for (int c = 0; c < NCH; ++c) {
            const double* v = V + c * sv + i;
            acc[c] += sum4(v + L) - sum4(v);
        }
    }
}

// Slack each row buffer needs past its n values for the 4-wide blocks above.
constexpr int kSlack = 8;

// Stage A: the coefficients of one row from the 13 (colour) or 4 (grey) planes of column sums.
// scale[i] = 1 / (pixels in the window of output i); A gets CN + 1 float planes (stride sa),
// written in blocks of 4 (up to 3 values past n).
GF_CLONES void coeff_row_rgb(const double* V, std::ptrdiff_t sv, int n, int L, const double* scale, double eps,
                             float* A, std::ptrdiff_t sa) {
    const v4d e = splat(eps);
    sliding_blocks<13>(V, sv, n, L, [&](int i, const v4d* s) {
        const v4d k = load4(scale + i);
        v4d a0, a1, a2, b;
        gf_coeffs_rgb<v4d>(s[0] * k, s[1] * k, s[2] * k, s[3] * k, s[4] * k, s[5] * k, s[6] * k, s[7] * k, s[8] * k,
                           s[9] * k, s[10] * k, s[11] * k, s[12] * k, e, a0, a1, a2, b);
        store4f(A + i, a0);
        store4f(A + sa + i, a1);
        store4f(A + 2 * sa + i, a2);
        store4f(A + 3 * sa + i, b);
    });
}

GF_CLONES void coeff_row_grey(const double* V, std::ptrdiff_t sv, int n, int L, const double* scale, double eps,
                              float* A, std::ptrdiff_t sa) {
    const v4d e = splat(eps);
    sliding_blocks<4>(V, sv, n, L, [&](int i, const v4d* s) {
        const v4d k = load4(scale + i);
        v4d a, b;
        gf_coeffs_grey<v4d>(s[0] * k, s[1] * k, s[2] * k, s[3] * k, e, a, b);
        store4f(A + i, a);
        store4f(A + sa + i, b);
    });
}

// Stage B: q = mean(a) . I + mean(b) for one row; I holds CN float planes (stride si).
GF_CLONES void apply_row_rgb(const double* V, std::ptrdiff_t sv, int n, int L, const double* scale, const float* I,
                             std::ptrdiff_t si, float* out) {
    sliding_blocks<4>(V, sv, n, L, [&](int i, const v4d* s) {
        const v4d k = load4(scale + i);
        store4f(out + i, gf_apply_rgb<v4d>(s[0] * k, s[1] * k, s[2] * k, s[3] * k, load4f(I + i), load4f(I + si + i),
                                           load4f(I + 2 * si + i)));
    });
}

GF_CLONES void apply_row_grey(const double* V, std::ptrdiff_t sv, int n, int L, const double* scale, const float* I,
                              float* out) {
    sliding_blocks<2>(V, sv, n, L, [&](int i, const v4d* s) {
        const v4d k = load4(scale + i);
        store4f(out + i, gf_apply_grey<v4d>(s[0] * k, s[1] * k, load4f(I + i)));
    });
}

// Stage B for the coefficients: the means themselves, NCH double planes (stride sm).
template <int NCH>
GF_CLONES void mean_row(const double* V, std::ptrdiff_t sv, int n, int L, const double* scale, double* M,
                        std::ptrdiff_t sm) {
    sliding_blocks<NCH>(V, sv, n, L, [&](int i, const v4d* s) {
        const v4d k = load4(scale + i);
        for (int c = 0; c < NCH; ++c) store4(M + c * sm + i, s[c] * k);
    });
}

// ---- row loaders: interleaved uint8 / float pixels to planar float in [0, 1] --------------

// Interleaved pixels to planes. `__restrict` matters: a uint8 pointer may alias anything, and
// without it the compiler reloads the source after every store instead of vectorising.
GF_CLONES void load_planes3(const std::uint8_t* __restrict px, int count, float* __restrict p0, float* __restrict p1,
                            float* __restrict p2) {
    const float k = 1.0f / 255.0f;
    for (int x = 0; x < count; ++x) {
        p0[x] = static_cast<float>(px[3 * x]) * k;
        p1[x] = static_cast<float>(px[3 * x + 1]) * k;
        p2[x] = static_cast<float>(px[3 * x + 2]) * k;
    }
}
GF_CLONES void load_planes3(const float* __restrict px, int count, float* __restrict p0, float* __restrict p1,
                            float* __restrict p2) {
    for (int x = 0; x < count; ++x) {
        p0[x] = px[3 * x];
        p1[x] = px[3 * x + 1];
        p2[x] = px[3 * x + 2];
    }
}
GF_CLONES void load_planes1(const std::uint8_t* __restrict px, int count, float* __restrict p0) {
    const float k = 1.0f / 255.0f;
    for (int x = 0; x < count; ++x) p0[x] = static_cast<float>(px[x]) * k;
}
GF_CLONES void load_planes1(const float* __restrict px, int count, float* __restrict p0) {
    std::memcpy(p0, px, sizeof(float) * count);
}

// Columns [x0, x1) of row y as planes of stride s.
template <typename T>
void load_planes(const ImageView<const T>& img, int y, int x0, int x1, float* planes, std::ptrdiff_t s) {
    const T* px = img.row(y) + static_cast<std::ptrdiff_t>(x0) * img.channels;
    if (img.channels == 3)
        load_planes3(px, x1 - x0, planes, planes + s, planes + 2 * s);
    else
        load_planes1(px, x1 - x0, planes);
}

// ---- the tiled two-stage driver ------------------------------------------------------------

struct Tile {
    int y0, y1, x0, x1;
};

// Where results go: q into `out`, or (coefficients mode) mean(a) into `mean_a` (H, W, CN) and
// mean(b) into `mean_b`.
struct Outputs {
    bool coefficients = false;
    ImageView<float> out, mean_a, mean_b;
};

template <int CN, typename TG, typename TP>
void run_tile(const ImageView<const TG>& guide, const ImageView<const TP>& src, int r, double eps, Tile t,
              const Outputs& dst) {
    constexpr int NA = CN == 3 ? 13 : 4;  // stage A planes
    constexpr int NB = CN + 1;            // a (CN planes), b
    const int H = guide.height, W = guide.width;
    const int L = 2 * r + 1;
    // Local column frames: input rows and stage A sums over [x0 - 2r, x1 + 2r), coefficients and
    // stage B sums over [x0 - r, x1 + r), outputs over [x0, x1). Columns outside the image stay 0.
    const int S = t.x1 - t.x0;
    const std::ptrdiff_t sA = S + 4 * r + kSlack, sB = S + 2 * r + kSlack, sO = S + kSlack;
    const int in_lo = std::max(0, t.x0 - 2 * r), in_hi = std::min(W, t.x1 + 2 * r);  // image columns, stage A
    const int c_lo = std::max(0, t.x0 - r), c_hi = std::min(W, t.x1 + r);            // image columns, coefficients
    const int in_off = in_lo - (t.x0 - 2 * r), c_off = c_lo - (t.x0 - r);
    const int first_in = std::max(0, t.y0 - 2 * r);  // input rows used: [first_in, last_in)
    const int last_in = std::min(H, t.y1 + 2 * r);
    const int ya_begin = std::max(0, t.y0 - r);      // coefficient rows made: [ya_begin, ya_end)
    const int ya_end = std::min(H, t.y1 + r);
    // Rings: input rows [ya - r - 1, ya + r] and coefficient rows [y - r - 1, y + r] are live.
    const int RI = std::min(2 * r + 2, last_in - first_in);
    const int RC = std::min(2 * r + 2, ya_end - ya_begin);
    const std::ptrdiff_t in_row = (CN + 1) * sA, c_row = NB * sB;

    std::vector<double> VA(NA * sA, 0.0), VB(NB * sB, 0.0), scale_c(c_hi - c_lo + kSlack, 0.0), scale_o(sO, 0.0),
        scale_row(sO + sB, 0.0), M(NB * sO);
    std::vector<float> in_ring(RI * in_row, 0.0f), c_ring(RC * c_row, 0.0f), zeros(std::max(in_row, c_row), 0.0f),
        row_out(sO);
    for (int x = c_lo; x < c_hi; ++x) scale_c[x - c_lo] = 1.0 / gf_window_count(x, r, W);
    for (int x = t.x0; x < t.x1; ++x) scale_o[x - t.x0] = 1.0 / gf_window_count(x, r, W);

    auto in_slot = [&](int y) { return in_ring.data() + ((y - first_in) % RI) * in_row; };
    auto c_slot = [&](int y) { return c_ring.data() + ((y - ya_begin) % RC) * c_row; };
    auto load_input = [&](int y) {  // guide planes, then p
        float* d = in_slot(y) + in_off;
        load_planes(guide, y, in_lo, in_hi, d, sA);
        load_planes(src, y, in_lo, in_hi, d + CN * sA, sA);
        return in_slot(y);
    };
    auto accumulate_a = [&](const float* n, const float* o) {
        if constexpr (CN == 3)
            accumulate_rgb(VA.data() + in_off, sA, n + in_off, o + in_off, in_hi - in_lo);
        else
            accumulate_grey(VA.data() + in_off, sA, n + in_off, o + in_off, in_hi - in_lo);
    };
    auto row_scale = [&](const std::vector<double>& xs, int n, int y) {
        const double inv_ny = 1.0 / gf_window_count(y, r, H);
        for (int i = 0; i < n; ++i) scale_row[i] = xs[i] * inv_ny;
        return scale_row.data();
    };

    // Stage A: VA holds the column sums of input rows [ya - r, ya + r] once row ya is produced.
    for (int y = first_in; y < std::min(H, ya_begin + r); ++y) accumulate_a(load_input(y), zeros.data());
    auto produce = [&](int ya) {
        const float* n = ya + r < H ? load_input(ya + r) : zeros.data();
        const float* o = ya - r - 1 >= first_in ? in_slot(ya - r - 1) : zeros.data();
        accumulate_a(n, o);
        // Coefficients at image columns [c_lo, c_hi); their windows start r columns earlier.
        const int n_c = c_hi - c_lo;
        const double* V = VA.data() + (c_lo - (t.x0 - 2 * r)) - r;
        float* A = c_slot(ya) + c_off;
        const double* k = row_scale(scale_c, n_c, ya);
        if constexpr (CN == 3)
            coeff_row_rgb(V, sA, n_c, L, k, eps, A, sB);
        else
            coeff_row_grey(V, sA, n_c, L, k, eps, A, sB);
        for (int c = 0; c < NB; ++c)  // blocks of 4 wrote up to 3 values past the image: clear them
            for (int i = n_c; i < ((n_c + 3) & ~3); ++i) A[c * sB + i] = 0.0f;
    };

    // Stage B: VB holds the column sums of coefficient rows [y - r, y + r] for output row y.
    for (int y = ya_begin; y < std::min(H, t.y0 + r); ++y) {
        produce(y);
        accumulate_plain(VB.data(), c_row, c_slot(y), zeros.data());
    }
    for (int y = t.y0; y < t.y1; ++y) {
        // Slots of rows y + r and y - r - 1 differ (the ring holds 2r + 2 rows, or every row),
        // so the new coefficient row can be made before the old one is subtracted.
        const float* o = y - r - 1 >= ya_begin ? c_slot(y - r - 1) : zeros.data();
        const float* n = zeros.data();
        if (y + r < H) {
            produce(y + r);
            n = c_slot(y + r);
        }
        accumulate_plain(VB.data(), c_row, n, o);
        const double* k = row_scale(scale_o, S, y);
        if (dst.coefficients) {
            mean_row<NB>(VB.data(), sB, S, L, k, M.data(), sO);
            float* a = dst.mean_a.row(y) + static_cast<std::ptrdiff_t>(t.x0) * CN;
            float* b = dst.mean_b.row(y) + t.x0;
            for (int x = 0; x < S; ++x) {
                for (int c = 0; c < CN; ++c) a[x * CN + c] = static_cast<float>(M[c * sO + x]);
                b[x] = static_cast<float>(M[CN * sO + x]);
            }
        } else {
            const float* I = in_slot(y) + 2 * r;  // the guide row y is still in the input ring
            if constexpr (CN == 3)
                apply_row_rgb(VB.data(), sB, S, L, k, I, sA, row_out.data());
            else
                apply_row_grey(VB.data(), sB, S, L, k, I, row_out.data());
            std::memcpy(dst.out.row(y) + t.x0, row_out.data(), sizeof(float) * S);
        }
    }
}

template <typename TG, typename TP>
void run(const ImageView<const TG>& guide, const ImageView<const TP>& src, int radius, double eps, const Outputs& dst) {
    const int H = guide.height, W = guide.width;
    ALPHACUT_CHECK(H > 0 && W > 0, "guided_filter: the guide is empty (" << H << " x " << W << ")");
    ALPHACUT_CHECK(guide.channels == 1 || guide.channels == 3,
                   "guided_filter: the guide must have 1 or 3 channels, got " << guide.channels);
    ALPHACUT_CHECK(src.height == H && src.width == W && src.channels == 1,
                   "guided_filter: src has shape (" << src.height << ", " << src.width << ", " << src.channels
                                                    << "), expected (" << H << ", " << W << ", 1)");
    ALPHACUT_CHECK(radius >= 0, "guided_filter: radius must be >= 0, got " << radius);
    ALPHACUT_CHECK(eps > 0, "guided_filter: eps must be > 0, got " << eps);
    // A window wider than the image is the whole image: clamp so buffers and indices stay small.
    const int r = std::min(radius, std::max(H, W));

    // Column strips sized for L2 (halo 2r on each side), then row bands when strips alone do
    // not give every thread work; bands recompute 2r rows, so they stay >= 4r rows tall.
    const int strip = std::max(512, 8 * r);
    const int nstrips = std::max(1, (W + strip / 2) / strip);
    const int threads = get_num_threads();
    int nbands = nstrips >= threads ? 1 : (threads + nstrips - 1) / nstrips;
    nbands = std::max(1, std::min(nbands, H / std::max(32, 4 * r)));
    std::vector<Tile> tiles;
    for (int b = 0; b < nbands; ++b)
        for (int s = 0; s < nstrips; ++s)
            tiles.push_back({static_cast<int>(static_cast<long long>(H) * b / nbands),
                             static_cast<int>(static_cast<long long>(H) * (b + 1) / nbands),
                             static_cast<int>(static_cast<long long>(W) * s / nstrips),
                             static_cast<int>(static_cast<long long>(W) * (s + 1) / nstrips)});
    parallel_for(0, static_cast<int>(tiles.size()), [&](int i0, int i1) {
        for (int i = i0; i < i1; ++i) {
            if (guide.channels == 3)
                run_tile<3>(guide, src, r, eps, tiles[i], dst);
            else
                run_tile<1>(guide, src, r, eps, tiles[i], dst);
        }
    }, 1);
}

template <typename TG, typename TP>
void filter_impl(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out) {
    ALPHACUT_CHECK(out.height == guide.height && out.width == guide.width && out.channels == 1,
                   "guided_filter: out must be (" << guide.height << ", " << guide.width << ")");
    Outputs dst;
    dst.out = out;
    run(guide, src, radius, eps, dst);
}

template <typename TG, typename TP>
void coefficients_impl(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                       ImageView<float> mean_a, ImageView<float> mean_b) {
    const int C = guide.channels;
    ALPHACUT_CHECK(
        mean_a.height == guide.height && mean_a.width == guide.width && mean_a.channels == C,
        "guided_filter_coefficients: mean_a must be (" << guide.height << ", " << guide.width << ", " << C << ")");
    ALPHACUT_CHECK(mean_b.height == guide.height && mean_b.width == guide.width && mean_b.channels == 1,
                   "guided_filter_coefficients: mean_b must be (" << guide.height << ", " << guide.width << ")");
    Outputs dst;
    dst.coefficients = true;
    dst.mean_a = mean_a;
    dst.mean_b = mean_b;
    run(guide, src, radius, eps, dst);
}

}  // namespace

#define ALPHACUT_GF_INSTANTIATE(TG, TP)                                                                             \
    void guided_filter_cpu(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,              \
                           ImageView<float> out) {                                                                  \
        filter_impl(guide, src, radius, eps, out);                                                                  \
    }                                                                                                               \
    void guided_filter_coefficients_cpu(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, \
                                        ImageView<float> mean_a, ImageView<float> mean_b) {                         \
        coefficients_impl(guide, src, radius, eps, mean_a, mean_b);                                                 \
    }

ALPHACUT_GF_INSTANTIATE(float, float)
ALPHACUT_GF_INSTANTIATE(std::uint8_t, float)
ALPHACUT_GF_INSTANTIATE(float, std::uint8_t)
ALPHACUT_GF_INSTANTIATE(std::uint8_t, std::uint8_t)

#undef ALPHACUT_GF_INSTANTIATE

}  // namespace alphacut
