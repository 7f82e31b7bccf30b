#include "../ops/solve_alpha/solve_alpha.hpp"

#include "convert.hpp"
#include "op_params.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

ALPHACUT_REGISTER_BINDINGS(bind_solve_alpha) {
    m.def(
        "solve_alpha_cpu",
        [](py::array image, py::array trimap, py::object prior, py::object start, float eps, float prior_weight, float prior_confidence, int max_iter,
           float tol) {
            auto img = view_of<float>(image, "image");
            auto tri = view_of<unsigned char>(trimap, "trimap");
            ImageView<float> pr;
            py::array prior_arr;
            if (!prior.is_none()) {
                prior_arr = py::reinterpret_borrow<py::array>(prior);
                pr = view_of<float>(prior_arr, "prior");
            }
            ImageView<float> st;
            py::array start_arr;
            if (!start.is_none()) {
                start_arr = py::reinterpret_borrow<py::array>(start);
                st = view_of<float>(start_arr, "start");
            }
            auto out = new_image<float>(img.height, img.width);
            auto o = view_of<float>(out, "out", true);
            const auto params = bindings::solve_alpha_params(eps, prior_weight, prior_confidence, max_iter, tol);
            SolveAlphaInfo info;
            {
                py::gil_scoped_release nogil;
                info = solve_alpha_cpu(as_const(img), as_const(tri), as_const(pr), as_const(st), params, o);
            }
            return py::make_tuple(out, solve_alpha_info(info));
        },
        py::arg("image"), py::arg("trimap"), py::arg("prior"), py::arg("start"), py::arg("eps"), py::arg("prior_weight"), py::arg("prior_confidence"),
        py::arg("max_iter"), py::arg("tol"),
        "Closed-form matting solve in the unknown band of a trimap. image float32 (H, W, 3) in [0, 1], "
        "trimap uint8 (H, W) (0 / 255 sure, else unknown), prior and start float32 (H, W) or None. Returns "
        "(alpha float32 (H, W), info dict: unknown, windows, iterations, residual).");
}
