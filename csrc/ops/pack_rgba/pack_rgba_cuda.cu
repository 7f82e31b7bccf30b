// RGBA packing kernel: one thread per pixel, one 4-byte store per pixel.
//
// Bytes moved per pixel: read RGB 3 + alpha 4, write RGBA 4 -> 11 B.
// Bandwidth floor on an H100 (~3 TB/s) at 12 MP: 132 MB -> 0.044 ms.
#include "pack_rgba_cuda.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace {

__global__ void pack_rgba_kernel(ImageView<const std::uint8_t> rgb, ImageView<const float> alpha,
                                 ImageView<std::uint8_t> out) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= out.width || y >= out.height) return;
    pack_rgba_pixel(&rgb.at(y, x), __ldg(&alpha.at(y, x)), &out.at(y, x));
}

}  // namespace

void pack_rgba(ImageView<const std::uint8_t> rgb, ImageView<const float> alpha, ImageView<std::uint8_t> out,
               cudaStream_t stream) {
    check_pack_rgba_args(rgb, alpha, out);
    ALPHACUT_LAUNCH(pack_rgba_kernel, pixel_grid(out.height, out.width), pixel_block(), 0, stream, rgb, alpha, out);
    ALPHACUT_CHECK_LAUNCH("pack_rgba_kernel");
}

}  // namespace alphacut::ALPHACUT_GPU_NS
