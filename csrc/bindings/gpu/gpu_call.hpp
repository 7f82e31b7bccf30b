// GpuCall: the call of the GPU backends (built twice: CUDA -> <op>_cuda, emulation -> <op>_emu),
// the GPU side of the common call interface described in ../call.hpp.
//
// An argument is either a NumPy array (uploaded to device memory for the call) or an object
// with __cuda_array_interface__ (CuPy, PyTorch, Numba, alphacut's own DeviceArray: used in
// place, zero-copy). When any input lives on the device the result stays there too (a
// DeviceArray with __cuda_array_interface__); otherwise it comes back as a NumPy array.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../../common/gpu_runtime.hpp"
#include "../convert.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace py = pybind11;

// A typed block of device memory with a shape, exposing __cuda_array_interface__ (v3).
struct DeviceArray {
    DeviceBuffer<unsigned char> buffer;
    std::vector<py::ssize_t> shape;
    std::string typestr;  // NumPy array-interface type string, e.g. "<f4", "|u1", "<f2"
    std::size_t itemsize = 1;
    // The caller's stream the array is (being) written on, 0 when it is complete; exported as the
    // "stream" of __cuda_array_interface__, and waited for by get().
    std::uintptr_t stream = 0;
    int device = 0;  // the device whose memory holds it

    std::size_t count() const {
        std::size_t n = 1;
        for (auto s : shape) n *= static_cast<std::size_t>(s);
        return n;
    }
};

using bindings::Target;
using bindings::TypeStr;

inline bool is_device_array(py::handle obj) { return py::hasattr(obj, "__cuda_array_interface__"); }

// The device whose memory holds a device array's data (cudaPointerGetAttributes), or -1 when the
// pointer is not device memory the runtime knows (host memory, or a foreign allocation).
inline int device_of_pointer(std::uintptr_t ptr) {
    if (!ptr) return -1;
    cudaPointerAttributes attr{};
    if (cudaPointerGetAttributes(&attr, reinterpret_cast<const void*>(ptr)) != cudaSuccess) {
        (void)cudaGetLastError();
        return -1;
    }
    return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged ? attr.device : -1;
}

// Makes `device` current for a scope and restores the caller's device after it.
class DeviceGuard {
public:
    explicit DeviceGuard(int device) {
        ALPHACUT_CUDA_CHECK(cudaGetDevice(&previous_));
        if (device >= 0 && device != previous_) {
            ALPHACUT_CUDA_CHECK(cudaSetDevice(device));
            switched_ = true;
        }
    }
    ~DeviceGuard() {
        if (switched_) cudaSetDevice(previous_);
    }
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int previous_ = 0;
    bool switched_ = false;
};

// One native call: owns the uploads, the outputs and (unless the caller gives one) the stream.
class GpuCall {
public:
    // stream: 0/None = a private stream, synchronised before returning; otherwise the raw
    // cudaStream_t handle (e.g. cupy's stream.ptr) and the call only enqueues work on it.
    // args: the call's Python arguments; the call runs on the device that holds its device arrays
    // (they must all be on one), the caller's current device when there are none.
    template <typename... A>
    explicit GpuCall(std::uintptr_t stream, const A&... args) : device_(pick_device(args...)) {
        if (stream) {
            stream_ = reinterpret_cast<cudaStream_t>(stream);
        } else {
            own_ = std::make_unique<Stream>();
            stream_ = own_->get();
        }
    }
    cudaStream_t stream() const { return stream_; }

    bool on_device(py::handle obj) const { return is_device_array(obj); }

    // The element type of an argument as an array-interface type string ("<f4", "|u1", "|b1", ...).
    std::string dtype(py::handle obj) const {
        if (is_device_array(obj)) return py::str(interface(obj)["typestr"]);
        return bindings::typestr_of(host_array(obj, "array"));
    }
    int ndim(py::handle obj) const {
        if (is_device_array(obj)) return static_cast<int>(py::len(interface(obj)["shape"]));
        return static_cast<int>(host_array(obj, "array").ndim());
    }

    template <typename T>
    ImageView<const T> input(py::handle obj, const char* name) {
        if (is_device_array(obj)) {
            any_device_ = true;
            return as_const(device_view<T>(obj, name, false));
        }
        py::array arr = host_array(obj, name);
        auto host = bindings::host_image<T>(arr, name);
        auto d = std::make_shared<DeviceImage<T>>(upload<T>(as_const(host), stream_));
        uploads_.push_back(d);
        return as_const(d->view);
    }

