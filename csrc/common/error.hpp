// Error types thrown by native code. pybind11 maps them onto alphacut.InputError (bad input),
// alphacut.Error (other user errors: no device, out of memory) and alphacut.InternalError (bugs);
// every message carries file:line, the path from csrc/.
#pragma once
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

namespace alphacut {

// Something the caller can fix: bad shape, bad parameter, missing device.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A bad argument: shape, type, range (ALPHACUT_CHECK). alphacut.InputError in Python.
class InputError : public Error {
public:
    using Error::Error;
};

// A broken invariant inside alphacut: a bug to report.
class InternalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {
template <typename E>
[[noreturn]] inline void throw_at(const char* file, int line, const std::string& msg) {
    const char* rel = std::strstr(file, "csrc/");  // not the build machine's absolute path
    std::ostringstream os;
    os << msg << " [" << (rel ? rel : file) << ":" << line << "]";
    throw E(os.str());
}
}  // namespace detail

}  // namespace alphacut

// Validate a user-controlled condition; `msg` is streamed, e.g. ALPHACUT_CHECK(r >= 0, "radius " << r).
#define ALPHACUT_CHECK(cond, msg)                                                                         \
    do {                                                                                                  \
        if (!(cond)) {                                                                                    \
            std::ostringstream alphacut_os_;                                                              \
            alphacut_os_ << msg;                                                                          \
            ::alphacut::detail::throw_at<::alphacut::InputError>(__FILE__, __LINE__, alphacut_os_.str()); \
        }                                                                                                 \
    } while (0)

// Check an internal invariant (a failure is a bug in alphacut).
#define ALPHACUT_ASSERT(cond, msg)                                                                           \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            std::ostringstream alphacut_os_;                                                                 \
            alphacut_os_ << "internal error: " << msg << " (" #cond ")";                                     \
            ::alphacut::detail::throw_at<::alphacut::InternalError>(__FILE__, __LINE__, alphacut_os_.str()); \
        }                                                                                                    \
    } while (0)
