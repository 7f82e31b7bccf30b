// The window scans of the binary morphology kernels, shared by morphology_cuda.cu and
// make_trimap_cuda.cu. Device code: include from .cu files only (bindings include the API
// headers, which the host compiler must be able to read).
//
// Along a line (a row, then a column) pixel i is hit when a seed lies in [i - r, i + r], r
// clipped to the line (a radius wider than the image is the whole line):
//     hit(i) = last seed at or before i >= i - r   or   first seed at or after i <= i + r,
// two prefix scans of seed positions (a max from the left, a min from the right), so the work
// per pixel does not depend on r: the binary case of van Herk / Gil-Werman, without its blocks
// of 2r + 1. A line is cut into nt chunks of consecutive pixels, a thread each (nt a power of
// two, about one chunk per kChunk pixels):
//   1. forward over the chunk: the last seed so far gives the hits from the left within the
//      chunk, kept as bit 1 next to the seed (bit 0) in the hits buffer;
//   2. the chunks' last and first seeds go to shared memory; one barrier; each thread takes the
//      last seed of the chunks before it and the first seed of those after it (nt reads);
//   3. backward over the chunk: the first seed so far (or the one entering from the right) and
//      the seed entering from the left complete the pixel.
// Pass 1 (row_hits) reads the input (op.seed per plane) and leaves the row hits (P planes of 0/1);
// pass 2 (col_finish) runs the same down the columns of the row hits and writes op.finish(any).
// Work per pixel: 2 seed reads, 3 hit accesses per pass, plus nt / chunk length <= 16 shared
// reads; one barrier per block and pass.
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"
#include "morphology_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace morph_detail {

constexpr int kChunk = 64;          // pixels per thread, at least (while there are threads to spare)
constexpr int kRowThreads = 256;    // threads per row block; rows per block = kRowThreads / chunks
constexpr int kScanThreads = 1024;  // most threads in a block, so the shared slots of the scan
constexpr int kNoSeed = 0x7fffffff; // "no first seed" (the last seed's is -1)

// The smallest power of two >= n, at most `most` (a power of two).
inline unsigned int pow2_at_least(long long n, unsigned int most) {
    unsigned int t = 1;
    while (t < most && t < n) t <<= 1;
    return t;
}

// Chunks per line of n pixels: a power of two, about one per kChunk pixels, at most `most`.
inline unsigned int chunks_for(int n, unsigned int most) { return pow2_at_least(div_up(n, kChunk), most); }

// Step 2: `last` / `first` hold this chunk's last / first seed per plane (-1 / kNoSeed when
// none); they come back as the last seed of the chunks before it and the first of those after.
// Every thread of the block calls this (one barrier); slot = line * nt + chunk.
// s_last / s_first: [P][kScanThreads] ints of shared memory (ALPHACUT_SHARED).
template <int P, typename S>
ALPHACUT_DEVICE void combine_chunks(S s_last, S s_first, int line, int chunk, int nt, int* last, int* first) {
    if (nt == 1) {  // uniform over the block: no barrier at all
        for (int p = 0; p < P; ++p) {
            last[p] = -1;
            first[p] = kNoSeed;
        }
        return;
    }
    const int base = line * nt;
    for (int p = 0; p < P; ++p) {
        s_last[p][base + chunk] = last[p];
        s_first[p][base + chunk] = first[p];
    }
    __syncthreads();
    for (int p = 0; p < P; ++p) {
        int l = -1, f = kNoSeed;
        for (int k = 0; k < chunk; ++k) l = s_last[p][base + k] > l ? s_last[p][base + k] : l;
        for (int k = nt - 1; k > chunk; --k) f = s_first[p][base + k] < f ? s_first[p][base + k] : f;
        last[p] = l;
        first[p] = f;
    }
}

// [lo, hi) of chunk `chunk` of nt over a line of n pixels.
ALPHACUT_DEVICE void chunk_range(int n, int chunk, int nt, int& lo, int& hi) {
    const long long len = (static_cast<long long>(n) + nt - 1) / nt;
    const long long a = len * chunk, b = a + len;
    lo = static_cast<int>(a < n ? a : n);
    hi = static_cast<int>(b < n ? b : n);
}

