// Network-input preprocessing kernel: one thread per output pixel computes the bilinear sample
// of the three channels, normalises them and writes three planes (NCHW) as float32 or float16.
//
// Bytes moved: writes 3 * 4 (fp32) or 3 * 2 (fp16) bytes per output pixel; reads the source
// rows it samples (2 source rows per output row when downscaling, 3 bytes a pixel). Typical
// case 12 MP RGB -> 320 x 320 fp32: write 1.2 MB, read <= 640 rows * 12 kB = 7.7 MB
// -> ~9 MB, floor ~3 us on an H100 (~3 TB/s); in practice launch-bound (~5 us).
// Same-size 12 MP -> 12 MP fp32: read 36 MB + write 144 MB = 180 MB -> 0.06 ms.
#include "preprocess_cuda.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace {

template <typename Out>
__global__ void preprocess_kernel(ImageView<const std::uint8_t> image, int out_h, int out_w, PreprocessParams p,
                                  Out* out) {
    const int x = pixel_col(out_w);
    const int y = pixel_row(out_h);
    if (x >= out_w || y >= out_h) return;
    const BilinearTap ty = bilinear_tap(y, out_h, image.height);
    const BilinearTap tx = bilinear_tap(x, out_w, image.width);
    float v[3];
    preprocess_pixel(image.data, image.row_stride, image.channels, ty, tx, p, v);
    const long long plane = static_cast<long long>(out_h) * out_w;
    const long long i = static_cast<long long>(y) * out_w + x;
    for (int c = 0; c < 3; ++c) {
        if constexpr (sizeof(Out) == 2)
            out[c * plane + i] = float_to_half_bits(v[c]);
        else
            out[c * plane + i] = v[c];
    }
}

}  // namespace

void preprocess(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& params, float* out,
                cudaStream_t stream) {
    check_preprocess_args(image, out_h, out_w, params);
    auto kernel = preprocess_kernel<float>;
    ALPHACUT_LAUNCH(kernel, pixel_grid(out_h, out_w), pixel_block(), 0, stream, image, out_h, out_w, params, out);
    ALPHACUT_CHECK_LAUNCH("preprocess_kernel<float>");
}

void preprocess_fp16(ImageView<const std::uint8_t> image, int out_h, int out_w, const PreprocessParams& params,
                     std::uint16_t* out, cudaStream_t stream) {
    check_preprocess_args(image, out_h, out_w, params);
    auto kernel = preprocess_kernel<std::uint16_t>;
    ALPHACUT_LAUNCH(kernel, pixel_grid(out_h, out_w), pixel_block(), 0, stream, image, out_h, out_w, params, out);
    ALPHACUT_CHECK_LAUNCH("preprocess_kernel<half>");
}

}  // namespace alphacut::ALPHACUT_GPU_NS
