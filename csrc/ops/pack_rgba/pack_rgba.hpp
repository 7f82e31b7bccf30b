// Packing the final cutout: (H, W, 3) uint8 image + (H, W) float32 alpha [+ foreground colour of a
// sub-rectangle] -> (H, W, 4) uint8 RGBA with straight (not premultiplied) colour.
#pragma once
#include "../../common/image_view.hpp"

namespace alphacut {

// `fg` may be empty (height 0): the image colour is kept on soft pixels. Otherwise it covers the
// rectangle starting at (fg_y0, fg_x0) of the image, float32 (h, w, 3) in [0, 1].
void pack_rgba_cpu(ImageView<const unsigned char> image, ImageView<const float> alpha, ImageView<const float> fg,
                   int fg_y0, int fg_x0, ImageView<unsigned char> out);

// Rewrites the colour of the soft pixels (0 < A < 255) of `out` inside the rectangle of `fg`
// (float32 (h, w, 3) at (fg_y0, fg_x0)) from that estimate; A is read from `out`. In place.
void pack_rgba_patch_cpu(ImageView<const unsigned char> image, ImageView<const float> fg, int fg_y0, int fg_x0,
                         ImageView<unsigned char> out);

// One row of the cutout without a foreground (vectorised): `w` pixels of the RGB row `image` and
// the alpha row `alpha` into the RGBA row `out`; `a8` is scratch for `w` bytes. For ops that make
// a row of alpha and can pack it while it is hot (upscale_alpha_rgba_cpu).
void pack_rgba_row_cpu(const unsigned char* image, const float* alpha, unsigned char* out, unsigned char* a8, int w);

}  // namespace alphacut
