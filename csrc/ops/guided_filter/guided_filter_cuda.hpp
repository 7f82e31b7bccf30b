// Device-side API of the guided-filter kernels: views point to device memory; the call
// enqueues on `stream` (with a scratch allocation of (13 + 4) planes at most) and returns.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

// q = mean(a) . I + mean(b), out (H, W) float32. Guide (H, W) or (H, W, 3), src (H, W);
// uint8 (scaled by 1/255) or float32.
template <typename TG, typename TP>
void guided_filter(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
                   cudaStream_t stream);

// The box-averaged coefficients: mean_a (H, W, C), mean_b (H, W).
template <typename TG, typename TP>
void guided_filter_coefficients(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                                ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
