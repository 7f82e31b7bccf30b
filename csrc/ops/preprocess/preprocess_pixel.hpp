// Network-input preprocessing, once, for the CPU loop and the CUDA kernel alike:
//   resize (bilinear, pixel centres aligned: src = (dst + 0.5) * in / out - 0.5, clamped to the
//   edge, as cv2.resize INTER_LINEAR / PyTorch align_corners=False without antialiasing),
//   then per output channel c:  out[c] = (v * scale - mean[c]) / std[c],
//   written planar (NCHW, batch 1) as float32 or IEEE float16 (round to nearest even).
#pragma once
#include "../../common/hd.hpp"

namespace alphacut {

struct PreprocessParams {
    float scale;    // applied to the raw uint8 value (1/255 maps to [0, 1])
    float mean[3];  // per output channel
    float std[3];   // per output channel, > 0
    int swap_rb;    // 1: output channel 0 reads input channel 2 (RGB image -> BGR network)
};

// One axis of a bilinear sample: the two source indices and the weight of the second.
struct BilinearTap {
    int i0;
    int i1;
    float w1;
};

ALPHACUT_HD BilinearTap bilinear_tap(int dst, int dst_size, int src_size) {
    float s = (static_cast<float>(dst) + 0.5f) * (static_cast<float>(src_size) / static_cast<float>(dst_size)) - 0.5f;
    if (s < 0.f) s = 0.f;
    int i0 = static_cast<int>(s);  // s >= 0: truncation is floor
    if (i0 > src_size - 1) i0 = src_size - 1;
    BilinearTap t;
    t.i0 = i0;
    t.i1 = i0 + 1 < src_size ? i0 + 1 : src_size - 1;
    t.w1 = t.i1 == i0 ? 0.f : s - static_cast<float>(i0);
    return t;
}

ALPHACUT_HD float bilinear_mix(float p00, float p01, float p10, float p11, float wx, float wy) {
    const float top = p00 + (p01 - p00) * wx;
    const float bottom = p10 + (p11 - p10) * wx;
    return top + (bottom - top) * wy;
}

ALPHACUT_HD float normalize_value(float v, float scale, float mean, float std) { return (v * scale - mean) / std; }

// The input channel that output channel `c` reads.
ALPHACUT_HD int source_channel(int c, int swap_rb) { return swap_rb ? 2 - c : c; }

// float -> IEEE binary16 bits, round to nearest even, overflow to infinity (as __float2half_rn).
ALPHACUT_HD unsigned short float_to_half_bits(float f) {
    union {
        float f;
        unsigned int u;
    } v;
    v.f = f;
    unsigned int u = v.u;
    const unsigned int sign = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    if (u >= 0x7f800000u) return static_cast<unsigned short>(sign | (u > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (u >= 0x477ff000u) return static_cast<unsigned short>(sign | 0x7c00u);
    if (u < 0x38800000u) {  // result is subnormal or zero
        if (u < 0x33000000u) return static_cast<unsigned short>(sign);
        const unsigned int e = u >> 23;
        const unsigned int m = (u & 0x7fffffu) | 0x800000u;
        const unsigned int shift = 126u - e;
        unsigned int h = m >> shift;
        const unsigned int rem = m & ((1u << shift) - 1u);
        const unsigned int half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (h & 1u))) ++h;
        return static_cast<unsigned short>(sign | h);
    }
    unsigned int h = (u - 0x38000000u) >> 13;
    const unsigned int rem = u & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<unsigned short>(sign | h);
}

// The three normalised channels of output pixel (y, x) from an interleaved uint8 RGB image.
ALPHACUT_HD void preprocess_pixel(const unsigned char* src, long long row_stride, int channels, BilinearTap ty,
                                  BilinearTap tx, const PreprocessParams& p, float out[3]) {
    const unsigned char* r0 = src + ty.i0 * row_stride;
    const unsigned char* r1 = src + ty.i1 * row_stride;
    const int x0 = tx.i0 * channels, x1 = tx.i1 * channels;
    for (int c = 0; c < 3; ++c) {
        const int k = source_channel(c, p.swap_rb);
        const float v = bilinear_mix(r0[x0 + k], r0[x1 + k], r1[x0 + k], r1[x1 + k], tx.w1, ty.w1);
        out[c] = normalize_value(v, p.scale, p.mean[c], p.std[c]);
    }
}

}  // namespace alphacut
