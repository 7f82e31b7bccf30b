#include "preprocess.hpp"

#include <cmath>
#include <vector>

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"

namespace alphacut {

void check_preprocess_args(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& p) {
    ALPHACUT_CHECK(image.height > 0 && image.width > 0, "preprocess: image is empty");
    ALPHACUT_CHECK(image.channels == 3 || image.channels == 4,
                   "preprocess: expected an (H, W, 3) or (H, W, 4) image, got " << image.channels << " channels");
    ALPHACUT_CHECK(out_h > 0 && out_w > 0, "preprocess: output size must be positive, got " << out_h << "x" << out_w);
    ALPHACUT_CHECK(std::isfinite(p.scale), "preprocess: scale must be finite");
    for (int c = 0; c < 3; ++c) {
        ALPHACUT_CHECK(std::isfinite(p.mean[c]), "preprocess: mean must be finite");
        ALPHACUT_CHECK(std::isfinite(p.std[c]) && p.std[c] > 0.f, "preprocess: std must be positive and finite");
    }
}

namespace {
template <typename Store>
void run(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& p, Store store) {
    check_preprocess_args(image, out_h, out_w, p);
    std::vector<BilinearTap> tx(out_w);
    for (int x = 0; x < out_w; ++x) tx[x] = bilinear_tap(x, out_w, image.width);
    parallel_for(0, out_h, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const BilinearTap ty = bilinear_tap(y, out_h, image.height);
            for (int x = 0; x < out_w; ++x) {
                float v[3];
                preprocess_pixel(image.data, image.row_stride, image.channels, ty, tx[x], p, v);
                const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(y) * out_w + x;
                store(i, v);
            }
        }
    });
}
}  // namespace

void preprocess_cpu(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& p, float* out) {
    const std::ptrdiff_t plane = static_cast<std::ptrdiff_t>(out_h) * out_w;
    run(image, out_h, out_w, p, [&](std::ptrdiff_t i, const float* v) {
        out[i] = v[0];
        out[plane + i] = v[1];
        out[2 * plane + i] = v[2];
    });
}

void preprocess_fp16_cpu(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& p,
                         std::uint16_t* out) {
    const std::ptrdiff_t plane = static_cast<std::ptrdiff_t>(out_h) * out_w;
    run(image, out_h, out_w, p, [&](std::ptrdiff_t i, const float* v) {
        out[i] = float_to_half_bits(v[0]);
        out[plane + i] = float_to_half_bits(v[1]);
        out[2 * plane + i] = float_to_half_bits(v[2]);
    });
}

}  // namespace alphacut
