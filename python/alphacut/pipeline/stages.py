"""The cutout stages, each a function of arrays (no files), each calling the native ops.

working image → network input → segment → trimap → matting of the unknown band → upscaling to
full size → foreground colour → RGBA. :class:`alphacut.pipeline.Pipeline` chains them, times
each one and decides where the arrays live.

Every stage after the network takes ``backend`` ("cpu", "cuda" or "emu") and works on the
arrays of that backend: NumPy arrays for "cpu", device arrays for "cuda"/"emu" (the ops keep
device results on the device). The stage is the same function either way; only
:func:`foreground` chooses a different strategy on a device (see there).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import numpy as np

from .. import ops
from ..models.manifest import ModelManifest
from ..ops import _dispatch
from .modes import ModeSettings
from .network import preprocess, read_probability

__all__ = [
    "Box",
    "Piece",
    "segment",
    "working_size",
    "working_image",
    "to_working",
    "trimap",
    "solve_band",
    "upscale",
    "foreground",
    "foreground_rgba",
    "pack",
    "alpha_to_u8",
    "soft_bbox",
    "soft_tiles",
]

Box = Tuple[int, int, int, int]  # (y0, y1, x0, x1)
Piece = Tuple[Box, object]  # a box and the foreground colour (h, w, 3) float32 inside it
T = TypeVar("T")


def segment(rgb: np.ndarray, runtime, manifest: ModelManifest) -> np.ndarray:
    """Run a segmenter: (H, W, 3) uint8 RGB → (h, w) float32 probability at the network size."""
    spec = manifest.input
    x = preprocess(rgb, spec)
    outs = runtime.infer({spec.name or runtime.input_names[0]: x})
    return read_probability(outs, manifest.output, spec.layout, runtime.output_names)


def working_size(hw: Tuple[int, int], work_pixels: int) -> Tuple[int, int]:
    """(h, w) with about ``work_pixels`` pixels and the aspect ratio of ``hw``; ``hw`` itself when
    it is already that small."""
    h, w = hw
    if h * w <= work_pixels:
        return h, w
    s = math.sqrt(work_pixels / float(h * w))
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def working_image(rgb, work_hw: Tuple[int, int], *, backend: str = "cpu"):
    """The image area-averaged to the working size (uint8), or the image itself at that size."""
    if tuple(rgb.shape[:2]) == tuple(work_hw):
        return rgb
    return ops.resize(rgb, work_hw, method="area", backend=backend)


def to_working(rgb, prob, work_hw: Tuple[int, int], *, backend: str = "cpu"):
    """The image (area-averaged) and the probability (bilinear, clipped to [0, 1]) at the
    working size. On a device the image comes back as float in [0, 1], what the band solve's
    kernels read (the CPU solve reads uint8 itself)."""
    rgb_w = working_image(rgb, work_hw, backend=backend)
    if backend != "cpu" and np.dtype(rgb_w.dtype) == np.uint8:
        rgb_w = _dispatch.native("area_downscale", backend)(rgb_w, int(work_hw[0]), int(work_hw[1]))
    if tuple(prob.shape) != tuple(work_hw):
        prob = ops.resize(prob, work_hw, method="bilinear", backend=backend)
    return rgb_w, clip01(prob)


def clip01(a):
    """``a`` clipped to [0, 1] (in place for a NumPy array the pipeline owns; device arrays are
    left as they are: the ops that read them clamp)."""
    if isinstance(a, np.ndarray):
        return np.clip(a, 0.0, 1.0, out=a if a.flags.writeable else None)
    return a


def trimap(prob_w, mode: ModeSettings, *, backend: str = "cpu"):
    """(h, w) uint8 0/128/255 from the probability: thresholds, then erosion by the mode's band."""
    radius = mode.band_px(max(prob_w.shape))
    return ops.make_trimap(
        prob_w, fg_threshold=mode.fg_threshold, bg_threshold=mode.bg_threshold, radius=radius, backend=backend
    )


def solve_band(rgb_w, tri, prob_w, mode: ModeSettings, *, backend: str = "cpu"):
    """α at the working size: the native solve in the unknown band, the probability as prior."""
    kw: Dict[str, Any] = {}  # the mode's settings; solve_alpha's defaults for the others
    if mode.prior_weight is not None:
        kw["prior_weight"] = mode.prior_weight
    if mode.prior_confidence is not None:
        kw["prior_confidence"] = mode.prior_confidence
    return ops.solve_alpha(rgb_w, tri, prior=prob_w, backend=backend, **kw)


