# CUDA kernels (backend "cuda"): csrc/ops/*/*_cuda.cu by nvcc plus the op bindings
# (csrc/bindings/<op>.cpp, built again for <op>_cuda) and csrc/bindings/gpu/*.cpp, linked into
# _core with the static CUDA runtime, so importing alphacut never needs libcudart
# or a driver; alphacut.device.is_available() asks the driver at run time.
#   ALPHACUT_CUDA=AUTO  build when a CUDA compiler is found (default)
#   ALPHACUT_CUDA=ON    require it;   ALPHACUT_CUDA=OFF  never
# Architectures: sm_75 (Turing: T4, RTX 20xx), sm_80, sm_86, sm_89, sm_90 SASS plus compute_90 PTX
# for newer GPUs; override with -DCMAKE_CUDA_ARCHITECTURES=... A GPU outside the list is found by
# alphacut.device.why_unavailable(), which launches a test kernel, so "auto" falls back to the CPU.
# The static CUDA runtime needs a driver at least as new as the toolkit's minimum (CUDA 12.x: R525+
# with minor-version compatibility; CUDA 13.x: R580+); an older driver is reported by the probe
# (cudaErrorInsufficientDriver) the same way.
string(TOUPPER "${ALPHACUT_CUDA}" _ac_cuda)
if(_ac_cuda STREQUAL "OFF")
  message(STATUS "alphacut: CUDA kernels disabled (ALPHACUT_CUDA=OFF)")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  if(_ac_cuda STREQUAL "ON")
    message(FATAL_ERROR "ALPHACUT_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER or put nvcc on PATH)")
  endif()
  message(STATUS "alphacut: no CUDA compiler found; building without CUDA kernels")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 75-real 80-real 86-real 89-real 90)  # "90" = sm_90 SASS + compute_90 PTX
endif()
set(CMAKE_CUDA_HOST_COMPILER ${CMAKE_CXX_COMPILER} CACHE FILEPATH "host compiler for nvcc")
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

set(_ac_src ${CMAKE_CURRENT_SOURCE_DIR})
file(GLOB ALPHACUT_CUDA_KERNELS CONFIGURE_DEPENDS ${_ac_src}/csrc/ops/*/*_cuda.cu ${_ac_src}/csrc/emu/*.cu)
file(GLOB ALPHACUT_CUDA_BINDINGS CONFIGURE_DEPENDS ${_ac_src}/csrc/bindings/gpu/*.cpp)

add_library(alphacut_cuda OBJECT ${ALPHACUT_CUDA_KERNELS} ${ALPHACUT_OP_BINDINGS} ${ALPHACUT_CUDA_BINDINGS})
target_include_directories(alphacut_cuda PRIVATE ${_ac_src}/csrc)
target_compile_definitions(alphacut_cuda PRIVATE ALPHACUT_CUDA_COMPILE)
target_link_libraries(alphacut_cuda PRIVATE pybind11::module CUDA::cudart_static)
set_target_properties(alphacut_cuda PROPERTIES
  CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}"
  CUDA_RUNTIME_LIBRARY Static
  CUDA_SEPARABLE_COMPILATION OFF
  CXX_VISIBILITY_PRESET hidden
  CUDA_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
# Compressed fatbins keep the module small; no fast-math: the kernels must agree with the CPU ops.
target_compile_options(alphacut_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-O3 -Xfatbin=-compress-all --expt-relaxed-constexpr -Xcompiler=-fno-math-errno>
  $<$<COMPILE_LANGUAGE:CXX>:-O3 -fno-math-errno>)

target_sources(_core PRIVATE $<TARGET_OBJECTS:alphacut_cuda>)
target_link_libraries(_core PRIVATE CUDA::cudart_static)
target_compile_definitions(_core PRIVATE ALPHACUT_WITH_CUDA)
message(STATUS "alphacut: CUDA kernels enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES})")
