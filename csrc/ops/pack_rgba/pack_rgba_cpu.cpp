#include "pack_rgba.hpp"

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"

namespace alphacut {

void check_pack_rgba_args(ImageView<const std::uint8_t> rgb, ImageView<const float> alpha,
                          ImageView<std::uint8_t> out) {
    ALPHACUT_CHECK(rgb.height > 0 && rgb.width > 0, "pack_rgba: image is empty");
    ALPHACUT_CHECK(rgb.channels == 3, "pack_rgba: expected an (H, W, 3) image, got " << rgb.channels << " channels");
    ALPHACUT_CHECK(alpha.height == rgb.height && alpha.width == rgb.width && alpha.channels == 1,
                   "pack_rgba: alpha has size (" << alpha.height << ", " << alpha.width << ") but the image has ("
                                                 << rgb.height << ", " << rgb.width << ")");
    ALPHACUT_CHECK(out.height == rgb.height && out.width == rgb.width && out.channels == 4,
                   "pack_rgba: out must be (" << rgb.height << ", " << rgb.width << ", 4)");
}

void pack_rgba_cpu(ImageView<const std::uint8_t> rgb, ImageView<const float> alpha, ImageView<std::uint8_t> out) {
    check_pack_rgba_args(rgb, alpha, out);
    parallel_for(0, rgb.height, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const std::uint8_t* s = rgb.row(y);
            const float* a = alpha.row(y);
            std::uint8_t* o = out.row(y);
            for (int x = 0; x < rgb.width; ++x) pack_rgba_pixel(s + 3 * x, a[x], o + 4 * x);
        }
    });
}

}  // namespace alphacut
