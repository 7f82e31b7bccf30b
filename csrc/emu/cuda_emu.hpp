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
// - Shared memory is declared with ALPHACUT_SHARED(type, name, [dims]) /
//   ALPHACUT_SHARED_SCALAR(type, name) (static) and ALPHACUT_DYNAMIC_SHARED(type, name); a raw
//   `__shared__` does not compile here. Every block gets fresh shared memory, 0xFF bytes (NaN as
//   float, -1 as int) at its start, static and dynamic alike (at most 48 KiB together), so a
//   kernel that reads shared memory before writing it reads NaN, never the previous block's data.
// - The declarations return checked handles: an index outside the declared array is a launch
//   failure, and so is a race: two different threads of a block touching one element between
//   the same two __syncthreads() (or the block's start), at least one of them writing, whatever
//   order the threads ran in (read-write, write-write; atomics race with plain accesses, not with
//   each other). The report names the kernel, the variable and index, the block, both threads
//   and the barrier the interval began at. On by default; ALPHACUT_EMU_RACECHECK=0 or
//   _emu_configure(racecheck=False) turns the race check off (bounds stay checked).
//   Not modelled: warp-synchronous code (no __shfl / __syncwarp here: threads of a warp do not
//   run in lockstep, so code relying on it is reported as racing), races through a plain pointer
//   taken with ALPHACUT_SHARED_RAW, and one element viewed through two types (compared per
//   element as declared). Races on global memory are not checked.
// - Blocks run in parallel on host threads (alphacut::parallel_for), each block on one thread.
//   With a seed (_emu_configure) blocks run in a shuffled order, and a block's threads start and
//   resume from each barrier in shuffled orders. Threads waiting at different __syncthreads()
//   (file:line) are reported as a barrier-site mismatch.
// - Device memory is host memory. Streams are queues run when waited for; see "the emulated
//   device" below for the legacy/blocking/non-blocking rules, pageable copies that land late,
//   poisoned allocations and frees, use after free, and devices. Launch configuration errors
//   (too many threads, too much shared memory, an empty grid) are reported through
//   cudaGetLastError as on a device; failures while a kernel runs, by the wait that ran it.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <set>
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
// Static shared memory is declared with ALPHACUT_SHARED / ALPHACUT_SHARED_SCALAR (below and in
// csrc/common/gpu_runtime.hpp for nvcc): a raw `__shared__` in emulated code does not compile.
// clang-format off
#define __shared__ static_assert(false, "declare shared memory with ALPHACUT_SHARED(type, name, [dims]) or ALPHACUT_SHARED_SCALAR(type, name)");
// clang-format on
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
    cudaErrorNoKernelImageForDevice = 209,
};
using cudaError = cudaError_t;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};
constexpr unsigned int cudaStreamDefault = 0;
constexpr unsigned int cudaStreamNonBlocking = 1;
constexpr unsigned int cudaHostAllocDefault = 0;
enum cudaMemoryType {
    cudaMemoryTypeUnregistered = 0,
    cudaMemoryTypeHost = 1,
    cudaMemoryTypeDevice = 2,
    cudaMemoryTypeManaged = 3,
};
struct cudaPointerAttributes {
    cudaMemoryType type;
    int device;
    void* devicePointer;
    void* hostPointer;
};
enum cudaDeviceAttr {
    cudaDevAttrMaxThreadsPerBlock = 1,
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
    cudaDevAttrMemoryPoolsSupported = 115,
};

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
        case cudaErrorNoKernelImageForDevice: return "cudaErrorNoKernelImageForDevice";
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
        case cudaErrorNoKernelImageForDevice: s = "no kernel image is available for execution on the device"; break;
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

// ---- the emulated device: streams as queues, memory poisoned, frees deferred ----------------
// Work enqueued on a stream (kernels, copies, memsets, stream-ordered frees) does not run when it
// is enqueued: it runs when something waits for it (cudaStreamSynchronize, cudaDeviceSynchronize,
// a synchronous copy to the host, the legacy stream's implicit synchronisation), which is a legal
// schedule on a device and the one that exposes a missing wait. The rules modelled:
// - The legacy default stream (0, cudaStreamLegacy) waits for all earlier work of the blocking
//   streams and they wait for it; a cudaStreamNonBlocking stream waits for neither.
// - cudaMemcpy from pageable host memory to the device returns once the source is staged: the
//   device copy lands later, in the legacy stream's order. To the host it returns complete.
//   cudaMemcpyAsync from pageable memory is staged at once; to pageable memory it is synchronous.
// - cudaMalloc'd memory starts as 0xFF bytes (NaN as float, -1 as int); cudaFree poisons at once
//   and does not wait for the device (so a kernel still queued reads 0xFF, not the data), and the
//   memory is released only when no queued work is left; cudaFreeAsync does the same in stream
//   order. A queued kernel (pointer or ImageView argument) or copy that runs after its memory was
//   freed fails: on a device that memory may already belong to another allocation.
struct CUstream_st {
    unsigned int flags = 0;
    int device = 0;
    std::deque<std::function<void()>> queue;
};
using cudaStream_t = CUstream_st*;
#define cudaStreamLegacy (reinterpret_cast<cudaStream_t>(0x1))
#define cudaStreamPerThread (reinterpret_cast<cudaStream_t>(0x2))

