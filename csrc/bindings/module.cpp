// alphacut._core: the native ops. Each op's binding lives in its own file, csrc/bindings/<op>.cpp,
// built once per backend (call.hpp), and registers itself; this file only wires errors and the
// shared settings.
#include <pybind11/pybind11.h>

#include "../common/error.hpp"
#include "../common/parallel.hpp"
#include "registry.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
    m.doc() = "alphacut native ops (CPU always; CUDA and CUDA-on-CPU emulation when built with them)";

    // Map native exceptions onto alphacut's Python exception types.
    static py::object input_error = py::module_::import("alphacut.errors").attr("InputError");
    static py::object user_error = py::module_::import("alphacut.errors").attr("Error");
    static py::object internal_error = py::module_::import("alphacut.errors").attr("InternalError");
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const alphacut::InputError& e) {
            PyErr_SetString(input_error.ptr(), e.what());
        } catch (const alphacut::Error& e) {
            PyErr_SetString(user_error.ptr(), e.what());
        } catch (const alphacut::InternalError& e) {
            PyErr_SetString(internal_error.ptr(), e.what());
        }
    });

    m.def("set_num_threads", &alphacut::set_num_threads, py::arg("n"),
          "Threads used by the CPU ops (0 = one per hardware thread).");
    m.def("get_num_threads", &alphacut::get_num_threads, "Threads the CPU ops will use (on the calling thread).");
    m.def("set_thread_limit", [](int n) { alphacut::thread_limit() = n < 0 ? 0 : n; }, py::arg("n"),
          "At most n threads for the CPU ops called from the calling thread (0 = no limit of its own).");
    m.def("get_thread_limit", [] { return alphacut::thread_limit(); },
          "The calling thread's own limit on the CPU ops' threads (0 = none).");

#ifdef ALPHACUT_WITH_CUDA
    m.attr("built_with_cuda") = true;
#else
    m.attr("built_with_cuda") = false;
#endif
#ifdef ALPHACUT_WITH_EMU
    m.attr("built_with_emu") = true;
#else
    m.attr("built_with_emu") = false;
#endif

    for (auto bind : alphacut::bindings::registry()) bind(m);
}
