// Multi-level foreground estimation (Germer et al. 2020): the per-pixel update, once, for the
// CPU loops and the CUDA kernels alike.
//
// For one pixel with alpha a, colour I and 4-neighbours n (clamped at the image border), each
// channel's (F, B) minimises
//     (a F + (1 - a) B - I)^2 + sum_n w_n ((F - F_n)^2 + (B - B_n)^2),
//     w_n = regularization + gradient_weight * |a - a_n|,
// whose normal equations are the 2x2 system
//     [ a^2 + W     a (1 - a)   ] [F]   [ a I       + sum_n w_n F_n ]
//     [ a (1 - a)   (1 - a)^2 + W ] [B] = [ (1 - a) I + sum_n w_n B_n ],   W = sum_n w_n.
// Its determinant is W (a^2 + (1 - a)^2) + W^2 > 0 whenever regularization > 0 (formed as
// a00 a11 - a01^2, and in the first form where that cancels to 0). The solution is clamped to
// [0, 1]. Neighbours are added in the order left, right, up, down (as pymatting does).
#pragma once
#include "../../common/hd.hpp"

// The CPU sweeps call these four times per pixel from many template instances; GCC then stops
// inlining them, which costs a third of the sweep time. Device builds inline them anyway.
#if !defined(__CUDACC__) && !defined(ALPHACUT_EMU_COMPILE) && defined(__GNUC__)
#define ALPHACUT_FB_HOT __attribute__((always_inline))
#else
#define ALPHACUT_FB_HOT
#endif

namespace alphacut {

// The accumulated system of one pixel (3 colour channels).
struct FbSystem {
    float a;     // alpha of the pixel
    float w;     // W
    float a00;   // a^2 + W
    float a01;   // a (1 - a)
    float a11;   // (1 - a)^2 + W
    float b0[3];
    float b1[3];
};

// Start the system of a pixel with alpha `a` and colour (i0, i1, i2).
ALPHACUT_HD ALPHACUT_FB_HOT void fb_begin(FbSystem& s, float a, float i0, float i1, float i2) {
    const float a1 = 1.f - a;
    s.a = a;
    s.w = 0.f;
    s.a00 = a * a;
    s.a01 = a * a1;
    s.a11 = a1 * a1;
    s.b0[0] = a * i0;
    s.b0[1] = a * i1;
    s.b0[2] = a * i2;
    s.b1[0] = a1 * i0;
    s.b1[1] = a1 * i1;
    s.b1[2] = a1 * i2;
}

// Add the smoothness term of one neighbour with alpha `a_n`, foreground fn[3], background bn[3].
ALPHACUT_HD ALPHACUT_FB_HOT void fb_add_neighbour(FbSystem& s, float a_n, const float* fn, const float* bn,
                                                  float regularization, float gradient_weight) {
    const float g = s.a > a_n ? s.a - a_n : a_n - s.a;
    const float w = regularization + gradient_weight * g;
    s.w += w;
    s.a00 += w;
    s.a11 += w;
    s.b0[0] += w * fn[0];
    s.b0[1] += w * fn[1];
    s.b0[2] += w * fn[2];
    s.b1[0] += w * bn[0];
    s.b1[1] += w * bn[1];
    s.b1[2] += w * bn[2];
}

// Solve the 2x2 system; f[3] and b[3] receive the clamped foreground and background.
ALPHACUT_HD ALPHACUT_FB_HOT void fb_solve(const FbSystem& s, float* f, float* b) {
    // A soft pixel whose W is below float's resolution of a^2 (1e-8 or so: a tiny regularization
    // and no alpha gradient) cancels to 0 in the first form; the same determinant without the
    // cancellation keeps 1 / det finite. Otherwise the result is the usual one, bit for bit. Both
    // are formed and one selected, without a branch, so that loops over pixels vectorise.
    const float det0 = s.a00 * s.a11 - s.a01 * s.a01;
    const float a1 = 1.f - s.a;
    const float det1 = s.w * (s.a * s.a + a1 * a1) + s.w * s.w;
    const float det = det0 > 0.f ? det0 : det1;
    const float inv_det = 1.f / det;
    const float m00 = inv_det * s.a11;
    const float m01 = -inv_det * s.a01;
    const float m11 = inv_det * s.a00;
    for (int c = 0; c < 3; ++c) {
        float fc = m00 * s.b0[c] + m01 * s.b1[c];
        float bc = m01 * s.b0[c] + m11 * s.b1[c];
        f[c] = fc < 0.f ? 0.f : (fc > 1.f ? 1.f : fc);
        b[c] = bc < 0.f ? 0.f : (bc > 1.f ? 1.f : bc);
    }
}

// Nearest-neighbour resampling index, as pymatting's levels use: i * n_src / n_dst, clamped.
ALPHACUT_HD int fb_nearest_index(int i, int n_dst, int n_src) {
    const long long v = static_cast<long long>(i) * n_src / n_dst;
    return v >= n_src ? n_src - 1 : static_cast<int>(v);
}

// Starting values on a level solved only in a band around the soft edge: an opaque pixel's
// foreground is its colour (the fixed point of the update when all neighbours are opaque too), a
// transparent pixel's background likewise; everything else starts from the coarser level.
ALPHACUT_HD float fb_start_foreground(float a, float image, float coarse) { return a >= 1.f ? image : coarse; }
ALPHACUT_HD float fb_start_background(float a, float image, float coarse) { return a <= 0.f ? image : coarse; }

// A pixel whose update differs from its starting value: a soft alpha, or a neighbour whose alpha
// differs (the gradient weight couples it to the other side of an edge).
ALPHACUT_HD bool fb_is_active(float a, float left, float right, float up, float down) {
    return (a > 0.f && a < 1.f) || a != left || a != right || a != up || a != down;
}

}  // namespace alphacut
