// NumPy <-> ImageView conversion, shared by the CPU call (arrays viewed in place) and the GPU
// call (host arrays uploaded). No logic beyond shape, dtype and stride checks: the Python layer
// (alphacut/ops) validates values before calling in.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../common/error.hpp"
#include "../common/image_view.hpp"

namespace alphacut::bindings {

namespace py = pybind11;

// The NumPy array-interface type string of an element type (what a result array is made of).
template <typename T>
struct TypeStr;
template <>
struct TypeStr<float> {
    static constexpr const char* value = "<f4";
};
template <>
struct TypeStr<std::uint8_t> {
    static constexpr const char* value = "|u1";
};
template <>
struct TypeStr<double> {
    static constexpr const char* value = "<f8";
};
template <>
struct TypeStr<std::uint16_t> {  // float16 payloads are carried as raw 16-bit words
    static constexpr const char* value = "<f2";
};

// The element type of a view, e.g. float for ImageView<const float>.
template <typename View>
using element_t = std::remove_const_t<std::remove_pointer_t<decltype(View::data)>>;

// A caller-owned, C-contiguous array that an `_into` call writes (e.g. a network input binding).
struct Target {
    std::uintptr_t ptr = 0;
    std::vector<py::ssize_t> shape;
    std::string typestr;  // array-interface type string, e.g. "<f4"
};

// `obj` as a NumPy array (lists and other array-likes are converted).
inline py::array as_array(py::handle obj, const char* name) {
    py::array a = py::array::ensure(obj);
    ALPHACUT_CHECK(a, name << ": expected a NumPy array");
    return a;
}

// "(2, 3, 4)"
template <typename Dims>
std::string shape_str(const Dims& dims) {
    std::ostringstream os;
    os << "(";
    for (std::size_t i = 0; i < dims.size(); ++i) os << (i ? ", " : "") << dims[i];
    os << ")";
    return os.str();
}

inline std::string typestr_of(const py::array& a) { return py::str(a.dtype().attr("str")); }

// Shape checks before the dtype is looked at, so a bad call gets the clearest message.
inline void check_image(const py::array& a, const char* name) {
    ALPHACUT_CHECK(a.ndim() == 2 || a.ndim() == 3,
                   name << ": expected an (H, W) or (H, W, C) array, got " << a.ndim() << " dimensions");
    ALPHACUT_CHECK(
        a.shape(0) > 0 && a.shape(1) > 0 && (a.ndim() == 2 || a.shape(2) > 0),
        name << " is empty (shape " << shape_str(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim())) << ")");
}

// View an (H, W) or (H, W, C) array. Pixels of a row must be packed; rows may be strided.
template <typename T>
ImageView<T> view_of(const py::array& a, const char* name, bool writable = false) {
    ALPHACUT_CHECK(py::dtype::of<T>().is(a.dtype()), name << ": expected dtype "
                                                          << std::string(py::str(py::dtype::of<T>())) << ", got "
                                                          << std::string(py::str(a.dtype())));
    ALPHACUT_CHECK(a.ndim() == 2 || a.ndim() == 3,
                   name << ": expected an (H, W) or (H, W, C) array, got " << a.ndim() << " dimensions");
    const int h = static_cast<int>(a.shape(0));
    const int w = static_cast<int>(a.shape(1));
    const int c = a.ndim() == 3 ? static_cast<int>(a.shape(2)) : 1;
    const auto isz = static_cast<py::ssize_t>(sizeof(T));
    if (a.ndim() == 3) ALPHACUT_CHECK(a.strides(2) == isz || c == 1, name << ": channels must be contiguous");
    ALPHACUT_CHECK(a.strides(1) == isz * c || w == 1, name << ": pixels of a row must be contiguous");
    ALPHACUT_CHECK(a.strides(0) % isz == 0, name << ": row stride is not a multiple of the item size");
    if (writable) ALPHACUT_CHECK(a.writeable(), name << ": array is read-only");
    T* ptr = static_cast<T*>(const_cast<void*>(a.data()));
    return make_view<T>(ptr, h, w, c, h > 1 ? a.strides(0) / isz : static_cast<std::ptrdiff_t>(w) * c);
}

// An image argument as both backends take it from the host: rank and emptiness first, then the
// dtype (bool arrays are read as uint8 0 / 1) and strides. `a` becomes the array viewed.
template <typename T>
ImageView<T> host_image(py::array& a, const char* name, bool writable = false) {
    check_image(a, name);
    if (std::is_same_v<T, std::uint8_t> && py::dtype::of<bool>().is(a.dtype()))
        a = a.attr("view")(py::dtype::of<std::uint8_t>());
    return view_of<T>(a, name, writable);
}

}  // namespace alphacut::bindings
