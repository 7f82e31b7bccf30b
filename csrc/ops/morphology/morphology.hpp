// Binary dilation and erosion with the square (2r+1) x (2r+1) structuring element.
// Input: (H, W) uint8 (non-zero = set), float32 or float64 (>= 0.5 = set). Output: (H, W) uint8
// holding 0 or 1 (the bindings hand it to Python as bool). Outside the image counts as background
// for dilate and as foreground for erode. The cost per pixel does not depend on the radius.
#pragma once
#include <cstdint>

#include "../../common/image_view.hpp"

namespace alphacut {

void dilate_cpu(ImageView<const std::uint8_t> mask, int radius, ImageView<std::uint8_t> out);
void dilate_cpu(ImageView<const float> mask, int radius, ImageView<std::uint8_t> out);
void dilate_cpu(ImageView<const double> mask, int radius, ImageView<std::uint8_t> out);
void erode_cpu(ImageView<const std::uint8_t> mask, int radius, ImageView<std::uint8_t> out);
void erode_cpu(ImageView<const float> mask, int radius, ImageView<std::uint8_t> out);
void erode_cpu(ImageView<const double> mask, int radius, ImageView<std::uint8_t> out);

}  // namespace alphacut
