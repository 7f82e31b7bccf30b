// Separable resampling of (H, W, C) uint8 or float32 images to (H', W', C) of the same dtype:
// bilinear, area (box average) or bicubic (a = -0.75), on the pixel-centre grid of OpenCV and PIL.
// See resize_pixel.hpp for the formulas.
#pragma once
#include <cstdint>

#include "../../common/image_view.hpp"
#include "resize_pixel.hpp"

namespace alphacut {

void resize_cpu(ImageView<const std::uint8_t> image, ImageView<std::uint8_t> out, ResizeMethod method);
void resize_cpu(ImageView<const float> image, ImageView<float> out, ResizeMethod method);

}  // namespace alphacut
