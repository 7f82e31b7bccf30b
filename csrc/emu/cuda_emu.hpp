// CUDA-on-CPU emulation: the kernels in csrc/ops/*/*_cuda.cu compile with g++ against this
// header (-DALPHACUT_EMU_COMPILE -include csrc/emu/cuda_emu.hpp) and run on the host.
//
// What is emulated, and how:
// - `__global__`, `__device__`, `__host__`, `__forceinline__`, `__launch_bounds__` are accepted.
// - threadIdx/blockIdx/blockDim/gridDim are per-host-thread variables set by the scheduler.
// - A block's threads run as cooperating fibers (ucontext) on one host thread, so
//   `__syncthreads()` is a real barrier: a thread that reaches it yields until every other
//   thread of the block has reached it. A barrier reached by only some threads (the others have
//   returned) is reported as a launch failure: on a GPU it is undefined behaviour.
// - Fast path: thread (0,0,0) of each block runs first in a fiber; if it finishes without a
//   barrier, the other threads run as plain calls (no context switches). If one of them then
//   reaches `__syncthreads()`, the barrier was divergent and the launch fails.
// - `__shared__` variables are `static thread_local`: one copy per host thread, and a host
//   thread runs one block at a time, so they are per block. Dynamic shared memory comes from
//   ALPHACUT_DYNAMIC_SHARED (a per-host-thread buffer of the launch's size).
// - Blocks run in parallel on host threads (alphacut::parallel_for), each block on one thread.
// - Device memory is host memory; cudaMalloc/cudaMemcpy/cudaMemcpy2D/streams are minimal
//   synchronous stand-ins. Launch configuration errors (too many threads, too much shared
//   memory, an empty grid) are reported through cudaGetLastError as on a device.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common/parallel.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define ALPHACUT_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALPHACUT_EMU_ASAN 1
#endif
#endif
#ifdef ALPHACUT_EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#ifndef ALPHACUT_EMU_COMPILE
#define ALPHACUT_EMU_COMPILE 1
#endif

// ---- qualifiers -------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __constant__ static

// ---- vector types and indices -----------------------------------------------------------------
struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

// ---- runtime API subset -----------------------------------------------------------------------
enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorLaunchFailure = 719,
    cudaErrorNoDevice = 100,
};
using cudaError = cudaError_t;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};
struct CUstream_st {
    int id;
};
using cudaStream_t = CUstream_st*;
constexpr unsigned int cudaStreamNonBlocking = 1;
constexpr unsigned int cudaHostAllocDefault = 0;

namespace alphacut_emu {

struct ErrorState {
    cudaError_t last = cudaSuccess;
    std::string detail;
};
inline ErrorState& error_state() {
    static thread_local ErrorState s;
    return s;
}
inline cudaError_t set_error(cudaError_t e, std::string detail) {
    error_state().last = e;
    error_state().detail = std::move(detail);
    return e;
}

}  // namespace alphacut_emu

inline const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
    }
    return "cudaErrorUnknown";
}

// The generic text as CUDA gives it, followed by what the emulator saw (per host thread).
inline const char* cudaGetErrorString(cudaError_t e) {
    static thread_local std::string s;
    switch (e) {
        case cudaSuccess: s = "no error"; break;
        case cudaErrorInvalidValue: s = "invalid argument"; break;
        case cudaErrorMemoryAllocation: s = "out of memory"; break;
        case cudaErrorInvalidConfiguration: s = "invalid configuration argument"; break;
        case cudaErrorLaunchFailure: s = "unspecified launch failure"; break;
        case cudaErrorNoDevice: s = "no CUDA-capable device is detected"; break;
        default: s = "unknown error"; break;
    }
    const auto& st = alphacut_emu::error_state();
    if (e != cudaSuccess && !st.detail.empty()) s += " (emu: " + st.detail + ")";
    return s.c_str();
}

inline cudaError_t cudaGetLastError() {
    auto& st = alphacut_emu::error_state();
    cudaError_t e = st.last;
    st.last = cudaSuccess;
    return e;
}
inline cudaError_t cudaPeekAtLastError() { return alphacut_emu::error_state().last; }

