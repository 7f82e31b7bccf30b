// Device-side API of the probability kernel (probability_pixel.hpp): views are device memory.
#pragma once
#include "../../common/gpu_runtime.hpp"
#include "probability_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

// `planes`: (channels * h, w) float32 output planes; `out`: (h, w) float32 probability.
void probability(ImageView<const float> planes, int channels, int mode, int channel, ImageView<float> out,
                 cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
