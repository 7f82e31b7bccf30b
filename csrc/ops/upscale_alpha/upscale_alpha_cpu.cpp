// CPU fast guided upsampling: area-average the guide to the alpha's size, guided-filter
// coefficients there (guided_filter op), then one fused full-resolution pass per row: bilinear
// interpolation of mean(a), mean(b) and q = clamp(mean(a) . I + mean(b), 0, 1).
// The bilinear weights are separable: each thread interpolates a low-resolution coefficient row
// to full width once (two rows cached), and the per-pixel work is the vertical lerp plus the dot
// product, vectorised over x.
#include "upscale_alpha.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"
#include "../guided_filter/guided_filter.hpp"
#include "../pack_rgba/pack_rgba.hpp"
#include "upscale_alpha_pixel.hpp"

#include "../../common/simd.hpp"
#define UA_CLONES ALPHACUT_SIMD_CLONES

namespace alphacut {

namespace {

// acc[k] += w * src[k] (uint8 already carries the 1/255 in w).
UA_CLONES void accumulate_weighted(float* __restrict acc, const std::uint8_t* __restrict src, std::ptrdiff_t n,
                                   float w) {
    for (std::ptrdiff_t k = 0; k < n; ++k) acc[k] += w * static_cast<float>(src[k]);
}
UA_CLONES void accumulate_weighted(float* __restrict acc, const float* __restrict src, std::ptrdiff_t n, float w) {
    for (std::ptrdiff_t k = 0; k < n; ++k) acc[k] += w * src[k];
}

inline float unit_scale(const std::uint8_t*) { return 1.0f / 255.0f; }
inline float unit_scale(const float*) { return 1.0f; }

// Interleaved pixels to planes (see guided_filter_cpu.cpp for why __restrict).
UA_CLONES void to_planes3(const std::uint8_t* __restrict px, int n, float* __restrict p0, float* __restrict p1,
                          float* __restrict p2) {
    const float k = 1.0f / 255.0f;
    for (int x = 0; x < n; ++x) {
        p0[x] = static_cast<float>(px[3 * x]) * k;
        p1[x] = static_cast<float>(px[3 * x + 1]) * k;
        p2[x] = static_cast<float>(px[3 * x + 2]) * k;
    }
}
UA_CLONES void to_planes3(const float* __restrict px, int n, float* __restrict p0, float* __restrict p1,
                          float* __restrict p2) {
    for (int x = 0; x < n; ++x) {
        p0[x] = px[3 * x];
        p1[x] = px[3 * x + 1];
        p2[x] = px[3 * x + 2];
    }
}
UA_CLONES void to_planes1(const std::uint8_t* __restrict px, int n, float* __restrict p0) {
    const float k = 1.0f / 255.0f;
    for (int x = 0; x < n; ++x) p0[x] = static_cast<float>(px[x]) * k;
}
UA_CLONES void to_planes1(const float* __restrict px, int n, float* __restrict p0) {
    std::memcpy(p0, px, sizeof(float) * n);
}

// The fused full-resolution step for one row: coefficients lerped between the two
// horizontally interpolated low-resolution rows r0, r1 (planes a..., b of stride s), dotted
// with the guide planes I (stride s).
UA_CLONES void apply_row_rgb(const float* __restrict r0, const float* __restrict r1, std::ptrdiff_t s, float wy,
                             const float* __restrict I, float* __restrict out, int n) {
    for (int x = 0; x < n; ++x) {
        const float a0 = lerp_tap(r0[x], r1[x], wy);
        const float a1 = lerp_tap(r0[s + x], r1[s + x], wy);
        const float a2 = lerp_tap(r0[2 * s + x], r1[2 * s + x], wy);
        const float b = lerp_tap(r0[3 * s + x], r1[3 * s + x], wy);
        out[x] = upscale_apply_rgb(a0, a1, a2, b, I[x], I[s + x], I[2 * s + x]);
    }
}
UA_CLONES void apply_row_grey(const float* __restrict r0, const float* __restrict r1, std::ptrdiff_t s, float wy,
                              const float* __restrict I, float* __restrict out, int n) {
    for (int x = 0; x < n; ++x)
        out[x] = upscale_apply_grey(lerp_tap(r0[x], r1[x], wy), lerp_tap(r0[s + x], r1[s + x], wy), I[x]);
}

template <typename T>
void downscale_impl(ImageView<const T> src, ImageView<float> dst) {
    const int H = src.height, W = src.width, C = src.channels, h = dst.height, w = dst.width;
    ALPHACUT_CHECK(H > 0 && W > 0 && h > 0 && w > 0, "area_downscale: empty image");
    ALPHACUT_CHECK(dst.channels == C, "area_downscale: dst has " << dst.channels << " channels, src " << C);
    ALPHACUT_CHECK(h <= H && w <= W,
                   "area_downscale: (" << h << ", " << w << ") is larger than the source (" << H << ", " << W << ")");
    // Horizontal weights of each destination column, flattened.
    std::vector<int> first(w), count(w), offset(w + 1, 0);
    std::vector<double> weights;
    for (int j = 0; j < w; ++j) {
        first[j] = area_first(j, w, W);
        count[j] = area_last(j, w, W) - first[j] + 1;
        offset[j + 1] = offset[j] + count[j];
        for (int x = first[j]; x < first[j] + count[j]; ++x) weights.push_back(area_weight<double>(j, x, w, W));
    }
    const float k = unit_scale(src.data);
    parallel_for(0, h, [&](int i0, int i1) {
        std::vector<float> acc(static_cast<std::size_t>(W) * C);
        for (int i = i0; i < i1; ++i) {
            // Vertical: a weighted sum of whole source rows (vectorised), then horizontal.
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int y = area_first(i, h, H); y <= area_last(i, h, H); ++y)
                accumulate_weighted(acc.data(), src.row(y), static_cast<std::ptrdiff_t>(W) * C,
                                    static_cast<float>(area_weight<double>(i, y, h, H)) * k);
            float* d = dst.row(i);
            for (int j = 0; j < w; ++j)
                for (int c = 0; c < C; ++c) {
                    double s = 0.0;
                    for (int t = 0; t < count[j]; ++t)
                        s += weights[offset[j] + t] * acc[static_cast<std::ptrdiff_t>(first[j] + t) * C + c];
                    d[j * C + c] = static_cast<float>(s);
                }
        }
    }, 4);
}

// `rgba` (data null: none): each output row also packed into it (uint8 RGB guides only).
template <typename TA, typename TG>
void upscale_impl(ImageView<const TA> alpha_low, ImageView<const TG> guide, int radius, double eps,
                  ImageView<float> out, ImageView<std::uint8_t> rgba = {}) {
    const int H = guide.height, W = guide.width, C = guide.channels;
    const int h = alpha_low.height, w = alpha_low.width;
    check_upscale_alpha_args(h, w, alpha_low.channels, H, W, C, out, radius, eps);
    if (rgba.data)
        ALPHACUT_CHECK(C == 3 && rgba.height == H && rgba.width == W && rgba.channels == 4,
                       "upscale_alpha: rgba must be (" << H << ", " << W << ", 4) with an RGB guide");

    // 1-2: the guide at low resolution and the coefficients there.
    std::vector<float> g_low(static_cast<std::size_t>(h) * w * C), ma(static_cast<std::size_t>(h) * w * C),
        mb(static_cast<std::size_t>(h) * w);
    auto g_view = make_view(g_low.data(), h, w, C);
    downscale_impl(guide, g_view);
    guided_filter_coefficients_cpu(as_const(g_view), alpha_low, radius, eps, make_view(ma.data(), h, w, C),
                                   make_view(mb.data(), h, w, 1));

    // 3: bilinear taps per column, then one fused pass per output row.
    std::vector<int> xi0(W), xi1(W);
    std::vector<float> xw(W);
    for (int x = 0; x < W; ++x) {
        double w1;
        linear_tap<double>(x, W, w, xi0[x], xi1[x], w1);
        xw[x] = static_cast<float>(w1);
    }
    const int NB = C + 1;
    const std::ptrdiff_t s = W;
    parallel_for(0, H, [&](int y0, int y1) {
        std::vector<float> rows(2 * NB * s), planes(C * s);
        std::vector<std::uint8_t> a8(rgba.data ? static_cast<std::size_t>(W) : 0);
        int cached[2] = {-1, -1};
        // Row i of the low-resolution coefficients interpolated to full width, in slot `slot`.
        auto fill = [&](int slot, int i) {
            float* r = rows.data() + slot * NB * s;
            const float* a = ma.data() + static_cast<std::ptrdiff_t>(i) * w * C;
            const float* b = mb.data() + static_cast<std::ptrdiff_t>(i) * w;
            for (int c = 0; c < C; ++c)
                for (int x = 0; x < W; ++x) r[c * s + x] = lerp_tap(a[xi0[x] * C + c], a[xi1[x] * C + c], xw[x]);
            for (int x = 0; x < W; ++x) r[C * s + x] = lerp_tap(b[xi0[x]], b[xi1[x]], xw[x]);
            cached[slot] = i;
        };
        auto slot_of = [&](int i, int keep) {  // a slot holding row i, never evicting row `keep`
            if (cached[0] == i) return 0;
            if (cached[1] == i) return 1;
            const int slot = cached[0] == keep ? 1 : 0;
            fill(slot, i);
            return slot;
        };
        for (int y = y0; y < y1; ++y) {
            int i0, i1;
            double wy;
            linear_tap<double>(y, H, h, i0, i1, wy);
            const float* r0 = rows.data() + slot_of(i0, i1) * NB * s;
            const float* r1 = rows.data() + slot_of(i1, i0) * NB * s;
            const TG* px = guide.row(y);
            if (C == 3) {
                to_planes3(px, W, planes.data(), planes.data() + s, planes.data() + 2 * s);
                apply_row_rgb(r0, r1, s, static_cast<float>(wy), planes.data(), out.row(y), W);
                if constexpr (std::is_same_v<TG, std::uint8_t>)
                    if (rgba.data) pack_rgba_row_cpu(px, out.row(y), rgba.row(y), a8.data(), W);
            } else {
                to_planes1(px, W, planes.data());
                apply_row_grey(r0, r1, s, static_cast<float>(wy), planes.data(), out.row(y), W);
            }
        }
    }, 16);
}

}  // namespace

