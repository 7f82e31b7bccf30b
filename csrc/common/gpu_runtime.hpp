// What every CUDA kernel file and every CUDA binding includes: the CUDA runtime (or its CPU
// emulation, csrc/emu/cuda_emu.hpp), the launch macro, error checks and RAII owners of device
// memory, pinned host memory and streams.
//
// The same sources build twice: by nvcc into namespace alphacut::cu (entry points <op>_cuda)
// and by g++ with -DALPHACUT_EMU_COMPILE into namespace alphacut::emu (entry points <op>_emu),
// so both can live in one _core module.
#pragma once

#include <atomic>
#include <cstddef>
#include <sstream>
#include <string>
#include <utility>

#include "error.hpp"
#include "image_view.hpp"

#if defined(ALPHACUT_EMU_COMPILE)
#include "../emu/cuda_emu.hpp"
#define ALPHACUT_GPU_NS emu
#define ALPHACUT_GPU_SUFFIX "_emu"
#define ALPHACUT_GPU_NAME "emu"
#else
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#define ALPHACUT_GPU_NS cu
#define ALPHACUT_GPU_SUFFIX "_cuda"
#define ALPHACUT_GPU_NAME "cuda"
#ifndef ALPHACUT_DYNAMIC_SHARED
#define ALPHACUT_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif
// Static shared memory (the emulation gives each block a fresh, poisoned, race-checked copy):
// ALPHACUT_SHARED(double, sh, [256]); ALPHACUT_SHARED_SCALAR(int, counter);
#ifndef ALPHACUT_SHARED
#define ALPHACUT_SHARED(type, name, ...) __shared__ type name __VA_ARGS__
#define ALPHACUT_SHARED_SCALAR(type, name) __shared__ type name
#define ALPHACUT_SHARED_RAW(x) (x)
#endif
#ifndef ALPHACUT_LAUNCH
#define ALPHACUT_LAUNCH(kernel, grid, block, smem, stream, ...) kernel<<<grid, block, smem, stream>>>(__VA_ARGS__)
#endif
#endif

namespace alphacut::detail {

// Out of memory or no usable device are things a user can act on; anything else is a bug.
[[noreturn]] inline void throw_cuda(cudaError_t err, const char* what, const char* file, int line) {
    // A failed runtime call is also the thread's "last error": reset it (unless it is sticky), or
    // the next ALPHACUT_CHECK_LAUNCH, in this call or a later one, reports it again.
    (void)cudaGetLastError();
    std::ostringstream os;
    os << ALPHACUT_GPU_NAME << ": " << what << " failed: " << cudaGetErrorName(err) << ": " << cudaGetErrorString(err);
    if (err == cudaErrorMemoryAllocation || err == cudaErrorNoDevice) throw_at<Error>(file, line, os.str());
    throw_at<InternalError>(file, line, os.str());
}

}  // namespace alphacut::detail

// Check a runtime call: ALPHACUT_CUDA_CHECK(cudaMemcpy(...)).
#define ALPHACUT_CUDA_CHECK(expr)                                                                                   \
    do {                                                                                                            \
        cudaError_t alphacut_err_ = (expr);                                                                         \
        if (alphacut_err_ != cudaSuccess) ::alphacut::detail::throw_cuda(alphacut_err_, #expr, __FILE__, __LINE__); \
    } while (0)

// Check the launch just made (configuration errors, and on a device asynchronous faults that
// an earlier launch left behind).
#define ALPHACUT_CHECK_LAUNCH(kernel_name)                                                               \
    do {                                                                                                 \
        cudaError_t alphacut_err_ = cudaGetLastError();                                                  \
        if (alphacut_err_ != cudaSuccess)                                                                \
            ::alphacut::detail::throw_cuda(alphacut_err_, "launch of " kernel_name, __FILE__, __LINE__); \
    } while (0)

namespace alphacut::ALPHACUT_GPU_NS {

// Whether the current device has the stream-ordered allocator (cudaMallocAsync/cudaFreeAsync:
// CUDA 11.2+ and a device and driver that report cudaDevAttrMemoryPoolsSupported).
inline bool memory_pools_supported() {
    int dev = 0, pools = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
    }
    return pools != 0;
}

// Owns `count` elements of device memory. Given a stream, the memory is allocated and freed in
// that stream's order (cudaMallocAsync/cudaFreeAsync), so freeing it never waits for, nor races,
// the work queued on the stream; where the device has no memory pools it is cudaMalloc'd and the
// free first waits for the stream. Without a stream: cudaMalloc/cudaFree (memory whose lifetime
// no stream bounds, e.g. results handed to Python).
template <typename T>
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t count) : count_(count) {
        if (count) ALPHACUT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
    }
    DeviceBuffer(std::size_t count, cudaStream_t stream) : count_(count), stream_(stream), ordered_(true) {
        if (!count) return;
        pooled_ = memory_pools_supported();
        if (pooled_)
            ALPHACUT_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&ptr_), count * sizeof(T), stream));
        else
            ALPHACUT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
    }
    ~DeviceBuffer() { release(); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& o) noexcept
        : ptr_(std::exchange(o.ptr_, nullptr)),
          count_(std::exchange(o.count_, 0)),
          stream_(o.stream_),
          ordered_(o.ordered_),
          pooled_(o.pooled_) {}
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        if (this != &o) {
            release();
            ptr_ = std::exchange(o.ptr_, nullptr);
            count_ = std::exchange(o.count_, 0);
            stream_ = o.stream_;
            ordered_ = o.ordered_;
            pooled_ = o.pooled_;
        }
        return *this;
    }
    T* get() const { return ptr_; }
    std::size_t size() const { return count_; }
    std::size_t bytes() const { return count_ * sizeof(T); }

