// Device-side API of the guided-filter kernels: views point to device memory; the call
// enqueues on `stream` (with a scratch allocation of one (a, b) vector per pixel on the fused
// path, (13 + 4) planes at most on the multi-pass path) and returns when the kernels are done.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

// The fused two-kernel path takes radii up to this, after clipping the radius to the image
// width - 1 (a window wider than the image is the image); wider radii run the multi-pass kernels.
inline constexpr int kGuidedFusedMaxRadius = 96;

// Whether guided_filter / guided_filter_coefficients run the fused kernels for this size.
bool guided_filter_fused(int height, int width, int radius);

// q = mean(a) . I + mean(b), out (H, W) float32. Guide (H, W) or (H, W, 3), src (H, W);
// uint8 (scaled by 1/255) or float32.
template <typename TG, typename TP>
void guided_filter(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps, ImageView<float> out,
                   cudaStream_t stream);

// The box-averaged coefficients: mean_a (H, W, C), mean_b (H, W).
template <typename TG, typename TP>
void guided_filter_coefficients(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                                ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream);

// The same results always through the multi-pass kernels (the fallback), for the tests that
// compare both paths.
template <typename TG, typename TP>
void guided_filter_multipass(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                             ImageView<float> out, cudaStream_t stream);
template <typename TG, typename TP>
void guided_filter_coefficients_multipass(ImageView<const TG> guide, ImageView<const TP> src, int radius, double eps,
                                          ImageView<float> mean_a, ImageView<float> mean_b, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
