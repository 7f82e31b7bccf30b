// Non-owning strided image views. Pixels of a row are packed (channel stride = 1 element,
// pixel stride = `channels` elements); rows may be any number of elements apart, so crops
// and other row-strided NumPy views need no copy.
#pragma once
#include <cstddef>

#include "hd.hpp"

namespace alphacut {

template <typename T>
struct ImageView {
    T* data = nullptr;
    int height = 0;
    int width = 0;
    int channels = 1;
    std::ptrdiff_t row_stride = 0;  // in elements of T

    ALPHACUT_HD T* row(int y) const { return data + static_cast<std::ptrdiff_t>(y) * row_stride; }
    ALPHACUT_HD T& at(int y, int x, int c = 0) const {
        return data[static_cast<std::ptrdiff_t>(y) * row_stride + static_cast<std::ptrdiff_t>(x) * channels + c];
    }
    ALPHACUT_HD bool contains(int y, int x) const { return y >= 0 && y < height && x >= 0 && x < width; }
    ALPHACUT_HD std::ptrdiff_t pixels() const { return static_cast<std::ptrdiff_t>(height) * width; }
};

template <typename T>
ALPHACUT_HD ImageView<T> make_view(T* data, int height, int width, int channels = 1, std::ptrdiff_t row_stride = -1) {
    ImageView<T> v;
    v.data = data;
    v.height = height;
    v.width = width;
    v.channels = channels;
    v.row_stride = row_stride < 0 ? static_cast<std::ptrdiff_t>(width) * channels : row_stride;
    return v;
}

template <typename T>
ALPHACUT_HD ImageView<const T> as_const(const ImageView<T>& v) {
    ImageView<const T> c;
    c.data = v.data;
    c.height = v.height;
    c.width = v.width;
    c.channels = v.channels;
    c.row_stride = v.row_stride;
    return c;
}

}  // namespace alphacut
