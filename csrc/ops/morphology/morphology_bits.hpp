// Host-side engine shared by morphology and make_trimap: dilation of bit-packed planes by the
// square (2r+1) x (2r+1) element with zeros outside the image, at a cost per pixel that does not
// depend on r.
//   rows:    one left-to-right scan per row keeps the position of the last set pixel, so the
//            bits reached from earlier words are a low mask; inside a word the window is grown
//            by doubling (at most six shift-ORs). The centred window is then a funnel shift.
//   columns: van Herk / Gil-Werman on whole words: prefix and suffix ORs within blocks of 2r+1
//            rows, one OR of the two per output row.
// The per-word formulas live in morphology_pixel.hpp.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../../common/parallel.hpp"
#include "morphology_pixel.hpp"

namespace alphacut::morph {

inline int words_for(int width) { return (width + 63) / 64; }

// Packs one row of W pixels into bits: seed(x) gives 0 or 1 for pixel x. Bits >= W are 0.
template <typename Seed>
inline void pack_row(int width, Seed&& seed, morph_word* dst) {
    alignas(8) unsigned char tmp[64];
    const int nw = words_for(width);
    for (int j = 0; j < nw; ++j) {
        const int x0 = j * 64;
        const int n = std::min(64, width - x0);
        if (n == 64) {
            for (int i = 0; i < 64; ++i) tmp[i] = static_cast<unsigned char>(seed(x0 + i));
        } else {
            for (int i = 0; i < 64; ++i) tmp[i] = i < n ? static_cast<unsigned char>(seed(x0 + i)) : 0;
        }
        morph_word w = 0;
#if defined(__SSE2__)
        // Bit movement only (the seed test ran above): bit 0 of each byte to bit 7, then movemask.
        for (int g = 0; g < 4; ++g) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tmp + 16 * g));
            w |= static_cast<morph_word>(static_cast<unsigned>(_mm_movemask_epi8(_mm_slli_epi16(v, 7))) & 0xffffu)
                 << (16 * g);
        }
#else
        for (int g = 0; g < 8; ++g) {
            morph_word b;
            std::memcpy(&b, tmp + 8 * g, 8);
            w |= static_cast<morph_word>(bytes01_to_bits8(b)) << (8 * g);
        }
#endif
        dst[j] = w;
    }
}

// Bits needed by hdilate_row's scratch for a row of `width` pixels and radius r.
inline std::size_t hdilate_scratch(int width, int r) {
    return static_cast<std::size_t>(words_for(width)) + (r >> 6) + 2;
}

// dst bit x = OR of src bits [x - r, x + r] (zeros outside [0, width)). dst may not alias src.
inline void hdilate_row(const morph_word* src, int width, int r, morph_word* dst, morph_word* scratch) {
    const int nw = words_for(width);
    if (r == 0) {
        std::memcpy(dst, src, sizeof(morph_word) * nw);
        return;
    }
    const int q = r >> 6, b = r & 63;
    const int nl = nw + q + 1;
    const long long span = 2LL * r;  // scratch bit x = OR of src bits [x - 2r, x]
    const int in_word = span >= 63 ? 64 : static_cast<int>(span) + 1;
    long long last = -(1LL << 62);  // position of the last set bit seen so far
    for (int j = 0; j < nl; ++j) {
        const morph_word w = j < nw ? src[j] : 0ull;
        scratch[j] = bits_window_or(w, in_word) | bits_low_mask(last + span - 64LL * j + 1);
        if (w) last = 64LL * j + bits_highest(w);
    }
    for (int k = 0; k < nw; ++k) dst[k] = bits_funnel(scratch[k + q], scratch[k + q + 1], b);
    dst[nw - 1] &= bits_low_mask(width - 64 * (nw - 1));
}

