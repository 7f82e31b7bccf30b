"""Stand-ins for native ops that have not landed in this build yet — for tests only.

The shipped pipeline always calls ``alphacut.ops``. While an op there is still a placeholder,
:func:`install` swaps in a small OpenCV/SciPy equivalent of its contract (monkeypatched, so it
lasts one test), letting the pipeline's plumbing be tested; tests of matte *quality* need the
real ops and skip with the reason instead (:func:`missing_real_ops`).
"""

from __future__ import annotations

import numpy as np

OPS = ("resize", "make_trimap", "solve_alpha", "upscale_alpha", "estimate_foreground", "dilate", "erode")


def is_placeholder(fn) -> bool:
    import sys

    mod = sys.modules.get(getattr(fn, "__module__", ""), None)
    return "Placeholder" in (getattr(mod, "__doc__", "") or "")


def missing_real_ops(names=OPS):
    import alphacut.ops as ops

    return [n for n in names if is_placeholder(getattr(ops, n))]


def _resize(image, size=None, method="bilinear", *, backend="auto"):
    import cv2

    interp = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "bicubic": cv2.INTER_CUBIC}[method]
    a = np.asarray(image)
    out = cv2.resize(a, (int(size[1]), int(size[0])), interpolation=interp)
    if a.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out


def _square(r):
    return np.ones((2 * r + 1, 2 * r + 1), bool)


def _erode(mask, radius, *, backend="auto"):
    from scipy import ndimage

    m = np.asarray(mask)
    m = m >= 0.5 if m.dtype.kind == "f" else m.astype(bool)
    return ndimage.binary_erosion(m, _square(radius), border_value=1) if radius else m


def _dilate(mask, radius, *, backend="auto"):
    from scipy import ndimage

    m = np.asarray(mask)
    m = m >= 0.5 if m.dtype.kind == "f" else m.astype(bool)
    return ndimage.binary_dilation(m, _square(radius), border_value=0) if radius else m


def _make_trimap(prob, fg_threshold=0.95, bg_threshold=0.05, radius=10, *, backend="auto"):
    p = np.asarray(prob, np.float32)
    if np.asarray(prob).dtype == np.uint8:
        p = p / 255.0
    fg = _erode(p >= fg_threshold, radius)
    bg = _erode(p <= bg_threshold, radius)
    t = np.full(p.shape, 128, np.uint8)
    t[fg] = 255
    t[bg] = 0
    return t


def _solve_alpha(image, trimap, *, prior=None, prior_weight=None, backend="auto", **kw):
    t = np.asarray(trimap)
    a = np.full(t.shape, 0.5, np.float32) if prior is None else np.asarray(prior, np.float32).copy()
    a[t == 255] = 1.0
    a[t == 0] = 0.0
    return np.clip(a, 0, 1)


def _upscale_alpha(alpha_low, guide_full, radius=2, eps=1e-4, *, backend="auto"):
    import cv2

    g = np.asarray(guide_full)
    a = cv2.resize(np.asarray(alpha_low, np.float32), (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(a, 0, 1).astype(np.float32)


def _estimate_foreground(image, alpha, *, backend="auto", **kw):
    return np.asarray(image, np.float32) / 255.0


STANDINS = {
    "resize": _resize,
    "make_trimap": _make_trimap,
    "solve_alpha": _solve_alpha,
    "upscale_alpha": _upscale_alpha,
    "estimate_foreground": _estimate_foreground,
    "dilate": _dilate,
    "erode": _erode,
}


def install(monkeypatch) -> list:
    """Swap in stand-ins for the ops still missing; returns their names."""
    import alphacut.ops as ops

    missing = missing_real_ops()
    for n in missing:
        monkeypatch.setattr(ops, n, STANDINS[n])
    return missing


def load():
    return None
