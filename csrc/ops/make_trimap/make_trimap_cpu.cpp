#include "make_trimap.hpp"

#include <algorithm>
#include <cstring>

#include "../../common/error.hpp"
#include "../morphology/morphology_bits.hpp"
#include "make_trimap_pixel.hpp"

namespace alphacut {

namespace {

// Seeds of one pixel value. Floats compare directly; uint8 compares against the first / last code
// whose trimap_prob passes (trimap_prob is monotone in the code), an exact integer form of the
// same test that vectorises on bytes.
template <typename T, typename Thr>
struct Seeds {
    Thr fg, bg;
    Seeds(Thr f, Thr b) : fg(f), bg(b) {}
    bool fg_seed(T v) const { return trimap_fg_seed(trimap_prob(v), fg); }
    bool bg_seed(T v) const { return trimap_bg_seed(trimap_prob(v), bg); }
};

template <typename Thr>
struct Seeds<std::uint8_t, Thr> {
    int fg_min = 256, bg_max = -1;
    Seeds(Thr f, Thr b) {
        for (int v = 0; v < 256 && fg_min == 256; ++v)
            if (trimap_fg_seed(trimap_prob(static_cast<unsigned char>(v)), f)) fg_min = v;
        for (int v = 255; v >= 0 && bg_max == -1; --v)
            if (trimap_bg_seed(trimap_prob(static_cast<unsigned char>(v)), b)) bg_max = v;
    }
    bool fg_seed(std::uint8_t v) const { return v >= fg_min; }
    bool bg_seed(std::uint8_t v) const { return v <= bg_max; }
};

template <typename T, typename Thr>
void trimap_cpu(ImageView<const T> prob, Thr fg_thr, Thr bg_thr, int radius, ImageView<std::uint8_t> out) {
    ALPHACUT_CHECK(radius >= 0, "radius must be >= 0, got " << radius);
    ALPHACUT_CHECK(prob.channels == 1, "prob must be (H, W), got " << prob.channels << " channels");
    ALPHACUT_CHECK(prob.height > 0 && prob.width > 0, "prob is empty (" << prob.height << " x " << prob.width << ")");
    ALPHACUT_CHECK(bg_thr < fg_thr, "bg_threshold (" << bg_thr << ") must be below fg_threshold (" << fg_thr << ")");
    ALPHACUT_CHECK(out.height == prob.height && out.width == prob.width && out.channels == 1,
                   "out has shape (" << out.height << ", " << out.width << "), expected (" << prob.height << ", "
                                     << prob.width << ")");
    const int w = prob.width;
    const Seeds<T, Thr> seeds(fg_thr, bg_thr);
    // Plane 0 holds the complement of the foreground seeds, plane 1 that of the background seeds:
    // eroding a seed is dilating its complement (morph_seed / morph_result with erode = true).
    morph::dilate_planes<2>(prob.height, w, radius, [&](int y, morph_word* const* planes) {
        const T* row = prob.row(y);
        // Captured by value: the byte stores inside pack_row could otherwise alias them and
        // keep the seed loop from vectorising.
        const Seeds<T, Thr> s = seeds;
        morph::pack_row(w, [row, s](int x) { return !s.fg_seed(row[x]); }, planes[0]);
        morph::pack_row(w, [row, s](int x) { return !s.bg_seed(row[x]); }, planes[1]);
    }, [&](int y, const morph_word* const* planes) {
        std::uint8_t* o = out.row(y);
        const int full = w / 8;
        const morph_word* spread = morph::spread_table();
        for (int i = 0; i < full; ++i) {
            const int j = i >> 3, s = 8 * (i & 7);
            const morph_word fg = spread[(morph_result_bits(planes[0][j], true) >> s) & 0xffu];
            const morph_word bg = spread[(morph_result_bits(planes[1][j], true) >> s) & 0xffu];
            const morph_word v = trimap_label8(fg, bg);
            std::memcpy(o + 8 * i, &v, 8);
        }
        for (int x = full * 8; x < w; ++x) {
            const bool any_fg = (planes[0][x >> 6] >> (x & 63)) & 1u;
            const bool any_bg = (planes[1][x >> 6] >> (x & 63)) & 1u;
            o[x] = trimap_label(morph_result(any_fg, true), morph_result(any_bg, true));
        }
    });
}

}  // namespace

void make_trimap_cpu(ImageView<const std::uint8_t> prob, float fg, float bg, int r, ImageView<std::uint8_t> out) {
    trimap_cpu(prob, fg, bg, r, out);
}
void make_trimap_cpu(ImageView<const float> prob, float fg, float bg, int r, ImageView<std::uint8_t> out) {
    trimap_cpu(prob, fg, bg, r, out);
}
void make_trimap_cpu(ImageView<const double> prob, double fg, double bg, int r, ImageView<std::uint8_t> out) {
    trimap_cpu(prob, fg, bg, r, out);
}

}  // namespace alphacut
