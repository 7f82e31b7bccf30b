// The compositing formulas, once, for the CPU loops and the CUDA kernels alike, with alpha
// clamped to [0, 1] (as pack_rgba does):
//   composite:     out = a * F + (1 - a) * B
//   premultiply:   out = a * F
//   unpremultiply: out = P / a  (0 where a == 0), clamped to [0, 1]
#pragma once
#include "../../common/hd.hpp"
#include "../../common/math.hpp"

namespace alphacut {

// Not b + a (f - b): f - b overflows when f and b are large with opposite signs; with a in
// [0, 1] the sum stays within max(|f|, |b|). An alpha outside [0, 1] (or huge) no longer
// extrapolates past F and B.
ALPHACUT_HD float composite_pixel(float f, float b, float a) {
    const float c = clamp01(a);
    return c * f + (1.f - c) * b;
}

ALPHACUT_HD float premultiply_pixel(float f, float a) { return f * clamp01(a); }

ALPHACUT_HD float unpremultiply_pixel(float p, float a) {
    const float c = clamp01(a);
    return c > 0.f ? clamp01(p / c) : 0.f;
}

}  // namespace alphacut
