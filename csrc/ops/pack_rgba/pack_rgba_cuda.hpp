// Device-side API of the cutout packing kernels (pack_rgba_pixel.hpp): views are device memory.
#pragma once
#include "../../common/gpu_runtime.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

// (H, W, 3) uint8 image + (H, W) float alpha [+ float (h, w, 3) foreground of the rectangle at
// (fg_y0, fg_x0); empty view = none] -> (H, W, 4) uint8 straight-colour RGBA.
void pack_rgba(ImageView<const unsigned char> image, ImageView<const float> alpha, ImageView<const float> fg, int fg_y0,
               int fg_x0, ImageView<unsigned char> out, cudaStream_t stream);

// In place: soft pixels of `out` inside the rectangle of `fg` take round(255 * fg).
void pack_rgba_patch(ImageView<const unsigned char> image, ImageView<const float> fg, int fg_y0, int fg_x0,
                     ImageView<unsigned char> out, cudaStream_t stream);

}  // namespace alphacut::ALPHACUT_GPU_NS