void check_upscale_alpha_args(int h, int w, int a_channels, int H, int W, int C, const ImageView<float>& out,
                              int radius, double eps) {
    ALPHACUT_CHECK(H > 0 && W > 0, "upscale_alpha: the guide is empty");
    ALPHACUT_CHECK(h > 0 && w > 0, "upscale_alpha: alpha_low is empty");
    ALPHACUT_CHECK(C == 1 || C == 3, "upscale_alpha: the guide must have 1 or 3 channels, got " << C);
    ALPHACUT_CHECK(a_channels == 1, "upscale_alpha: alpha_low must be (h, w)");
    ALPHACUT_CHECK(h <= H && w <= W, "upscale_alpha: alpha_low (" << h << ", " << w << ") is larger than the guide ("
                                                                  << H << ", " << W << ")");
    ALPHACUT_CHECK(out.height == H && out.width == W && out.channels == 1,
                   "upscale_alpha: out must be (" << H << ", " << W << ")");
    ALPHACUT_CHECK(radius >= 0, "upscale_alpha: radius must be >= 0, got " << radius);
    ALPHACUT_CHECK(eps > 0, "upscale_alpha: eps must be > 0, got " << eps);
}

void area_downscale_cpu(ImageView<const float> src, ImageView<float> dst) { downscale_impl(src, dst); }
void area_downscale_cpu(ImageView<const std::uint8_t> src, ImageView<float> dst) { downscale_impl(src, dst); }