// Dilates P bit planes of an H x W image by radius r. pack(y, planes) writes the P bit rows of
// image row y (planes[p] has words_for(W) words; bits >= W must be 0); emit(y, planes) receives
// the dilated rows. Both are called from worker threads, each row once.
template <int P, typename Pack, typename Emit>
void dilate_planes(int height, int width, int radius, Pack&& pack, Emit&& emit) {
    const int nw = words_for(width);
    const int rh = std::min(radius, width - 1);
    const int rv = std::min(radius, height - 1);
    const std::size_t plane = static_cast<std::size_t>(height) * nw;
    std::vector<morph_word> rows(plane * P);

    parallel_for(0, height, [&](int y0, int y1) {
        std::vector<morph_word> packed(static_cast<std::size_t>(nw) * P), scratch(hdilate_scratch(width, rh));
        morph_word* planes[P];
        for (int p = 0; p < P; ++p) planes[p] = packed.data() + static_cast<std::size_t>(p) * nw;
        for (int y = y0; y < y1; ++y) {
            pack(y, planes);
            for (int p = 0; p < P; ++p)
                hdilate_row(planes[p], width, rh, rows.data() + p * plane + static_cast<std::size_t>(y) * nw,
                            scratch.data());
        }
    }, 8);

    if (rv == 0) {
        parallel_for(0, height, [&](int y0, int y1) {
            const morph_word* planes[P];
            for (int y = y0; y < y1; ++y) {
                for (int p = 0; p < P; ++p) planes[p] = rows.data() + p * plane + static_cast<std::size_t>(y) * nw;
                emit(y, planes);
            }
        }, 8);
        return;
    }

    // Extended rows e = y + rv cover [-rv, H + rv): blocks of k = 2 rv + 1 rows start at e = 0.
    const int k = 2 * rv + 1;
    const int ext = height + 2 * rv;
    const std::size_t eplane = static_cast<std::size_t>(ext) * nw;
    std::vector<morph_word> prefix(eplane * P), suffix(eplane * P);
    parallel_for(0, nw, [&](int w0, int w1) {
        for (int p = 0; p < P; ++p) {
            const morph_word* a = rows.data() + p * plane;
            morph_word* g = prefix.data() + p * eplane;
            morph_word* h = suffix.data() + p * eplane;
            for (int e = 0; e < ext; ++e) {
                const int y = e - rv;
                const morph_word* src = (y >= 0 && y < height) ? a + static_cast<std::size_t>(y) * nw : nullptr;
                morph_word* ge = g + static_cast<std::size_t>(e) * nw;
                if (e % k == 0 || !src) {
                    for (int w = w0; w < w1; ++w) ge[w] = e % k == 0 ? (src ? src[w] : 0ull) : ge[w - nw];
                } else {
                    for (int w = w0; w < w1; ++w) ge[w] = ge[w - nw] | src[w];
                }
            }
            for (int e = ext - 1; e >= 0; --e) {
                const int y = e - rv;
                const morph_word* src = (y >= 0 && y < height) ? a + static_cast<std::size_t>(y) * nw : nullptr;
                morph_word* he = h + static_cast<std::size_t>(e) * nw;
                const bool block_end = e % k == k - 1 || e == ext - 1;
                if (block_end || !src) {
                    for (int w = w0; w < w1; ++w) he[w] = block_end ? (src ? src[w] : 0ull) : he[w + nw];
                } else {
                    for (int w = w0; w < w1; ++w) he[w] = he[w + nw] | src[w];
                }
            }
        }
    }, 2);

    // Output row y: window [y - rv, y + rv] = extended [y, y + 2 rv] = suffix[y] | prefix[y + 2 rv].
    parallel_for(0, height, [&](int y0, int y1) {
        std::vector<morph_word> out(static_cast<std::size_t>(nw) * P);
        const morph_word* planes[P];
        for (int p = 0; p < P; ++p) planes[p] = out.data() + static_cast<std::size_t>(p) * nw;
        for (int y = y0; y < y1; ++y) {
            for (int p = 0; p < P; ++p) {
                const morph_word* h = suffix.data() + p * eplane + static_cast<std::size_t>(y) * nw;
                const morph_word* g = prefix.data() + p * eplane + static_cast<std::size_t>(y + 2 * rv) * nw;
                morph_word* o = out.data() + static_cast<std::size_t>(p) * nw;
                for (int w = 0; w < nw; ++w) o[w] = h[w] | g[w];
            }
            emit(y, planes);
        }
    }, 8);
}

// bits8_to_bytes01 for every byte value, looked up once per eight pixels.
inline const morph_word* spread_table() {
    static const struct Table {
        morph_word v[256];
        Table() {
            for (unsigned b = 0; b < 256; ++b) v[b] = bits8_to_bytes01(b);
        }
    } table;
    return table.v;
}

// Writes `width` bytes of 0/1 from a bit row.
inline void unpack_row01(const morph_word* bits, int width, std::uint8_t* dst) {
    const morph_word* spread = spread_table();
    const int full = width / 8;
    for (int i = 0; i < full; ++i) {
        const morph_word v = spread[(bits[i >> 3] >> (8 * (i & 7))) & 0xffu];
        std::memcpy(dst + 8 * i, &v, 8);
    }
    for (int x = full * 8; x < width; ++x) dst[x] = static_cast<std::uint8_t>((bits[x >> 6] >> (x & 63)) & 1u);
}

}  // namespace alphacut::morph
