// Parameter structs and result dicts of the ops with many scalar arguments, built once for the
// CPU bindings and the GPU bindings (<op>_cuda, <op>_emu) alike.
#pragma once
#include <pybind11/pybind11.h>

#include <array>

#include "../ops/estimate_foreground/estimate_foreground.hpp"
#include "../ops/preprocess/preprocess.hpp"
#include "../ops/solve_alpha/solve_alpha.hpp"

namespace alphacut::bindings {

inline ForegroundParams foreground_params(float regularization, int n_small_iterations, int n_big_iterations,
                                          int small_size, float gradient_weight, long long band_min_pixels) {
    ForegroundParams p;
    p.regularization = regularization;
    p.n_small_iterations = n_small_iterations;
    p.n_big_iterations = n_big_iterations;
    p.small_size = small_size;
    p.gradient_weight = gradient_weight;
    p.band_min_pixels = band_min_pixels;
    return p;
}

inline PreprocessParams preprocess_params(float scale, std::array<float, 3> mean, std::array<float, 3> std,
                                          bool swap_rb) {
    PreprocessParams p{};
    p.scale = scale;
    for (int c = 0; c < 3; ++c) {
        p.mean[c] = mean[c];
        p.std[c] = std[c];
    }
    p.swap_rb = swap_rb ? 1 : 0;
    return p;
}

inline SolveAlphaParams solve_alpha_params(float eps, float prior_weight, float prior_confidence, int max_iter,
                                           float tol) {
    SolveAlphaParams p;
    p.eps = eps;
    p.prior_weight = prior_weight;
    p.prior_confidence = prior_confidence;
    p.max_iter = max_iter;
    p.tol = tol;
    return p;
}

inline pybind11::dict solve_alpha_info(const SolveAlphaInfo& info) {
    pybind11::dict d;
    d["unknown"] = info.unknown;
    d["windows"] = info.windows;
    d["iterations"] = info.iterations;
    d["residual"] = info.residual;
    return d;
}

}  // namespace alphacut::bindings
