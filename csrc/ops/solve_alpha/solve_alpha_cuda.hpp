// Device-side API of solve_alpha: views point to device memory. The call enqueues on `stream`,
// but it is not asynchronous as a whole: it reads back the band size once (to size the band
// buffers) and the CG state every few iterations (to stop), synchronising `stream` each time.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"
#include "solve_alpha.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

// image float32 (H, W, 3) in [0, 1]; trimap uint8 (H, W); prior, start float32 (H, W) or
// data == nullptr; out float32 (H, W). Same problem, stopping rule and info as solve_alpha_cpu.
SolveAlphaInfo solve_alpha(ImageView<const float> image, ImageView<const unsigned char> trimap,
                           ImageView<const float> prior, ImageView<const float> start, const SolveAlphaParams& params,
                           ImageView<float> out, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
