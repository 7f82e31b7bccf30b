#include "pack_rgba.hpp"

#include <vector>

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"
#include "../../common/simd.hpp"
#include "pack_rgba_pixel.hpp"

namespace alphacut {

// One row of the cutout: the pixel rule of pack_rgba_pixel.hpp, written so that GCC vectorises it
// (the alpha in a first pass, then the colour as one 32-bit word per pixel).
ALPHACUT_SIMD_CLONES void pack_rgba_row_cpu(const unsigned char* __restrict im, const float* __restrict a,
                                            unsigned char* __restrict o, unsigned char* __restrict a8, int w) {
    for (int x = 0; x < w; ++x) a8[x] = pack_alpha_u8(a[x]);
    for (int x = 0; x < w; ++x) {
        const unsigned int c = a8[x] == 0 ? 0u
                                          : static_cast<unsigned int>(im[3 * x]) |
                                                static_cast<unsigned int>(im[3 * x + 1]) << 8 |
                                                static_cast<unsigned int>(im[3 * x + 2]) << 16;
        o[4 * x + 0] = static_cast<unsigned char>(c);
        o[4 * x + 1] = static_cast<unsigned char>(c >> 8);
        o[4 * x + 2] = static_cast<unsigned char>(c >> 16);
        o[4 * x + 3] = a8[x];
    }
}

void pack_rgba_cpu(ImageView<const unsigned char> image, ImageView<const float> alpha, ImageView<const float> fg,
                   int fg_y0, int fg_x0, ImageView<unsigned char> out) {
    const int h = image.height, w = image.width;
    ALPHACUT_CHECK(image.channels == 3, "image must have 3 channels, got " << image.channels);
    ALPHACUT_CHECK(alpha.height == h && alpha.width == w && alpha.channels == 1,
                   "alpha has shape (" << alpha.height << ", " << alpha.width << ", " << alpha.channels
                                       << "), expected (" << h << ", " << w << ")");
    ALPHACUT_CHECK(out.height == h && out.width == w && out.channels == 4, "out must be (H, W, 4)");
    const bool has_fg = fg.height > 0 && fg.width > 0;
    if (has_fg) {
        ALPHACUT_CHECK(fg.channels == 3, "foreground must have 3 channels, got " << fg.channels);
        ALPHACUT_CHECK(span_inside(fg_y0, fg.height, h) && span_inside(fg_x0, fg.width, w),
                       "foreground rectangle (" << fg_y0 << ", " << fg_x0 << ") + (" << fg.height << ", " << fg.width
                                                << ") is outside the image (" << h << ", " << w << ")");
    }
    parallel_for(0, h, [&](int y0, int y1) {
        std::vector<unsigned char> a8(static_cast<size_t>(w));
        for (int y = y0; y < y1; ++y) {
            const unsigned char* im = image.row(y);
            unsigned char* o = out.row(y);
            pack_rgba_row_cpu(im, alpha.row(y), o, a8.data(), w);
            if (has_fg && y >= fg_y0 && y < fg_y0 + fg.height) {
                const float* f = fg.row(y - fg_y0);
                for (int x = 0; x < fg.width; ++x) {
                    unsigned char* p = o + 4 * (x + fg_x0);
                    const unsigned char a8 = p[3];
                    const unsigned char* i = im + 3 * (x + fg_x0);
                    p[0] = pack_colour_fg_u8(i[0], f[3 * x + 0], a8);
                    p[1] = pack_colour_fg_u8(i[1], f[3 * x + 1], a8);
                    p[2] = pack_colour_fg_u8(i[2], f[3 * x + 2], a8);
                }
            }
        }
    }, 8);
}

void pack_rgba_patch_cpu(ImageView<const unsigned char> image, ImageView<const float> fg, int fg_y0, int fg_x0,
                         ImageView<unsigned char> out) {
    const int h = image.height, w = image.width;
    ALPHACUT_CHECK(image.channels == 3, "image must have 3 channels, got " << image.channels);
    ALPHACUT_CHECK(out.height == h && out.width == w && out.channels == 4, "out must be (H, W, 4)");
    ALPHACUT_CHECK(fg.channels == 3, "foreground must have 3 channels, got " << fg.channels);
    ALPHACUT_CHECK(span_inside(fg_y0, fg.height, h) && span_inside(fg_x0, fg.width, w),
                   "foreground rectangle (" << fg_y0 << ", " << fg_x0 << ") + (" << fg.height << ", " << fg.width
                                            << ") is outside the image (" << h << ", " << w << ")");
    parallel_for(0, fg.height, [&](int r0, int r1) {
        for (int r = r0; r < r1; ++r) {
            const float* f = fg.row(r);
            const unsigned char* im = image.row(r + fg_y0) + 3 * fg_x0;
            unsigned char* o = out.row(r + fg_y0) + 4 * fg_x0;
            for (int x = 0; x < fg.width; ++x) {
                const unsigned char a8 = o[4 * x + 3];
                o[4 * x + 0] = pack_colour_fg_u8(im[3 * x + 0], f[3 * x + 0], a8);
                o[4 * x + 1] = pack_colour_fg_u8(im[3 * x + 1], f[3 * x + 1], a8);
                o[4 * x + 2] = pack_colour_fg_u8(im[3 * x + 2], f[3 * x + 2], a8);
            }
        }
    }, 8);
}

}  // namespace alphacut
