// The guided filter (He, Sun & Tang, "Guided Image Filtering", ECCV 2010 / TPAMI 2013).
// Box means run over the (2r+1)^2 window clipped to the image, divided by the number of pixels
// inside it. The guide is (H, W) or (H, W, 3), uint8 (scaled by 1/255) or float32; the source
// is (H, W), uint8 (scaled) or float32. Outputs are float32.
#pragma once
#include <cstdint>

#include "../../common/image_view.hpp"

namespace alphacut {

// q = mean(a) . I + mean(b), out (H, W).
void guided_filter_cpu(ImageView<const float> guide, ImageView<const float> src, int radius, double eps,
                       ImageView<float> out);
void guided_filter_cpu(ImageView<const std::uint8_t> guide, ImageView<const float> src, int radius, double eps,
                       ImageView<float> out);
void guided_filter_cpu(ImageView<const float> guide, ImageView<const std::uint8_t> src, int radius, double eps,
                       ImageView<float> out);
void guided_filter_cpu(ImageView<const std::uint8_t> guide, ImageView<const std::uint8_t> src, int radius, double eps,
                       ImageView<float> out);

// The smoothed coefficients alone: mean_a (H, W, C) with C the guide's channels, mean_b (H, W).
// q = mean_a . I + mean_b; upscale_alpha interpolates them to another resolution.
void guided_filter_coefficients_cpu(ImageView<const float> guide, ImageView<const float> src, int radius, double eps,
                                    ImageView<float> mean_a, ImageView<float> mean_b);
void guided_filter_coefficients_cpu(ImageView<const std::uint8_t> guide, ImageView<const float> src, int radius,
                                    double eps, ImageView<float> mean_a, ImageView<float> mean_b);
void guided_filter_coefficients_cpu(ImageView<const float> guide, ImageView<const std::uint8_t> src, int radius,
                                    double eps, ImageView<float> mean_a, ImageView<float> mean_b);
void guided_filter_coefficients_cpu(ImageView<const std::uint8_t> guide, ImageView<const std::uint8_t> src, int radius,
                                    double eps, ImageView<float> mean_a, ImageView<float> mean_b);

}  // namespace alphacut
