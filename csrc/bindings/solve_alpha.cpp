// solve_alpha for every backend (see call.hpp).
#include "../ops/solve_alpha/solve_alpha.hpp"

#include <cstdint>

#include "call.hpp"
#include "op_params.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/solve_alpha/solve_alpha_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

py::typing::Tuple<Result<py::array_t<float>>, py::dict> solve_alpha_entry(Call& call, Array image, Array trimap,
                                                                          py::object prior, py::object start, float eps,
                                                                          float prior_weight, float prior_confidence,
                                                                          int max_iter, float tol) {
    auto img = call.input<float>(image, "image");
    auto tri = call.input<std::uint8_t>(trimap, "trimap");
    ImageView<const float> pr, st;
    if (!prior.is_none()) pr = call.input<float>(prior, "prior");
    if (!start.is_none()) st = call.input<float>(start, "start");
    auto o = call.output_image<float>(img.height, img.width, 1, false);
    const auto params = solve_alpha_params(eps, prior_weight, prior_confidence, max_iter, tol);
    const SolveAlphaInfo info = ALPHACUT_RUN(call, solve_alpha, img, tri, pr, st, params, o);
    return py::make_tuple(Result<py::array_t<float>>(call.finish()), solve_alpha_info(info));
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_solve_alpha) {
    def<&solve_alpha_entry>(m, "solve_alpha",
                            "Closed-form matting solve in the unknown band of a trimap. image float32 (H, W, 3) in "
                            "[0, 1], trimap uint8 (H, W) (0 / 255 sure, else unknown), prior and start float32 (H, W) "
                            "or None. Returns (alpha float32 (H, W), info dict: unknown, windows, iterations, "
                            "residual).",
                            py::arg("image"), py::arg("trimap"), py::arg("prior"), py::arg("start"), py::arg("eps"),
                            py::arg("prior_weight"), py::arg("prior_confidence"), py::arg("max_iter"), py::arg("tol"));
}
