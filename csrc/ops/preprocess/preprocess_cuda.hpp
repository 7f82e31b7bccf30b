// Device-side API of the preprocessing kernel: `image` and `out` are device memory.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"
#include "preprocess.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

void preprocess(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& params, float* out,
                cudaStream_t stream);
void preprocess_fp16(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& params,
                     std::uint16_t* out, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
