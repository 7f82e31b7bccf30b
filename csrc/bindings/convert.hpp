// NumPy <-> ImageView conversion for the bindings. No logic beyond shape and stride checks:
// the Python layer (alphacut/ops) validates values and dtypes before calling in.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "../common/error.hpp"
#include "../common/image_view.hpp"

namespace alphacut::bindings {

namespace py = pybind11;

// View an (H, W) or (H, W, C) array. Pixels of a row must be packed; rows may be strided.
template <typename T>
ImageView<T> view_of(const py::array& a, const char* name, bool writable = false) {
    ALPHACUT_CHECK(py::dtype::of<T>().is(a.dtype()),
                   name << ": expected dtype " << std::string(py::str(py::dtype::of<T>()))
                        << ", got " << std::string(py::str(a.dtype())));
    ALPHACUT_CHECK(a.ndim() == 2 || a.ndim() == 3,
                   name << ": expected an (H, W) or (H, W, C) array, got " << a.ndim() << " dimensions");
    const int h = static_cast<int>(a.shape(0));
    const int w = static_cast<int>(a.shape(1));
    const int c = a.ndim() == 3 ? static_cast<int>(a.shape(2)) : 1;
    const auto isz = static_cast<py::ssize_t>(sizeof(T));
    if (a.ndim() == 3)
        ALPHACUT_CHECK(a.strides(2) == isz || c == 1, name << ": channels must be contiguous");
    ALPHACUT_CHECK(a.strides(1) == isz * c || w == 1, name << ": pixels of a row must be contiguous");
    ALPHACUT_CHECK(a.strides(0) % isz == 0, name << ": row stride is not a multiple of the item size");
    if (writable) ALPHACUT_CHECK(a.writeable(), name << ": array is read-only");
    T* ptr = static_cast<T*>(const_cast<void*>(a.data()));
    return make_view<T>(ptr, h, w, c, h > 1 ? a.strides(0) / isz : static_cast<std::ptrdiff_t>(w) * c);
}

// Shape checks before any output is allocated, so a bad call gets a clear message.
inline void check_image(const py::array& a, const char* name) {
    ALPHACUT_CHECK(a.ndim() == 2 || a.ndim() == 3,
                   name << ": expected an (H, W) or (H, W, C) array, got " << a.ndim() << " dimensions");
    ALPHACUT_CHECK(a.shape(0) > 0 && a.shape(1) > 0 && (a.ndim() == 2 || a.shape(2) > 0),
                   name << ": image is empty");
}

inline bool is_u8(const py::array& a) { return py::dtype::of<std::uint8_t>().is(a.dtype()); }

// A new C-contiguous (H, W) or (H, W, C) array.
template <typename T>
py::array_t<T> new_image(int h, int w, int c = 1) {
    if (c == 1) return py::array_t<T>({h, w});
    return py::array_t<T>({h, w, c});
}

}  // namespace alphacut::bindings