namespace alphacut_emu {

constexpr unsigned char kPoison = 0xFF;

struct Allocation {
    std::size_t bytes;
    int device;
    bool pinned;
};

struct DeviceState {
    std::recursive_mutex mu;
    CUstream_st legacy;
    std::set<CUstream_st*> streams;
    std::map<std::uintptr_t, Allocation> allocations;  // live cudaMalloc/cudaMallocHost blocks
    std::map<std::uintptr_t, std::size_t> quarantine;   // freed and poisoned, released when idle
    cudaError_t pending = cudaSuccess;                  // first failure of queued work
    std::string pending_detail;
    int device_count = 1;
    std::uint64_t seed = 0;  // 0: threads and blocks in their natural order; else shuffled
    cudaError_t launch_error = cudaSuccess;  // forced on every launch (a GPU this build has no code for)
    // Shared-memory race check (on unless ALPHACUT_EMU_RACECHECK=0, or _emu_configure).
    std::atomic<bool> racecheck{[] {
        const char* v = std::getenv("ALPHACUT_EMU_RACECHECK");
        return !(v && std::strcmp(v, "0") == 0);
    }()};
    // Per kernel (as ALPHACUT_LAUNCH names it): the most threads per block and dynamic shared
    // bytes it was launched with, for the resource check against the compiled kernels.
    std::map<std::string, std::pair<unsigned int, std::size_t>> launch_configs;
};
inline DeviceState& device() {
    static DeviceState* d = new DeviceState();  // never destroyed: used from atexit paths
    return *d;
}
inline int& current_device() {
    static thread_local int d = 0;
    return d;
}

inline CUstream_st* resolve(cudaStream_t s) {
    if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return &device().legacy;
    return s;
}

inline void record_failure(cudaError_t e, std::string detail) {
    DeviceState& d = device();
    if (d.pending == cudaSuccess) {
        d.pending = e;
        d.pending_detail = std::move(detail);
    }
}

inline void run_queue(CUstream_st* s) {
    while (!s->queue.empty()) {
        auto op = std::move(s->queue.front());
        s->queue.pop_front();
        op();
    }
}

inline bool idle() {
    DeviceState& d = device();
    if (!d.legacy.queue.empty()) return false;
    for (auto* s : d.streams)
        if (!s->queue.empty()) return false;
    return true;
}

inline void release_quarantine() {
    DeviceState& d = device();
    if (d.quarantine.empty() || !idle()) return;
    for (const auto& [p, bytes] : d.quarantine) ::operator delete(reinterpret_cast<void*>(p), std::align_val_t(256));
    d.quarantine.clear();
}

// The error a synchronising call returns: the first failure of the work it waited for.
inline cudaError_t take_pending() {
    DeviceState& d = device();
    release_quarantine();
    if (d.pending == cudaSuccess) return cudaSuccess;
    const cudaError_t e = d.pending;
    std::string detail = std::move(d.pending_detail);
    d.pending = cudaSuccess;
    d.pending_detail.clear();
    return set_error(e, std::move(detail));
}

// Run the work that an operation on `s` must wait for (legacy <-> blocking streams).
inline void wait_dependencies(CUstream_st* s) {
    DeviceState& d = device();
    if (s == &d.legacy) {
        for (auto* b : d.streams)
            if (!(b->flags & cudaStreamNonBlocking)) run_queue(b);
    } else if (!(s->flags & cudaStreamNonBlocking)) {
        run_queue(&d.legacy);
    }
}

inline void enqueue(cudaStream_t stream, std::function<void()> op) {
    DeviceState& d = device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    CUstream_st* s = resolve(stream);
    wait_dependencies(s);
    s->queue.push_back(std::move(op));
}

// Everything queued on `stream` so far (and what it depends on) has run.
inline void drain(cudaStream_t stream) {
    DeviceState& d = device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    CUstream_st* s = resolve(stream);
    wait_dependencies(s);
    run_queue(s);
}

inline const Allocation* find_allocation(const void* p, std::uintptr_t* base = nullptr) {
    DeviceState& d = device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    auto it = d.allocations.upper_bound(a);
    if (it == d.allocations.begin()) return nullptr;
    --it;
    if (a >= it->first + std::max<std::size_t>(it->second.bytes, 1)) return nullptr;
    if (base) *base = it->first;
    return &it->second;
}
// Whether `p` lies in memory freed (cudaFree, or a stream-ordered free that has run) while work
// still queued may use it: on a device that memory may already belong to another allocation.
inline bool is_freed(const void* p) {
    DeviceState& d = device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    auto it = d.quarantine.upper_bound(a);
    if (it == d.quarantine.begin()) return false;
    --it;
    return a < it->first + std::max<std::size_t>(it->second, 1);
}
inline bool is_pinned(const void* p) {
    const Allocation* a = find_allocation(p);
    return a && a->pinned;
}

inline cudaError_t allocate(void** p, std::size_t bytes, bool pinned) {
    *p = bytes == 0 ? nullptr : ::operator new(bytes, std::align_val_t(256), std::nothrow);
    if (bytes != 0 && *p == nullptr) return set_error(cudaErrorMemoryAllocation, "cudaMalloc");
    if (*p) {
        std::memset(*p, kPoison, bytes);  // never zero: reading it before writing shows
        DeviceState& d = device();
        std::lock_guard<std::recursive_mutex> lock(d.mu);
        d.allocations[reinterpret_cast<std::uintptr_t>(*p)] = Allocation{bytes, current_device(), pinned};
    }
    return cudaSuccess;
}

inline void free_now(void* p) {
    DeviceState& d = device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    auto it = d.allocations.find(reinterpret_cast<std::uintptr_t>(p));
    if (it == d.allocations.end()) {
        record_failure(cudaErrorInvalidValue, "cudaFree of a pointer that is not an allocation");
        return;
    }
    std::memset(p, kPoison, it->second.bytes);
    d.quarantine[it->first] = it->second.bytes;
    d.allocations.erase(it);
}

}  // namespace alphacut_emu

inline cudaError_t cudaGetDeviceCount(int* n) {
    *n = alphacut_emu::device().device_count;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int dev) {
    if (dev < 0 || dev >= alphacut_emu::device().device_count)
        return alphacut_emu::set_error(cudaErrorInvalidValue, "cudaSetDevice(" + std::to_string(dev) + ")");
    alphacut_emu::current_device() = dev;
    return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* dev) {
    *dev = alphacut_emu::current_device();
    return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int) {
    switch (attr) {
        case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
        case cudaDevAttrComputeCapabilityMajor: *value = 8; break;
        case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
        case cudaDevAttrMemoryPoolsSupported: *value = 1; break;
        default: *value = 0; break;
    }
    return cudaSuccess;
}
inline cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p) {
    const alphacut_emu::Allocation* a = alphacut_emu::find_allocation(p);
    *attr = cudaPointerAttributes{cudaMemoryTypeUnregistered, -2, nullptr, nullptr};
    if (a) {
        attr->type = a->pinned ? cudaMemoryTypeHost : cudaMemoryTypeDevice;
        attr->device = a->device;
        attr->devicePointer = const_cast<void*>(p);
        if (a->pinned) attr->hostPointer = const_cast<void*>(p);
    }
    return cudaSuccess;
}

inline cudaError_t cudaDeviceSynchronize() {
    auto& d = alphacut_emu::device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    alphacut_emu::run_queue(&d.legacy);
    for (auto* s : d.streams) alphacut_emu::run_queue(s);
    return alphacut_emu::take_pending();
}

