// dilate, erode for every backend (see call.hpp).
#include "../ops/morphology/morphology.hpp"

#include <cstdint>

#include "call.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/morphology/morphology_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

Result<py::array> morph(Call& call, py::handle mask, int radius, bool erosion) {
    with_mask(call, mask, "mask", [&](auto v) {
        ALPHACUT_CHECK(v.channels == 1, "mask: expected an (H, W) array, got " << v.channels << " channels");
        auto o = call.output_image<std::uint8_t>(v.height, v.width, 1, false, "|b1");
        if (erosion)
            ALPHACUT_RUN(call, erode, v, radius, o);
        else
            ALPHACUT_RUN(call, dilate, v, radius, o);
    });
    return call.finish();
}

Result<py::array> dilate_entry(Call& call, Array mask, int radius) { return morph(call, mask, radius, false); }
Result<py::array> erode_entry(Call& call, Array mask, int radius) { return morph(call, mask, radius, true); }

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_morphology) {
    def<&dilate_entry>(m, "dilate",
                       "Binary dilation, square (2r+1)^2 element, outside = background. mask (H, W) bool/uint8 "
                       "(non-zero = set) or float32/float64 (>= 0.5 = set) -> (H, W) bool.",
                       py::arg("mask"), py::arg("radius"));
    def<&erode_entry>(m, "erode",
                      "Binary erosion, square (2r+1)^2 element, outside = foreground. mask (H, W) bool/uint8 "
                      "(non-zero = set) or float32/float64 (>= 0.5 = set) -> (H, W) bool.",
                      py::arg("mask"), py::arg("radius"));
}
