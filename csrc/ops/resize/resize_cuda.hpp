// Device-side API of the resampling kernel: views point to device memory.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"
#include "resize_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

template <typename T>
void resize(ImageView<const T> image, ImageView<T> out, ResizeMethod method, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
