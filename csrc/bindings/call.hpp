// The common call interface of the op bindings: one binding per op, for every backend.
//
// Each op is bound once, in csrc/bindings/<op>.cpp, as CV-CUDA binds each operator once: that
// file writes the argument list, the checks, the dtype dispatch and the docstring, and it is
// compiled once per backend, each time with this header selecting that backend:
//
//   backend  compiled in                          entry points   Call
//   cpu      _core (CMakeLists.txt)               <op>_cpu       CpuCall (below)
//   cuda     alphacut_cuda (cmake/cuda.cmake)     <op>_cuda      cu::GpuCall (gpu/gpu_call.hpp)
//   emu      alphacut_emu (cmake/emu.cmake)       <op>_emu       emu::GpuCall (same file, g++)
//
// What differs between the backends is how an argument becomes an ImageView, where the results
// live and how they come back, and that is the Call's job:
//   CpuCall  NumPy arrays, viewed in place; results are new NumPy arrays.
//   GpuCall  NumPy arrays (uploaded for the call) or __cuda_array_interface__ objects (used in
//            place); results are device arrays when an input was one, else NumPy.
// Both offer the same members:
//   dtype(obj), ndim(obj), on_device(obj)    what an argument holds ("|u1", "<f4", ...)
//   input<T>(obj, name)                      ImageView<const T> of an (H, W[, C]) argument
//   output_image<T>(h, w, c, keep_rank)      a new (h, w[, c]) result; keep_rank keeps c == 1
//   output<T>(shape)                         a new packed result of any shape (raw pointer)
//   inout_image<T>(obj, name)                a caller's image, written in place
//   target(obj, name)                        a caller's C-contiguous array to write (the _into form)
//   finish()                                 the results, in the order made (one, or a tuple)
//   complete()                               the end of a call that wrote caller memory
//   stream()                                 the CUDA stream (GpuCall only)
// Inputs are checked in one order on every backend (rank, emptiness, dtype, strides; see
// convert.hpp), so a bad argument gets the same message from each.
//
// An op's binding is a function `R <op>_entry(Call& call, <its Python arguments>...)`; it calls
// the backend's native entry point with
//   ALPHACUT_RUN(call, op, args...)   ->  op_cpu(args...)  or  <cu|emu>::op(args..., call.stream())
// (GIL released), and the registration function defines it with
//   def<&<op>_entry>(m, "<op>", doc, py::arg(...)...)
// as `<op>` + the backend's suffix. def's wrapper makes the Call and passes it first; on the GPU
// backends it makes it from a keyword-only `stream` argument it appends, and it adds a note on
// device arrays to the docstring. Array arguments are declared as `Array` (numpy.ndarray on the
// CPU, object on the GPU backends, which also take device arrays) and fixed-type results as
// `Result<T>` (T on the CPU, object on the GPU backends), so every backend keeps the Python
// signature it has always had. `kGpu` marks the few places where the backends differ: the
// shapes composite.cpp and resize.cpp return for one channel, and where estimate_foreground.cpp
// checks alpha.
//
// Those backend-dependent names (Call, Array, Result, kGpu, def, ...) live in an unnamed
// namespace: each translation unit has its own, for its own backend.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/typing.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "convert.hpp"
#include "registry.hpp"

#if defined(ALPHACUT_CUDA_COMPILE) || defined(ALPHACUT_EMU_COMPILE)
#define ALPHACUT_BINDINGS_GPU 1
#include "gpu/gpu_call.hpp"
#else
#define ALPHACUT_BINDINGS_GPU 0
#endif

namespace alphacut::bindings {

namespace py = pybind11;

// One native call on the CPU: arguments are viewed in place, results are new NumPy arrays.
class CpuCall {
public:
    bool on_device(py::handle) const { return false; }
    std::string dtype(py::handle obj) const { return typestr_of(as_array(obj, "array")); }
    int ndim(py::handle obj) const { return static_cast<int>(as_array(obj, "array").ndim()); }

    template <typename T>
    ImageView<const T> input(py::handle obj, const char* name) {
        py::array a = as_array(obj, name);
        auto v = host_image<T>(a, name);
        keep_.push_back(std::move(a));
        return as_const(v);
    }

    template <typename T>
    T* output(std::vector<py::ssize_t> shape, const char* typestr = TypeStr<T>::value) {
        py::array a(py::dtype(typestr), std::move(shape));
        outs_.push_back(a);
        return static_cast<T*>(a.mutable_data());
    }
    template <typename T>
    ImageView<T> output_image(int h, int w, int c, bool keep_channel_axis, const char* typestr = TypeStr<T>::value) {
        std::vector<py::ssize_t> shape{h, w};
        if (c != 1 || keep_channel_axis) shape.push_back(c);
        return make_view<T>(output<T>(std::move(shape), typestr), h, w, c);
    }

    template <typename T>
    ImageView<T> inout_image(py::handle obj, const char* name) {
        py::array a = as_array(obj, name);
        auto v = host_image<T>(a, name, true);
        keep_.push_back(std::move(a));
        return v;
    }