private:
    void release() noexcept {
        if (!ptr_) return;
        if (ordered_ && pooled_) {
            cudaFreeAsync(ptr_, stream_);
        } else {
            if (ordered_) cudaStreamSynchronize(stream_);
            cudaFree(ptr_);
        }
        ptr_ = nullptr;
    }
    T* ptr_ = nullptr;
    std::size_t count_ = 0;
    cudaStream_t stream_ = nullptr;
    bool ordered_ = false;
    bool pooled_ = false;
};

// Page-locked host memory, so transfers can be asynchronous and run at full PCIe speed.
template <typename T>
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    explicit PinnedBuffer(std::size_t count) : count_(count) {
        if (count) ALPHACUT_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
    }
    ~PinnedBuffer() {
        if (ptr_) cudaFreeHost(ptr_);
    }
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    PinnedBuffer(PinnedBuffer&& o) noexcept
        : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
    T* get() const { return ptr_; }
    std::size_t size() const { return count_; }

private:
    T* ptr_ = nullptr;
    std::size_t count_ = 0;
};

// A blocking stream (it waits for the legacy default stream's earlier work, as uploads made
// there with cudaMemcpy and arrays a library produced on the default stream need), destroyed
// with its owner.
class Stream {
public:
    Stream() { ALPHACUT_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamDefault)); }
    ~Stream() {
        if (s_) cudaStreamDestroy(s_);
    }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    cudaStream_t get() const { return s_; }
    void synchronize() const { ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(s_)); }

private:
    cudaStream_t s_ = nullptr;
};

// A device image with packed rows, owning its memory.
template <typename T>
struct DeviceImage {
    DeviceBuffer<T> buffer;
    ImageView<T> view;
};

// A new packed device image; given a stream, allocated and freed in its order.
template <typename T>
DeviceImage<T> alloc_image(int h, int w, int c, cudaStream_t stream = nullptr, bool ordered = false) {
    DeviceImage<T> d;
    const std::size_t n = static_cast<std::size_t>(h) * w * c;
    d.buffer = ordered ? DeviceBuffer<T>(n, stream) : DeviceBuffer<T>(n);
    d.view = make_view<T>(d.buffer.get(), h, w, c);
    return d;
}

// Host <-> device copies of arrays made by the bindings (uploads of NumPy inputs, downloads of
// results, to_device / DeviceArray.get), counted per backend so tests can assert that a chain
// of ops on device arrays moves the image across once each way. Scalars a kernel reads back
// (e.g. a residual) are not counted.
struct TransferStats {
    std::atomic<long long> uploads{0}, upload_bytes{0}, downloads{0}, download_bytes{0};
};
inline TransferStats& transfer_stats() {
    static TransferStats s;
    return s;
}
inline void count_upload(std::size_t bytes) {
    transfer_stats().uploads.fetch_add(1, std::memory_order_relaxed);
    transfer_stats().upload_bytes.fetch_add(static_cast<long long>(bytes), std::memory_order_relaxed);
}
inline void count_download(std::size_t bytes) {
    transfer_stats().downloads.fetch_add(1, std::memory_order_relaxed);
    transfer_stats().download_bytes.fetch_add(static_cast<long long>(bytes), std::memory_order_relaxed);
}