    // A new packed output of `shape` (its leading dims give the image view: (H, W[, C])).
    // finish() returns the outputs in the order they were made (one, or a tuple).
    template <typename T>
    T* output(std::vector<py::ssize_t> shape, const char* typestr = TypeStr<T>::value) {
        auto out = std::make_shared<DeviceArray>();
        out->shape = std::move(shape);
        out->typestr = typestr;
        out->itemsize = sizeof(T);
        out->buffer = DeviceBuffer<unsigned char>(out->count() * sizeof(T));
        ALPHACUT_CUDA_CHECK(cudaGetDevice(&out->device));
        outs_.push_back(out);
        return reinterpret_cast<T*>(out->buffer.get());
    }
    template <typename T>
    ImageView<T> output_image(int h, int w, int c, bool keep_channel_axis, const char* typestr = TypeStr<T>::value) {
        std::vector<py::ssize_t> shape{h, w};
        if (c != 1 || keep_channel_axis) shape.push_back(c);
        return make_view<T>(output<T>(shape, typestr), h, w, c);
    }

    // A caller's image written in place: a device array is written where it is; a NumPy array
    // is uploaded and copied back by complete().
    template <typename T>
    ImageView<T> inout_image(py::handle obj, const char* name) {
        if (is_device_array(obj)) {
            any_device_ = true;
            return device_view<T>(obj, name, true);
        }
        py::array arr = host_array(obj, name);
        auto host = bindings::host_image<T>(arr, name, true);
        auto d = std::make_shared<DeviceImage<T>>(upload<T>(as_const(host), stream_));
        uploads_.push_back(d);
        downloads_.push_back([this, d, host, arr] { download<T>(as_const(d->view), host, stream_); });
        return d->view;
    }

    // A caller-owned, C-contiguous device array to write into (e.g. a network input binding).
    Target target(py::handle obj, const char* name) {
        ALPHACUT_CHECK(is_device_array(obj), name << ": expected a device array (__cuda_array_interface__)");
        py::dict cai = interface(obj);
        Target t;
        t.typestr = py::str(cai["typestr"]);
        t.shape = cai["shape"].cast<std::vector<py::ssize_t>>();
        auto data = cai["data"].cast<py::tuple>();
        t.ptr = data[0].cast<std::uintptr_t>();
        ALPHACUT_CHECK(!data[1].cast<bool>(), name << ": device array is read-only");
        ALPHACUT_CHECK(t.ptr != 0, name << ": device array has a null data pointer");
        if (cai.contains("strides") && !cai["strides"].is_none()) {
            auto strides = cai["strides"].cast<std::vector<py::ssize_t>>();
            py::ssize_t expect = t.typestr.size() == 3 ? std::stoi(t.typestr.substr(2)) : 1;
            for (std::size_t i = t.shape.size(); i-- > 0;) {
                ALPHACUT_CHECK(strides[i] == expect || t.shape[i] == 1, name << ": device array must be C-contiguous");
                expect *= t.shape[i];
            }
        }
        any_device_ = true;
        return t;
    }

    // Finish a call that wrote into caller memory: NumPy targets get their copy back and the
    // call waits for it; otherwise it waits only when the stream is ours.
    void complete() {
        for (auto& copy_back : downloads_) copy_back();
        if (!downloads_.empty())
            ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream_));
        else if (own_)
            own_->synchronize();
        downloads_.clear();
        uploads_.clear();
    }

    // Hand the result back: on the device (caller's stream, no sync) or as NumPy (synchronised).
    py::object finish() {
        ALPHACUT_ASSERT(!outs_.empty(), "no output");
        std::vector<py::object> results;
        if (any_device_) {
            if (own_) own_->synchronize();
            for (auto& o : outs_) {
                // On the caller's stream nothing has waited: the result names the stream.
                if (!own_) o->stream = reinterpret_cast<std::uintptr_t>(stream_);
                results.push_back(py::cast(o));
            }
        } else {
            for (auto& o : outs_) {
                py::array host(py::dtype(o->typestr), o->shape);
                count_download(o->count() * o->itemsize);
                ALPHACUT_CUDA_CHECK(cudaMemcpyAsync(host.mutable_data(), o->buffer.get(), o->count() * o->itemsize,
                                                    cudaMemcpyDeviceToHost, stream_));
                results.push_back(std::move(host));
            }
            ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream_));
        }
        uploads_.clear();
        if (results.size() == 1) return results[0];
        py::tuple t(results.size());
        for (std::size_t i = 0; i < results.size(); ++i) t[i] = results[i];
        return std::move(t);
    }