// Pass 1: hits[p][y][x] = 1 when a seed of plane p (op.seed(v, p)) lies in [x - r, x + r] of
// row y. Block: blockDim.x chunks of a row, blockDim.y rows.
template <int P, typename T, typename Op>
__global__ void row_hits(ImageView<const T> in, int r, Op op, std::uint8_t* hits) {
    ALPHACUT_SHARED(int, s_last, [P][kScanThreads]);
    ALPHACUT_SHARED(int, s_first, [P][kScanThreads]);
    const int H = in.height, W = in.width;
    const int nt = static_cast<int>(blockDim.x), chunk = static_cast<int>(threadIdx.x);
    const long long yy = static_cast<long long>(blockIdx.x) * blockDim.y + threadIdx.y;
    const bool on = yy < H;  // no early return: every thread reaches the barrier
    const int y = on ? static_cast<int>(yy) : 0;
    const long long plane = static_cast<long long>(H) * W;
    std::uint8_t* row = hits + static_cast<long long>(y) * W;
    int lo = 0, hi = 0;
    if (on) chunk_range(W, chunk, nt, lo, hi);
    int last[P], first[P];
    for (int p = 0; p < P; ++p) {
        last[p] = -1;
        first[p] = kNoSeed;
    }
    const T* src = in.row(y);
    for (int x = lo; x < hi; ++x)
        for (int p = 0; p < P; ++p) {
            const int s = op.seed(src[x], p) ? 1 : 0;
            if (s) {
                last[p] = x;
                if (first[p] == kNoSeed) first[p] = x;
            }
            row[p * plane + x] = static_cast<std::uint8_t>(s | ((last[p] >= 0 && x - last[p] <= r) ? 2 : 0));
        }
    combine_chunks<P>(s_last, s_first, static_cast<int>(threadIdx.y), chunk, nt, last, first);
    for (int x = hi - 1; x >= lo; --x)
        for (int p = 0; p < P; ++p) {
            const int v = row[p * plane + x];
            if (v & 1) first[p] = x;
            const bool hit =
                (v & 2) || (last[p] >= 0 && x - last[p] <= r) || (first[p] != kNoSeed && first[p] - x <= r);
            row[p * plane + x] = hit ? 1 : 0;
        }
}

// Pass 2: any[p] = a row hit in [y - r, y + r] of column x; out = op.finish(any). Block:
// blockDim.x adjacent columns (coalesced), blockDim.y chunks of each column.
template <int P, typename Op>
__global__ void col_finish(std::uint8_t* hits, int H, int W, int r, Op op, ImageView<std::uint8_t> out) {
    ALPHACUT_SHARED(int, s_last, [P][kScanThreads]);
    ALPHACUT_SHARED(int, s_first, [P][kScanThreads]);
    const int nt = static_cast<int>(blockDim.y), chunk = static_cast<int>(threadIdx.y);
    const long long xx = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const bool on = xx < W;  // no early return: every thread reaches the barrier
    const int x = on ? static_cast<int>(xx) : 0;
    const long long plane = static_cast<long long>(H) * W;
    std::uint8_t* col = hits + x;
    int lo = 0, hi = 0;
    if (on) chunk_range(H, chunk, nt, lo, hi);
    int last[P], first[P];
    for (int p = 0; p < P; ++p) {
        last[p] = -1;
        first[p] = kNoSeed;
    }
    for (int y = lo; y < hi; ++y)
        for (int p = 0; p < P; ++p) {
            std::uint8_t& v = col[p * plane + static_cast<long long>(y) * W];
            if (v & 1) {
                last[p] = y;
                if (first[p] == kNoSeed) first[p] = y;
            }
            if (last[p] >= 0 && y - last[p] <= r) v = static_cast<std::uint8_t>(v | 2);
        }
    combine_chunks<P>(s_last, s_first, static_cast<int>(threadIdx.x), chunk, nt, last, first);
    for (int y = hi - 1; y >= lo; --y) {
        bool any[P];
        for (int p = 0; p < P; ++p) {
            const int v = col[p * plane + static_cast<long long>(y) * W];
            if (v & 1) first[p] = y;
            any[p] = (v & 2) || (last[p] >= 0 && y - last[p] <= r) || (first[p] != kNoSeed && first[p] - y <= r);
        }
        out.at(y, x) = op.finish(any);
    }
}

// Both passes; `hits` scratch of P planes is allocated here and freed after a stream sync.
template <int P, typename T, typename Op>
void run(ImageView<const T> in, int radius, Op op, ImageView<std::uint8_t> out, cudaStream_t stream) {
    const int H = in.height, W = in.width;
    const int rx = radius < W - 1 ? radius : W - 1, ry = radius < H - 1 ? radius : H - 1;
    DeviceBuffer<std::uint8_t> hits(static_cast<std::size_t>(P) * H * W);
    const unsigned int row_chunks = chunks_for(W, kRowThreads);
    const unsigned int rows_per_block = row_chunks < kRowThreads ? kRowThreads / row_chunks : 1;
    auto k1 = row_hits<P, T, Op>;
    ALPHACUT_LAUNCH(k1, dim3(div_up(H, rows_per_block), 1, 1), dim3(row_chunks, rows_per_block, 1), 0, stream, in, rx,
                    op, hits.get());
    ALPHACUT_CHECK_LAUNCH("row_hits");
    const unsigned int cols_per_block = pow2_at_least(W, 32);
    const unsigned int col_chunks = chunks_for(H, kScanThreads / cols_per_block);
    auto k2 = col_finish<P, Op>;
    ALPHACUT_LAUNCH(k2, dim3(div_up(W, cols_per_block), 1, 1), dim3(cols_per_block, col_chunks, 1), 0, stream,
                    hits.get(), H, W, ry, op, out);
    ALPHACUT_CHECK_LAUNCH("col_finish");
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));  // before `hits` is freed
}

}  // namespace morph_detail

}  // namespace alphacut::ALPHACUT_GPU_NS
