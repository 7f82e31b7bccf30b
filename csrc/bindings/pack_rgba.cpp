// pack_rgba, pack_rgba_patch for every backend (see call.hpp).
#include "../ops/pack_rgba/pack_rgba.hpp"

#include <cstdint>

#include "call.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/pack_rgba/pack_rgba_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

Result<py::array_t<std::uint8_t>> pack_rgba_entry(Call& call, Array image, Array alpha, py::object fg, int fg_y0,
                                                  int fg_x0) {
    auto i = call.input<std::uint8_t>(image, "image");
    auto a = call.input<float>(alpha, "alpha");
    ImageView<const float> f;
    if (!fg.is_none()) f = call.input<float>(fg, "foreground");
    auto o = call.output_image<std::uint8_t>(i.height, i.width, 4, true);
    ALPHACUT_RUN(call, pack_rgba, i, a, f, fg_y0, fg_x0, o);
    return call.finish();
}

void pack_rgba_patch_entry(Call& call, Array image, Array fg, int fg_y0, int fg_x0, Array out) {
    auto i = call.input<std::uint8_t>(image, "image");
    auto f = call.input<float>(fg, "foreground");
    auto o = call.inout_image<std::uint8_t>(out, "out");
    ALPHACUT_RUN(call, pack_rgba_patch, i, f, fg_y0, fg_x0, o);
    call.complete();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_pack_rgba) {
    def<&pack_rgba_entry>(m, "pack_rgba",
                          "(H, W, 4) uint8 cutout from a uint8 (H, W, 3) image, float32 (H, W) alpha and an optional "
                          "float32 (h, w, 3) foreground colour of the rectangle at (fg_y0, fg_x0).",
                          py::arg("image"), py::arg("alpha"), py::arg("foreground") = py::none(), py::arg("fg_y0") = 0,
                          py::arg("fg_x0") = 0);
    def<&pack_rgba_patch_entry>(m, "pack_rgba_patch",
                                "In place: the colour of the soft pixels of the (H, W, 4) uint8 `out` inside the "
                                "rectangle of the float32 (h, w, 3) foreground at (fg_y0, fg_x0) becomes "
                                "round(255 * foreground).",
                                py::arg("image"), py::arg("foreground"), py::arg("fg_y0"), py::arg("fg_x0"),
                                py::arg("out"));
}
