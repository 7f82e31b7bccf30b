// Device-side API of the RGBA packing kernel: all views are device memory.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"
#include "pack_rgba.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

void pack_rgba(ImageView<const std::uint8_t> rgb, ImageView<const float> alpha, ImageView<std::uint8_t> out,
               cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
