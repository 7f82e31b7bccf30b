// The resampling formulas, once, for the CPU loops and the CUDA kernels alike. Each axis is
// resampled on its own (the 2-D weight of a tap pair is the product of the two 1-D weights).
//   grid:      pixel centres, src = (dst + 0.5) * scale - 0.5 with scale = src_size / dst_size
//              (OpenCV and PIL); source indices outside the image are clamped (edge replicated).
//   bilinear:  2 taps floor(src), floor(src) + 1 with weights 1 - f, f            (cv2.INTER_LINEAR)
//   bicubic:   4 taps floor(src) - 1 .. + 2, Keys kernel with a = -0.75            (cv2.INTER_CUBIC)
//   area:      box average: destination pixel d covers [d * scale, (d + 1) * scale) of the source;
//              each source pixel weighs its overlap with that interval, normalised (cv2.INTER_AREA
//              for down- and up-scaling alike).
//   triangle:  antialiased bilinear, PIL's Image.BILINEAR: the tent filter stretched by
//              max(scale, 1), i.e. w(i) = max(0, 1 - |i + 0.5 - (d + 0.5) * scale| / support) over
//              the source pixels i within support = max(scale, 1) of the centre, normalised (PIL's
//              bounds and weights, computed in double; PIL's fixed-point rounding between its two
//              passes is not reproduced: uint8 results agree within 1).
//   uint8 out: rounded half up and saturated to [0, 255]; float32 out: unclamped.
#pragma once
#include "../../common/border.hpp"
#include "../../common/hd.hpp"
#include "../../common/math.hpp"

namespace alphacut {

enum ResizeMethod { kResizeBilinear = 0, kResizeArea = 1, kResizeBicubic = 2, kResizeTriangle = 3 };

// Most taps per destination pixel along an axis of `src` pixels resampled to `dst`.
ALPHACUT_HD int resize_max_taps(int method, int src, int dst) {
    if (method == kResizeBilinear) return 2;
    if (method == kResizeBicubic) return 4;
    if (method == kResizeTriangle) {
        const double scale = static_cast<double>(src) / dst;
        const double support = scale > 1.0 ? scale : 1.0;
        return static_cast<int>(2.0 * support) + 3;  // the pixels within support of a centre
    }
    const int whole = src / dst;
    return whole + 2;  // ceil(scale) + 1 covers any alignment of the interval
}

ALPHACUT_HD double resize_scale(int src, int dst) { return static_cast<double>(src) / dst; }

// Keys cubic convolution weights for the four taps around fractional offset x in [0, 1).
ALPHACUT_HD void resize_cubic_weights(float x, float* w) {
    const float a = -0.75f;
    w[0] = ((a * (x + 1.f) - 5.f * a) * (x + 1.f) + 8.f * a) * (x + 1.f) - 4.f * a;
    w[1] = ((a + 2.f) * x - (a + 3.f)) * x * x + 1.f;
    w[2] = ((a + 2.f) * (1.f - x) - (a + 3.f)) * (1.f - x) * (1.f - x) + 1.f;
    w[3] = 1.f - w[0] - w[1] - w[2];
}

// The tent filter of PIL's bilinear resampling, stretched by `support`, at source pixel i.
ALPHACUT_HD double resize_tent(int i, double center, double support) {
    double t = (i - center + 0.5) / support;
    t = t < 0.0 ? -t : t;
    return t < 1.0 ? 1.0 - t : 0.0;
}

// Taps of destination index d along an axis: writes up to resize_max_taps indices (clamped into
// [0, src)) and weights, returns how many. Unused slots are left untouched.
ALPHACUT_HD int resize_taps(int method, int d, int src, int dst, int* idx, float* w) {
    const double scale = resize_scale(src, dst);
    if (method == kResizeTriangle) {  // PIL's precompute_coeffs with its bilinear filter
        const double support = scale > 1.0 ? scale : 1.0;
        const double center = (d + 0.5) * scale;
        int lo = static_cast<int>(center - support + 0.5);
        if (lo < 0) lo = 0;
        int hi = static_cast<int>(center + support + 0.5);
        if (hi > src) hi = src;
        double total = 0.0;
        for (int i = lo; i < hi; ++i) total += resize_tent(i, center, support);
        int n = 0;
        for (int i = lo; i < hi; ++i, ++n) {
            const double v = resize_tent(i, center, support);
            idx[n] = i;
            w[n] = static_cast<float>(total > 0.0 ? v / total : v);
        }
        return n;
    }
    if (method == kResizeArea) {
        const double a = d * scale;
        double b = (d + 1) * scale;
        if (b > src) b = src;
        int i0 = static_cast<int>(a);  // floor: a >= 0
        if (i0 > src - 1) i0 = src - 1;
        const double inv = 1.0 / (b - a);
        int n = 0;
        for (int i = i0; i < src && i < b; ++i) {
            const double lo = i > a ? i : a;
            const double hi = i + 1 < b ? i + 1 : b;
            if (hi - lo <= 0.0) continue;
            idx[n] = i;
            w[n] = static_cast<float>((hi - lo) * inv);
            ++n;
        }
        return n;
    }
    const float f = static_cast<float>((d + 0.5) * scale - 0.5);
    int s = static_cast<int>(f);  // truncation, then down to the floor for negative f
    if (static_cast<float>(s) > f) s -= 1;
    const float t = f - static_cast<float>(s);
    if (method == kResizeBilinear) {
        idx[0] = clamp_index(s, src);
        idx[1] = clamp_index(s + 1, src);
        w[0] = 1.f - t;
        w[1] = t;
        return 2;
    }
    resize_cubic_weights(t, w);
    for (int k = 0; k < 4; ++k) idx[k] = clamp_index(s - 1 + k, src);
    return 4;
}

ALPHACUT_HD float resize_load(unsigned char v) { return static_cast<float>(v); }
ALPHACUT_HD float resize_load(float v) { return v; }

// Round half up and saturate, as to_u8, written as max / min so the CPU loop vectorises.
ALPHACUT_HD void resize_store(float v, unsigned char* dst) {
    float c = v + 0.5f;
    c = c > 0.f ? c : 0.f;
    c = c < 255.f ? c : 255.f;
    *dst = static_cast<unsigned char>(static_cast<int>(c));
}
ALPHACUT_HD void resize_store(float v, float* dst) { *dst = v; }

}  // namespace alphacut