def upscale(alpha_w, rgb, mode: ModeSettings, *, backend: str = "cpu"):
    """Full-resolution α by fast guided upsampling with the full image as guide."""
    if tuple(alpha_w.shape) == tuple(rgb.shape[:2]):
        return alpha_w
    return ops.upscale_alpha(alpha_w, rgb, radius=mode.upscale_radius, eps=mode.upscale_eps, backend=backend)


def upscale_packed(alpha_w, rgb, mode: ModeSettings) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """:func:`upscale` on the CPU, and the cutout that :func:`pack` makes of it, in one pass over
    the full-size image (``ops.upscale_alpha(rgba=True)``). At the working size already (nothing
    to upscale): ``(alpha_w, None)``."""
    if tuple(alpha_w.shape) == tuple(rgb.shape[:2]):
        return alpha_w, None
    return ops.upscale_alpha(alpha_w, rgb, radius=mode.upscale_radius, eps=mode.upscale_eps, rgba=True, backend="cpu")


def _soft(alpha: np.ndarray) -> np.ndarray:
    if alpha.dtype == np.uint8:
        return (alpha > 0) & (alpha < 255)
    return (alpha >= np.float32(0.5 / 255)) & (alpha < np.float32(254.5 / 255))


def soft_bbox(alpha: np.ndarray, margin: int = 0) -> Optional[Box]:
    """(y0, y1, x0, x1) of the pixels with 0 < α < 1 (as uint8: 1..254), grown by ``margin``;
    None when there are none."""
    soft = _soft(alpha)
    rows = np.flatnonzero(soft.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(soft[rows[0] : rows[-1] + 1].any(axis=0))
    h, w = alpha.shape
    return (
        max(0, rows[0] - margin),
        min(h, rows[-1] + 1 + margin),
        max(0, cols[0] - margin),
        min(w, cols[-1] + 1 + margin),
    )


def _any_per_row_block(mask: np.ndarray, tile: int) -> np.ndarray:
    """(ceil(h / tile), w) bool: whether each column has a True in each block of ``tile`` rows.
    Whole blocks reduce as one (n, tile, w) view over its middle axis (a vectorised OR of whole
    rows), some 30 times faster at 12 MP than ``logical_or.reduceat`` over axis 0."""
    h, w = mask.shape
    n = h // tile
    parts: List[np.ndarray] = []
    if n:
        parts.append(np.asarray(mask[: n * tile].reshape(n, tile, w).any(axis=1)))
    if h > n * tile:
        parts.append(np.asarray(mask[n * tile :].any(axis=0, keepdims=True)))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def soft_tiles(alpha: np.ndarray, tile: int = 256) -> List[Box]:
    """Rectangles (y0, y1, x0, x1) covering every soft pixel (0 < α < 1): the ``tile``-sized
    cells of a grid that hold one, merged into horizontal runs per grid row. Disjoint."""
    soft = _soft(alpha)
    h, w = soft.shape
    ys = np.arange(0, h, tile)
    xs = np.arange(0, w, tile)
    grid = np.logical_or.reduceat(_any_per_row_block(soft, tile), xs, axis=1)
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


def _cells_in_context(alpha: np.ndarray, tile: int, margin: int) -> List[Tuple[Box, Box]]:
    """Each :func:`soft_tiles` cell and the box around it with ``margin`` px of context (within
    the image): what the foreground is estimated on."""
    h, w = alpha.shape
    return [
        ((y0, y1, x0, x1), (max(0, y0 - margin), min(h, y1 + margin), max(0, x0 - margin), min(w, x1 + margin)))
        for y0, y1, x0, x1 in soft_tiles(alpha, tile)
    ]


def side_by_side(jobs: Sequence[Callable[[], T]], sizes: Sequence[int]) -> List[T]:
    """``[job() for job in jobs]``, the jobs (independent native calls that release the GIL) run
    side by side on the CPU ops' threads (:func:`alphacut.ops.get_num_threads`, as limited for the
    calling thread): one job per thread, the largest ``sizes`` first, each job limited to its
    share of the threads. One thread, or one job: in order, on the calling thread. The first
    error raised by a job is raised here once all have ended."""
    threads = ops.get_num_threads()
    n = min(threads, len(jobs))
    if n <= 1:
        return [job() for job in jobs]
    share = max(1, threads // n)

    def run(job: Callable[[], T]) -> T:
        with ops.thread_limit(share):
            return job()

    with ThreadPoolExecutor(n, thread_name_prefix="alphacut-cells") as pool:
        futures = {i: pool.submit(run, jobs[i]) for i in sorted(range(len(jobs)), key=lambda i: -sizes[i])}
        wait(list(futures.values()))
        return [futures[i].result() for i in range(len(jobs))]


def _box_area(box: Box) -> int:
    return (box[1] - box[0]) * (box[3] - box[2])


def foreground(rgb, alpha, *, backend: str = "cpu", tile: int = 256, margin: int = 32) -> List[Piece]:
    """Foreground colour where it matters, as pieces ``(box, fg)``: ``box`` = (y0, y1, x0, x1) of
    the image, ``fg`` its (y1−y0, x1−x0, 3) float32 colour (a row-strided view into the estimate
    of the box and its margin). The boxes are disjoint.

    On the host: ``estimate_foreground`` on the grid cells that hold soft pixels (0 < α < 1, see
    :func:`soft_tiles`), each with ``margin`` px of context; empty when the matte has no soft
    pixel. On a device: one call on the whole image, one piece (finding the cells would need α on
    the host, and a GPU gains nothing from skipping them).
    """
    if backend != "cpu":
        h, w = alpha.shape
        return [((0, h, 0, w), ops.estimate_foreground(rgb, alpha, backend=backend))]
    cells = _cells_in_context(alpha, tile, margin)

    def piece(cell: Tuple[Box, Box]) -> Piece:
        (y0, y1, x0, x1), (Y0, Y1, X0, X1) = cell
        # Views: the native op reads row-strided arrays as they are.
        fg = ops.estimate_foreground(rgb[Y0:Y1, X0:X1], alpha[Y0:Y1, X0:X1], backend=backend)
        return ((y0, y1, x0, x1), fg[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0])

    return side_by_side([partial(piece, c) for c in cells], [_box_area(c[1]) for c in cells])


def foreground_rgba(
    rgb: np.ndarray, alpha: np.ndarray, *, tile: int = 256, margin: int = 32, packed: Optional[np.ndarray] = None
) -> np.ndarray:
    """The (H, W, 4) uint8 cutout with the estimated foreground colour on the soft pixels, on the
    CPU, without a full-size foreground: what :func:`foreground` then :func:`pack` give (the same
    grid cells, each estimated with ``margin`` px of context), each cell's colour written straight
    into the packed cutout (:func:`alphacut.ops.estimate_foreground_rgba` with ``out``/``window``:
    its finest level kept in strips around the soft edge, swept vectorised). The cells run side
    by side (:func:`side_by_side`): each writes only the soft pixels of its own cell. ``packed``:
    ``pack(rgb, alpha)`` made already (by :func:`upscale_packed`), written in place and returned."""
    out = pack(rgb, alpha) if packed is None else packed
    cells = _cells_in_context(alpha, tile, margin)

    def cell(c: Tuple[Box, Box]) -> None:
        (y0, y1, x0, x1), (Y0, Y1, X0, X1) = c
        ops.estimate_foreground_rgba(
            rgb[Y0:Y1, X0:X1],
            alpha[Y0:Y1, X0:X1],
            out=out[Y0:Y1, X0:X1],
            window=(y0 - Y0, y1 - Y0, x0 - X0, x1 - X0),
            backend="cpu",
        )

    side_by_side([partial(cell, c) for c in cells], [_box_area(c[1]) for c in cells])
    return out


def alpha_to_u8(alpha: np.ndarray) -> np.ndarray:
    """round(α·255) as uint8, α clamped to [0, 1]."""
    if alpha.dtype == np.uint8:
        return alpha
    t = np.multiply(alpha, np.float32(255.0), dtype=np.float32)
    np.clip(t, 0.0, 255.0, out=t)
    t += np.float32(0.5)
    return t.astype(np.uint8)


def pack(rgb, alpha, pieces: Sequence[Piece] = (), *, backend: str = "cpu"):
    """The (H, W, 4) uint8 cutout (native ``pack_rgba``, see :func:`alphacut.ops.pack_rgba`) of
    arrays the pipeline itself produced, so without value checks: the first piece's colour in the
    pack, each further piece patched in."""
    from ..ops import _validate

    pieces = list(pieces)
    if backend == "cpu":
        rgb = _validate.packed(rgb)
        alpha = _validate.packed(np.asarray(alpha, np.float32))
        pieces = [(box, _validate.packed(np.asarray(f, np.float32))) for box, f in pieces]
    (y0, _, x0, _), fg = pieces[0] if pieces else ((0, 0, 0, 0), None)
    out = _dispatch.native("pack_rgba", backend)(rgb, alpha, fg, int(y0), int(x0))
    patch = _dispatch.native("pack_rgba_patch", backend)
    for (y0, _y1, x0, _x1), f in pieces[1:]:
        patch(rgb, f, int(y0), int(x0), out)
    return out