inline cudaError_t cudaMalloc(void** p, std::size_t bytes) { return alphacut_emu::allocate(p, bytes, false); }
template <typename T>
inline cudaError_t cudaMalloc(T** p, std::size_t bytes) {
    void* v = nullptr;
    cudaError_t e = cudaMalloc(&v, bytes);
    *p = static_cast<T*>(v);
    return e;
}
// Not a wait for the device: the memory is poisoned now (work still queued that reads it reads
// 0xFF) and released once nothing is queued.
inline cudaError_t cudaFree(void* p) {
    if (p) alphacut_emu::free_now(p);
    return cudaSuccess;
}
inline cudaError_t cudaMallocAsync(void** p, std::size_t bytes, cudaStream_t) {
    return alphacut_emu::allocate(p, bytes, false);
}
template <typename T>
inline cudaError_t cudaMallocAsync(T** p, std::size_t bytes, cudaStream_t s) {
    void* v = nullptr;
    cudaError_t e = cudaMallocAsync(&v, bytes, s);
    *p = static_cast<T*>(v);
    return e;
}
inline cudaError_t cudaFreeAsync(void* p, cudaStream_t s) {
    if (p) alphacut_emu::enqueue(s, [p] { alphacut_emu::free_now(p); });
    return cudaSuccess;
}
inline cudaError_t cudaMallocHost(void** p, std::size_t bytes) { return alphacut_emu::allocate(p, bytes, true); }
template <typename T>
inline cudaError_t cudaMallocHost(T** p, std::size_t bytes) {
    void* v = nullptr;
    cudaError_t e = cudaMallocHost(&v, bytes);
    *p = static_cast<T*>(v);
    return e;
}
inline cudaError_t cudaFreeHost(void* p) {
    // Host memory: freeing it waits for nothing in CUDA either, so work still queued that
    // reads it is a bug; it is poisoned like device memory.
    return cudaFree(p);
}

namespace alphacut_emu {

// A 2-D copy (rows of `width` bytes): H2D from pageable memory is staged now and lands in
// stream order; D2H to pageable memory waits for the stream; the rest is queued.
inline cudaError_t copy2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                          std::size_t height, cudaMemcpyKind kind, cudaStream_t stream, bool sync_call) {
    if (width && height && (!dst || !src)) return set_error(cudaErrorInvalidValue, "cudaMemcpy: null pointer");
    if (height > 1 && (width > dpitch || width > spitch))
        return set_error(cudaErrorInvalidValue, "cudaMemcpy2D: width larger than a pitch");
    if (kind == cudaMemcpyDefault) {
        const bool sd = find_allocation(src) && !is_pinned(src), dd = find_allocation(dst) && !is_pinned(dst);
        kind = sd ? (dd ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
                  : (dd ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
    }
    auto rows = [=](const unsigned char* from, std::size_t from_pitch) {
        if (is_freed(dst) || is_freed(from)) {
            record_failure(cudaErrorInvalidValue, "a copy uses memory freed (cudaFree) before the copy ran");
            return;
        }
        for (std::size_t r = 0; r < height; ++r)
            std::memmove(static_cast<unsigned char*>(dst) + r * dpitch, from + r * from_pitch, width);
    };
    if (width == 0 || height == 0) return cudaSuccess;
    DeviceState& d = device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    if (sync_call) stream = nullptr;  // cudaMemcpy / cudaMemcpy2D: the legacy stream
    switch (kind) {
        case cudaMemcpyHostToHost:
            drain(stream);
            rows(static_cast<const unsigned char*>(src), spitch);
            break;
        case cudaMemcpyHostToDevice:
            if (sync_call) drain(stream);  // "a stream sync is performed before the copy"
            if (is_pinned(src)) {
                if (sync_call) {
                    rows(static_cast<const unsigned char*>(src), spitch);
                } else {
                    enqueue(stream, [=] { rows(static_cast<const unsigned char*>(src), spitch); });
                }
            } else {
                // Staged now; the device copy completes later, in the stream's order.
                auto staged = std::make_shared<std::vector<unsigned char>>(width * height);
                for (std::size_t r = 0; r < height; ++r)
                    std::memcpy(staged->data() + r * width, static_cast<const unsigned char*>(src) + r * spitch, width);
                enqueue(stream, [=] { rows(staged->data(), width); });
            }
            break;
        case cudaMemcpyDeviceToHost:
            if (sync_call || !is_pinned(dst)) {
                drain(stream);
                rows(static_cast<const unsigned char*>(src), spitch);
                return take_pending();
            }
            enqueue(stream, [=] { rows(static_cast<const unsigned char*>(src), spitch); });
            break;
        default: enqueue(stream, [=] { rows(static_cast<const unsigned char*>(src), spitch); }); break;
    }
    return cudaSuccess;
}

}  // namespace alphacut_emu

inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind k) {
    return alphacut_emu::copy2d(dst, bytes, src, bytes, bytes, 1, k, nullptr, true);
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind k,
                                   cudaStream_t s = nullptr) {
    return alphacut_emu::copy2d(dst, bytes, src, bytes, bytes, 1, k, s, false);
}
inline cudaError_t cudaMemcpy2D(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                                std::size_t height, cudaMemcpyKind k) {
    return alphacut_emu::copy2d(dst, dpitch, src, spitch, width, height, k, nullptr, true);
}
inline cudaError_t cudaMemcpy2DAsync(void* dst, std::size_t dpitch, const void* src, std::size_t spitch,
                                     std::size_t width, std::size_t height, cudaMemcpyKind k,
                                     cudaStream_t s = nullptr) {
    return alphacut_emu::copy2d(dst, dpitch, src, spitch, width, height, k, s, false);
}
inline cudaError_t cudaMemsetAsync(void* p, int v, std::size_t bytes, cudaStream_t s = nullptr) {
    if (bytes) alphacut_emu::enqueue(s, [=] { std::memset(p, v, bytes); });
    return cudaSuccess;
}
inline cudaError_t cudaMemset(void* p, int v, std::size_t bytes) { return cudaMemsetAsync(p, v, bytes, nullptr); }

inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int flags) {
    auto& d = alphacut_emu::device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    *s = new CUstream_st();
    (*s)->flags = flags;
    (*s)->device = alphacut_emu::current_device();
    d.streams.insert(*s);
    return cudaSuccess;
}
inline cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    auto& d = alphacut_emu::device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    if (s != nullptr && s != cudaStreamLegacy && s != cudaStreamPerThread && !d.streams.count(s))
        return alphacut_emu::set_error(cudaErrorInvalidValue, "cudaStreamSynchronize: not a live stream");
    alphacut_emu::drain(s);
    return alphacut_emu::take_pending();
}
// As on a device, destroying a stream with work queued lets that work finish (here: now).
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
    auto& d = alphacut_emu::device();
    std::lock_guard<std::recursive_mutex> lock(d.mu);
    if (!d.streams.count(s)) return alphacut_emu::set_error(cudaErrorInvalidValue, "cudaStreamDestroy: not a stream");
    alphacut_emu::run_queue(s);
    d.streams.erase(s);
    delete s;
    alphacut_emu::release_quarantine();
    return cudaSuccess;
}

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

// Raised inside a block when its threads disagree about a barrier, race on shared memory or index
// it out of bounds; turned into a launch failure.
struct KernelFault {
    std::string what;
};

struct Fiber {
    ucontext_t ctx;
    std::unique_ptr<unsigned char[]> stack;  // kFiberStack bytes, allocated on first use
    uint3 idx{0, 0, 0};
    bool done = false;
    bool waiting = false;
    const char* site = "";  // where it waits: the file:line of its __syncthreads()
};

// The race check's record of one element of shared memory in the running block.
struct SharedCell {
    std::uint32_t wepoch = 0, repoch = 0, aepoch = 0;  // epochs of the last write / reads / atomics
    std::uint16_t writer = 0, r1 = 0, r2 = 0, a1 = 0, a2 = 0;  // threads (kNoThread: none)
};

// Per-host-thread state of the block being run.
struct BlockState {
    std::vector<Fiber> fibers;
    ucontext_t scheduler;
    const std::function<void()>* body = nullptr;
    int current = -1;         // index of the running fiber, -1 when threads run as plain calls
    bool direct = false;      // the fast path: plain calls, so a barrier here is divergent
    std::exception_ptr error; // first exception thrown by a thread of this block
    // The block's shared memory: dynamic first (smem bytes), then each static declaration as a
    // thread first reaches it; 0xFF bytes at block start. shadow[byte offset] tracks the accesses
    // to the element starting there (race check).
    std::unique_ptr<unsigned char[]> arena;  // kMaxSharedPerBlock bytes, allocated on first use
    std::unique_ptr<SharedCell[]> shadow;
    std::size_t shared_used = 0;     // bytes handed out in this block
    std::size_t dynamic_bytes = 0;   // the launch's dynamic shared memory
    std::uint64_t generation = 0;    // blocks run by this host thread (a static declaration's arena
                                     // slot is valid for one generation)
    std::uint32_t epoch = 0;         // barrier intervals run by this host thread (race check)
    const char* epoch_start = "";    // the __syncthreads() (file:line) that began this interval
    bool racecheck = true;
    std::size_t barriers = 0;  // barriers passed in this block (for the harness tests)
    std::uint64_t seed = 0;    // the launch's shuffle seed (0: natural order)
    std::vector<unsigned int> order;
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

    // The order threads start and resume in: natural, or shuffled per block and per barrier.
    std::vector<unsigned int>& order = st.order;
    order.resize(n);
    for (unsigned int t = 0; t < n; ++t) order[t] = t;
    std::mt19937_64 rng(
        st.seed ^ (0x9E3779B97F4A7C15ull * (1 + blockIdx.x + 65536ull * blockIdx.y + 4294967296ull * blockIdx.z)));
    auto reorder = [&](bool keep_first) {
        if (st.seed) std::shuffle(order.begin() + (keep_first ? 1 : 0), order.end(), rng);
    };
    reorder(true);  // thread 0 runs first: it tells whether the kernel has a barrier

