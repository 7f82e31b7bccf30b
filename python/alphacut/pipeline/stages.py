"""The cutout stages, each a function of arrays (no files), each calling the native ops.

segment → working resolution → trimap → matting of the unknown band → upscaling to full size →
foreground colour → RGBA. :class:`alphacut.pipeline.Pipeline` chains them and times each one.
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np

from .. import ops
from ..errors import InputError
from ..models.manifest import ModelManifest
from .modes import ModeSettings
from .preprocess import preprocess, read_probability

__all__ = [
    "segment",
    "working_size",
    "to_working",
    "trimap",
    "solve_band",
    "upscale",
    "foreground",
    "compose_rgba",
    "soft_bbox",
    "soft_tiles",
]


def segment(rgb: np.ndarray, runner, manifest: ModelManifest) -> np.ndarray:
    """Run a segmenter: (H, W, 3) uint8 RGB → (h, w) float32 probability at the network size."""
    spec = manifest.input
    x = preprocess(rgb, spec)
    name = spec.name or runner.input_names[0]
    outs = runner.infer({name: x})
    return read_probability(outs, manifest.output, spec.layout, runner.output_names)


def working_size(hw: Tuple[int, int], work_pixels: int) -> Tuple[int, int]:
    """(h, w) with about ``work_pixels`` pixels and the aspect ratio of ``hw``; ``hw`` itself when
    it is already that small."""
    h, w = hw
    if h * w <= work_pixels:
        return h, w
    s = math.sqrt(work_pixels / float(h * w))
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def to_working(rgb: np.ndarray, prob: np.ndarray, work_hw: Tuple[int, int]):
    """The image (area-averaged) and the probability (bilinear) at the working size."""
    rgb_w = rgb if rgb.shape[:2] == tuple(work_hw) else ops.resize(rgb, work_hw, method="area")
    prob_w = prob if prob.shape == tuple(work_hw) else ops.resize(prob, work_hw, method="bilinear")
    return rgb_w, np.clip(prob_w, 0.0, 1.0)


def trimap(prob_w: np.ndarray, mode: ModeSettings, *, backend: str = "auto") -> np.ndarray:
    """(h, w) uint8 0/128/255 from the probability: thresholds, then erosion by the mode's band."""
    radius = mode.band_px(max(prob_w.shape))
    return ops.make_trimap(prob_w, fg_threshold=mode.fg_threshold, bg_threshold=mode.bg_threshold, radius=radius,
                           backend=backend)


def solve_band(rgb_w: np.ndarray, tri: np.ndarray, prob_w: np.ndarray, mode: ModeSettings, *,
               backend: str = "auto") -> np.ndarray:
    """α at the working size: the native solve in the unknown band, the probability as prior."""
    kw = {}
    if mode.prior_weight is not None:
        kw["prior_weight"] = mode.prior_weight
    if mode.prior_confidence is not None:
        kw["prior_confidence"] = mode.prior_confidence
    return ops.solve_alpha(rgb_w, tri, prior=prob_w, backend=backend, **kw)


def upscale(alpha_w: np.ndarray, rgb: np.ndarray, mode: ModeSettings) -> np.ndarray:
    """Full-resolution α by fast guided upsampling with the full image as guide."""
    if alpha_w.shape == rgb.shape[:2]:
        return np.asarray(alpha_w, np.float32)
    return ops.upscale_alpha(alpha_w, rgb, radius=mode.upscale_radius, eps=mode.upscale_eps)


def _soft(alpha: np.ndarray) -> np.ndarray:
    if alpha.dtype == np.uint8:
        return (alpha > 0) & (alpha < 255)
    return (alpha >= np.float32(0.5 / 255)) & (alpha < np.float32(254.5 / 255))


