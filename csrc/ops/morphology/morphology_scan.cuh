// The window-count scan of the binary morphology kernels, shared by morphology_cuda.cu and
// make_trimap_cuda.cu. Device code: include from .cu files only (bindings include the API
// headers, which the host compiler must be able to read).
#pragma once
#include <cstdint>

#include "../../common/gpu_runtime.hpp"
#include "morphology_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace morph_detail {

// Outputs per thread along the scan; a thread first counts one whole (clipped) window, so the
// radius adds at most (2r+1)/kSeg work per pixel.
constexpr int kSeg = 64;

// Pass 1: for each of P seed planes, hits[p][y][x] = 1 when a seed lies in [x - r, x + r] of
// row y (clipped to the image), by a running count of seeds; op.seed(v, p) says whether pixel
// value v is a seed of plane p. One thread per (row, segment of kSeg columns).
template <int P, typename T, typename Op>
__global__ void row_hits(ImageView<const T> in, int r, Op op, std::uint8_t* hits) {
    const int H = in.height, W = in.width;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    const int x0 = (blockIdx.x * blockDim.x + threadIdx.x) * kSeg;
    if (y >= H || x0 >= W) return;
    const int x1 = x0 + kSeg < W ? x0 + kSeg : W;
    const long long plane = static_cast<long long>(H) * W;
    const T* row = in.row(y);
    int count[P];
    for (int p = 0; p < P; ++p) count[p] = 0;
    const int lo = x0 - r < 0 ? 0 : x0 - r;
    const int hi = x0 + r < W - 1 ? x0 + r : W - 1;
    for (int x = lo; x <= hi; ++x)
        for (int p = 0; p < P; ++p) count[p] += op.seed(row[x], p);
    for (int x = x0; x < x1; ++x) {
        for (int p = 0; p < P; ++p) hits[p * plane + static_cast<long long>(y) * W + x] = count[p] > 0;
        if (x + r + 1 < W)
            for (int p = 0; p < P; ++p) count[p] += op.seed(row[x + r + 1], p);
        if (x - r >= 0)
            for (int p = 0; p < P; ++p) count[p] -= op.seed(row[x - r], p);
    }
}

// Pass 2: any[p] = some row hit in [y - r, y + r] of column x; out = op.finish(any). One thread
// per (column, band of kSeg rows); adjacent threads read adjacent columns (coalesced).
template <int P, typename Op>
__global__ void col_finish(const std::uint8_t* hits, int H, int W, int r, Op op, ImageView<std::uint8_t> out) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y0 = blockIdx.y * kSeg;
    if (x >= W || y0 >= H) return;
    const int y1 = y0 + kSeg < H ? y0 + kSeg : H;
    const long long plane = static_cast<long long>(H) * W;
    int count[P];
    for (int p = 0; p < P; ++p) count[p] = 0;
    const int lo = y0 - r < 0 ? 0 : y0 - r;
    const int hi = y0 + r < H - 1 ? y0 + r : H - 1;
    for (int y = lo; y <= hi; ++y)
        for (int p = 0; p < P; ++p) count[p] += hits[p * plane + static_cast<long long>(y) * W + x];
    for (int y = y0; y < y1; ++y) {
        bool any[P];
        for (int p = 0; p < P; ++p) any[p] = count[p] > 0;
        out.at(y, x) = op.finish(any);
        if (y + r + 1 < H)
            for (int p = 0; p < P; ++p) count[p] += hits[p * plane + static_cast<long long>(y + r + 1) * W + x];
        if (y - r >= 0)
            for (int p = 0; p < P; ++p) count[p] -= hits[p * plane + static_cast<long long>(y - r) * W + x];
    }
}

// Both passes; `hits` scratch of P planes is allocated here and freed after a stream sync.
template <int P, typename T, typename Op>
void run(ImageView<const T> in, int radius, Op op, ImageView<std::uint8_t> out, cudaStream_t stream) {
    const int H = in.height, W = in.width;
    const int r = radius < (H > W ? H : W) ? radius : (H > W ? H : W);
    DeviceBuffer<std::uint8_t> hits(static_cast<std::size_t>(P) * H * W);
    const int segs = static_cast<int>(div_up(W, kSeg));
    const dim3 row_block(segs < 32 ? segs : 32, 4, 1), row_grid(div_up(segs, row_block.x), div_up(H, 4), 1);
    auto k1 = row_hits<P, T, Op>;
    ALPHACUT_LAUNCH(k1, row_grid, row_block, 0, stream, in, r, op, hits.get());
    ALPHACUT_CHECK_LAUNCH("row_hits");
    auto k2 = col_finish<P, Op>;
    ALPHACUT_LAUNCH(k2, dim3(div_up(W, 128), div_up(H, kSeg), 1), dim3(128, 1, 1), 0, stream, hits.get(), H, W, r,
                    op, out);
    ALPHACUT_CHECK_LAUNCH("col_finish");
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));  // before `hits` is freed
}

}  // namespace morph_detail

}  // namespace alphacut::ALPHACUT_GPU_NS
