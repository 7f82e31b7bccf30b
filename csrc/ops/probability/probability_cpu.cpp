#include "probability.hpp"

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"

namespace alphacut {

namespace {

void probability_check(ImageView<const float> planes, int channels, int mode, int channel, ImageView<float> out) {
    ALPHACUT_CHECK(mode >= kProbabilityNone && mode <= kProbability1mBg,
                   "mode must be 0 (none), 1 (sigmoid), 2 (softmax) or 3 (1-background), got " << mode);
    ALPHACUT_CHECK(channels >= 1 && planes.channels == 1 && planes.height % channels == 0,
                   "planes: expected (channels * h, w) float32 with channels = "
                       << channels << ", got (" << planes.height << ", " << planes.width << ")");
    ALPHACUT_CHECK(channel >= 0 && channel < channels,
                   "channel " << channel << " is outside the output's " << channels << " channels");
    ALPHACUT_CHECK(out.height * channels == planes.height && out.width == planes.width && out.channels == 1,
                   "out must be (h, w)");
}

}  // namespace

void probability_cpu(ImageView<const float> planes, int channels, int mode, int channel, ImageView<float> out) {
    probability_check(planes, channels, mode, channel, out);
    const int h = out.height, w = out.width;
    const std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(h) * planes.row_stride;
    parallel_for(0, h, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const float* x = planes.row(y);
            float* o = out.row(y);
            for (int i = 0; i < w; ++i) o[i] = probability_value(x + i, stride, channels, mode, channel);
        }
    }, 8);
}

}  // namespace alphacut
