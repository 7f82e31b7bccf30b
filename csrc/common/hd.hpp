// Host/device qualifiers shared by the CPU build, nvcc and the CUDA-on-CPU emulation.
#pragma once

#if defined(__CUDACC__) || defined(ALPHACUT_EMU_COMPILE)
#define ALPHACUT_HD __host__ __device__ __forceinline__
#define ALPHACUT_DEVICE __device__ __forceinline__
#else
#define ALPHACUT_HD inline
#define ALPHACUT_DEVICE inline
#endif
