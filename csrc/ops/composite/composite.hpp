// Compositing, premultiplication and RGBA packing. All images are float32 in [0, 1] unless the
// name says u8. `foreground`/`background` are (H, W, C), `alpha` is (H, W).
#pragma once
#include "../../common/image_view.hpp"

namespace alphacut {

void composite_cpu(ImageView<const float> foreground, ImageView<const float> alpha, ImageView<const float> background,
                   ImageView<float> out);
void premultiply_cpu(ImageView<const float> image, ImageView<const float> alpha, ImageView<float> out);
void unpremultiply_cpu(ImageView<const float> image, ImageView<const float> alpha, ImageView<float> out);

}  // namespace alphacut
