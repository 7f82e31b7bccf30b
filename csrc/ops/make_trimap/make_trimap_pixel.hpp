// The trimap formulas, once, for the CPU loops and the CUDA kernels alike.
//   p          = prob (float32 / float64) or prob / 255 in float32 (uint8)
//   fg seed    = p >= fg_threshold          sure foreground = erode(fg seed, r)
//   bg seed    = p <= bg_threshold          sure background = erode(bg seed, r)
//   label      = 255 (sure foreground), 0 (sure background), 128 (unknown)
// Erosion uses the square (2r+1)^2 element with outside = foreground (morphology_pixel.hpp).
#pragma once
#include "../../common/hd.hpp"
#include "../morphology/morphology_pixel.hpp"

namespace alphacut {

ALPHACUT_HD float trimap_prob(unsigned char v) { return static_cast<float>(v) / 255.0f; }
ALPHACUT_HD float trimap_prob(float v) { return v; }
ALPHACUT_HD double trimap_prob(double v) { return v; }

template <typename P, typename T>
ALPHACUT_HD bool trimap_fg_seed(P p, T fg_threshold) { return p >= fg_threshold; }
template <typename P, typename T>
ALPHACUT_HD bool trimap_bg_seed(P p, T bg_threshold) { return p <= bg_threshold; }

ALPHACUT_HD unsigned char trimap_label(bool sure_fg, bool sure_bg) {
    return sure_fg ? 255 : (sure_bg ? 0 : 128);
}

// trimap_label for eight pixels: bit i of the masks = pixel i, byte i of the result = its label.
ALPHACUT_HD unsigned long long trimap_label8(unsigned sure_fg_bits, unsigned sure_bg_bits) {
    const unsigned long long fg = bits8_to_bytes01(sure_fg_bits) * 0xffull;
    const unsigned long long bg = bits8_to_bytes01(sure_bg_bits) * 0xffull;
    return fg | (~fg & ~bg & 0x8080808080808080ull);
}

}  // namespace alphacut
