// A segmenter's foreground probability from its output, per pixel, once for the CPU loop and the
// CUDA kernel alike (the formulas of alphacut.pipeline.network.read_probability):
//   none          p = x[channel]
//   sigmoid       p = 1 / (1 + exp(-x[channel]))
//   softmax       p = exp(x[channel] - m) / sum_k exp(x[k] - m),   m = max_k x[k]
//   1-background  p = 1 - exp(x[0] - m) / sum_k exp(x[k] - m)
// then clamped to [0, 1]; a NaN result reads as 0 (the host path raises on non-finite outputs,
// a kernel cannot). `x[k]` is channel k of the pixel: `stride` elements apart.
#pragma once
#include <math.h>

#include <cstddef>

#include "../../common/hd.hpp"
#include "../../common/math.hpp"

namespace alphacut {

enum ProbabilityMode { kProbabilityNone = 0, kProbabilitySigmoid = 1, kProbabilitySoftmax = 2, kProbability1mBg = 3 };

ALPHACUT_HD float probability_finish(float v) { return v == v ? clamp01(v) : 0.f; }

ALPHACUT_HD float probability_value(const float* x, std::ptrdiff_t stride, int channels, int mode, int channel) {
    if (mode == kProbabilityNone) return probability_finish(x[channel * stride]);
    if (mode == kProbabilitySigmoid) return probability_finish(1.f / (1.f + expf(-x[channel * stride])));
    float m = x[0];
    for (int k = 1; k < channels; ++k) m = x[k * stride] > m ? x[k * stride] : m;
    float sum = 0.f;
    for (int k = 0; k < channels; ++k) sum += expf(x[k * stride] - m);
    const float s = expf(x[(mode == kProbabilitySoftmax ? channel : 0) * stride] - m) / sum;
    return probability_finish(mode == kProbabilitySoftmax ? s : 1.f - s);
}

}  // namespace alphacut
