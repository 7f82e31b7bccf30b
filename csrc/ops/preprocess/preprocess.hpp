// Network-input preprocessing: resize + normalise + HWC -> NCHW in one pass, written straight
// into the network's input buffer. See preprocess_pixel.hpp for the formula.
#pragma once
#include <cstdint>

#include "../../common/image_view.hpp"
#include "preprocess_pixel.hpp"

namespace alphacut {

// `image` is uint8 (H, W, 3) or (H, W, 4) (alpha ignored); `out` holds 3 * out_h * out_w
// elements, planar. The fp16 variant writes IEEE half bits.
void preprocess_cpu(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& params,
                    float* out);
void preprocess_fp16_cpu(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& params,
                         std::uint16_t* out);

// Shared argument checks (CPU and GPU paths).
void check_preprocess_args(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& params);

}  // namespace alphacut
