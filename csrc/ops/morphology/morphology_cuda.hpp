// Device-side API of the binary morphology kernels. Views point to device memory; out is uint8 0/1.
// (The kernels, shared with make_trimap, are in morphology_scan.cuh: device code only.)
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"
#include "morphology_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

template <typename T>
void dilate(ImageView<const T> mask, int radius, ImageView<std::uint8_t> out, cudaStream_t stream);
template <typename T>
void erode(ImageView<const T> mask, int radius, ImageView<std::uint8_t> out, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
