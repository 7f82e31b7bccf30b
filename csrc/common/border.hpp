// One definition of the border rules used by every op.
#pragma once
#include "hd.hpp"

namespace alphacut {

// Clamp an index into [0, n-1] (replicate the edge pixel).
ALPHACUT_HD int clamp_index(int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// Reflect an index about the edge without repeating it (OpenCV BORDER_REFLECT_101): -1 -> 1.
ALPHACUT_HD int reflect101_index(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) {
        if (i < 0) i = -i;
        if (i >= n) i = 2 * n - 2 - i;
    }
    return i;
}

// The part of the window [i - r, i + r] that lies inside [0, n): box means clip their window
// to the image and divide by the number of pixels inside it.
struct Span {
    int lo;
    int hi;  // inclusive
};
ALPHACUT_HD Span clipped_window(int i, int r, int n) {
    Span s;
    s.lo = i - r < 0 ? 0 : i - r;
    s.hi = i + r >= n ? n - 1 : i + r;
    return s;
}

// Morphology: what lies outside the image. Dilation treats it as background (0), erosion as
// foreground (1), so erosion never eats the image border.
enum class OutsideValue { Background = 0, Foreground = 1 };

}  // namespace alphacut
