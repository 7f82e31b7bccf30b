// Device-side API of the trimap kernels: views point to device memory; out uint8 255/128/0.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

template <typename T, typename Thr>
void make_trimap(ImageView<const T> prob, Thr fg_threshold, Thr bg_threshold, int radius, ImageView<std::uint8_t> out,
                 cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
