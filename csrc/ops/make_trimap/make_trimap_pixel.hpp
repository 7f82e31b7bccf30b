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
ALPHACUT_HD bool trimap_fg_seed(P p, T fg_threshold) {
    return p >= fg_threshold;
}
template <typename P, typename T>
ALPHACUT_HD bool trimap_bg_seed(P p, T bg_threshold) {
    return p <= bg_threshold;
}

ALPHACUT_HD unsigned char trimap_label(bool sure_fg, bool sure_bg) { return sure_fg ? 255 : (sure_bg ? 0 : 128); }

// trimap_label for eight pixels held one per byte (0 or 1). A sure-foreground pixel is never sure
// background (erosion keeps a seed inside itself and the seeds are disjoint), so the label is
// 128 * !sure_bg + 127 * sure_fg: 255, 128 or 0, without carries between bytes.
ALPHACUT_HD unsigned long long trimap_label8(unsigned long long sure_fg01, unsigned long long sure_bg01) {
    return (sure_bg01 ^ 0x0101010101010101ull) * 0x80ull + sure_fg01 * 0x7full;
}

}  // namespace alphacut
