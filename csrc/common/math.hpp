// Small math helpers usable on host and device.
#pragma once
#include "hd.hpp"

namespace alphacut {

template <typename T>
ALPHACUT_HD T clamp(T v, T lo, T hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

ALPHACUT_HD float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }

ALPHACUT_HD float lerp(float a, float b, float t) { return a + (b - a) * t; }

// Round a float in [0, 255] to uint8 with round-half-up and clamping.
ALPHACUT_HD unsigned char to_u8(float v) {
    v = v < 0.f ? 0.f : (v > 255.f ? 255.f : v);
    return static_cast<unsigned char>(v + 0.5f);
}

template <typename T>
ALPHACUT_HD T max2(T a, T b) {
    return a > b ? a : b;
}
template <typename T>
ALPHACUT_HD T min2(T a, T b) {
    return a < b ? a : b;
}

}  // namespace alphacut
