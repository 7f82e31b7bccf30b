// The cutout's per-pixel packing rule, once, for the CPU loop and a CUDA kernel alike.
//   A = round(255 * clamp01(alpha))
//   colour = 0 where A == 0 (transparent pixels carry no colour: cleaner and smaller files),
//            the image where A == 255,
//            round(255 * clamp01(F)) on soft pixels when a foreground estimate F covers them,
//            else the image.
#pragma once
#include "../../common/hd.hpp"
#include "../../common/math.hpp"

namespace alphacut {

// Whether [x0, x0 + n) lies inside [0, size), for n >= 0, without forming x0 + n (which overflows
// int for an offset near INT_MAX).
ALPHACUT_HD bool span_inside(int x0, int n, int size) { return x0 >= 0 && x0 <= size && n >= 0 && n <= size - x0; }

ALPHACUT_HD unsigned char pack_alpha_u8(float a) { return to_u8(clamp01(a) * 255.f); }

ALPHACUT_HD unsigned char pack_colour_u8(unsigned char image, unsigned char a8) {
    return a8 == 0 ? static_cast<unsigned char>(0) : image;
}

ALPHACUT_HD unsigned char pack_colour_fg_u8(unsigned char image, float f, unsigned char a8) {
    return a8 == 0 ? static_cast<unsigned char>(0) : (a8 == 255 ? image : to_u8(clamp01(f) * 255.f));
}

}  // namespace alphacut
