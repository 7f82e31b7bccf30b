"""Float64 NumPy references for the guided filter and fast guided upsampling, written from the
papers' formulas and independent of alphacut's native code (imported by the op tests)."""

from __future__ import annotations

import numpy as np


def box_mean(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over the (2r+1)^2 window clipped to the image, per channel, via cumulative sums."""
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape[:2]

    def window_sum(a, axis, n):
        c = np.cumsum(a, axis=axis)
        pad = [(0, 0)] * a.ndim
        pad[axis] = (1, 0)
        c = np.pad(c, pad)
        idx = np.arange(n)
        lo = np.maximum(idx - r, 0)
        hi = np.minimum(idx + r, n - 1) + 1
        return np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)

    s = window_sum(window_sum(x, 0, h), 1, w)
    ny = np.minimum(np.arange(h) + r, h - 1) - np.maximum(np.arange(h) - r, 0) + 1
    nx = np.minimum(np.arange(w) + r, w - 1) - np.maximum(np.arange(w) - r, 0) + 1
    n = (ny[:, None] * nx[None, :]).astype(np.float64)
    return s / n.reshape(n.shape + (1,) * (x.ndim - 2))


def to_unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)


def coefficients(guide, src, r: int, eps: float):
    """(mean_a (H, W, C), mean_b (H, W)) of He et al.'s guided filter, in float64."""
    I, p = to_unit(guide), to_unit(src)
    if I.ndim == 3 and I.shape[2] == 1:
        I = I[..., 0]
    mI, mp = box_mean(I, r), box_mean(p, r)
    if I.ndim == 2:
        a = (box_mean(I * p, r) - mI * mp) / (box_mean(I * I, r) - mI * mI + eps)
        b = mp - a * mI
        return box_mean(a, r)[..., None], box_mean(b, r)
    sigma = box_mean(I[..., :, None] * I[..., None, :], r) - mI[..., :, None] * mI[..., None, :]
    cov = box_mean(I * p[..., None], r) - mI * mp[..., None]
    a = np.linalg.solve(sigma + eps * np.eye(3), cov[..., None])[..., 0]
    b = mp - (a * mI).sum(-1)
    return box_mean(a, r), box_mean(b, r)


def guided_filter(guide, src, r: int, eps: float) -> np.ndarray:
    I = to_unit(guide)
    ma, mb = coefficients(guide, src, r, eps)
    I3 = I if I.ndim == 3 else I[..., None]
    return (ma * I3).sum(-1) + mb


def area_matrix(n_dst: int, n_src: int) -> np.ndarray:
    """M[i, j] = the share of destination pixel i that source pixel j covers (rows sum to 1)."""
    i = np.arange(n_dst)[:, None]
    j = np.arange(n_src)[None, :]
    lo = np.maximum(i * n_src, j * n_dst)
    hi = np.minimum((i + 1) * n_src, (j + 1) * n_dst)
    return np.clip(hi - lo, 0, None) / n_src


def area_downscale(img, h: int, w: int) -> np.ndarray:
    img = to_unit(img)
    H, W = img.shape[:2]
    rows = (area_matrix(h, H) @ img.reshape(H, -1)).reshape((h, W) + img.shape[2:])
    return np.einsum("jx,ix...->ij...", area_matrix(w, W), rows, optimize=True)


def linear_taps(n_dst: int, n_src: int):
    s = np.clip((np.arange(n_dst) + 0.5) * n_src / n_dst - 0.5, 0, n_src - 1)
    i0 = np.floor(s).astype(int)
    return i0, np.minimum(i0 + 1, n_src - 1), s - i0


def bilinear(x: np.ndarray, H: int, W: int) -> np.ndarray:
    """Pixel-centre aligned bilinear resize with edge clamping (cv2.INTER_LINEAR's convention)."""
    y0, y1, wy = linear_taps(H, x.shape[0])
    x0, x1, wx = linear_taps(W, x.shape[1])
    wy = wy.reshape((-1,) + (1,) * (x.ndim - 1))
    wx = wx.reshape((1, -1) + (1,) * (x.ndim - 2))
    top = x[y0][:, x0] * (1 - wx) + x[y0][:, x1] * wx
    bottom = x[y1][:, x0] * (1 - wx) + x[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


def upscale_alpha(alpha_low, guide_full, r: int, eps: float) -> np.ndarray:
    """He & Sun's fast guided upsampling, in float64."""
    g = to_unit(guide_full)
    if g.ndim == 3 and g.shape[2] == 1:
        g = g[..., 0]
    a = to_unit(alpha_low)
    H, W = g.shape[:2]
    ma, mb = coefficients(area_downscale(g, *a.shape), a, r, eps)
    g3 = g if g.ndim == 3 else g[..., None]
    return np.clip((bilinear(ma, H, W) * g3).sum(-1) + bilinear(mb, H, W), 0, 1)
