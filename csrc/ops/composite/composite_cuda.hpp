// Device-side API of the compositing kernels: every view points to device memory; the call
// enqueues on `stream` and returns. Built by nvcc (alphacut::cu) and by the emulation (alphacut::emu).
#pragma once
#include "../../common/gpu_runtime.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

void composite(ImageView<const float> foreground, ImageView<const float> alpha, ImageView<const float> background,
               ImageView<float> out, cudaStream_t stream);
void premultiply(ImageView<const float> image, ImageView<const float> alpha, ImageView<float> out, cudaStream_t stream);
void unpremultiply(ImageView<const float> image, ImageView<const float> alpha, ImageView<float> out,
                   cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
