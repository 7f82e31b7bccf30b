// Probability kernel: a thread per pixel applies probability_pixel.hpp to the pixel's channels
// (the engine's output planes, read in place) and writes the (h, w) probability, a new buffer.
//
// Bytes moved per pixel: read 4 C (one channel without a softmax), write 4. For u2netp's
// 320 x 320 output: 0.8 MB, launch-bound (~5 us).
#include "probability_cuda.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace {

__global__ void probability_kernel(ImageView<const float> planes, int channels, int mode, int channel,
                                   ImageView<float> out) {
    const int x = pixel_col(out.width);
    const int y = pixel_row(out.height);
    if (x >= out.width || y >= out.height) return;
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(out.height) * planes.row_stride;
    out.at(y, x) = probability_value(&planes.at(y, x), stride, channels, mode, channel);
}

}  // namespace

void probability(ImageView<const float> planes, int channels, int mode, int channel, ImageView<float> out,
                 cudaStream_t stream) {
    ALPHACUT_CHECK(mode >= kProbabilityNone && mode <= kProbability1mBg,
                   "mode must be 0 (none), 1 (sigmoid), 2 (softmax) or 3 (1-background), got " << mode);
    ALPHACUT_CHECK(channels >= 1 && planes.channels == 1 && planes.height % channels == 0,
                   "planes: expected (channels * h, w) float32 with channels = "
                       << channels << ", got (" << planes.height << ", " << planes.width << ")");
    ALPHACUT_CHECK(channel >= 0 && channel < channels,
                   "channel " << channel << " is outside the output's " << channels << " channels");
    ALPHACUT_CHECK(out.height * channels == planes.height && out.width == planes.width && out.channels == 1,
                   "out must be (h, w)");
    if (out.height == 0 || out.width == 0) return;
    ALPHACUT_LAUNCH(probability_kernel, pixel_grid(out.height, out.width), pixel_block(), 0, stream, planes, channels,
                    mode, channel, out);
    ALPHACUT_CHECK_LAUNCH("probability_kernel");
}

}  // namespace alphacut::ALPHACUT_GPU_NS