// Copy a (row-strided) host image into a new packed device image. Rows closer together than a
// row's bytes (a stride of 0 from np.broadcast_to, or overlapping rows) are not a pitch
// cudaMemcpy2D accepts: those are copied row by row.
template <typename T>
DeviceImage<T> upload(ImageView<const T> host, cudaStream_t stream) {
    auto d = alloc_image<T>(host.height, host.width, host.channels, stream, true);
    const std::size_t row_bytes = static_cast<std::size_t>(host.width) * host.channels * sizeof(T);
    count_upload(row_bytes * host.height);
    if (host.height > 1 && (host.row_stride < 0 || static_cast<std::size_t>(host.row_stride) * sizeof(T) < row_bytes)) {
        for (int y = 0; y < host.height; ++y)
            ALPHACUT_CUDA_CHECK(cudaMemcpyAsync(d.view.row(y), host.row(y), row_bytes, cudaMemcpyHostToDevice, stream));
        return d;
    }
    ALPHACUT_CUDA_CHECK(cudaMemcpy2DAsync(d.view.data, row_bytes, host.data, host.row_stride * sizeof(T), row_bytes,
                                          host.height, cudaMemcpyHostToDevice, stream));
    return d;
}

// Copy a device image into a (row-strided) host image of the same shape.
template <typename T>
void download(ImageView<const T> dev, ImageView<T> host, cudaStream_t stream) {
    const std::size_t row_bytes = static_cast<std::size_t>(dev.width) * dev.channels * sizeof(T);
    count_download(row_bytes * dev.height);
    ALPHACUT_CUDA_CHECK(cudaMemcpy2DAsync(host.data, host.row_stride * sizeof(T), dev.data, dev.row_stride * sizeof(T),
                                          row_bytes, dev.height, cudaMemcpyDeviceToHost, stream));
}

inline unsigned int div_up(long long n, unsigned int d) { return static_cast<unsigned int>((n + d - 1) / d); }

// CUDA's launch limits: gridDim.x <= 2^31 - 1, gridDim.y and gridDim.z <= 65,535, at most 1024
// threads per block (csrc/emu/cuda_emu.hpp enforces the same).
constexpr unsigned int kMaxGridY = 65535;

// A grid of bx x by blocks whose rows of blocks may pass gridDim.y's limit (a block row per few
// image rows: 65,535 of them is only 262k-524k rows): rows beyond the limit fold into gridDim.z,
// and a kernel reads its row of blocks with block_row(). Folding adds at most gridDim.z - 1
// block rows past `by`, which a kernel's bounds check skips.
inline dim3 folded_grid(unsigned int bx, long long by) {
    if (by <= kMaxGridY) return dim3(bx, static_cast<unsigned int>(by < 1 ? 1 : by), 1);
    const unsigned int z = div_up(by, kMaxGridY);
    return dim3(bx, div_up(by, z), z);
}

// The usual 2-D launch shape for per-pixel kernels: 32 x 8 threads, one per pixel (pixel_row and
// pixel_col give the pixel).
inline dim3 pixel_block() { return dim3(32, 8, 1); }
inline dim3 pixel_grid(int h, int w) { return folded_grid(div_up(w, 32), div_up(h, 8)); }

#if defined(__CUDACC__) || defined(ALPHACUT_EMU_COMPILE)
// The row of blocks of this block in a folded_grid / pixel_grid launch.
__device__ __forceinline__ long long block_row() { return static_cast<long long>(blockIdx.z) * gridDim.y + blockIdx.y; }
// This thread's image row / column in a pixel_grid launch, or h / w past the last one (so the
// kernels' `y >= h` tests hold without int overflow on the folded rows).
__device__ __forceinline__ int pixel_row(int h) {
    const long long y = block_row() * blockDim.y + threadIdx.y;
    return y < h ? static_cast<int>(y) : h;
}
__device__ __forceinline__ int pixel_col(int w) {
    const long long x = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    return x < w ? static_cast<int>(x) : w;
}
#endif

}  // namespace alphacut::ALPHACUT_GPU_NS
