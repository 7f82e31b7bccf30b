#include "morphology.hpp"

#include <cstring>

#include "../../common/error.hpp"
#include "morphology_bits.hpp"
#include "morphology_pixel.hpp"

namespace alphacut {

namespace {

template <typename T>
void morph_cpu(ImageView<const T> mask, int radius, ImageView<std::uint8_t> out, bool erode) {
    ALPHACUT_CHECK(radius >= 0, "radius must be >= 0, got " << radius);
    ALPHACUT_CHECK(mask.channels == 1, "mask must be (H, W), got " << mask.channels << " channels");
    ALPHACUT_CHECK(mask.height > 0 && mask.width > 0, "mask is empty (" << mask.height << " x " << mask.width << ")");
    ALPHACUT_CHECK(out.height == mask.height && out.width == mask.width && out.channels == 1,
                   "out has shape (" << out.height << ", " << out.width << ", " << out.channels << "), expected ("
                                     << mask.height << ", " << mask.width << ")");
    const int w = mask.width;
    morph::dilate_planes<1>(mask.height, w, radius, [&](int y, morph_word* const* planes) {
        const T* row = mask.row(y);
        morph::pack_row(w, [row, erode](int x) { return morph_seed(row[x], erode); }, planes[0]);
    }, [&](int y, const morph_word* const* planes) {
        // morph_result on whole words, then one byte per pixel.
        const int nw = morph::words_for(w);
        morph_word tmp[64];
        std::uint8_t* o = out.row(y);
        for (int j0 = 0; j0 < nw; j0 += 64) {
            const int n = std::min(64, nw - j0);
            for (int j = 0; j < n; ++j) tmp[j] = morph_result_bits(planes[0][j0 + j], erode);
            morph::unpack_row01(tmp, std::min(w - 64 * j0, 64 * n), o + 64 * j0);
        }
    });
}

}  // namespace

void dilate_cpu(ImageView<const std::uint8_t> m, int r, ImageView<std::uint8_t> o) { morph_cpu(m, r, o, false); }
void dilate_cpu(ImageView<const float> m, int r, ImageView<std::uint8_t> o) { morph_cpu(m, r, o, false); }
void dilate_cpu(ImageView<const double> m, int r, ImageView<std::uint8_t> o) { morph_cpu(m, r, o, false); }
void erode_cpu(ImageView<const std::uint8_t> m, int r, ImageView<std::uint8_t> o) { morph_cpu(m, r, o, true); }
void erode_cpu(ImageView<const float> m, int r, ImageView<std::uint8_t> o) { morph_cpu(m, r, o, true); }
void erode_cpu(ImageView<const double> m, int r, ImageView<std::uint8_t> o) { morph_cpu(m, r, o, true); }

}  // namespace alphacut
