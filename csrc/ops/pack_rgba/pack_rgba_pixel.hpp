// RGBA packing, once, for the CPU loop and the CUDA kernel alike:
//   out = (R, G, B, round(255 * clamp(alpha, 0, 1)))   uint8 RGB + float alpha -> uint8 RGBA
// Rounding is half-up (to_u8 in common/math.hpp), as PIL and (a * 255 + 0.5).astype(uint8).
#pragma once
#include "../../common/hd.hpp"
#include "../../common/math.hpp"

namespace alphacut {

ALPHACUT_HD unsigned char alpha_to_u8(float a) { return to_u8(a * 255.f); }

ALPHACUT_HD void pack_rgba_pixel(const unsigned char* rgb, float a, unsigned char* rgba) {
    rgba[0] = rgb[0];
    rgba[1] = rgb[1];
    rgba[2] = rgb[2];
    rgba[3] = alpha_to_u8(a);
}

}  // namespace alphacut