inline cudaError_t cudaGetDeviceCount(int* n) {
    *n = 1;  // the host
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

inline cudaError_t cudaMalloc(void** p, std::size_t bytes) {
    // 256-byte aligned like device allocations, so vectorised loads behave the same.
    *p = bytes == 0 ? nullptr : ::operator new(bytes, std::align_val_t(256), std::nothrow);
    if (bytes != 0 && *p == nullptr) return alphacut_emu::set_error(cudaErrorMemoryAllocation, "cudaMalloc");
    return cudaSuccess;
}
template <typename T>
inline cudaError_t cudaMalloc(T** p, std::size_t bytes) {
    void* v = nullptr;
    cudaError_t e = cudaMalloc(&v, bytes);
    *p = static_cast<T*>(v);
    return e;
}
inline cudaError_t cudaFree(void* p) {
    if (p) ::operator delete(p, std::align_val_t(256));
    return cudaSuccess;
}
inline cudaError_t cudaMallocHost(void** p, std::size_t bytes) { return cudaMalloc(p, bytes); }
template <typename T>
inline cudaError_t cudaMallocHost(T** p, std::size_t bytes) {
    return cudaMalloc(p, bytes);
}
inline cudaError_t cudaFreeHost(void* p) { return cudaFree(p); }

inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind) {
    if (bytes && (!dst || !src)) return alphacut_emu::set_error(cudaErrorInvalidValue, "cudaMemcpy: null pointer");
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind k,
                                   cudaStream_t = nullptr) {
    return cudaMemcpy(dst, src, bytes, k);
}
inline cudaError_t cudaMemcpy2D(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                                std::size_t height, cudaMemcpyKind) {
    if (width > dpitch || width > spitch)
        return alphacut_emu::set_error(cudaErrorInvalidValue, "cudaMemcpy2D: width larger than a pitch");
    for (std::size_t r = 0; r < height; ++r)
        std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpy2DAsync(void* dst, std::size_t dpitch, const void* src, std::size_t spitch,
                                     std::size_t width, std::size_t height, cudaMemcpyKind k, cudaStream_t = nullptr) {
    return cudaMemcpy2D(dst, dpitch, src, spitch, width, height, k);
}
inline cudaError_t cudaMemset(void* p, int v, std::size_t bytes) {
    std::memset(p, v, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* p, int v, std::size_t bytes, cudaStream_t = nullptr) {
    return cudaMemset(p, v, bytes);
}
inline cudaError_t cudaStreamCreate(cudaStream_t* s) {
    *s = new CUstream_st{1};
    return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int) { return cudaStreamCreate(s); }
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete s;
    return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

// ---- device intrinsics ------------------------------------------------------------------------
template <typename T>
inline T __ldg(const T* p) {
    return *p;
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
inline int __float2int_rn(float x) { return static_cast<int>(std::nearbyint(x)); }
inline int __float2int_rd(float x) { return static_cast<int>(std::floor(x)); }
using std::fmaxf;
using std::fminf;
using std::max;
using std::min;

// Atomics: blocks may run on different host threads, so these are real atomics.
template <typename T>
inline T atomicAdd(T* p, T v) {
    if constexpr (std::is_integral_v<T>) {
        return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    } else {
        T old;
        __atomic_load(p, &old, __ATOMIC_RELAXED);
        T desired = old + v;
        while (!__atomic_compare_exchange(p, &old, &desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            desired = old + v;
        return old;
    }
}
inline int atomicMax(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
inline int atomicMin(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old > v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
inline unsigned int atomicInc(unsigned int* p, unsigned int limit) {
    unsigned int old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(p, &old, old >= limit ? 0u : old + 1u, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
    return old;
}
inline int atomicCAS(int* p, int expected, int desired) {
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return expected;
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// ---- half precision ---------------------------------------------------------------------------
// IEEE binary16 with round-to-nearest-even, as __float2half does on a device.
struct __half {
    unsigned short x;
};
namespace alphacut_emu {
inline unsigned short float_to_half_bits(float f) {
    unsigned int u;
    std::memcpy(&u, &f, 4);
    const unsigned int sign = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    if (u >= 0x7f800000u) return static_cast<unsigned short>(sign | (u > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (u >= 0x477ff000u) return static_cast<unsigned short>(sign | 0x7c00u);  // overflow -> inf
    if (u < 0x38800000u) {                                                   // subnormal or zero
        if (u < 0x33000000u) return static_cast<unsigned short>(sign);
        const unsigned int e = u >> 23;
        const unsigned int m = (u & 0x7fffffu) | 0x800000u;
        const unsigned int shift = 126 - e;  // 14..24
        unsigned int h = m >> shift;
        const unsigned int rem = m & ((1u << shift) - 1);
        const unsigned int half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) ++h;
        return static_cast<unsigned short>(sign | h);
    }
    unsigned int h = ((u - 0x38000000u) >> 13);
    const unsigned int rem = u & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<unsigned short>(sign | h);
}
inline float half_bits_to_float(unsigned short h) {
    const unsigned int sign = (h & 0x8000u) << 16;
    unsigned int e = (h >> 10) & 0x1fu;
    unsigned int m = h & 0x3ffu;
    unsigned int u;
    if (e == 0) {
        if (m == 0) {
            u = sign;
        } else {
            e = 127 - 15 + 1;
            while (!(m & 0x400u)) {
                m <<= 1;
                --e;
            }
            u = sign | (e << 23) | ((m & 0x3ffu) << 13);
        }
    } else if (e == 31) {
        u = sign | 0x7f800000u | (m << 13);
    } else {
        u = sign | ((e + 127 - 15) << 23) | (m << 13);
    }
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
}  // namespace alphacut_emu
inline __half __float2half(float f) { return __half{alphacut_emu::float_to_half_bits(f)}; }
inline __half __float2half_rn(float f) { return __float2half(f); }
inline float __half2float(__half h) { return alphacut_emu::half_bits_to_float(h.x); }

// ---- the block scheduler ----------------------------------------------------------------------
namespace alphacut_emu {

constexpr unsigned int kMaxThreadsPerBlock = 1024;
constexpr std::size_t kMaxSharedPerBlock = 48 * 1024;
constexpr unsigned int kMaxGridYZ = 65535;
#ifdef ALPHACUT_EMU_ASAN
constexpr std::size_t kFiberStack = 256 * 1024;
#else
constexpr std::size_t kFiberStack = 64 * 1024;
#endif

// Raised inside a block when its threads disagree about a barrier; turned into a launch failure.
struct DivergentBarrier {
    std::string what;
};

struct Fiber {
    ucontext_t ctx;
    std::unique_ptr<unsigned char[]> stack;  // kFiberStack bytes, allocated on first use
    uint3 idx{0, 0, 0};
    bool done = false;
    bool waiting = false;
};

// Per-host-thread state of the block being run.
struct BlockState {
    std::vector<Fiber> fibers;
    ucontext_t scheduler;
    const std::function<void()>* body = nullptr;
    int current = -1;         // index of the running fiber, -1 when threads run as plain calls
    bool direct = false;      // the fast path: plain calls, so a barrier here is divergent
    std::exception_ptr error; // first exception thrown by a thread of this block
    std::vector<unsigned char> dynamic_shared;
    std::size_t barriers = 0;  // barriers passed in this block (for the harness tests)
#ifdef ALPHACUT_EMU_ASAN
    void* fake_stack = nullptr;
    const void* main_stack_bottom = nullptr;
    std::size_t main_stack_size = 0;
#endif
};
inline BlockState& block_state() {
    static thread_local BlockState s;
    return s;
}

inline void switch_to_fiber(BlockState& st, Fiber& f) {
#ifdef ALPHACUT_EMU_ASAN
    __sanitizer_start_switch_fiber(&st.fake_stack, f.stack.get(), kFiberStack);
#endif
    swapcontext(&st.scheduler, &f.ctx);
#ifdef ALPHACUT_EMU_ASAN
    __sanitizer_finish_switch_fiber(st.fake_stack, nullptr, nullptr);
#endif
}

inline void switch_to_scheduler(BlockState& st, Fiber& f, bool finishing) {
#ifdef ALPHACUT_EMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(finishing ? nullptr : &fake, st.main_stack_bottom, st.main_stack_size);
#endif
    swapcontext(&f.ctx, &st.scheduler);
#ifdef ALPHACUT_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, &st.main_stack_bottom, &st.main_stack_size);
#endif
}

inline void fiber_entry() {
    BlockState& st = block_state();
    Fiber& f = st.fibers[st.current];
#ifdef ALPHACUT_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &st.main_stack_bottom, &st.main_stack_size);
#endif
    try {
        (*st.body)();
    } catch (...) {
        if (!st.error) st.error = std::current_exception();
    }
    f.done = true;
    switch_to_scheduler(st, f, true);  // never resumed
}

inline void start_fiber(BlockState& st, int i, uint3 idx) {
    Fiber& f = st.fibers[i];
    if (!f.stack) f.stack.reset(new unsigned char[kFiberStack]);
    f.idx = idx;
    f.done = false;
    f.waiting = false;
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack.get();
    f.ctx.uc_stack.ss_size = kFiberStack;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fiber_entry, 0);
}

inline uint3 thread_index(unsigned int linear, dim3 b) {
    return uint3{linear % b.x, (linear / b.x) % b.y, linear / (b.x * b.y)};
}

// Runs every thread of the current block (blockIdx/blockDim set) to completion.
inline void run_block(BlockState& st, const std::function<void()>& body) {
    const unsigned int n = blockDim.x * blockDim.y * blockDim.z;
    st.body = &body;
    st.error = nullptr;
    if (st.fibers.size() < n) st.fibers.resize(n);

    // Thread 0 in a fiber: does this kernel use a barrier at all?
    start_fiber(st, 0, thread_index(0, blockDim));
    st.current = 0;
    threadIdx = st.fibers[0].idx;
    switch_to_fiber(st, st.fibers[0]);
    if (st.fibers[0].done) {
        // No barrier reached by thread 0: the others cannot legally reach one either.
        st.current = -1;
        st.direct = true;
        for (unsigned int t = 1; t < n && !st.error; ++t) {
            threadIdx = thread_index(t, blockDim);
            try {
                body();
            } catch (...) {
                st.error = std::current_exception();
            }
        }
        st.direct = false;
    } else {
        for (unsigned int t = 1; t < n; ++t) start_fiber(st, static_cast<int>(t), thread_index(t, blockDim));
        for (unsigned int t = 1; t < n; ++t) {  // first phase for threads 1..n-1
            st.current = static_cast<int>(t);
            threadIdx = st.fibers[t].idx;
            switch_to_fiber(st, st.fibers[t]);
        }
        for (;;) {
            unsigned int waiting = 0, done = 0;
            for (unsigned int t = 0; t < n; ++t) {
                waiting += st.fibers[t].waiting;
                done += st.fibers[t].done;
            }
            if (waiting == 0) break;
            if (done != 0 && !st.error)
                st.error = std::make_exception_ptr(DivergentBarrier{
                    "__syncthreads() reached by " + std::to_string(waiting) + " of " + std::to_string(n) +
                    " threads of block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) + "," +
                    std::to_string(blockIdx.z) + "); the others had returned"});
            if (st.error) break;  // the waiting fibers are abandoned; their stacks are reused
            ++st.barriers;
            for (unsigned int t = 0; t < n; ++t) {
                if (!st.fibers[t].waiting) continue;
                st.fibers[t].waiting = false;
                st.current = static_cast<int>(t);
                threadIdx = st.fibers[t].idx;
                switch_to_fiber(st, st.fibers[t]);
            }
        }
        st.current = -1;
    }
    st.body = nullptr;
}

inline void syncthreads() {
    BlockState& st = block_state();
    if (st.current < 0) {
        if (st.direct)
            throw DivergentBarrier{"__syncthreads() reached by thread (" + std::to_string(threadIdx.x) + "," +
                                   std::to_string(threadIdx.y) + "," + std::to_string(threadIdx.z) +
                                   ") but thread (0,0,0) of its block returned without reaching it"};
        return;  // called outside a launch: nothing to wait for
    }
    Fiber& f = st.fibers[st.current];
    f.waiting = true;
    switch_to_scheduler(st, f, false);
}

inline void* dynamic_shared() { return block_state().dynamic_shared.data(); }

// Statistics of the last launch on this host thread (for the harness tests).
struct LaunchStats {
    std::size_t blocks = 0;
    std::size_t barriers = 0;
};
inline LaunchStats& last_launch_stats() {
    static LaunchStats s;
    return s;
}

inline cudaError_t run_grid(const char* name, dim3 grid, dim3 block, std::size_t smem,
                            const std::function<void()>& body) {
    const unsigned long long threads = 1ull * block.x * block.y * block.z;
    const std::string kname = name ? name : "kernel";
    if (threads == 0 || threads > kMaxThreadsPerBlock || block.z > 64)
        return set_error(cudaErrorInvalidConfiguration, kname + ": block of " + std::to_string(block.x) + "x" +
                                                            std::to_string(block.y) + "x" + std::to_string(block.z) +
                                                            " threads (1..1024 allowed)");
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > kMaxGridYZ || grid.z > kMaxGridYZ || grid.x > 0x7fffffffu)
        return set_error(cudaErrorInvalidConfiguration, kname + ": grid of " + std::to_string(grid.x) + "x" +
                                                            std::to_string(grid.y) + "x" + std::to_string(grid.z) +
                                                            " blocks");
    if (smem > kMaxSharedPerBlock)
        return set_error(cudaErrorInvalidValue,
                         kname + ": " + std::to_string(smem) + " bytes of dynamic shared memory (48 KiB allowed)");
    const long long nblocks = 1ll * grid.x * grid.y * grid.z;
    std::atomic<std::size_t> barriers{0};
    std::string failure;
    try {
        // Blocks in parallel on host threads; each host thread runs its blocks one by one.
        const int chunks = static_cast<int>(std::min<long long>(nblocks, 1 << 20));
        alphacut::parallel_for(0, chunks, [&](int c0, int c1) {
            BlockState& st = block_state();
            st.dynamic_shared.assign(smem, 0xA5);  // shared memory starts as garbage
            st.barriers = 0;
            gridDim = grid;
            blockDim = block;
            const long long lo = nblocks * c0 / chunks, hi = nblocks * c1 / chunks;
            for (long long b = lo; b < hi; ++b) {
                blockIdx =
                    uint3{static_cast<unsigned int>(b % grid.x), static_cast<unsigned int>((b / grid.x) % grid.y),
                          static_cast<unsigned int>(b / (1ll * grid.x * grid.y))};
                run_block(st, body);
                if (st.error) std::rethrow_exception(st.error);
            }
            barriers += st.barriers;
        }, 1);
    } catch (const DivergentBarrier& e) {
        return set_error(cudaErrorLaunchFailure, kname + ": " + e.what);
    } catch (const std::exception& e) {
        return set_error(cudaErrorLaunchFailure, kname + ": " + e.what());
    }
    last_launch_stats().blocks = static_cast<std::size_t>(nblocks);
    last_launch_stats().barriers = barriers.load();
    return cudaSuccess;
}

// kernel<<<grid, block, smem, stream>>>(args...): arguments are converted to the kernel's
// parameter types once, as the CUDA runtime copies them, and every thread gets the same values.
template <typename... KArgs, typename... Args>
inline void launch(const char* name, void (*kernel)(KArgs...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t,
                   Args&&... args) {
    static_assert(sizeof...(KArgs) == sizeof...(Args), "wrong number of kernel arguments");
    std::tuple<std::decay_t<KArgs>...> params(std::forward<Args>(args)...);
    const std::function<void()> body = [&]() { std::apply(kernel, params); };
    run_grid(name, grid, block, smem, body);
}

}  // namespace alphacut_emu

inline void __syncthreads() { alphacut_emu::syncthreads(); }

#define ALPHACUT_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(::alphacut_emu::dynamic_shared())
#define ALPHACUT_LAUNCH(kernel, grid, block, smem, stream, ...) \
    ::alphacut_emu::launch(#kernel, kernel, grid, block, smem, stream, __VA_ARGS__)
