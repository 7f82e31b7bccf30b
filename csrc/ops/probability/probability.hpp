// A segmenter's (h, w) foreground probability from its (C, h, w) float32 output planes: the
// manifest's channel, activation and reduction (probability_pixel.hpp), into a new image.
#pragma once
#include "../../common/image_view.hpp"
#include "probability_pixel.hpp"

namespace alphacut {

// `planes`: (channels * h, w) float32, channel k's rows k * h .. k * h + h - 1; `out`: (h, w).
void probability_cpu(ImageView<const float> planes, int channels, int mode, int channel, ImageView<float> out);

}  // namespace alphacut
