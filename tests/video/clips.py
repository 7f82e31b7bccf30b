"""Test clips with exact GT alpha, made from the shared exact-GT composites.

Each frame is composed at the photo's full resolution, I = a·F + (1 − a)·B, and then reduced by
an integer factor (area mean) for both I and a: integer shifts at full resolution become
sub-pixel shifts of the small frame, and the reduced a is the exact coverage of the reduced I.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
from conftest import load_gray, load_rgb, shared_path


def _reduce(a: np.ndarray, f: int) -> np.ndarray:
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    a = a[:h, :w]
    return a.reshape(h // f, f, w // f, f, *a.shape[2:]).mean(axis=(1, 3))


def _layers():
    d = shared_path("images")
    fg = load_rgb(d / "composites" / "foreground" / "GT05.jpg").astype(np.float32)
    alpha = load_gray(d / "composites" / "alpha" / "GT05__on_beach.png").astype(np.float32) / 255.0
    bg = load_rgb(d / "alphamatting_gt05" / "background" / "GT26r.jpg").astype(np.float32)
    return fg, alpha, bg


def _roll(a: np.ndarray, dy: int, dx: int, pad: int) -> np.ndarray:
    """A window of ``a`` moved by (dy, dx), cropped by ``pad`` on every side (no wrap-around)."""
    h, w = a.shape[:2]
    return a[pad - dy : h - pad - dy, pad - dx : w - pad - dx]


def shaky_still(
    n: int = 10, *, factor: int = 3, shake: int = 4, noise: float = 3.0, seed: int = 0
) -> Tuple[List[np.ndarray], List[np.ndarray], List[Tuple[float, float]]]:
    """A still subject filmed with camera shake (the whole picture moves by up to ``shake``
    full-resolution pixels, i.e. ``shake / factor`` frame pixels) and Gaussian sensor noise
    (``noise`` levels): (frames uint8, exact GT alphas float32, the true (dy, dx) of each frame
    in frame pixels)."""
    fg, alpha, bg = _layers()
    img = alpha[..., None] * fg + (1.0 - alpha[..., None]) * bg
    rng = np.random.default_rng(seed)
    frames, gts, shifts = [], [], []
    pad = shake
    for _ in range(n):
        dy, dx = (int(v) for v in rng.integers(-shake, shake + 1, size=2))
        f = _reduce(_roll(img, dy, dx, pad), factor)
        a = _reduce(_roll(alpha, dy, dx, pad), factor)
        f = f + rng.normal(0.0, noise, f.shape)
        frames.append(np.clip(np.rint(f), 0, 255).astype(np.uint8))
        gts.append(a.astype(np.float32))
        shifts.append((dy / factor, dx / factor))
    return frames, gts, shifts


def moving_subject(
    n: int = 8, *, factor: int = 3, step: int = 9, noise: float = 3.0, seed: int = 1
) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """The subject slides right by ``step`` full-resolution pixels a frame (``step / factor`` frame
    pixels) over a still background, with sensor noise: (frames uint8, exact GT alphas)."""
    fg, alpha, bg = _layers()
    rng = np.random.default_rng(seed)
    pad = step * n // 2 + 1
    frames, gts = [], []
    for i in range(n):
        dx = i * step - step * n // 2
        a = _roll(alpha, 0, dx, pad)
        f_ = _roll(fg, 0, dx, pad)
        b = bg[pad:-pad, pad:-pad]
        img = a[..., None] * f_ + (1.0 - a[..., None]) * b
        f = _reduce(img, factor) + rng.normal(0.0, noise, (img.shape[0] // factor, img.shape[1] // factor, 3))
        frames.append(np.clip(np.rint(f), 0, 255).astype(np.uint8))
        gts.append(_reduce(a, factor).astype(np.float32))
    return frames, gts
