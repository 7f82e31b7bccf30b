// Run-time SIMD dispatch of the CPU ops' hot loops, spelled once.
//
// ALPHACUT_SIMD_CLONES before a function makes GCC compile it twice, for x86-64-v3 (AVX2, FMA,
// BMI2: Haswell / Zen and later) and for the baseline, and pick the clone when the library is
// loaded (an ifunc). The build stays portable (no -march=native) and gets AVX2 where the CPU has
// it. Elsewhere (Clang, other architectures, GCC before 11, which lacks the arch level, or with
// -DALPHACUT_NO_CLONES) it expands to nothing and the baseline code is used.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__x86_64__) && defined(__ELF__) && \
    !defined(ALPHACUT_NO_CLONES)
#define ALPHACUT_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ALPHACUT_SIMD_CLONES
#endif
