// Binary morphology with the square (2r+1) x (2r+1) element, once, for the CPU loops and the CUDA
// kernels alike.
//   set(p):     uint8 p != 0; float p >= 0.5
//   dilate(x):  any pixel set in the window clipped to the image (outside = background)
//   erode(x):   every pixel set in the window clipped to the image (outside = foreground),
//               computed as NOT dilate(NOT mask), so the two share one kernel.
// Rows may be bit-packed: bit i of 64-bit word j holds pixel x = 64 j + i.
#pragma once
#include "../../common/hd.hpp"

namespace alphacut {

ALPHACUT_HD bool mask_is_set(unsigned char v) { return v != 0; }
ALPHACUT_HD bool mask_is_set(float v) { return v >= 0.5f; }
ALPHACUT_HD bool mask_is_set(double v) { return v >= 0.5; }

// The bit a pixel contributes to the dilation kernel: erosion works on the complement.
template <typename T>
ALPHACUT_HD bool morph_seed(T v, bool erode) {
    return mask_is_set(v) != erode;
}

// The output of a pixel from "some seed pixel lies in its window".
ALPHACUT_HD bool morph_result(bool any_seed_in_window, bool erode) { return any_seed_in_window != erode; }

// morph_result for 64 bit-packed pixels at once.
typedef unsigned long long morph_word;
ALPHACUT_HD morph_word morph_result_bits(morph_word any_seed_in_window, bool erode) {
    return erode ? ~any_seed_in_window : any_seed_in_window;
}

// Words with the low n bits set (n clamped to [0, 64]).
ALPHACUT_HD morph_word bits_low_mask(long long n) { return n <= 0 ? 0ull : (n >= 64 ? ~0ull : ((1ull << n) - 1ull)); }

// Bit i of the result is the OR of bits [i - n + 1, i] of w (bits below 0 count as 0), for
// n in [1, 64]: a window grown by doubling, so at most six shift-ORs whatever n is.
ALPHACUT_HD morph_word bits_window_or(morph_word w, int n) {
    int len = 1;
    while (len * 2 <= n) {
        w |= w << len;
        len *= 2;
    }
    if (len < n) w |= w << (n - len);
    return w;
}

// Bits [b, b + 64) of the 128-bit value hi:lo, b in [0, 64).
ALPHACUT_HD morph_word bits_funnel(morph_word lo, morph_word hi, int b) {
    return b == 0 ? lo : ((lo >> b) | (hi << (64 - b)));
}

// Index of the highest set bit of a non-zero word.
ALPHACUT_HD int bits_highest(morph_word w) {
#if defined(__CUDA_ARCH__)
    return 63 - __clzll(static_cast<long long>(w));
#else
    return 63 - __builtin_clzll(w);
#endif
}

// Eight bytes holding 0 or 1 (byte i = pixel i) -> eight bits (bit i = pixel i).
ALPHACUT_HD unsigned bytes01_to_bits8(morph_word bytes) {
    return static_cast<unsigned>((bytes * 0x0102040810204080ull) >> 56);
}

// Eight bits (bit i = pixel i) -> eight bytes holding 0 or 1 (byte i = pixel i).
ALPHACUT_HD morph_word bits8_to_bytes01(unsigned bits) {
    morph_word v = (static_cast<morph_word>(bits & 0xffu) * 0x0101010101010101ull) & 0x8040201008040201ull;
    return ((v + 0x7f7f7f7f7f7f7f7full) >> 7) & 0x0101010101010101ull;
}

}  // namespace alphacut