#define ALPHACUT_UA_INSTANTIATE(TA, TG)                                                                           \
    void upscale_alpha_cpu(ImageView<const TA> alpha_low, ImageView<const TG> guide_full, int radius, double eps, \
                           ImageView<float> out) {                                                                \
        upscale_impl(alpha_low, guide_full, radius, eps, out);                                                    \
    }

ALPHACUT_UA_INSTANTIATE(float, float)
ALPHACUT_UA_INSTANTIATE(std::uint8_t, float)
ALPHACUT_UA_INSTANTIATE(float, std::uint8_t)
ALPHACUT_UA_INSTANTIATE(std::uint8_t, std::uint8_t)

#undef ALPHACUT_UA_INSTANTIATE

void upscale_alpha_rgba_cpu(ImageView<const float> alpha_low, ImageView<const std::uint8_t> guide_full, int radius,
                            double eps, ImageView<float> out, ImageView<std::uint8_t> rgba) {
    ALPHACUT_CHECK(rgba.data, "upscale_alpha_rgba: rgba is missing");
    upscale_impl(alpha_low, guide_full, radius, eps, out, rgba);
}
void upscale_alpha_rgba_cpu(ImageView<const std::uint8_t> alpha_low, ImageView<const std::uint8_t> guide_full,
                            int radius, double eps, ImageView<float> out, ImageView<std::uint8_t> rgba) {
    ALPHACUT_CHECK(rgba.data, "upscale_alpha_rgba: rgba is missing");
    upscale_impl(alpha_low, guide_full, radius, eps, out, rgba);
}

}  // namespace alphacut
