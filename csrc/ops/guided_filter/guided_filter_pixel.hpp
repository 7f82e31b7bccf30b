// The guided filter's per-pixel math (He, Sun & Tang 2010/2013), once, for the CPU loops and
// the CUDA kernels alike. Inputs are box means over the (clipped) window:
//   grey guide I:   a = cov(I, p) / (var(I) + eps),          b = mean(p) - a * mean(I)
//   colour guide I: (Sigma + eps * U) a = cov(I, p)  (3x3),   b = mean(p) - a . mean(I)
//   output:         q = mean(a) . I + mean(b)
// Templated on the scalar: the CPU path runs them in double (the variance is a difference of
// nearly equal means); a kernel may instantiate float where its error budget allows.
#pragma once
#include "../../common/hd.hpp"

namespace alphacut {

// Grey guide. mI, mp, mII, mIp: box means of I, p, I*I, I*p.
template <typename T>
ALPHACUT_HD void gf_coeffs_grey(T mI, T mp, T mII, T mIp, T eps, T& a, T& b) {
    const T var = mII - mI * mI;
    const T cov = mIp - mI * mp;
    a = cov / (var + eps);
    b = mp - a * mI;
}

// Solve the symmetric 3x3 system S x = c with S = [[s00 s01 s02] [s01 s11 s12] [s02 s12 s22]]
// by the adjugate (Cramer). S is symmetric positive definite here (a covariance plus eps * U),
// so det > 0 and no pivoting is needed.
template <typename T>
ALPHACUT_HD void gf_solve_sym3(T s00, T s01, T s02, T s11, T s12, T s22, T c0, T c1, T c2, T& x0, T& x1, T& x2) {
    const T i00 = s11 * s22 - s12 * s12;
    const T i01 = s02 * s12 - s01 * s22;
    const T i02 = s01 * s12 - s02 * s11;
    const T i11 = s00 * s22 - s02 * s02;
    const T i12 = s01 * s02 - s00 * s12;
    const T i22 = s00 * s11 - s01 * s01;
    const T inv_det = 1 / (s00 * i00 + s01 * i01 + s02 * i02);  // 1, not T(1): T may be a SIMD vector
    x0 = (i00 * c0 + i01 * c1 + i02 * c2) * inv_det;
    x1 = (i01 * c0 + i11 * c1 + i12 * c2) * inv_det;
    x2 = (i02 * c0 + i12 * c1 + i22 * c2) * inv_det;
}

// Colour guide. m0..m2: means of the guide channels; mp: mean of p; m00, m01, m02, m11, m12,
// m22: means of the channel products; m0p..m2p: means of I_k * p.
template <typename T>
ALPHACUT_HD void gf_coeffs_rgb(T m0, T m1, T m2, T mp, T m00, T m01, T m02, T m11, T m12, T m22, T m0p, T m1p, T m2p,
                               T eps, T& a0, T& a1, T& a2, T& b) {
    const T s00 = m00 - m0 * m0 + eps;
    const T s01 = m01 - m0 * m1;
    const T s02 = m02 - m0 * m2;
    const T s11 = m11 - m1 * m1 + eps;
    const T s12 = m12 - m1 * m2;
    const T s22 = m22 - m2 * m2 + eps;
    const T c0 = m0p - m0 * mp;
    const T c1 = m1p - m1 * mp;
    const T c2 = m2p - m2 * mp;
    gf_solve_sym3(s00, s01, s02, s11, s12, s22, c0, c1, c2, a0, a1, a2);
    b = mp - (a0 * m0 + a1 * m1 + a2 * m2);
}

// The output: q = mean(a) . I + mean(b).
template <typename T>
ALPHACUT_HD T gf_apply_grey(T ma, T mb, T i) {
    return ma * i + mb;
}

template <typename T>
ALPHACUT_HD T gf_apply_rgb(T ma0, T ma1, T ma2, T mb, T i0, T i1, T i2) {
    return ma0 * i0 + ma1 * i1 + ma2 * i2 + mb;
}

// Number of pixels of the window [i - r, i + r] inside [0, n).
ALPHACUT_HD int gf_window_count(int i, int r, int n) {
    const int lo = i - r < 0 ? 0 : i - r;
    const int hi = i + r >= n ? n - 1 : i + r;
    return hi - lo + 1;
}

}  // namespace alphacut
