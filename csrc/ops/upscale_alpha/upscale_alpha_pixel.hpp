// Fast guided upsampling (He & Sun 2015, "Fast Guided Filter"), per pixel, once for the CPU loops
// and the CUDA kernels alike:
//   1. area-average the full-resolution guide down to the low resolution      (area_* below)
//   2. guided-filter coefficients mean(a), mean(b) at low resolution            (guided_filter)
//   3. bilinear (pixel-centre aligned) interpolation of mean(a), mean(b)       (linear_tap, lerp)
//      and q = clamp(mean(a) . I + mean(b), 0, 1) on the full-resolution guide  (upscale_apply_*)
#pragma once
#include "../../common/hd.hpp"

namespace alphacut {

// Area resampling of n_src pixels onto n_dst <= n_src: destination pixel i covers source
// coordinates [i * n_src / n_dst, (i + 1) * n_src / n_dst). In units of 1 / n_dst source pixels
// both intervals have integer ends, so the weights are exact ratios of integers.
// The source pixels touching destination i: [area_first(i), area_last(i)].
ALPHACUT_HD int area_first(int i, int n_dst, int n_src) {
    return static_cast<int>((static_cast<long long>(i) * n_src) / n_dst);
}
ALPHACUT_HD int area_last(int i, int n_dst, int n_src) {
    return static_cast<int>(((static_cast<long long>(i) + 1) * n_src - 1) / n_dst);
}
// The share of destination pixel i that source pixel j covers (the weights of i sum to 1).
template <typename T>
ALPHACUT_HD T area_weight(int i, int j, int n_dst, int n_src) {
    const long long d0 = static_cast<long long>(i) * n_src, d1 = d0 + n_src;
    const long long s0 = static_cast<long long>(j) * n_dst, s1 = s0 + n_dst;
    const long long lo = d0 > s0 ? d0 : s0, hi = d1 < s1 ? d1 : s1;
    return hi > lo ? static_cast<T>(hi - lo) / static_cast<T>(n_src) : T(0);
}

// Bilinear taps, pixel-centre aligned (as cv2.resize INTER_LINEAR): destination pixel x samples
// source coordinate s = (x + 0.5) * n_src / n_dst - 0.5, clamped to [0, n_src - 1], from pixels
// i0 = floor(s) and i1 = min(i0 + 1, n_src - 1) with weight w1 on i1.
template <typename T>
ALPHACUT_HD void linear_tap(int x, int n_dst, int n_src, int& i0, int& i1, T& w1) {
    T s =
        (static_cast<T>(x) + static_cast<T>(0.5)) * static_cast<T>(n_src) / static_cast<T>(n_dst) - static_cast<T>(0.5);
    const T top = static_cast<T>(n_src - 1);
    s = s < 0 ? static_cast<T>(0) : (s > top ? top : s);
    i0 = static_cast<int>(s);
    i1 = i0 + 1 < n_src ? i0 + 1 : n_src - 1;
    w1 = s - static_cast<T>(i0);
}

template <typename T>
ALPHACUT_HD T lerp_tap(T v0, T v1, T w1) {
    return v0 + (v1 - v0) * w1;
}

// q = clamp(a . I + b, 0, 1) with the interpolated coefficients.
template <typename T>
ALPHACUT_HD T upscale_apply_rgb(T a0, T a1, T a2, T b, T i0, T i1, T i2) {
    const T q = a0 * i0 + a1 * i1 + a2 * i2 + b;
    return q < 0 ? static_cast<T>(0) : (q > 1 ? static_cast<T>(1) : q);
}
template <typename T>
ALPHACUT_HD T upscale_apply_grey(T a, T b, T i) {
    const T q = a * i + b;
    return q < 0 ? static_cast<T>(0) : (q > 1 ? static_cast<T>(1) : q);
}

}  // namespace alphacut
