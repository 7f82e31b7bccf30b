// The closed-form matting Laplacian (Levin, Lischinski, Weiss 2008), once, for the CPU solver and
// the CUDA kernels alike. 3x3 windows w_k, colours I in [0, 1]:
//
//   L_ij = sum_{k : i, j in w_k} ( delta_ij - (1 + (I_i - mu_k)^T A_k (I_j - mu_k)) / 9 ),
//   A_k  = (Sigma_k + eps / 9 * Id)^-1,
//
// with mu_k, Sigma_k the mean and (biased) covariance of the 9 colours of w_k. Only windows that
// lie entirely inside the image are used (as Levin and pymatting do).
//
// The solver stores, per unknown pixel, its row of L as a 5x5 stencil (L_ij is non-zero only for
// |y_i - y_j|, |x_i - x_j| <= 2) and never a matrix over the image. Differences I - mu are always
// formed explicitly: with a tiny eps, A_k is large and the expanded form (I . u - mu . u) would
// cancel catastrophically in float.
#pragma once
#include <math.h>

#include "../../common/hd.hpp"

namespace alphacut {

constexpr int kMattingWindowPixels = 9;  // 3x3 window

// Per-window constants: the mean colour and the symmetric inverse A_k stored as
// (xx, xy, xz, yy, yz, zz). T is the working precision (see matting_window).
template <typename T>
struct MattingWindow {
    T mean[3];
    T inv[6];
};

// mu_k and A_k of one window from its 9 colours (c[3 * j + ch], j = 0..8). T is the precision
// of the covariance, its inverse and the stencil: the CPU solver uses double, because with
// eps ~ 1e-6 the determinant is ~1e-20 and the band system's smallest eigenvalues sit below
// float's resolution of L (a float L can turn indefinite and stall CG).
template <typename T>
ALPHACUT_HD MattingWindow<T> matting_window(const float* c, float eps) {
    T m0 = 0, m1 = 0, m2 = 0;
    for (int j = 0; j < kMattingWindowPixels; ++j) {
        m0 += c[3 * j];
        m1 += c[3 * j + 1];
        m2 += c[3 * j + 2];
    }
    const T n = T(kMattingWindowPixels);
    m0 /= n;
    m1 /= n;
    m2 /= n;
    T sxx = 0, sxy = 0, sxz = 0, syy = 0, syz = 0, szz = 0;
    for (int j = 0; j < kMattingWindowPixels; ++j) {
        const T d0 = c[3 * j] - m0, d1 = c[3 * j + 1] - m1, d2 = c[3 * j + 2] - m2;
        sxx += d0 * d0;
        sxy += d0 * d1;
        sxz += d0 * d2;
        syy += d1 * d1;
        syz += d1 * d2;
        szz += d2 * d2;
    }
    const T reg = T(eps) / n;
    const T a = sxx / n + reg, b = sxy / n, cc = sxz / n;
    const T d = syy / n + reg, e = syz / n, f = szz / n + reg;
    // Cofactors of the symmetric matrix [[a b c] [b d e] [c e f]].
    const T i00 = d * f - e * e;
    const T i01 = cc * e - b * f;
    const T i02 = b * e - cc * d;
    const T i11 = a * f - cc * cc;
    const T i12 = b * cc - a * e;
    const T i22 = a * d - b * b;
    const T det = a * i00 + b * i01 + cc * i02;  // > 0: SPD (covariance + eps/9 Id)
    const T r = T(1) / det;
    MattingWindow<T> w;
    w.mean[0] = m0;
    w.mean[1] = m1;
    w.mean[2] = m2;
    w.inv[0] = i00 * r;
    w.inv[1] = i01 * r;
    w.inv[2] = i02 * r;
    w.inv[3] = i11 * r;
    w.inv[4] = i12 * r;
    w.inv[5] = i22 * r;
    return w;
}

// out = A_k * v for the symmetric A_k.
template <typename T>
ALPHACUT_HD void matting_apply_inverse(const MattingWindow<T>& w, const T* v, T* out) {
    out[0] = w.inv[0] * v[0] + w.inv[1] * v[1] + w.inv[2] * v[2];
    out[1] = w.inv[1] * v[0] + w.inv[3] * v[1] + w.inv[4] * v[2];
    out[2] = w.inv[2] * v[0] + w.inv[4] * v[1] + w.inv[5] * v[2];
}

// (I_i - mu_k)^T A_k (I_j - mu_k): the affinity of two colours under window k.
template <typename T>
ALPHACUT_HD T matting_affinity(const MattingWindow<T>& w, const float* ci, const float* cj) {
    const T di[3] = {ci[0] - w.mean[0], ci[1] - w.mean[1], ci[2] - w.mean[2]};
    const T dj[3] = {cj[0] - w.mean[0], cj[1] - w.mean[1], cj[2] - w.mean[2]};
    T adj[3];
    matting_apply_inverse(w, dj, adj);
    return di[0] * adj[0] + di[1] * adj[1] + di[2] * adj[2];
}

// Window k's share of L_ij: delta_ij - (1 + affinity) / 9.
template <typename T>
ALPHACUT_HD T matting_laplacian_term(const MattingWindow<T>& w, const float* ci, const float* cj, bool same) {
    return (same ? T(1) : T(0)) - (T(1) + matting_affinity(w, ci, cj)) / T(kMattingWindowPixels);
}

// Assembly of the 5x5 stencil of L: for pixel i in window k, u = A_k (I_i - mu_k) once, then
// window k's share of L_ij for each pixel j of the window.
template <typename T>
ALPHACUT_HD void matting_whiten(const MattingWindow<T>& w, const float* ci, T* u) {
    const T d[3] = {ci[0] - w.mean[0], ci[1] - w.mean[1], ci[2] - w.mean[2]};
    matting_apply_inverse(w, d, u);
}
template <typename T>
ALPHACUT_HD T matting_stencil_term(const MattingWindow<T>& w, const T* u, const float* cj, bool same) {
    const T a = u[0] * (cj[0] - w.mean[0]) + u[1] * (cj[1] - w.mean[1]) + u[2] * (cj[2] - w.mean[2]);
    return (same ? T(1) : T(0)) - (T(1) + a) / T(kMattingWindowPixels);
}

// The data term lambda_i * (alpha_i - prior_i)^2 adds lambda_i to L's diagonal and
// lambda_i * prior_i to the right-hand side, with lambda_i = weight * |2 prior_i - 1|^confidence:
// confidence 0 trusts the prior everywhere alike; larger values trust it less where it is unsure
// (near 0.5), leaving those pixels to the colour model.
ALPHACUT_HD float prior_data_weight(float prior, float weight, float confidence) {
    if (confidence == 0.f) return weight;
    const float c = prior * 2.f - 1.f;
    return weight * powf(c < 0.f ? -c : c, confidence);
}

// The solution is clamped to [0, 1].
ALPHACUT_HD float solve_alpha_output(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }

// Trimap rule shared by all backends: 0 is sure background, 255 sure foreground, the rest unknown.
ALPHACUT_HD bool trimap_is_unknown(unsigned char t) { return t != 0 && t != 255; }

}  // namespace alphacut
