// make_trimap for every backend (see call.hpp).
#include "../ops/make_trimap/make_trimap.hpp"

#include <cstdint>
#include <type_traits>

#include "call.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/make_trimap/make_trimap_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

Result<py::array_t<std::uint8_t>> make_trimap_entry(Call& call, Array prob, double fg_threshold, double bg_threshold,
                                                    int radius) {
    with_mask(call, prob, "prob", [&](auto p) {
        ALPHACUT_CHECK(p.channels == 1, "prob: expected an (H, W) array, got " << p.channels << " channels");
        auto o = call.output_image<std::uint8_t>(p.height, p.width, 1, false);
        // float64 maps are compared with the thresholds as given, the others in float32.
        if constexpr (std::is_same_v<element_t<decltype(p)>, double>) {
            ALPHACUT_RUN(call, make_trimap, p, fg_threshold, bg_threshold, radius, o);
        } else {
            const float fg = static_cast<float>(fg_threshold), bg = static_cast<float>(bg_threshold);
            ALPHACUT_RUN(call, make_trimap, p, fg, bg, radius, o);
        }
    });
    return call.finish();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_make_trimap) {
    def<&make_trimap_entry>(m, "make_trimap",
                            "(H, W) uint8 trimap 0/128/255 from prob (H, W) bool, uint8 (as prob / 255), float32 or "
                            "float64: sure foreground = erode(prob >= fg_threshold, r), sure background = "
                            "erode(prob <= bg_threshold, r).",
                            py::arg("prob"), py::arg("fg_threshold"), py::arg("bg_threshold"), py::arg("radius"));
}
