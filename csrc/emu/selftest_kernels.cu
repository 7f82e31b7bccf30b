#include "selftest_kernels.hpp"

namespace alphacut::ALPHACUT_GPU_NS::selftest {

namespace {

__global__ void coverage_kernel(int* counts, int* mismatches) {
    const unsigned int nx = gridDim.x * blockDim.x, ny = gridDim.y * blockDim.y;
    const unsigned int x = blockIdx.x * blockDim.x + threadIdx.x;
    const unsigned int y = blockIdx.y * blockDim.y + threadIdx.y;
    const unsigned int z = blockIdx.z * blockDim.z + threadIdx.z;
    if (threadIdx.x >= blockDim.x || threadIdx.y >= blockDim.y || threadIdx.z >= blockDim.z ||
        blockIdx.x >= gridDim.x || blockIdx.y >= gridDim.y || blockIdx.z >= gridDim.z)
        atomicAdd(mismatches, 1);
    atomicAdd(&counts[(static_cast<long long>(z) * ny + y) * nx + x], 1);
}

constexpr int kMaxReverse = 1024;

__global__ void reverse_static_kernel(int* data) {
    ALPHACUT_SHARED(int, tile, [kMaxReverse]);
    const int t = threadIdx.x, n = blockDim.x;
    int* slice = data + static_cast<long long>(blockIdx.x) * n;
    tile[t] = slice[t];
    __syncthreads();
    slice[t] = tile[n - 1 - t];
}

__global__ void reverse_dynamic_kernel(int* data) {
    ALPHACUT_DYNAMIC_SHARED(int, tile);
    const int t = threadIdx.x, n = blockDim.x;
    int* slice = data + static_cast<long long>(blockIdx.x) * n;
    tile[t] = slice[t];
    __syncthreads();
    slice[t] = tile[n - 1 - t];
}

__global__ void barrier_rounds_kernel(int rounds, int* failures) {
    ALPHACUT_SHARED_SCALAR(int, counter);
    ALPHACUT_SHARED_SCALAR(int, tag);
    const int n = blockDim.x;
    if (threadIdx.x == 0) {
        counter = 0;
        tag = static_cast<int>(blockIdx.x);
    }
    __syncthreads();
    for (int r = 0; r < rounds; ++r) {
        atomicAdd(&counter, 1);
        __syncthreads();
        if (counter != (r + 1) * n) atomicAdd(failures, 1);
        if (tag != static_cast<int>(blockIdx.x)) atomicAdd(failures, 1);
        __syncthreads();
    }
}

__global__ void divergent_kernel(int* out) {
    ALPHACUT_SHARED_SCALAR(int, v);
    if (threadIdx.x % 2 == 1) return;
    if (threadIdx.x == 0) v = 7;
    __syncthreads();
    out[threadIdx.x] = v;
}

__global__ void plain_kernel(int* out) { out[threadIdx.x] = static_cast<int>(threadIdx.x); }

// Reads dynamic shared memory no thread wrote (a bug the emulation must make visible).
__global__ void uninit_shared_kernel(float* out) {
    ALPHACUT_DYNAMIC_SHARED(float, raw);  // (one name per type: nvcc aliases them all)
    out[blockIdx.x * blockDim.x + threadIdx.x] = raw[threadIdx.x];
    __syncthreads();
    raw[threadIdx.x] = 1.0f;  // what a previous block left must not be seen by the next
}

__global__ void copy_kernel(const float* in, float* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = in[i];
}

__global__ void arrival_kernel(int* counter, int* out) {
    __syncthreads();
    out[threadIdx.x] = atomicAdd(counter, 1);
}

// Both halves of the block reach "a" barrier, but not the same one.
__global__ void split_barrier_kernel(int* out) {
    ALPHACUT_SHARED_SCALAR(int, lo);
    ALPHACUT_SHARED_SCALAR(int, hi);
    if (threadIdx.x < blockDim.x / 2) {
        if (threadIdx.x == 0) lo = 1;
        __syncthreads();
        out[threadIdx.x] = lo;
    } else {
        if (threadIdx.x == blockDim.x / 2) hi = 2;
        __syncthreads();
        out[threadIdx.x] = hi * 3 + static_cast<int>(threadIdx.x);
    }
}

__global__ void probe_kernel(int* out) { *out = 0x600d; }

// out[block] = the sum of the block's slice of `in` (blockDim.x a power of two), a tree in static
// shared memory. Synced = false leaves out the barrier between the tree's levels: a race (a
// thread adds a partial sum its neighbour may not have written yet, or has already overwritten)
// that the emulation reports, whatever order the threads run in.
template <bool Synced, typename S>
__device__ void tree_sum(S partial, const float* in, float* out) {
    const int t = threadIdx.x;
    partial[t] = in[static_cast<long long>(blockIdx.x) * blockDim.x + t];
    __syncthreads();
    for (int s = static_cast<int>(blockDim.x) / 2; s > 0; s /= 2) {
        if (t < s) partial[t] += partial[t + s];
        if (Synced) __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = partial[0];
}

template <bool Synced>
__global__ void reduce_kernel(const float* in, float* out) {
    ALPHACUT_SHARED(float, partial, [kMaxReverse]);
    tree_sum<Synced>(partial, in, out);
}

template <bool Synced>
__global__ void reduce_dynamic_kernel(const float* in, float* out) {
    ALPHACUT_DYNAMIC_SHARED(float, tree);
    tree_sum<Synced>(tree, in, out);
}

// Every thread stores its index into one shared int, then (after a barrier) reads it: the
// stores race with each other (which one lands is undefined on a device).
__global__ void racy_flag_kernel(int* out) {
    ALPHACUT_SHARED_SCALAR(int, flag);
    flag = static_cast<int>(threadIdx.x);
    __syncthreads();
    out[threadIdx.x] = flag;
}

// Reads static shared memory no thread wrote, then writes it (the next block must not see that).
__global__ void uninit_static_shared_kernel(float* out) {
    ALPHACUT_SHARED(float, raw, [kMaxReverse]);
    out[blockIdx.x * blockDim.x + threadIdx.x] = raw[threadIdx.x];
    __syncthreads();
    raw[threadIdx.x] = 1.0f;
}

// Thread t writes tile[t + offset]: past the array's end for the last threads when offset > 0.
__global__ void shared_index_kernel(int offset, int* out) {
    ALPHACUT_SHARED(int, tile, [64]);
    tile[threadIdx.x + offset] = 1;
    __syncthreads();
    out[threadIdx.x] = tile[threadIdx.x];
}

}  // namespace

void grid_coverage(dim3 grid, dim3 block, int* counts, int* mismatches, cudaStream_t stream) {
    ALPHACUT_LAUNCH(coverage_kernel, grid, block, 0, stream, counts, mismatches);
    ALPHACUT_CHECK_LAUNCH("coverage_kernel");
}

void block_reverse(int* data, int blocks, int threads, bool dynamic_shared, cudaStream_t stream) {
    ALPHACUT_CHECK(threads >= 1 && threads <= kMaxReverse, "threads must be in 1..1024");
    if (dynamic_shared) {
        ALPHACUT_LAUNCH(reverse_dynamic_kernel, dim3(blocks), dim3(threads), threads * sizeof(int), stream, data);
        ALPHACUT_CHECK_LAUNCH("reverse_dynamic_kernel");
    } else {
        ALPHACUT_LAUNCH(reverse_static_kernel, dim3(blocks), dim3(threads), 0, stream, data);
        ALPHACUT_CHECK_LAUNCH("reverse_static_kernel");
    }
}

void barrier_rounds(int blocks, int threads, int rounds, int* failures, cudaStream_t stream) {
    ALPHACUT_LAUNCH(barrier_rounds_kernel, dim3(blocks), dim3(threads), 0, stream, rounds, failures);
    ALPHACUT_CHECK_LAUNCH("barrier_rounds_kernel");
}

void divergent_barrier(int threads, int* out, cudaStream_t stream) {
    ALPHACUT_LAUNCH(divergent_kernel, dim3(1), dim3(threads), 0, stream, out);
    ALPHACUT_CHECK_LAUNCH("divergent_kernel");
}

void launch_with_threads(int threads, int* out, cudaStream_t stream) {
    ALPHACUT_LAUNCH(plain_kernel, dim3(1), dim3(threads), 0, stream, out);
    ALPHACUT_CHECK_LAUNCH("plain_kernel");
}

void uninit_shared(int blocks, int threads, float* out, cudaStream_t stream) {
    ALPHACUT_LAUNCH(uninit_shared_kernel, dim3(blocks), dim3(threads), threads * sizeof(float), stream, out);
    ALPHACUT_CHECK_LAUNCH("uninit_shared_kernel");
}

void block_reduce(const float* in, float* out, int blocks, int threads, bool synced, bool dynamic_shared,
                  cudaStream_t stream) {
    ALPHACUT_CHECK(threads >= 1 && threads <= kMaxReverse && (threads & (threads - 1)) == 0,
                   "threads must be a power of two in 1..1024");
    const std::size_t smem = threads * sizeof(float);
    if (dynamic_shared && synced) {
        ALPHACUT_LAUNCH(reduce_dynamic_kernel<true>, dim3(blocks), dim3(threads), smem, stream, in, out);
        ALPHACUT_CHECK_LAUNCH("reduce_dynamic_kernel<true>");
    } else if (dynamic_shared) {
        ALPHACUT_LAUNCH(reduce_dynamic_kernel<false>, dim3(blocks), dim3(threads), smem, stream, in, out);
        ALPHACUT_CHECK_LAUNCH("reduce_dynamic_kernel<false>");
    } else if (synced) {
        ALPHACUT_LAUNCH(reduce_kernel<true>, dim3(blocks), dim3(threads), 0, stream, in, out);
        ALPHACUT_CHECK_LAUNCH("reduce_kernel<true>");
    } else {
        ALPHACUT_LAUNCH(reduce_kernel<false>, dim3(blocks), dim3(threads), 0, stream, in, out);
        ALPHACUT_CHECK_LAUNCH("reduce_kernel<false>");
    }
}

void racy_flag(int threads, int* out, cudaStream_t stream) {
    ALPHACUT_LAUNCH(racy_flag_kernel, dim3(1), dim3(threads), 0, stream, out);
    ALPHACUT_CHECK_LAUNCH("racy_flag_kernel");
}

void uninit_static_shared(int blocks, int threads, float* out, cudaStream_t stream) {
    ALPHACUT_CHECK(threads >= 1 && threads <= kMaxReverse, "threads must be in 1..1024");
    ALPHACUT_LAUNCH(uninit_static_shared_kernel, dim3(blocks), dim3(threads), 0, stream, out);
    ALPHACUT_CHECK_LAUNCH("uninit_static_shared_kernel");
}

void shared_index(int threads, int offset, int* out, cudaStream_t stream) {
    ALPHACUT_LAUNCH(shared_index_kernel, dim3(1), dim3(threads), 0, stream, offset, out);
    ALPHACUT_CHECK_LAUNCH("shared_index_kernel");
}

void copy(const float* in, float* out, int n, cudaStream_t stream) {
    ALPHACUT_LAUNCH(copy_kernel, dim3(div_up(n, 128)), dim3(128), 0, stream, in, out, n);
    ALPHACUT_CHECK_LAUNCH("copy_kernel");
}

void arrival_order(int threads, int* counter, int* out, cudaStream_t stream) {
    ALPHACUT_LAUNCH(arrival_kernel, dim3(1), dim3(threads), 0, stream, counter, out);
    ALPHACUT_CHECK_LAUNCH("arrival_kernel");
}

void split_barrier(int threads, int* out, cudaStream_t stream) {
    ALPHACUT_LAUNCH(split_barrier_kernel, dim3(1), dim3(threads), 0, stream, out);
    ALPHACUT_CHECK_LAUNCH("split_barrier_kernel");
}

std::string probe() {
    int* d = nullptr;
    cudaError_t err = cudaMalloc(reinterpret_cast<void**>(&d), sizeof(int));
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        return std::string("cudaMalloc failed: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
    }
    ALPHACUT_LAUNCH(probe_kernel, dim3(1), dim3(1), 0, nullptr, d);
    err = cudaGetLastError();
    if (err == cudaSuccess) err = cudaDeviceSynchronize();
    int v = 0;
    if (err == cudaSuccess) err = cudaMemcpy(&v, d, sizeof(int), cudaMemcpyDeviceToHost);
    cudaFree(d);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        return std::string("a test kernel did not run: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
    }
    if (v != 0x600d) return "a test kernel ran but did not write its result";
    return "";
}

}  // namespace alphacut::ALPHACUT_GPU_NS::selftest
