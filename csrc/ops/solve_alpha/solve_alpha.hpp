// solve_alpha: alpha in the unknown band of a trimap from the closed-form matting Laplacian,
// with an optional soft prior. Minimises over the unknown pixels U, sure pixels held fixed:
//
//   E(alpha) = alpha^T L alpha + sum_{i in U} lambda_i (alpha_i - prior_i)^2,
//   lambda_i = prior_weight * |2 prior_i - 1|^prior_confidence
//
// by Jacobi-preconditioned conjugate gradients on the band only (L is never formed), warm
// started from the prior (0.5 without one). See solve_alpha_pixel.hpp for L.
#pragma once
#include "../../common/image_view.hpp"

namespace alphacut {

struct SolveAlphaParams {
    float eps = 1e-6f;          // regulariser of the window covariances (colours in [0, 1])
    float prior_weight = 0.f;   // lambda of the data term; used only with a prior
    float prior_confidence = 0.f;  // lambda_i = prior_weight * |2 prior_i - 1|^prior_confidence
    int max_iter = 400;         // conjugate-gradient iterations at most
    float tol = 1e-4f;          // stop when ||r|| <= tol * ||b||
};

struct SolveAlphaInfo {
    long long unknown = 0;      // pixels solved for
    long long windows = 0;      // 3x3 windows touching them
    int iterations = 0;         // CG iterations run
    double residual = 0.0;      // final ||r|| / ||b|| (0 when nothing was solved)
};

// image: float (H, W, 3) in [0, 1]; trimap: uint8 (H, W) (0 = background, 255 = foreground,
// anything else unknown); prior: float (H, W) in [0, 1], or data == nullptr for none; start:
// float (H, W), the CG starting point on the unknown pixels (nullptr: the prior, else 0.5);
// out: float (H, W). Sure pixels are written as 0 / 1 exactly.
SolveAlphaInfo solve_alpha_cpu(ImageView<const float> image, ImageView<const unsigned char> trimap,
                               ImageView<const float> prior, ImageView<const float> start,
                               const SolveAlphaParams& params, ImageView<float> out);

}  // namespace alphacut
