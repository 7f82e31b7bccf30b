// Full-resolution alpha from a low-resolution one by fast guided upsampling (He & Sun 2015).
// alpha_low (h, w), uint8 (scaled by 1/255) or float32; guide_full (H, W) or (H, W, 3), uint8
// (scaled) or float32, with h <= H and w <= W; out (H, W) float32 in [0, 1].
#pragma once
#include <cstdint>

#include "../../common/image_view.hpp"

namespace alphacut {

void upscale_alpha_cpu(ImageView<const float> alpha_low, ImageView<const float> guide_full, int radius, double eps,
                       ImageView<float> out);
void upscale_alpha_cpu(ImageView<const std::uint8_t> alpha_low, ImageView<const float> guide_full, int radius,
                       double eps, ImageView<float> out);
void upscale_alpha_cpu(ImageView<const float> alpha_low, ImageView<const std::uint8_t> guide_full, int radius,
                       double eps, ImageView<float> out);
void upscale_alpha_cpu(ImageView<const std::uint8_t> alpha_low, ImageView<const std::uint8_t> guide_full, int radius,
                       double eps, ImageView<float> out);

// The CPU's fused step of the cutout: upscale_alpha with a uint8 RGB guide, each row of the alpha
// also packed into `rgba` (H, W, 4) uint8 by pack_rgba's rule (no foreground) while it is in cache.
void upscale_alpha_rgba_cpu(ImageView<const float> alpha_low, ImageView<const std::uint8_t> guide_full, int radius,
                            double eps, ImageView<float> out, ImageView<std::uint8_t> rgba);
void upscale_alpha_rgba_cpu(ImageView<const std::uint8_t> alpha_low, ImageView<const std::uint8_t> guide_full,
                            int radius, double eps, ImageView<float> out, ImageView<std::uint8_t> rgba);

// Shared argument checks (CPU and GPU paths): shapes of alpha_low (h, w, a_channels), the guide
// (H, W, C) and out, the radius and eps.
void check_upscale_alpha_args(int h, int w, int a_channels, int H, int W, int C, const ImageView<float>& out,
                              int radius, double eps);

// The area-averaged guide at (h, w): the guide upscale_alpha filters at low resolution.
void area_downscale_cpu(ImageView<const float> src, ImageView<float> dst);
void area_downscale_cpu(ImageView<const std::uint8_t> src, ImageView<float> dst);

}  // namespace alphacut