    Target target(py::handle obj, const char* name) {
        py::array a = as_array(obj, name);
        ALPHACUT_CHECK(a.flags() & py::array::c_style, name << ": must be C-contiguous");
        ALPHACUT_CHECK(a.writeable(), name << ": array is read-only");
        Target t;
        t.ptr = reinterpret_cast<std::uintptr_t>(a.mutable_data());
        t.shape.assign(a.shape(), a.shape() + a.ndim());
        t.typestr = typestr_of(a);
        keep_.push_back(std::move(a));
        return t;
    }

    void complete() {}

    py::object finish() {
        ALPHACUT_ASSERT(!outs_.empty(), "no output");
        if (outs_.size() == 1) return outs_[0];
        py::tuple t(outs_.size());
        for (std::size_t i = 0; i < outs_.size(); ++i) t[i] = outs_[i];
        return std::move(t);
    }

private:
    std::vector<py::array> keep_;  // arguments (or their uint8 views of bool) for the call's length
    std::vector<py::array> outs_;
};

// f() with the GIL released: the native part of a call.
template <typename F>
decltype(auto) nogil(F&& f) {
    py::gil_scoped_release release;
    return f();
}

namespace {

#if ALPHACUT_BINDINGS_GPU
using Call = ::alphacut::ALPHACUT_GPU_NS::GpuCall;
using Array = py::object;
template <typename T>
using Result = py::object;
constexpr bool kGpu = true;
constexpr const char* kSuffix = ALPHACUT_GPU_SUFFIX;
constexpr const char* kDocNote =
    "\n\nOn " ALPHACUT_GPU_NAME
    ": arrays are NumPy arrays (copied to the device for the call) or device arrays "
    "(__cuda_array_interface__, used in place); the results stay on the device when an input was there. "
    "stream: a cudaStream_t handle to enqueue the work on without waiting; 0 = a private stream, "
    "synchronised before returning.";
#else
using Call = CpuCall;
using Array = py::array;
template <typename T>
using Result = T;
constexpr bool kGpu = false;
constexpr const char* kSuffix = "_cpu";
constexpr const char* kDocNote = "";
#endif

template <auto Fn, typename R, typename... A, typename... Extra>
void def_impl(py::module_& m, const char* name, R (*)(Call&, A...), const Extra&... extra) {
#if ALPHACUT_BINDINGS_GPU
    auto entry = [](A... args, std::uintptr_t stream) -> R {
        Call call(stream, args...);
        return Fn(call, std::move(args)...);
    };
    if constexpr ((std::is_same_v<Extra, py::kw_only> || ...))
        m.def(name, entry, extra..., py::arg("stream") = 0);
    else
        m.def(name, entry, extra..., py::kw_only(), py::arg("stream") = 0);
#else
    auto entry = [](A... args) -> R {
        Call call;
        return Fn(call, std::move(args)...);
    };
    m.def(name, entry, extra...);
#endif
}

// Define `op` + the backend's suffix as the Python entry point of Fn (see the top of this file).
template <auto Fn, typename... Extra>
void def(py::module_& m, const char* op, const char* doc, const Extra&... extra) {
    const std::string name = std::string(op) + kSuffix;
    const std::string text = std::string(doc) + kDocNote;
    def_impl<Fn>(m, name.c_str(), Fn, extra..., text.c_str());
}

// f(view) with `obj` viewed as uint8 when it holds uint8, else as float32 (so any other dtype
// gets float32's dtype message).
template <typename F>
void with_u8_or_f32(Call& call, py::handle obj, const char* name, F&& f) {
    if (call.dtype(obj) == "|u1")
        f(call.input<std::uint8_t>(obj, name));
    else
        f(call.input<float>(obj, name));
}

// f(view) with a mask or probability map viewed as uint8 (also for bool), float32 or float64.
template <typename F>
void with_mask(Call& call, py::handle mask, const char* name, F&& f) {
    const std::string t = call.dtype(mask);
    if (t == "|u1" || t == "|b1")
        f(call.input<std::uint8_t>(mask, name));
    else if (t == "<f4")
        f(call.input<float>(mask, name));
    else if (t == "<f8")
        f(call.input<double>(mask, name));
    else
        ALPHACUT_CHECK(false, name << ": dtype " << t << " is not supported (bool, uint8, float32, float64)");
}

}  // namespace
}  // namespace alphacut::bindings

// Call the backend's native entry point of `op` with the GIL released.
#if ALPHACUT_BINDINGS_GPU
#define ALPHACUT_RUN(call, op, ...) \
    ::alphacut::bindings::nogil([&] { return ::alphacut::ALPHACUT_GPU_NS::op(__VA_ARGS__, (call).stream()); })
#else
#define ALPHACUT_RUN(call, op, ...) ::alphacut::bindings::nogil([&] { return ::alphacut::op##_cpu(__VA_ARGS__); })
#endif
