// Device-side API of multi-level foreground estimation: views point to device memory.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"
#include "estimate_foreground.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

// image (H, W, 3) and alpha (H, W): uint8 (scaled by 1/255) or float32 in [0, 1]. foreground
// (H, W, 3) float32 is written; background too when its data is not null (otherwise a scratch
// buffer holds B). Alpha values are not range-checked on the device (the host-side callers check
// host arrays); NaN alpha gives NaN colours, never a fault.
template <typename TI, typename TA>
void estimate_foreground(ImageView<const TI> image, ImageView<const TA> alpha, const ForegroundParams& params,
                         ImageView<float> foreground, ImageView<float> background, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
