// Foreground (and background) colour estimation from an image and its alpha matte: multi-level
// estimation after Germer et al. 2020, "Fast Multi-Level Foreground Estimation".
//
// image: (H, W, 3) uint8 (0..255) or float32 in [0, 1]; alpha: (H, W) uint8 or float32 in [0, 1].
// foreground (and background when its data is not null): (H, W, 3) float32 in [0, 1], written.
#pragma once
#include <cstdint>
#include <vector>

#include "../../common/image_view.hpp"

namespace alphacut {

struct ForegroundParams {
    float regularization = 1e-5f;   // smoothness weight added for every neighbour; > 0
    int n_small_iterations = 10;    // sweeps on levels no larger than small_size in both dimensions
    int n_big_iterations = 2;       // sweeps on the other levels
    int small_size = 32;
    float gradient_weight = 1.f;    // smoothness weight per unit of |alpha difference|
    // Levels with more pixels than this are solved with parallel red-black Gauss-Seidel sweeps
    // over a one-pixel band around the soft edge only (opaque pixels take F = I, transparent
    // ones B = I); smaller levels with sequential Gauss-Seidel sweeps over every pixel, exactly
    // as pymatting.
    long long band_min_pixels = 1LL << 16;
};

// The level sizes, coarsest (1 x 1) to finest (H x W): size_i = round(size ** (i / n)),
// n = ceil(log2(max(H, W))), as pymatting's estimate_foreground_ml. {height, width} pairs.
std::vector<std::pair<int, int>> foreground_levels(int height, int width);

// Shared parameter checks (CPU and GPU paths): regularization > 0, gradient_weight >= 0, counts >= 0.
void check_foreground_params(const ForegroundParams& params);

void estimate_foreground_cpu(ImageView<const std::uint8_t> image, ImageView<const std::uint8_t> alpha,
                             const ForegroundParams& params, ImageView<float> foreground, ImageView<float> background);
void estimate_foreground_cpu(ImageView<const float> image, ImageView<const float> alpha, const ForegroundParams& params,
                             ImageView<float> foreground, ImageView<float> background);
void estimate_foreground_cpu(ImageView<const std::uint8_t> image, ImageView<const float> alpha,
                             const ForegroundParams& params, ImageView<float> foreground, ImageView<float> background);
void estimate_foreground_cpu(ImageView<const float> image, ImageView<const std::uint8_t> alpha,
                             const ForegroundParams& params, ImageView<float> foreground, ImageView<float> background);

// Rows [y0, y1) and columns [x0, x1) of an image.
struct ForegroundWindow {
    int y0 = 0, y1 = 0, x0 = 0, x1 = 0;
};

// The (H, W, 4) uint8 cutout of pack_rgba (pack_rgba_pixel.hpp) with the estimated foreground as
// the colour of every soft pixel (0 < round(255 alpha) < 255), without the full-size F: the same
// estimate as estimate_foreground_cpu, the finest level kept in strips around the soft edge.
// window == nullptr: every pixel of rgba is written. Otherwise rgba is a packed cutout (its
// alpha already round(255 alpha)) and only the colour of the soft pixels inside the window is
// written: a tile of a larger cutout, estimated with the context around its window.
void estimate_foreground_rgba_cpu(ImageView<const std::uint8_t> image, ImageView<const float> alpha,
                                  const ForegroundParams& params, ImageView<std::uint8_t> rgba,
                                  const ForegroundWindow* window = nullptr);
void estimate_foreground_rgba_cpu(ImageView<const std::uint8_t> image, ImageView<const std::uint8_t> alpha,
                                  const ForegroundParams& params, ImageView<std::uint8_t> rgba,
                                  const ForegroundWindow* window = nullptr);

}  // namespace alphacut
