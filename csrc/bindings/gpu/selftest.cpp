// Execution-model self-tests of the GPU backends (leading underscore: for the test suite).
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "../../emu/selftest_kernels.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

namespace {

py::array_t<int> to_host(const DeviceBuffer<int>& d, std::vector<py::ssize_t> shape) {
    py::array_t<int> a(shape);
    ALPHACUT_CUDA_CHECK(cudaMemcpy(a.mutable_data(), d.get(), d.bytes(), cudaMemcpyDeviceToHost));
    return a;
}

int first(const DeviceBuffer<int>& d) {
    int v = 0;
    ALPHACUT_CUDA_CHECK(cudaMemcpy(&v, d.get(), sizeof(int), cudaMemcpyDeviceToHost));
    return v;
}

DeviceBuffer<int> zeros(std::size_t n) {
    DeviceBuffer<int> d(n);
    ALPHACUT_CUDA_CHECK(cudaMemset(d.get(), 0, d.bytes()));
    return d;
}

py::typing::Tuple<py::array_t<int>, int> grid_coverage(std::tuple<int, int, int> g, std::tuple<int, int, int> b) {
    dim3 grid(std::get<0>(g), std::get<1>(g), std::get<2>(g));
    dim3 block(std::get<0>(b), std::get<1>(b), std::get<2>(b));
    const std::size_t nx = grid.x * block.x, ny = grid.y * block.y, nz = grid.z * block.z;
    auto counts = zeros(nx * ny * nz);
    auto bad = zeros(1);
    selftest::grid_coverage(grid, block, counts.get(), bad.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(nz), static_cast<py::ssize_t>(ny),
                                         static_cast<py::ssize_t>(nx)};
    return py::make_tuple(to_host(counts, shape), first(bad));
}

py::array_t<int> block_reverse(py::array_t<int, py::array::c_style | py::array::forcecast> data, int threads,
                               bool dynamic_shared) {
    ALPHACUT_CHECK(threads > 0 && data.size() % threads == 0, "data size must be a multiple of threads");
    DeviceBuffer<int> d(data.size());
    ALPHACUT_CUDA_CHECK(cudaMemcpy(d.get(), data.data(), d.bytes(), cudaMemcpyHostToDevice));
    selftest::block_reverse(d.get(), static_cast<int>(data.size() / threads), threads, dynamic_shared, nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    return to_host(d, {static_cast<py::ssize_t>(data.size())});
}

int barrier_rounds(int blocks, int threads, int rounds) {
    auto failures = zeros(1);
    selftest::barrier_rounds(blocks, threads, rounds, failures.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    return first(failures);
}

py::array_t<int> divergent_barrier(int threads) {
    auto out = zeros(threads);
    selftest::divergent_barrier(threads, out.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    return to_host(out, {threads});
}

py::array_t<int> launch_with_threads(int threads) {
    auto out = zeros(threads > 0 ? threads : 1);
    selftest::launch_with_threads(threads, out.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    return to_host(out, {threads > 0 ? threads : 1});
}

py::array_t<float> uninit_shared(int blocks, int threads) {
    DeviceBuffer<float> out(static_cast<std::size_t>(blocks) * threads);
    selftest::uninit_shared(blocks, threads, out.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    py::array_t<float> a(static_cast<py::ssize_t>(out.size()));
    ALPHACUT_CUDA_CHECK(cudaMemcpy(a.mutable_data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost));
    return a;
}

py::array_t<float> uninit_static_shared(int blocks, int threads) {
    DeviceBuffer<float> out(static_cast<std::size_t>(blocks) * threads);
    selftest::uninit_static_shared(blocks, threads, out.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    py::array_t<float> a(static_cast<py::ssize_t>(out.size()));
    ALPHACUT_CUDA_CHECK(cudaMemcpy(a.mutable_data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost));
    return a;
}

py::array_t<float> block_reduce(py::array_t<float, py::array::c_style | py::array::forcecast> data, int threads,
                                bool synced, bool dynamic_shared) {
    ALPHACUT_CHECK(threads > 0 && data.size() > 0 && data.size() % threads == 0,
                   "data size must be a positive multiple of threads");
    const int blocks = static_cast<int>(data.size() / threads);
    DeviceBuffer<float> in(data.size()), out(blocks);
    ALPHACUT_CUDA_CHECK(cudaMemcpy(in.get(), data.data(), in.bytes(), cudaMemcpyHostToDevice));
    selftest::block_reduce(in.get(), out.get(), blocks, threads, synced, dynamic_shared, nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    py::array_t<float> a(static_cast<py::ssize_t>(blocks));
    ALPHACUT_CUDA_CHECK(cudaMemcpy(a.mutable_data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost));
    return a;
}

py::array_t<int> racy_flag(int threads) {
    auto out = zeros(threads);
    selftest::racy_flag(threads, out.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    return to_host(out, {threads});
}

py::array_t<int> shared_index(int threads, int offset) {
    auto out = zeros(threads);
    selftest::shared_index(threads, offset, out.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    return to_host(out, {threads});
}

// What a cudaMalloc'd buffer holds before anything writes it, read back through a kernel.
py::array_t<float> uninit_device_memory(int n) {
    DeviceBuffer<float> in(n), out(n);
    ALPHACUT_CUDA_CHECK(cudaMemset(out.get(), 0, out.bytes()));
    selftest::copy(in.get(), out.get(), n, nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    py::array_t<float> a(n);
    ALPHACUT_CUDA_CHECK(cudaMemcpy(a.mutable_data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost));
    return a;
}

// A pageable upload with cudaMemcpy, then a kernel on `stream` that reads it (without, or with,
// waiting for the legacy stream first), then the result read back after that stream.
py::array_t<float> upload_then_kernel(py::array_t<float, py::array::c_style | py::array::forcecast> host,
                                      std::uintptr_t stream, bool wait_legacy) {
    const int n = static_cast<int>(host.size());
    DeviceBuffer<float> in(n), out(n);
    ALPHACUT_CUDA_CHECK(cudaMemcpy(in.get(), host.data(), in.bytes(), cudaMemcpyHostToDevice));
    if (wait_legacy) ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(nullptr));
    auto s = reinterpret_cast<cudaStream_t>(stream);
    selftest::copy(in.get(), out.get(), n, s);
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(s));
    py::array_t<float> a(n);
    ALPHACUT_CUDA_CHECK(cudaMemcpy(a.mutable_data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost));
    return a;
}

py::array_t<int> arrival_order(int threads) {
    auto counter = zeros(1);
    auto out = zeros(threads);
    selftest::arrival_order(threads, counter.get(), out.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    return to_host(out, {threads});
}

py::array_t<int> split_barrier(int threads) {
    auto out = zeros(threads);
    selftest::split_barrier(threads, out.get(), nullptr);
    ALPHACUT_CUDA_CHECK(cudaDeviceSynchronize());
    return to_host(out, {threads});
}

// A kernel queued on a stream reads a buffer that is freed before the stream is waited for:
// with cudaFree (use after free unless the free waits for the device) or in stream order.
py::array_t<float> free_before_kernel_runs(int n, bool stream_ordered) {
    cudaStream_t s = nullptr;
    ALPHACUT_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    float* in = nullptr;
    DeviceBuffer<float> out(n);
    ALPHACUT_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&in), n * sizeof(float)));
    ALPHACUT_CUDA_CHECK(cudaMemsetAsync(in, 0, n * sizeof(float), s));
    selftest::copy(in, out.get(), n, s);
    if (stream_ordered)
        ALPHACUT_CUDA_CHECK(cudaFreeAsync(in, s));
    else
        ALPHACUT_CUDA_CHECK(cudaFree(in));
    const cudaError_t err = cudaStreamSynchronize(s);
    cudaStreamDestroy(s);
    ALPHACUT_CUDA_CHECK(err);
    py::array_t<float> a(n);
    ALPHACUT_CUDA_CHECK(cudaMemcpy(a.mutable_data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost));
    return a;
}

std::string gpu_probe() {
    py::gil_scoped_release nogil;
    return selftest::probe();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_gpu_selftest) {
    m.def("_selftest_uninit_shared" ALPHACUT_GPU_SUFFIX, &uninit_shared, py::arg("blocks"), py::arg("threads"));
    m.def("_selftest_uninit_static_shared" ALPHACUT_GPU_SUFFIX, &uninit_static_shared, py::arg("blocks"),
          py::arg("threads"));
    m.def("_selftest_block_reduce" ALPHACUT_GPU_SUFFIX, &block_reduce, py::arg("data"), py::arg("threads"),
          py::arg("synced"), py::arg("dynamic_shared") = false);
    m.def("_selftest_racy_flag" ALPHACUT_GPU_SUFFIX, &racy_flag, py::arg("threads"));
    m.def("_selftest_shared_index" ALPHACUT_GPU_SUFFIX, &shared_index, py::arg("threads"), py::arg("offset"));
    m.def("_selftest_uninit_device_memory" ALPHACUT_GPU_SUFFIX, &uninit_device_memory, py::arg("n"));
    m.def("_selftest_upload_then_kernel" ALPHACUT_GPU_SUFFIX, &upload_then_kernel, py::arg("host"), py::arg("stream"),
          py::arg("wait_legacy"));
    m.def("_selftest_arrival_order" ALPHACUT_GPU_SUFFIX, &arrival_order, py::arg("threads"));
    m.def("_selftest_split_barrier" ALPHACUT_GPU_SUFFIX, &split_barrier, py::arg("threads"));
    m.def("_selftest_free_before_kernel_runs" ALPHACUT_GPU_SUFFIX, &free_before_kernel_runs, py::arg("n"),
          py::arg("stream_ordered"));
    m.def("gpu_probe" ALPHACUT_GPU_SUFFIX, &gpu_probe,
          "'' when this build's kernels run on the current device (a test kernel is launched), else the reason.");
#if defined(ALPHACUT_EMU_COMPILE)
    // The emulated device's knobs and streams (for the tests).
    m.def("_emu_configure",
          [](std::uint64_t seed, int devices, bool no_kernel_image, std::optional<bool> racecheck) {
        auto& d = alphacut_emu::device();
        std::lock_guard<std::recursive_mutex> lock(d.mu);
        d.seed = seed;
        d.device_count = devices;
        d.launch_error = no_kernel_image ? cudaErrorNoKernelImageForDevice : cudaSuccess;
        if (racecheck) d.racecheck = *racecheck;
    }, py::arg("seed") = 0, py::arg("devices") = 1, py::arg("no_kernel_image") = false,
          py::arg("racecheck") = py::none(),
          "seed: 0 runs blocks and threads in order, else shuffled (per launch, reproducibly); devices: how many "
          "devices there are; no_kernel_image: every launch fails as on a GPU this build has no code for; "
          "racecheck: check shared-memory accesses for races (None: leave as is; on unless "
          "ALPHACUT_EMU_RACECHECK=0).");
    m.def("_emu_racecheck", [] { return alphacut_emu::device().racecheck.load(); },
          "Whether kernels' shared-memory accesses are checked for races.");
    m.def("_emu_launch_configs", [] {
        auto& d = alphacut_emu::device();
        std::lock_guard<std::recursive_mutex> lock(d.mu);
        py::dict out;
        for (const auto& [name, c] : d.launch_configs) out[py::str(name)] = py::make_tuple(c.first, c.second);
        return out;
    }, "{kernel: (most threads per block, most dynamic shared bytes)} over the launches made so far.");
    m.def("_emu_set_device", [](int dev) { ALPHACUT_CUDA_CHECK(cudaSetDevice(dev)); });
    m.def("_emu_get_device", [] {
        int d = 0;
        ALPHACUT_CUDA_CHECK(cudaGetDevice(&d));
        return d;
    });
    m.def("_emu_stream_create", [](bool non_blocking) {
        cudaStream_t s = nullptr;
        ALPHACUT_CUDA_CHECK(cudaStreamCreateWithFlags(&s, non_blocking ? cudaStreamNonBlocking : cudaStreamDefault));
        return reinterpret_cast<std::uintptr_t>(s);
    }, py::arg("non_blocking"));
    m.def("_emu_stream_synchronize", [](std::uintptr_t s) {
        py::gil_scoped_release nogil;
        ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(s)));
    });
    m.def("_emu_stream_destroy",
          [](std::uintptr_t s) { ALPHACUT_CUDA_CHECK(cudaStreamDestroy(reinterpret_cast<cudaStream_t>(s))); });
    m.def("_emu_stream_pending", [](std::uintptr_t s) {
        auto& d = alphacut_emu::device();
        std::lock_guard<std::recursive_mutex> lock(d.mu);
        return alphacut_emu::resolve(reinterpret_cast<cudaStream_t>(s))->queue.size();
    });
#endif
    m.def("_selftest_grid_coverage" ALPHACUT_GPU_SUFFIX, &grid_coverage, py::arg("grid"), py::arg("block"));
    m.def("_selftest_block_reverse" ALPHACUT_GPU_SUFFIX, &block_reverse, py::arg("data"), py::arg("threads"),
          py::arg("dynamic_shared") = false);
    m.def("_selftest_barrier_rounds" ALPHACUT_GPU_SUFFIX, &barrier_rounds, py::arg("blocks"), py::arg("threads"),
          py::arg("rounds"));
    m.def("_selftest_divergent_barrier" ALPHACUT_GPU_SUFFIX, &divergent_barrier, py::arg("threads"));
    m.def("_selftest_launch_with_threads" ALPHACUT_GPU_SUFFIX, &launch_with_threads, py::arg("threads"));
}
