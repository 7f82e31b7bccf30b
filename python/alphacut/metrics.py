"""Matte quality metrics, defined so that figures are comparable across tools.

α and α_gt in [0, 1] (uint8 is divided by 255), same size.

- SAD = Σ|α − α_gt| / 1000
- MSE = mean((α − α_gt)²) × 1000
- gradient error = Σ(|∇α| − |∇α_gt|)² / 1000, ∇ from Gaussian-derivative filters, σ = 1.4
- the unknown band = dilate(α_gt > 0.02) minus erode(α_gt > 0.98), both with a disk of radius 15 px;
  "band" figures restrict the sums (and the mean) to it.

These are the definitions of the shared quality notes; they need SciPy (an extra of ``bench``/``test``).
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .errors import InputError


def _as01(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim != 2:
        raise InputError(f"{name}: expected an (H, W) alpha, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float64) / 255.0
    return a.astype(np.float64)


def _disk(radius: int) -> np.ndarray:
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius


def unknown_band(alpha_gt, radius: int = 15) -> np.ndarray:
    """Boolean (H, W): dilate(α_gt > 0.02) minus erode(α_gt > 0.98), disk of ``radius``."""
    from scipy import ndimage

    gt = _as01(alpha_gt, "alpha_gt")
    disk = _disk(radius)
    outer = ndimage.binary_dilation(gt > 0.02, structure=disk)
    inner = ndimage.binary_erosion(gt > 0.98, structure=disk, border_value=1)
    return outer & ~inner


def _grad_mag(a: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    gx = ndimage.gaussian_filter(a, sigma, order=(0, 1))
    gy = ndimage.gaussian_filter(a, sigma, order=(1, 0))
    return np.hypot(gx, gy)


def matte_errors(alpha, alpha_gt, band: Optional[np.ndarray] = None, sigma: float = 1.4) -> Dict[str, float]:
    """SAD, MSE (×1000) and gradient error of ``alpha`` against ``alpha_gt``, on the whole image and
    in the unknown band (``band`` defaults to :func:`unknown_band` of the GT)."""
    a = _as01(alpha, "alpha")
    gt = _as01(alpha_gt, "alpha_gt")
    if a.shape != gt.shape:
        raise InputError(f"alpha has shape {a.shape} but alpha_gt has shape {gt.shape}")
    if band is None:
        band = unknown_band(gt)
    diff = np.abs(a - gt)
    grad = (_grad_mag(a, sigma) - _grad_mag(gt, sigma)) ** 2
    nb = max(int(band.sum()), 1)
    return {
        "sad": float(diff.sum() / 1000.0),
        "mse": float((diff**2).mean() * 1000.0),
        "grad": float(grad.sum() / 1000.0),
        "sad_band": float(diff[band].sum() / 1000.0),
        "mse_band": float((diff[band] ** 2).sum() / nb * 1000.0),
        "grad_band": float(grad[band].sum() / 1000.0),
    }