    // Thread 0 in a fiber: does this kernel use a barrier at all?
    start_fiber(st, 0, thread_index(0, blockDim));
    st.current = 0;
    threadIdx = st.fibers[0].idx;
    switch_to_fiber(st, st.fibers[0]);
    if (st.fibers[0].done) {
        // No barrier reached by thread 0: the others cannot legally reach one either.
        st.current = -1;
        st.direct = true;
        for (unsigned int i = 1; i < n && !st.error; ++i) {
            threadIdx = thread_index(order[i], blockDim);
            try {
                body();
            } catch (...) {
                st.error = std::current_exception();
            }
        }
        st.direct = false;
    } else {
        for (unsigned int t = 1; t < n; ++t) start_fiber(st, static_cast<int>(t), thread_index(t, blockDim));
        for (unsigned int i = 1; i < n; ++i) {  // first phase for threads 1..n-1
            const unsigned int t = order[i];
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
                st.error = std::make_exception_ptr(
                    KernelFault{"__syncthreads() reached by " + std::to_string(waiting) + " of " + std::to_string(n) +
                                " threads of block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) +
                                "," + std::to_string(blockIdx.z) + "); the others had returned"});
            if (!st.error) {
                // Every thread must wait at the same __syncthreads(): threads of one block waiting
                // at different ones is undefined on a device (a hang, or a barrier that orders
                // nothing), even though each thread reached "a" barrier.
                for (unsigned int t = 1; t < n && !st.error; ++t) {
                    if (std::strcmp(st.fibers[t].site, st.fibers[0].site) == 0) continue;
                    const std::string a = st.fibers[0].site, b = st.fibers[t].site;
                    const uint3 i = st.fibers[t].idx;
                    st.error = std::make_exception_ptr(
                        KernelFault{"barrier-site mismatch in block (" + std::to_string(blockIdx.x) + "," +
                                    std::to_string(blockIdx.y) + "," + std::to_string(blockIdx.z) +
                                    "): thread (0,0,0) waits at the " + "__syncthreads() at " + a + ", thread (" +
                                    std::to_string(i.x) + "," + std::to_string(i.y) + "," + std::to_string(i.z) +
                                    ") at another, at " + b});
                }
            }
            if (st.error) break;  // the waiting fibers are abandoned; their stacks are reused
            ++st.barriers;
            ++st.epoch;  // accesses before this barrier are ordered before those after it
            st.epoch_start = st.fibers[0].site;
            for (unsigned int t = 0; t < n; ++t) order[t] = t;
            reorder(false);
            for (unsigned int i = 0; i < n; ++i) {
                const unsigned int t = order[i];
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

// `site`: the source position of the __syncthreads() (file:line), to tell barriers apart.
inline void syncthreads(const char* site = "") {
    BlockState& st = block_state();
    if (st.current < 0) {
        if (st.direct)
            throw KernelFault{"__syncthreads() reached by thread (" + std::to_string(threadIdx.x) + "," +
                              std::to_string(threadIdx.y) + "," + std::to_string(threadIdx.z) +
                              ") but thread (0,0,0) of its block returned without reaching it"};
        return;  // called outside a launch: nothing to wait for
    }
    Fiber& f = st.fibers[st.current];
    f.waiting = true;
    f.site = site;
    switch_to_scheduler(st, f, false);
}

// ---- shared memory: fresh and poisoned per block, accesses checked for races -------------------
// Every block gets its own shared memory (a per-host-thread arena, 48 KiB), 0xFF bytes when the
// block starts: dynamic shared memory at its start, then each static declaration
// (ALPHACUT_SHARED) in the order the block's threads first reach it. Declarations return
// handles whose element accesses are checked: an index outside the declared array is a launch
// failure, and so is a race: two different threads of a block touching one element between
// the same two barriers (an epoch), at least one of them writing (atomics count as writes that
// do not race with each other). The check is per element as declared (its first byte): views
// of one byte of shared memory through different types are not compared.
constexpr std::uint16_t kNoThread = 0xFFFF;

// One declaration of shared memory (per host thread): where this block's copy lives.
struct SharedSite {
    const char* name;
    const char* where;  // file:line of the declaration
    std::uint64_t generation = 0;
    unsigned char* base = nullptr;
    std::size_t bytes = 0, elem = 1;
    std::size_t extent[3] = {1, 1, 1};
    int rank = 0;
    bool dynamic = false;
};

inline void ensure_arena(BlockState& st) {
    if (st.arena) return;
    st.arena.reset(new unsigned char[kMaxSharedPerBlock]);  // 16-byte aligned, as declarations need
    st.shadow.reset(new SharedCell[kMaxSharedPerBlock]);
}

inline void begin_block_shared(BlockState& st, std::size_t smem) {
    ensure_arena(st);
    ++st.generation;
    ++st.epoch;
    st.epoch_start = "the block's start";
    st.dynamic_bytes = smem;
    st.shared_used = (smem + 15) & ~std::size_t(15);
    std::memset(st.arena.get(), kPoison, smem);
}

inline std::string block_text() {
    return "block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) + "," +
           std::to_string(blockIdx.z) + ")";
}
inline std::string thread_text(unsigned int linear) {
    const uint3 i{linear % blockDim.x, (linear / blockDim.x) % blockDim.y, linear / (blockDim.x * blockDim.y)};
    return "thread (" + std::to_string(i.x) + "," + std::to_string(i.y) + "," + std::to_string(i.z) + ")";
}
inline unsigned int linear_thread() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }

// `name`[i][j] for the element at byte offset `off` of the declaration.
inline std::string element_text(const SharedSite& s, std::size_t off) {
    std::size_t flat = off / s.elem;
    std::string idx;
    if (s.rank == 0) return "`" + std::string(s.name) + "`";
    std::size_t inner = 1;
    for (int d = 1; d < s.rank; ++d) inner *= s.extent[d];
    for (int d = 0; d < s.rank; ++d) {
        idx += "[" + std::to_string(flat / inner) + "]";
        flat %= inner;
        if (d + 1 < s.rank) inner /= s.extent[d + 1];
    }
    return "`" + std::string(s.name) + "`" + idx;
}

// This block's copy of a static declaration of `bytes` bytes (allocated and poisoned when the
// first thread of the block reaches it).
inline unsigned char* static_shared(SharedSite& s, std::size_t bytes, std::size_t align) {
    BlockState& st = block_state();
    if (s.generation == st.generation && s.base) return s.base;
    if (st.current < 0 && !st.direct)
        throw KernelFault{"shared memory `" + std::string(s.name) + "` (" + s.where + ") used outside a kernel"};
    ensure_arena(st);
    const std::size_t off = (st.shared_used + align - 1) & ~(align - 1);
    if (off + bytes > kMaxSharedPerBlock)
        throw KernelFault{"static shared memory `" + std::string(s.name) + "` (" + s.where + ", " +
                          std::to_string(bytes) + " bytes) does not fit: " + std::to_string(st.dynamic_bytes) +
                          " bytes dynamic and " + std::to_string(st.shared_used - st.dynamic_bytes) +
                          " static in use, 48 KiB per block"};
    st.shared_used = off + bytes;
    s.base = st.arena.get() + off;
    s.bytes = bytes;
    s.generation = st.generation;
    std::memset(s.base, kPoison, bytes);
    return s.base;
}

enum class SharedOp { read, write, atomic };

[[noreturn]] inline void report_race(const SharedSite& s, std::size_t off, const char* kind, unsigned int t,
                                     const char* t_does, unsigned int other, const char* other_did) {
    const BlockState& st = block_state();
    throw KernelFault{std::string("shared-memory race (") + kind + ") on " + element_text(s, off) + " (" +
                      (s.dynamic ? "dynamic shared memory declared at " : "declared at ") + s.where + ") in " +
                      block_text() + ": " + thread_text(t) + " " + t_does + " it after " + thread_text(other) + " " +
                      other_did + " it with no __syncthreads() between them (since " + st.epoch_start + ")"};
}

// Checks one access of thread linear_thread() to the element at p (sizeof `bytes`) of `s`.
inline void shared_access(const SharedSite& s, const void* p, std::size_t bytes, SharedOp op) {
    const auto* b = static_cast<const unsigned char*>(p);
    if (b < s.base || b + bytes > s.base + s.bytes || s.base == nullptr) {
        const long long i = (b - s.base) / static_cast<long long>(s.elem);
        throw KernelFault{"shared memory `" + std::string(s.name) + "` (" + s.where + ", " +
                          std::to_string(s.bytes / s.elem) + " elements) indexed at " + std::to_string(i) +
                          ", out of bounds, by " + thread_text(linear_thread()) + " of " + block_text()};
    }
    BlockState& st = block_state();
    if (!st.racecheck) return;
    SharedCell& c = st.shadow[static_cast<std::size_t>(b - st.arena.get())];
    const std::uint32_t e = st.epoch;
    const auto t = static_cast<std::uint16_t>(linear_thread());
    const std::size_t off = static_cast<std::size_t>(b - s.base);
    const bool written = c.wepoch == e && c.writer != t;
    const std::uint16_t reader = c.repoch != e ? kNoThread : (c.r1 != t ? c.r1 : c.r2);
    const std::uint16_t atomic = c.aepoch != e ? kNoThread : (c.a1 != t ? c.a1 : c.a2);
    switch (op) {
        case SharedOp::read:
            if (written) report_race(s, off, "read after write", t, "reads", c.writer, "wrote");
            if (atomic != kNoThread) report_race(s, off, "read after atomic", t, "reads", atomic, "updated (atomic)");
            if (c.repoch != e) {
                c.repoch = e;
                c.r1 = t;
                c.r2 = kNoThread;
            } else if (c.r1 != t && c.r2 == kNoThread) {
                c.r2 = t;
            }
            break;
        case SharedOp::write:
            if (written) report_race(s, off, "write after write", t, "writes", c.writer, "wrote");
            if (reader != kNoThread) report_race(s, off, "write after read", t, "writes", reader, "read");
            if (atomic != kNoThread) report_race(s, off, "write after atomic", t, "writes", atomic, "updated (atomic)");
            c.wepoch = e;
            c.writer = t;
            break;
        case SharedOp::atomic:
            if (written) report_race(s, off, "atomic after write", t, "updates (atomic)", c.writer, "wrote");
            if (reader != kNoThread) report_race(s, off, "atomic after read", t, "updates (atomic)", reader, "read");
            if (c.aepoch != e) {
                c.aepoch = e;
                c.a1 = t;
                c.a2 = kNoThread;
            } else if (c.a1 != t && c.a2 == kNoThread) {
                c.a2 = t;
            }
            break;
    }
}

template <typename T>
class SharedPtr;

// One element of shared memory: reading converts, writing assigns; both are checked.
template <typename T>
class SharedRef {
public:
    SharedRef(T* p, const SharedSite* s) : p_(p), s_(s) {}
    SharedRef(const SharedRef&) = default;
    operator T() const {
        shared_access(*s_, p_, sizeof(T), SharedOp::read);
        return *p_;
    }
    SharedRef& operator=(const T& v) {
        shared_access(*s_, p_, sizeof(T), SharedOp::write);
        *p_ = v;
        return *this;
    }
    SharedRef& operator=(const SharedRef& o) { return *this = static_cast<T>(o); }
#define ALPHACUT_EMU_COMPOUND(op)                \
    template <typename U>                        \
    SharedRef& operator op## = (const U& v) {    \
        const T old = static_cast<T>(*this);     \
        return *this = static_cast<T>(old op v); \
    }
    ALPHACUT_EMU_COMPOUND(+)
    ALPHACUT_EMU_COMPOUND(-)
    ALPHACUT_EMU_COMPOUND(*)
    ALPHACUT_EMU_COMPOUND(/)
    ALPHACUT_EMU_COMPOUND(|)
    ALPHACUT_EMU_COMPOUND(&)
    ALPHACUT_EMU_COMPOUND(^)
#undef ALPHACUT_EMU_COMPOUND
    SharedRef& operator++() { return *this += 1; }
    SharedRef& operator--() { return *this -= 1; }
    T operator++(int) {
        const T old = static_cast<T>(*this);
        *this = static_cast<T>(old + 1);
        return old;
    }
    T operator--(int) {
        const T old = static_cast<T>(*this);
        *this = static_cast<T>(old - 1);
        return old;
    }
    SharedPtr<T> operator&() const { return SharedPtr<T>(p_, s_); }

private:
    T* p_;
    const SharedSite* s_;
};

// A pointer into shared memory (what an array decays to, what & of an element gives).
template <typename T>
class SharedPtr {
public:
    SharedPtr(T* p, const SharedSite* s) : p_(p), s_(s) {}
    SharedRef<T> operator[](std::ptrdiff_t i) const { return SharedRef<T>(p_ + i, s_); }
    SharedRef<T> operator*() const { return SharedRef<T>(p_, s_); }
    SharedPtr operator+(std::ptrdiff_t i) const { return SharedPtr(p_ + i, s_); }
    SharedPtr operator-(std::ptrdiff_t i) const { return SharedPtr(p_ - i, s_); }
    std::ptrdiff_t operator-(const SharedPtr& o) const { return p_ - o.p_; }
    SharedPtr& operator+=(std::ptrdiff_t i) {
        p_ += i;
        return *this;
    }
    SharedPtr& operator-=(std::ptrdiff_t i) {
        p_ -= i;
        return *this;
    }
    SharedPtr& operator++() { return *this += 1; }
    bool operator==(const SharedPtr& o) const { return p_ == o.p_; }
    bool operator!=(const SharedPtr& o) const { return p_ != o.p_; }
    // The address itself, unchecked (ALPHACUT_SHARED_RAW): for code that mixes shared and global
    // pointers; accesses through it are neither bounds- nor race-checked.
    T* raw() const { return p_; }
    const SharedSite* site() const { return s_; }

private:
    T* p_;
    const SharedSite* s_;
};

// A declared shared array (A = T[N], T[N][M], ...): [i] is checked against N.
template <typename A>
class SharedArray {
    using E = std::remove_extent_t<A>;
    using T = std::remove_all_extents_t<A>;
    static constexpr std::size_t N = std::extent_v<A>;

public:
    SharedArray(T* p, const SharedSite* s) : p_(p), s_(s) {}
    auto operator[](std::ptrdiff_t i) const {
        if (i < 0 || static_cast<std::size_t>(i) >= N) {
            const std::size_t outer = sizeof(A) / sizeof(T);  // elements of this (sub)array
            const std::string where =
                std::rank_v<A> == static_cast<std::size_t>(s_->rank)
                    ? ""
                    : " (in the subarray at element " +
                          std::to_string((p_ - reinterpret_cast<T*>(s_->base)) / std::ptrdiff_t(outer)) +
                          " of the dimension above)";
            throw KernelFault{"shared memory `" + std::string(s_->name) + "` (" + s_->where + ") indexed at " +
                              std::to_string(i) + " in a dimension of " + std::to_string(N) + where +
                              ", out of bounds, by " + thread_text(linear_thread()) + " of " + block_text()};
        }
        if constexpr (std::is_array_v<E>)
            return SharedArray<E>(p_ + i * (sizeof(E) / sizeof(T)), s_);
        else
            return SharedRef<T>(p_ + i, s_);
    }
    operator SharedPtr<E>() const { return SharedPtr<E>(reinterpret_cast<E*>(p_), s_); }
    SharedPtr<E> operator+(std::ptrdiff_t i) const { return SharedPtr<E>(reinterpret_cast<E*>(p_), s_) + i; }
    E* raw() const { return reinterpret_cast<E*>(p_); }

private:
    T* p_;
    const SharedSite* s_;
};

template <typename A>
inline auto declare_shared(SharedSite& s) {
    using T = std::remove_all_extents_t<A>;
    unsigned char* base = static_shared(s, sizeof(A), alignof(A) < 16 ? 16 : alignof(A));
    if (s.rank == 0 && std::rank_v<A> > 0) {
        s.elem = sizeof(T);
        s.rank = static_cast<int>(std::rank_v<A>);
        for (int d = 0; d < s.rank && d < 3; ++d)
            s.extent[d] = d == 0 ? std::extent_v<A, 0> : d == 1 ? std::extent_v<A, 1> : std::extent_v<A, 2>;
    } else {
        s.elem = sizeof(T);
    }
    if constexpr (std::is_array_v<A>)
        return SharedArray<A>(reinterpret_cast<T*>(base), &s);
    else
        return SharedRef<T>(reinterpret_cast<T*>(base), &s);
}

template <typename T>
inline SharedPtr<T> declare_dynamic_shared(SharedSite& s) {
    BlockState& st = block_state();
    ensure_arena(st);
    s.base = st.arena.get();
    s.bytes = st.dynamic_bytes;
    s.elem = sizeof(T);
    s.rank = 1;
    s.extent[0] = st.dynamic_bytes / sizeof(T);
    s.dynamic = true;
    s.generation = st.generation;
    return SharedPtr<T>(reinterpret_cast<T*>(s.base), &s);
}

template <typename T>
inline T* raw_shared(const SharedPtr<T>& p) {
    return p.raw();
}
template <typename A>
inline auto raw_shared(const SharedArray<A>& a) {
    return a.raw();
}

// Statistics of the last launch on this host thread (for the harness tests).
struct LaunchStats {
    std::size_t blocks = 0;
    std::size_t barriers = 0;
};
inline LaunchStats& last_launch_stats() {
    static LaunchStats s;
    return s;
}

inline cudaError_t check_config(const std::string& kname, dim3 grid, dim3 block, std::size_t smem) {
    const unsigned long long threads = 1ull * block.x * block.y * block.z;
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
    return cudaSuccess;
}

// Runs a whole grid now; "" or what went wrong. With a seed, blocks run in a shuffled order and
// each block's threads start and resume from barriers in shuffled orders.
inline std::string execute_grid(const std::string& kname, dim3 grid, dim3 block, std::size_t smem,
                                const std::function<void()>& body, std::uint64_t seed) {
    const long long nblocks = 1ll * grid.x * grid.y * grid.z;
    std::vector<long long> perm;
    if (seed && nblocks <= (1ll << 24)) {
        perm.resize(static_cast<std::size_t>(nblocks));
        for (long long b = 0; b < nblocks; ++b) perm[static_cast<std::size_t>(b)] = b;
        std::mt19937_64 rng(seed);
        std::shuffle(perm.begin(), perm.end(), rng);
    }
    std::atomic<std::size_t> barriers{0};
    const bool racecheck = device().racecheck.load();
    try {
        // Blocks in parallel on host threads; each host thread runs its blocks one by one.
        const int chunks = static_cast<int>(std::min<long long>(nblocks, 1 << 20));
        alphacut::parallel_for(0, chunks, [&](int c0, int c1) {
            BlockState& st = block_state();
            st.barriers = 0;
            st.seed = seed;
            st.racecheck = racecheck;
            gridDim = grid;
            blockDim = block;
            const long long lo = nblocks * c0 / chunks, hi = nblocks * c1 / chunks;
            for (long long i = lo; i < hi; ++i) {
                const long long b = perm.empty() ? i : perm[static_cast<std::size_t>(i)];
                blockIdx =
                    uint3{static_cast<unsigned int>(b % grid.x), static_cast<unsigned int>((b / grid.x) % grid.y),
                          static_cast<unsigned int>(b / (1ll * grid.x * grid.y))};
                begin_block_shared(st, smem);  // each block's shared memory starts as NaN bytes
                run_block(st, body);
                if (st.error) std::rethrow_exception(st.error);
            }
            barriers += st.barriers;
        }, 1);
    } catch (const KernelFault& e) {
        return kname + ": " + e.what;
    } catch (const std::exception& e) {
        return kname + ": " + e.what();
    }
    last_launch_stats().blocks = static_cast<std::size_t>(nblocks);
    last_launch_stats().barriers = barriers.load();
    return "";
}

// A pointer argument (or an ImageView's data) that is an allocation of another device than the
// one launching: on a device an illegal address (without peer access).
template <typename T, typename = void>
struct HasData : std::false_type {};
template <typename T>
struct HasData<T, std::void_t<decltype(std::declval<const T&>().data)>>
    : std::is_pointer<decltype(std::declval<const T&>().data)> {};

template <typename T>
inline const void* pointer_of(const T& v) {
    if constexpr (std::is_pointer_v<T>)
        return static_cast<const void*>(v);
    else if constexpr (HasData<T>::value)
        return static_cast<const void*>(v.data);
    else
        return nullptr;
}

// When a queued kernel runs: an argument in freed memory is a use after free.
template <typename T>
inline void check_pointer_freed(const std::string& kname, const T& v, std::string& bad) {
    const void* p = pointer_of(v);
    if (p && bad.empty() && is_freed(p))
        bad = kname +
              ": an argument points to memory freed (cudaFree) before the kernel ran; free it in stream "
              "order (cudaFreeAsync) or wait for the stream first";
}

template <typename T>
inline void check_pointer_device(const std::string& kname, const T& v, int dev, std::string& bad) {
    const void* p = nullptr;
    if constexpr (std::is_pointer_v<T>)
        p = static_cast<const void*>(v);
    else if constexpr (HasData<T>::value)
        p = static_cast<const void*>(v.data);
    if (!p || !bad.empty()) return;
    const Allocation* a = find_allocation(p);
    if (a && !a->pinned && a->device != dev)
        bad = kname + ": an argument points to memory of device " + std::to_string(a->device) +
              " but the kernel was launched on device " + std::to_string(dev);
}

inline std::uint64_t next_launch_seed() {
    static std::atomic<std::uint64_t> launches{0};
    const std::uint64_t base = device().seed;
    if (!base) return 0;
    std::uint64_t z = base + 0x9E3779B97F4A7C15ull * (1 + launches.fetch_add(1));
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (z ^ (z >> 31)) | 1;
}

// kernel<<<grid, block, smem, stream>>>(args...): the configuration is checked now (errors through
// cudaGetLastError); the arguments are converted to the kernel's parameter types now, as the CUDA
// runtime copies them, and the grid runs when its stream is waited for (failures are returned by
// that wait). Every thread gets the same argument values.
template <typename... KArgs, typename... Args>
inline void launch(const char* name, void (*kernel)(KArgs...), dim3 grid, dim3 block, std::size_t smem,
                   cudaStream_t stream, Args&&... args) {
    static_assert(sizeof...(KArgs) == sizeof...(Args), "wrong number of kernel arguments");
    const std::string kname = name ? name : "kernel";
    if (check_config(kname, grid, block, smem) != cudaSuccess) return;
    {
        DeviceState& d = device();
        std::lock_guard<std::recursive_mutex> lock(d.mu);
        auto& c = d.launch_configs[kname];
        c.first = std::max(c.first, block.x * block.y * block.z);
        c.second = std::max(c.second, smem);
    }
    if (device().launch_error != cudaSuccess) {
        set_error(device().launch_error, kname + ": forced by the emulation's configuration");
        return;
    }
    auto params = std::make_shared<std::tuple<std::decay_t<KArgs>...>>(std::forward<Args>(args)...);
    const int dev = current_device();
    std::string bad;
    {
        DeviceState& d = device();
        std::lock_guard<std::recursive_mutex> lock(d.mu);
        CUstream_st* s = resolve(stream);
        if (s != &d.legacy && s->device != dev)
            bad = kname + ": launched on device " + std::to_string(dev) + " into a stream of device " +
                  std::to_string(s->device);
    }
    std::apply([&](const auto&... p) { (check_pointer_device(kname, p, dev, bad), ...); }, *params);
    if (!bad.empty()) {
        set_error(cudaErrorLaunchFailure, bad);
        return;
    }
    const std::uint64_t seed = next_launch_seed();
    enqueue(stream, [kname, kernel, grid, block, smem, params, seed] {
        std::string failure;
        std::apply([&](const auto&... p) { (check_pointer_freed(kname, p, failure), ...); }, *params);
        if (failure.empty()) {
            const std::function<void()> body = [&]() { std::apply(kernel, *params); };
            failure = execute_grid(kname, grid, block, smem, body, seed);
        }
        if (!failure.empty()) record_failure(cudaErrorLaunchFailure, failure);
    });
}

}  // namespace alphacut_emu

#define ALPHACUT_EMU_STR2(x) #x
#define ALPHACUT_EMU_STR(x) ALPHACUT_EMU_STR2(x)
#define __syncthreads() ::alphacut_emu::syncthreads(__FILE__ ":" ALPHACUT_EMU_STR(__LINE__))

// Atomics on shared memory are checked against plain accesses of other threads (not each other).
template <typename T, typename U>
inline T atomicAdd(alphacut_emu::SharedPtr<T> p, U v) {
    alphacut_emu::shared_access(*p.site(), p.raw(), sizeof(T), alphacut_emu::SharedOp::atomic);
    return atomicAdd(p.raw(), static_cast<T>(v));
}
inline int atomicMax(alphacut_emu::SharedPtr<int> p, int v) {
    alphacut_emu::shared_access(*p.site(), p.raw(), sizeof(int), alphacut_emu::SharedOp::atomic);
    return atomicMax(p.raw(), v);
}
inline int atomicMin(alphacut_emu::SharedPtr<int> p, int v) {
    alphacut_emu::shared_access(*p.site(), p.raw(), sizeof(int), alphacut_emu::SharedOp::atomic);
    return atomicMin(p.raw(), v);
}

// Shared memory, per block and poisoned (see "shared memory" above). Under nvcc
// (csrc/common/gpu_runtime.hpp) these are the plain declarations:
//   ALPHACUT_SHARED(double, sh, [256]);      __shared__ double sh[256];
//   ALPHACUT_SHARED_SCALAR(int, counter);    __shared__ int counter;
//   ALPHACUT_DYNAMIC_SHARED(float, buf);     extern __shared__ float buf[];
//   ALPHACUT_SHARED_RAW(sh)                  sh, as a plain pointer (unchecked accesses here)
// Functions that take shared memory take it as a template parameter (an array's pointer under
// nvcc, the checked handle here). An element read into `auto` stays a handle here (read when
// used): name the element type (`const double v = sh[i];`).
#define ALPHACUT_SHARED(type, name, ...)                                        \
    static thread_local ::alphacut_emu::SharedSite alphacut_shared_site_##name{ \
        #name, __FILE__ ":" ALPHACUT_EMU_STR(__LINE__)};                        \
    auto name = ::alphacut_emu::declare_shared<type __VA_ARGS__>(alphacut_shared_site_##name)
#define ALPHACUT_SHARED_SCALAR(type, name)                                      \
    static thread_local ::alphacut_emu::SharedSite alphacut_shared_site_##name{ \
        #name, __FILE__ ":" ALPHACUT_EMU_STR(__LINE__)};                        \
    auto name = ::alphacut_emu::declare_shared<type>(alphacut_shared_site_##name)
#define ALPHACUT_DYNAMIC_SHARED(type, name)                                     \
    static thread_local ::alphacut_emu::SharedSite alphacut_shared_site_##name{ \
        #name, __FILE__ ":" ALPHACUT_EMU_STR(__LINE__)};                        \
    auto name = ::alphacut_emu::declare_dynamic_shared<type>(alphacut_shared_site_##name)
#define ALPHACUT_SHARED_RAW(x) ::alphacut_emu::raw_shared(x)
#define ALPHACUT_LAUNCH(kernel, grid, block, smem, stream, ...) \
    ::alphacut_emu::launch(#kernel, kernel, grid, block, smem, stream, __VA_ARGS__)
