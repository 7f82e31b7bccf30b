// Device-side objects of the GPU backends: the DeviceArray result type, to_device and the
// transfer counters and, for CUDA, the device probe behind alphacut.device.is_available().
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

#if defined(ALPHACUT_EMU_COMPILE)
#define ALPHACUT_ARRAY_CLASS "EmuDeviceArray"
#else
#define ALPHACUT_ARRAY_CLASS "CudaDeviceArray"
#endif

namespace {

py::tuple shape_of(const DeviceArray& a) { return py::tuple(py::cast(a.shape)); }

py::dtype dtype_of(const DeviceArray& a) { return py::dtype(a.typestr); }

py::dict cuda_array_interface(const DeviceArray& a) {
    py::dict d;
    d["shape"] = py::tuple(py::cast(a.shape));
    d["typestr"] = a.typestr;
    d["data"] = py::make_tuple(reinterpret_cast<std::uintptr_t>(a.buffer.get()), false);
    d["strides"] = py::none();
    // CAI v3: the stream a consumer must wait for; None when the data is complete.
    if (a.stream)
        d["stream"] = a.stream;
    else
        d["stream"] = py::none();
    d["version"] = 3;
    return d;
}

py::array get(const DeviceArray& a) {
    py::array host(py::dtype(a.typestr), a.shape);
    count_download(a.count() * a.itemsize);
    {
        py::gil_scoped_release nogil;
        DeviceGuard on(a.device);
        // Made on a caller's stream: wait for it (cudaMemcpy's legacy stream does not wait for a
        // non-blocking one).
        if (a.stream) ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(a.stream)));
        ALPHACUT_CUDA_CHECK(
            cudaMemcpy(host.mutable_data(), a.buffer.get(), a.count() * a.itemsize, cudaMemcpyDeviceToHost));
    }
    return host;
}

std::shared_ptr<DeviceArray> to_device(py::array host) {
    host = py::array::ensure(host, py::array::c_style);
    ALPHACUT_CHECK(host, "to_device: expected an array");
    const std::string kind(1, host.dtype().kind());
    const std::size_t isz = static_cast<std::size_t>(host.itemsize());
    std::string typestr;
    if (kind == "f" && (isz == 4 || isz == 2))
        typestr = isz == 4 ? "<f4" : "<f2";
    else if (kind == "u" && isz == 1)
        typestr = "|u1";
    else if (kind == "i" && isz == 4)
        typestr = "<i4";
    ALPHACUT_CHECK(!typestr.empty(), "to_device: dtype " << std::string(py::str(host.dtype()))
                                                         << " is not supported (float32, float16, uint8, int32)");
    auto a = std::make_shared<DeviceArray>();
    a->shape.assign(host.shape(), host.shape() + host.ndim());
    a->typestr = typestr;
    a->itemsize = isz;
    a->buffer = DeviceBuffer<unsigned char>(a->count() * isz);
    ALPHACUT_CUDA_CHECK(cudaGetDevice(&a->device));
    count_upload(a->count() * isz);
    {
        py::gil_scoped_release nogil;
        // cudaMemcpy from pageable memory returns once the data is staged, before it reaches the
        // device; wait for the legacy stream so the array is complete ("stream": None) for any
        // consumer, including one on a non-blocking stream.
        ALPHACUT_CUDA_CHECK(cudaMemcpy(a->buffer.get(), host.data(), a->count() * isz, cudaMemcpyHostToDevice));
        ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(nullptr));
    }
    return a;
}

py::dict transfer_counts(bool reset) {
    auto& t = transfer_stats();
    py::dict d;
    d["uploads"] = t.uploads.load();
    d["upload_bytes"] = t.upload_bytes.load();
    d["downloads"] = t.downloads.load();
    d["download_bytes"] = t.download_bytes.load();
    if (reset) t.uploads = t.upload_bytes = t.downloads = t.download_bytes = 0;
    return d;
}

#if !defined(ALPHACUT_EMU_COMPILE)
std::string cuda_probe() {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        cudaGetLastError();  // clear the sticky error so later calls can retry
        return std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
    }
    if (n == 0) return "no CUDA device is visible (cudaGetDeviceCount returned 0)";
    return "";
}
#endif

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_gpu_device) {
    py::class_<DeviceArray, std::shared_ptr<DeviceArray>>(
        m, ALPHACUT_ARRAY_CLASS,
        "An array in " ALPHACUT_GPU_NAME " device memory returned by the " ALPHACUT_GPU_NAME
        " ops when their inputs live on the device. Exposes __cuda_array_interface__ (v3), so "
        "cupy.asarray(x) / torch.as_tensor(x, device='cuda') wrap it without a copy; get() copies it to NumPy.")
        .def_property_readonly("shape", &shape_of)
        .def_property_readonly("dtype", &dtype_of)
        .def_property_readonly("__cuda_array_interface__", &cuda_array_interface)
        .def("get", &get, "Copy to a new NumPy array.");

    m.def("to_device" ALPHACUT_GPU_SUFFIX, &to_device, py::arg("array"),
          "Copy a C-contiguous NumPy array into " ALPHACUT_GPU_NAME " device memory.");
    m.def("transfer_stats" ALPHACUT_GPU_SUFFIX, &transfer_counts, py::arg("reset") = false,
          "Host<->device array copies made by the " ALPHACUT_GPU_NAME
          " bindings since the last reset: "
          "{'uploads', 'upload_bytes', 'downloads', 'download_bytes'}; reset=True zeroes them after reading.");
#if !defined(ALPHACUT_EMU_COMPILE)
    m.def("cuda_probe", &cuda_probe, "'' when a CUDA device can be used, else the reason.");
#endif
}
