// solve_alpha on the GPU backends (solve_alpha_cuda, solve_alpha_emu): the arguments and the
// (alpha, info) result of solve_alpha_cpu, plus the stream.
#include <cstdint>

#include "../../ops/solve_alpha/solve_alpha_cuda.hpp"
#include "../op_params.hpp"
#include "../registry.hpp"
#include "gpu_call.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::ALPHACUT_GPU_NS;

ALPHACUT_REGISTER_BINDINGS(bind_solve_alpha_gpu) {
    m.def(
        "solve_alpha" ALPHACUT_GPU_SUFFIX,
        [](py::object image, py::object trimap, py::object prior, py::object start, float eps, float prior_weight,
           float prior_confidence, int max_iter, float tol, std::uintptr_t stream) {
            GpuCall call(stream);
            auto img = call.input<float>(image, "image");
            auto tri = call.input<std::uint8_t>(trimap, "trimap");
            ImageView<const float> pr, st;
            if (!prior.is_none()) pr = call.input<float>(prior, "prior");
            if (!start.is_none()) st = call.input<float>(start, "start");
            auto o = call.output_image<float>(img.height, img.width, 1, false);
            const auto params = bindings::solve_alpha_params(eps, prior_weight, prior_confidence, max_iter, tol);
            SolveAlphaInfo info;
            {
                py::gil_scoped_release nogil;
                info = solve_alpha(img, tri, pr, st, params, o, call.stream());
            }
            return py::make_tuple(call.finish(), bindings::solve_alpha_info(info));
        },
        py::arg("image"), py::arg("trimap"), py::arg("prior"), py::arg("start"), py::arg("eps"),
        py::arg("prior_weight"), py::arg("prior_confidence"), py::arg("max_iter"), py::arg("tol"), py::kw_only(),
        py::arg("stream") = 0,
        "Closed-form matting solve in the unknown band of a trimap on " ALPHACUT_GPU_NAME ". image float32 (H, W, 3) "
        "in [0, 1], trimap uint8 (H, W) (0 / 255 sure, else unknown), prior and start float32 (H, W) or None; NumPy "
        "or device arrays. Returns (alpha float32 (H, W), info dict: unknown, windows, iterations, residual); alpha "
        "stays on the device when an input did.");
}