def soft_bbox(alpha: np.ndarray, margin: int = 0) -> Optional[Tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of the pixels with 0 < α < 1 (as uint8: 1..254), grown by ``margin``;
    None when there are none."""
    soft = _soft(alpha)
    rows = np.flatnonzero(soft.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(soft[rows[0] : rows[-1] + 1].any(axis=0))
    h, w = alpha.shape
    return (max(0, rows[0] - margin), min(h, rows[-1] + 1 + margin),
            max(0, cols[0] - margin), min(w, cols[-1] + 1 + margin))


def soft_tiles(alpha: np.ndarray, tile: int = 256) -> List[Tuple[int, int, int, int]]:
    """Rectangles (y0, y1, x0, x1) covering every soft pixel (0 < α < 1): the ``tile``-sized
    cells of a grid that hold one, merged into horizontal runs per grid row. Disjoint."""
    soft = _soft(alpha)
    h, w = soft.shape
    ys = np.arange(0, h, tile)
    xs = np.arange(0, w, tile)
    grid = np.logical_or.reduceat(np.logical_or.reduceat(soft, ys, axis=0), xs, axis=1)
    rects = []
    for i, row in enumerate(grid):
        j = 0
        n = row.size
        while j < n:
            if not row[j]:
                j += 1
                continue
            k = j
            while k + 1 < n and row[k + 1]:
                k += 1
            rects.append((int(ys[i]), int(min(h, ys[i] + tile)), int(xs[j]), int(min(w, xs[k] + tile))))
            j = k + 1
    return rects


def foreground(rgb: np.ndarray, alpha: np.ndarray, *, tile: int = 256, margin: int = 32):
    """Foreground colour where it matters: ``estimate_foreground`` on the grid cells that hold
    soft pixels (0 < α < 1, see :func:`soft_tiles`), each with ``margin`` px of context.

    Returns
    -------
    list of (box, fg): ``box`` = (y0, y1, x0, x1) of the image, ``fg`` its (y1−y0, x1−x0, 3)
    float32 foreground colour. Empty when the matte has no soft pixel. The boxes are disjoint.
    """
    h, w = alpha.shape
    pieces = []
    for y0, y1, x0, x1 in soft_tiles(alpha, tile):
        Y0, Y1, X0, X1 = max(0, y0 - margin), min(h, y1 + margin), max(0, x0 - margin), min(w, x1 + margin)
        if (Y0, Y1, X0, X1) == (0, h, 0, w):
            fg = ops.estimate_foreground(rgb, alpha)
        else:
            fg = ops.estimate_foreground(np.ascontiguousarray(rgb[Y0:Y1, X0:X1]), np.ascontiguousarray(alpha[Y0:Y1, X0:X1]))
        pieces.append(((y0, y1, x0, x1), np.ascontiguousarray(fg[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0])))
    return pieces


def alpha_to_u8(alpha: np.ndarray) -> np.ndarray:
    """round(α·255) as uint8, α clamped to [0, 1]."""
    if alpha.dtype == np.uint8:
        return alpha
    t = np.multiply(alpha, np.float32(255.0), dtype=np.float32)
    np.clip(t, 0.0, 255.0, out=t)
    t += np.float32(0.5)
    return t.astype(np.uint8)


def compose_rgba(rgb: np.ndarray, alpha: np.ndarray, fg: Optional[np.ndarray] = None,
                 box: Optional[Tuple[int, int, int, int]] = None, *, backend: str = "auto") -> np.ndarray:
    """The (H, W, 4) uint8 cutout (native ``pack_rgba``): straight (not premultiplied) colour,
    A = round(255·α).

    Colour is the image where A = 255; ``fg`` (rounded, float32 in [0, 1]) where 0 < A < 255
    inside ``box`` = (y0, y1, x0, x1) (default: the whole image), else the image; 0 where A = 0
    (fully transparent pixels carry no colour, which also compresses well)."""
    from ..ops import _validate

    rgb = _validate.image(rgb, "image", channels=(3,), dtypes=(np.uint8,))
    alpha = _validate.image(alpha, "alpha", channels=(1,), dtypes=(np.float32, np.float64, np.uint8))
    _validate.same_size(rgb, alpha, "image", "alpha")
    a = alpha.astype(np.float32) / 255.0 if alpha.dtype == np.uint8 else np.asarray(alpha, np.float32)
    pieces = []
    if fg is not None:
        f = _validate.image(fg, "foreground", channels=(3,), dtypes=(np.float32, np.float64))
        if box is None:
            box = (0, rgb.shape[0], 0, rgb.shape[1])
        y0, y1, x0, x1 = (int(v) for v in box)
        if f.shape[:2] != (y1 - y0, x1 - x0):
            raise InputError(f"foreground has size {f.shape[:2]} but its box {box} has size {(y1 - y0, x1 - x0)}")
        pieces.append(((y0, y1, x0, x1), f))
    return _pack(rgb, a, pieces, backend)


def _pack(rgb, a, pieces=(), backend: str = "auto") -> np.ndarray:
    """The native calls without the value checks (for arrays the pipeline itself produced)."""
    from ..ops import _dispatch, _validate

    be = _dispatch.resolve(backend)
    rgb = _validate.packed(rgb)
    out = _dispatch.native("pack_rgba", be)(rgb, _validate.packed(np.asarray(a, np.float32)))
    patch = _dispatch.native("pack_rgba_patch", be) if pieces else None
    for (y0, _y1, x0, _x1), f in pieces:
        patch(rgb, _validate.packed(np.asarray(f, np.float32)), int(y0), int(x0), out)
    return out
