// uint8 RGB (H, W, 3) + float32 alpha (H, W) in [0, 1] -> uint8 RGBA (H, W, 4).
#pragma once
#include <cstdint>

#include "../../common/image_view.hpp"
#include "pack_rgba_pixel.hpp"

namespace alphacut {

void pack_rgba_cpu(ImageView<const std::uint8_t> rgb, ImageView<const float> alpha, ImageView<std::uint8_t> out);

// Shared argument checks (CPU and GPU paths).
void check_pack_rgba_args(ImageView<const std::uint8_t> rgb, ImageView<const float> alpha,
                          ImageView<std::uint8_t> out);

}  // namespace alphacut
