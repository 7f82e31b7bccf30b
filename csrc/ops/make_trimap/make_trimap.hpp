// Trimap from a foreground probability: sure foreground = erode(prob >= fg_threshold, r), sure
// background = erode(prob <= bg_threshold, r), unknown = the rest; labels 255 / 0 / 128.
// prob: (H, W) float32 or float64 in [0, 1], or uint8 (compared as prob / 255 in float32).
// One fused pass pair: thresholds, both erosions and the labelling share the bit-packed engine.
#pragma once
#include <cstdint>

#include "../../common/image_view.hpp"

namespace alphacut {

void make_trimap_cpu(ImageView<const std::uint8_t> prob, float fg_threshold, float bg_threshold, int radius,
                     ImageView<std::uint8_t> out);
void make_trimap_cpu(ImageView<const float> prob, float fg_threshold, float bg_threshold, int radius,
                     ImageView<std::uint8_t> out);
void make_trimap_cpu(ImageView<const double> prob, double fg_threshold, double bg_threshold, int radius,
                     ImageView<std::uint8_t> out);

}  // namespace alphacut