private:
    static py::dict interface(py::handle obj) { return obj.attr("__cuda_array_interface__"); }

    template <typename... A>
    static int pick_device(const A&... args) {
        int dev = -1;
        auto consider = [&](const auto& a) {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_base_of_v<py::handle, T>) {
                if (!a.ptr() || a.is_none() || !is_device_array(a)) return;
                py::dict cai = interface(a);
                const auto ptr = cai["data"].template cast<py::tuple>()[0].template cast<std::uintptr_t>();
                const int d = device_of_pointer(ptr);
                if (d < 0) return;
                ALPHACUT_CHECK(dev < 0 || dev == d,
                               "device arrays on different devices (" << dev << " and " << d << ") in one call");
                dev = d;
            }
        };
        (consider(args), ...);
        return dev;
    }

    static py::array host_array(py::handle obj, const char* name) {
        py::array arr = py::array::ensure(obj);
        ALPHACUT_CHECK(arr, name << ": expected a NumPy array or an object with __cuda_array_interface__");
        return arr;
    }

    template <typename T>
    ImageView<T> device_view(py::handle obj, const char* name, bool writable) {
        py::dict cai = interface(obj);
        const std::string typestr = py::str(cai["typestr"]);
        const bool bool_as_u8 = std::is_same_v<T, std::uint8_t> && typestr == "|b1";
        ALPHACUT_CHECK(typestr == TypeStr<T>::value || bool_as_u8,
                       name << ": device array has type " << typestr << ", expected " << TypeStr<T>::value);
        auto shape = cai["shape"].cast<std::vector<py::ssize_t>>();
        ALPHACUT_CHECK(shape.size() == 2 || shape.size() == 3,
                       name << ": expected an (H, W) or (H, W, C) device array, got " << shape.size() << " dimensions");
        const int h = static_cast<int>(shape[0]), w = static_cast<int>(shape[1]);
        const int c = shape.size() == 3 ? static_cast<int>(shape[2]) : 1;
        ALPHACUT_CHECK(h > 0 && w > 0 && c > 0, name << ": device array is empty");
        const auto isz = static_cast<py::ssize_t>(sizeof(T));
        py::ssize_t row_stride = static_cast<py::ssize_t>(w) * c * isz;
        if (cai.contains("strides") && !cai["strides"].is_none()) {
            auto strides = cai["strides"].cast<std::vector<py::ssize_t>>();
            ALPHACUT_CHECK(strides.size() == shape.size(), name << ": strides do not match the shape");
            if (shape.size() == 3) ALPHACUT_CHECK(strides[2] == isz || c == 1, name << ": channels must be contiguous");
            ALPHACUT_CHECK(strides[1] == isz * c || w == 1, name << ": pixels of a row must be contiguous");
            ALPHACUT_CHECK(strides[0] > 0 && strides[0] % isz == 0, name << ": unsupported row stride " << strides[0]);
            row_stride = h > 1 ? strides[0] : row_stride;
        }
        auto data = cai["data"].cast<py::tuple>();
        const auto ptr = data[0].cast<std::uintptr_t>();
        ALPHACUT_CHECK(ptr != 0, name << ": device array has a null data pointer");
        if (writable) ALPHACUT_CHECK(!data[1].cast<bool>(), name << ": device array is read-only");
        if (cai.contains("stream") && !cai["stream"].is_none()) {
            // v3: the producer's stream; our work is ordered after it by synchronising it.
            const auto s = cai["stream"].cast<std::uintptr_t>();
            if (s != 0 && reinterpret_cast<cudaStream_t>(s) != stream_)
                ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(s)));
        }
        return make_view<T>(reinterpret_cast<T*>(ptr), h, w, c, row_stride / isz);
    }

    DeviceGuard device_;  // first: the stream, uploads and outputs belong to this device
    std::unique_ptr<Stream> own_;
    cudaStream_t stream_ = nullptr;
    bool any_device_ = false;
    std::vector<std::shared_ptr<void>> uploads_;
    std::vector<std::function<void()>> downloads_;  // NumPy in-place targets, copied back by complete()
    std::vector<std::shared_ptr<DeviceArray>> outs_;
};

}  // namespace alphacut::ALPHACUT_GPU_NS
