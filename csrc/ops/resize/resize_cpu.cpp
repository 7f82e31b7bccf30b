#include "resize.hpp"

#include <cstddef>
#include <vector>

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"
#include "resize_pixel.hpp"

namespace alphacut {

namespace {

// Per-axis tap tables: n slots per destination index (zero weights pad shorter rows).
struct Taps {
    int n = 0;
    std::vector<int> idx;
    std::vector<float> w;
};

Taps make_taps(int method, int src, int dst) {
    Taps t;
    t.n = resize_max_taps(method, src, dst);
    t.idx.assign(static_cast<std::size_t>(dst) * t.n, 0);
    t.w.assign(static_cast<std::size_t>(dst) * t.n, 0.f);
    for (int d = 0; d < dst; ++d) {
        int* idx = &t.idx[static_cast<std::size_t>(d) * t.n];
        float* w = &t.w[static_cast<std::size_t>(d) * t.n];
        const int used = resize_taps(method, d, src, dst, idx, w);
        ALPHACUT_ASSERT(used >= 1 && used <= t.n, "resize taps " << used << " of " << t.n);
        for (int k = used; k < t.n; ++k) idx[k] = idx[used - 1];  // weight 0, valid index
    }
    return t;
}

// One source row resampled horizontally into `dst` (Wd * C floats).
template <int C, typename T>
void hresize_row(const T* src, const Taps& tx, int wd, int channels, float* dst) {
    const int c = C > 0 ? C : channels;
    const int n = tx.n;
    for (int x = 0; x < wd; ++x) {
        const int* idx = &tx.idx[static_cast<std::size_t>(x) * n];
        const float* w = &tx.w[static_cast<std::size_t>(x) * n];
        float acc[C > 0 ? C : 16];
        if (C > 0) {
            for (int k = 0; k < c; ++k) acc[k] = 0.f;
            for (int t = 0; t < n; ++t) {
                const T* p = src + static_cast<std::ptrdiff_t>(idx[t]) * c;
                for (int k = 0; k < c; ++k) acc[k] += w[t] * resize_load(p[k]);
            }
            for (int k = 0; k < c; ++k) dst[x * c + k] = acc[k];
        } else {
            for (int k = 0; k < c; ++k) {
                float s = 0.f;
                for (int t = 0; t < n; ++t) s += w[t] * resize_load(src[static_cast<std::ptrdiff_t>(idx[t]) * c + k]);
                dst[static_cast<std::ptrdiff_t>(x) * c + k] = s;
            }
        }
    }
}

#include "../../common/simd.hpp"
#define ALPHACUT_HOT_LOOP ALPHACUT_SIMD_CLONES

// out = sum_t w[t] * rows[t], stored with resize_store: the vertical pass, where most of an
// enlargement's time goes. Two- and four-tap rows are fused into one loop; locals and restrict
// keep the loops vectorised, and the AVX2 clone is picked at run time where the CPU has it.
template <typename T>
inline void vertical_row_impl(const float* const* rows, const float* w, int n, std::ptrdiff_t len,
                              float* __restrict acc, T* __restrict out) {
    if (n == 2) {
        const float* __restrict r0 = rows[0];
        const float* __restrict r1 = rows[1];
        const float w0 = w[0], w1 = w[1];
        for (std::ptrdiff_t i = 0; i < len; ++i) resize_store(w0 * r0[i] + w1 * r1[i], out + i);
        return;
    }
    if (n == 4) {
        const float* __restrict r0 = rows[0];
        const float* __restrict r1 = rows[1];
        const float* __restrict r2 = rows[2];
        const float* __restrict r3 = rows[3];
        const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        for (std::ptrdiff_t i = 0; i < len; ++i)
            resize_store(w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i], out + i);
        return;
    }
    {
        const float* __restrict r0 = rows[0];
        const float w0 = w[0];
        for (std::ptrdiff_t i = 0; i < len; ++i) acc[i] = w0 * r0[i];
    }
    for (int t = 1; t < n; ++t) {
        const float* __restrict rt = rows[t];
        const float wt = w[t];
        if (wt == 0.f) continue;
        for (std::ptrdiff_t i = 0; i < len; ++i) acc[i] += wt * rt[i];
    }
    for (std::ptrdiff_t i = 0; i < len; ++i) resize_store(acc[i], out + i);
}

ALPHACUT_HOT_LOOP void vertical_row(const float* const* rows, const float* w, int n, std::ptrdiff_t len, float* acc,
                                    std::uint8_t* out) {
    vertical_row_impl(rows, w, n, len, acc, out);
}

ALPHACUT_HOT_LOOP void vertical_row(const float* const* rows, const float* w, int n, std::ptrdiff_t len, float* acc,
                                    float* out) {
    vertical_row_impl(rows, w, n, len, acc, out);
}

template <int C, typename T>
void resize_impl(ImageView<const T> src, ImageView<T> out, int method) {
    const int hs = src.height, ws = src.width, hd = out.height, wd = out.width, ch = src.channels;
    const Taps tx = make_taps(method, ws, wd);
    const Taps ty = make_taps(method, hs, hd);
    const std::size_t row_len = static_cast<std::size_t>(wd) * ch;
    parallel_for(0, hd, [&](int y0, int y1) {
        // Ring of horizontally resampled source rows: the taps of one output row are distinct
        // indices within ty.n consecutive rows, so row % n never collides.
        const int n = ty.n;
        std::vector<float> ring(row_len * n), acc(row_len);
        std::vector<int> tag(n, -1);
        std::vector<const float*> rows(n);
        const std::ptrdiff_t len = static_cast<std::ptrdiff_t>(row_len);
        for (int y = y0; y < y1; ++y) {
            const int* idx = &ty.idx[static_cast<std::size_t>(y) * n];
            const float* w = &ty.w[static_cast<std::size_t>(y) * n];
            for (int t = 0; t < n; ++t) {
                const int sy = idx[t];
                const int slot = sy % n;
                float* r = ring.data() + slot * row_len;
                if (tag[slot] != sy) {
                    hresize_row<C>(src.row(sy), tx, wd, ch, r);
                    tag[slot] = sy;
                }
                rows[t] = r;
            }
            vertical_row(rows.data(), w, n, len, acc.data(), out.row(y));
        }
    }, 8);
}

template <typename T>
void resize_any(ImageView<const T> src, ImageView<T> out, ResizeMethod method) {
    ALPHACUT_CHECK(
        method == kResizeBilinear || method == kResizeArea || method == kResizeBicubic || method == kResizeTriangle,
        "unknown resize method " << static_cast<int>(method));
    ALPHACUT_CHECK(src.height > 0 && src.width > 0, "image is empty (" << src.height << " x " << src.width << ")");
    ALPHACUT_CHECK(out.height > 0 && out.width > 0,
                   "size must be positive, got (" << out.height << ", " << out.width << ")");
    ALPHACUT_CHECK(out.channels == src.channels, "out has " << out.channels << " channels, image has " << src.channels);
    ALPHACUT_CHECK(src.channels >= 1 && src.channels <= 16, "image must have 1 to 16 channels, got " << src.channels);
    switch (src.channels) {
        case 1: resize_impl<1>(src, out, method); break;
        case 3: resize_impl<3>(src, out, method); break;
        case 4: resize_impl<4>(src, out, method); break;
        default: resize_impl<0>(src, out, method); break;
    }
}

}  // namespace

void resize_cpu(ImageView<const std::uint8_t> image, ImageView<std::uint8_t> out, ResizeMethod method) {
    resize_any(image, out, method);
}
void resize_cpu(ImageView<const float> image, ImageView<float> out, ResizeMethod method) {
    resize_any(image, out, method);
}

}  // namespace alphacut
