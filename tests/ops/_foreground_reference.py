"""An independent NumPy reference of the GPU kernels' algorithm: multi-level foreground estimation
(Germer et al. 2020) with red-black Gauss-Seidel sweeps of every pixel of every level, the
levels, nearest resampling and start colours of pymatting's estimate_foreground_ml. Written from
the paper's update, vectorised per colour; shares no code with csrc/."""

import math

import numpy as np


def red_black_reference(
    image, alpha, regularization=1e-5, n_small_iterations=10, n_big_iterations=2, small_size=32, gradient_weight=1.0
):
    """Multi-level estimation with red-black sweeps of every pixel, in float32 NumPy."""
    image = np.asarray(image, np.float32)
    alpha = np.asarray(alpha, np.float32)
    H, W = alpha.shape
    n = math.ceil(math.log2(max(H, W)))
    sizes = [(H, W)] if n <= 0 else [(max(1, round(H ** (i / n))), max(1, round(W ** (i / n)))) for i in range(n + 1)]
    f = np.zeros((1, 1, 3), np.float32)
    b = np.zeros((1, 1, 3), np.float32)
    fg, bg = alpha > 0.9, alpha < 0.1
    f[0, 0] = image[fg].astype(np.float64).sum(0) / (fg.sum() + 1e-5)
    b[0, 0] = image[bg].astype(np.float64).sum(0) / (bg.sum() + 1e-5)
    reg, gw = np.float32(regularization), np.float32(gradient_weight)
    for h, w in sizes:
        ys = np.minimum(np.arange(h) * H // h, H - 1)
        xs = np.minimum(np.arange(w) * W // w, W - 1)
        im, a = image[ys][:, xs], alpha[ys][:, xs]
        ph, pw = f.shape[:2]
        py, px = np.minimum(np.arange(h) * ph // h, ph - 1), np.minimum(np.arange(w) * pw // w, pw - 1)
        f, b = f[py][:, px].copy(), b[py][:, px].copy()
        iters = n_small_iterations if h <= small_size and w <= small_size else n_big_iterations
        yy, xx = np.mgrid[0:h, 0:w]
        nbrs = [
            (yy, np.maximum(xx - 1, 0)),
            (yy, np.minimum(xx + 1, w - 1)),
            (np.maximum(yy - 1, 0), xx),
            (np.minimum(yy + 1, h - 1), xx),
        ]
        a1 = 1 - a
        for _ in range(iters):
            for colour in (0, 1):
                m = (yy + xx) % 2 == colour
                a00, a11, a01 = a * a, a1 * a1, a * a1
                b0, b1 = a[..., None] * im, a1[..., None] * im
                for ny, nx in nbrs:  # left, right, up, down, as the pixel functions add them
                    wn = reg + gw * np.abs(a - a[ny, nx])
                    a00, a11 = a00 + wn, a11 + wn
                    b0 = b0 + wn[..., None] * f[ny, nx]
                    b1 = b1 + wn[..., None] * b[ny, nx]
                inv = 1 / (a00 * a11 - a01 * a01)
                m00, m01, m11 = (inv * a11)[..., None], (-inv * a01)[..., None], (inv * a00)[..., None]
                fn = np.clip(m00 * b0 + m01 * b1, 0, 1)
                bn = np.clip(m01 * b0 + m11 * b1, 0, 1)
                f[m], b[m] = fn[m], bn[m]
    return f, b
