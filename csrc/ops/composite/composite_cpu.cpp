#include "composite.hpp"

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"
#include "composite_pixel.hpp"

namespace alphacut {

namespace {
void check_same(const char* what, int h, int w, int c, int eh, int ew, int ec) {
    ALPHACUT_CHECK(h == eh && w == ew && c == ec, what << " has shape (" << h << ", " << w << ", " << c
                                                       << "), expected (" << eh << ", " << ew << ", " << ec << ")");
}
}  // namespace

void composite_cpu(ImageView<const float> fg, ImageView<const float> alpha, ImageView<const float> bg,
                   ImageView<float> out) {
    check_same("alpha", alpha.height, alpha.width, alpha.channels, fg.height, fg.width, 1);
    check_same("background", bg.height, bg.width, bg.channels, fg.height, fg.width, fg.channels);
    check_same("out", out.height, out.width, out.channels, fg.height, fg.width, fg.channels);
    const int c = fg.channels;
    parallel_for(0, fg.height, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const float* f = fg.row(y);
            const float* b = bg.row(y);
            const float* a = alpha.row(y);
            float* o = out.row(y);
            for (int x = 0; x < fg.width; ++x)
                for (int k = 0; k < c; ++k) o[x * c + k] = composite_pixel(f[x * c + k], b[x * c + k], a[x]);
        }
    });
}

void premultiply_cpu(ImageView<const float> image, ImageView<const float> alpha, ImageView<float> out) {
    check_same("alpha", alpha.height, alpha.width, alpha.channels, image.height, image.width, 1);
    check_same("out", out.height, out.width, out.channels, image.height, image.width, image.channels);
    const int c = image.channels;
    parallel_for(0, image.height, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const float* p = image.row(y);
            const float* a = alpha.row(y);
            float* o = out.row(y);
            for (int x = 0; x < image.width; ++x)
                for (int k = 0; k < c; ++k) o[x * c + k] = premultiply_pixel(p[x * c + k], a[x]);
        }
    });
}

void unpremultiply_cpu(ImageView<const float> image, ImageView<const float> alpha, ImageView<float> out) {
    check_same("alpha", alpha.height, alpha.width, alpha.channels, image.height, image.width, 1);
    check_same("out", out.height, out.width, out.channels, image.height, image.width, image.channels);
    const int c = image.channels;
    parallel_for(0, image.height, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const float* p = image.row(y);
            const float* a = alpha.row(y);
            float* o = out.row(y);
            for (int x = 0; x < image.width; ++x)
                for (int k = 0; k < c; ++k) o[x * c + k] = unpremultiply_pixel(p[x * c + k], a[x]);
        }
    });
}

}  // namespace alphacut
