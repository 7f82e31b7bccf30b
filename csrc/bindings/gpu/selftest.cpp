// Execution-model self-tests of the GPU backends (leading underscore: for the test suite).
#include <pybind11/typing.h>

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

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_gpu_selftest) {
    m.def("_selftest_grid_coverage" ALPHACUT_GPU_SUFFIX, &grid_coverage, py::arg("grid"), py::arg("block"));
    m.def("_selftest_block_reverse" ALPHACUT_GPU_SUFFIX, &block_reverse, py::arg("data"), py::arg("threads"),
          py::arg("dynamic_shared") = false);
    m.def("_selftest_barrier_rounds" ALPHACUT_GPU_SUFFIX, &barrier_rounds, py::arg("blocks"), py::arg("threads"),
          py::arg("rounds"));
    m.def("_selftest_divergent_barrier" ALPHACUT_GPU_SUFFIX, &divergent_barrier, py::arg("threads"));
    m.def("_selftest_launch_with_threads" ALPHACUT_GPU_SUFFIX, &launch_with_threads, py::arg("threads"));
}
