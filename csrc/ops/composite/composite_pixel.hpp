// The compositing formulas, once, for the CPU loops and the CUDA kernels alike.
//   composite:     out = a * F + (1 - a) * B
//   premultiply:   out = a * F
//   unpremultiply: out = P / a  (0 where a == 0), clamped to [0, 1]
#pragma once
#include "../../common/hd.hpp"
#include "../../common/math.hpp"

namespace alphacut {

ALPHACUT_HD float composite_pixel(float f, float b, float a) { return b + a * (f - b); }

ALPHACUT_HD float premultiply_pixel(float f, float a) { return f * a; }

ALPHACUT_HD float unpremultiply_pixel(float p, float a) { return a > 0.f ? clamp01(p / a) : 0.f; }

}  // namespace alphacut
