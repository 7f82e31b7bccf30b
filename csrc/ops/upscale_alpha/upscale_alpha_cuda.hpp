// Device-side API of fast guided upsampling: views point to device memory.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

// alpha_low (h, w), guide_full (H, W[, 3]); uint8 (scaled by 1/255) or float32; out (H, W).
template <typename TA, typename TG>
void upscale_alpha(ImageView<const TA> alpha_low, ImageView<const TG> guide_full, int radius, double eps,
                   ImageView<float> out, cudaStream_t stream);

// Area-average src (H, W, C) down to dst (h, w, C), h <= H, w <= W.
template <typename T>
void area_downscale(ImageView<const T> src, ImageView<float> dst, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
