// Kernels that test the execution model itself (grid coverage, barriers, shared memory per
// block, launch errors). Built into both GPU backends, so the same checks that validate the
// emulation on the CPU also run on a real device (tests/emu/test_emu_harness.py).
#pragma once
#include <string>

#include "../common/gpu_runtime.hpp"

namespace alphacut::ALPHACUT_GPU_NS::selftest {

// counts[z][y][x] over the whole launch (size grid*block per axis) += 1 from each thread, and
// mismatches += 1 when a thread's indices are outside blockDim/gridDim. Device pointers.
void grid_coverage(dim3 grid, dim3 block, int* counts, int* mismatches, cudaStream_t stream);

// Each block reverses its slice of `data` (n = blocks * threads) through shared memory:
// static (__shared__ array) or dynamic (ALPHACUT_DYNAMIC_SHARED).
void block_reverse(int* data, int blocks, int threads, bool dynamic_shared, cudaStream_t stream);

// `rounds` barrier rounds: every thread adds 1 to a shared counter, waits, and checks that the
// counter equals (round + 1) * threads; also checks that a block-wide shared tag still holds its
// own blockIdx. failures += 1 per wrong observation.
void barrier_rounds(int blocks, int threads, int rounds, int* failures, cudaStream_t stream);

// A kernel whose odd threads return before a __syncthreads(): undefined on a device; the
// emulation reports it as a launch failure.
void divergent_barrier(int threads, int* out, cudaStream_t stream);

// A launch with `threads` threads per block (more than 1024 must fail with a clear error).
void launch_with_threads(int threads, int* out, cudaStream_t stream);

// out[b * threads + t] = what thread t of block b reads from dynamic shared memory nobody wrote.
void uninit_shared(int blocks, int threads, float* out, cudaStream_t stream);

// out[b] = the sum of in[b * threads .. (b + 1) * threads) by a tree in static shared memory
// (threads a power of two). synced = false leaves out the barrier between the tree's levels: a
// shared-memory race, which the emulation reports as a launch failure. Static shared memory or
// dynamic (ALPHACUT_DYNAMIC_SHARED).
void block_reduce(const float* in, float* out, int blocks, int threads, bool synced, bool dynamic_shared,
                  cudaStream_t stream);

// Every thread of one block stores its index into one shared int (a write-write race), then
// out[t] = the value after a barrier.
void racy_flag(int threads, int* out, cudaStream_t stream);

// out[b * threads + t] = what thread t of block b reads from static shared memory nobody wrote
// (each block then writes it; the next block must not see that).
void uninit_static_shared(int blocks, int threads, float* out, cudaStream_t stream);

// Thread t of one block writes element t + offset of a 64-int static shared array, then
// out[t] = element t: with offset > 0 or threads > 64 an index out of bounds.
void shared_index(int threads, int offset, int* out, cudaStream_t stream);

// out[i] = in[i] for i < n: one kernel to order against copies and streams.
void copy(const float* in, float* out, int n, cudaStream_t stream);

// out[t] = the order in which thread t of one block reached an atomic counter after a barrier.
void arrival_order(int threads, int* counter, int* out, cudaStream_t stream);

// Half the block waits at one __syncthreads(), the other half at another: undefined on a device;
// the emulation reports a barrier-site mismatch.
void split_barrier(int threads, int* out, cudaStream_t stream);

// Allocate, launch a one-thread kernel, wait and read its result back: "" when this device runs
// this build's kernels, else the reason (e.g. no kernel image for the GPU's architecture).
std::string probe();

}  // namespace alphacut::ALPHACUT_GPU_NS::selftest
