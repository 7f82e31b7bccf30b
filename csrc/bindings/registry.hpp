// Each csrc/bindings/<op>.cpp (once per backend it is built for) and csrc/bindings/gpu/*.cpp add
// their bind function with ALPHACUT_REGISTER_BINDINGS, so adding an op never edits a shared file.
#pragma once
#include <pybind11/pybind11.h>

#include <vector>

namespace alphacut::bindings {

using BindFn = void (*)(pybind11::module_&);

inline std::vector<BindFn>& registry() {
    static std::vector<BindFn> fns;
    return fns;
}

struct Registrar {
    explicit Registrar(BindFn fn) { registry().push_back(fn); }
};

}  // namespace alphacut::bindings

#define ALPHACUT_REGISTER_BINDINGS(name)                             \
    static void name(pybind11::module_& m);                          \
    static ::alphacut::bindings::Registrar name##_registrar_(&name); \
    static void name(pybind11::module_& m)
