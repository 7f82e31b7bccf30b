"""The pipeline's post-processing on a GPU backend, resident on the device.

After the segmenter, the CPU path works on host arrays. On ``ops_backend="cuda"`` (or ``"emu"``,
the same kernels emulated on the CPU, for tests) the full-resolution image is uploaded once and
every later stage runs on device arrays:

    image, probability ─upload─▶ working image (area) ─▶ working probability (bilinear)
      ─▶ trimap ─▶ solve_alpha in the band ─▶ upscale_alpha to full size
      ─▶ estimate_foreground ─▶ pack_rgba ─download─▶ RGBA

Only the RGBA (or, when no RGBA is asked for, the α) comes back. Uploads: the image and the
network-size probability; downloads: one. ``alphacut._core.transfer_stats_<backend>()`` counts
them, and tests/pipeline/test_device_pipeline.py checks it.

Differences from the CPU path, all inside the tolerances its tests state:

- the working image is the exact area average in float (``area_downscale``), not rounded to
  uint8 first;
- the foreground colour is estimated on the whole image in one call (a GPU has no use for the
  CPU path's tiles around the soft pixels), so its coarse levels see the whole image;
- the α returned with an RGBA is its A channel / 255 (the one download is the RGBA; the
  exported mask is that channel anyway). Without an RGBA, the float α is downloaded.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import numpy as np

from .. import ops
from ..device import to_device, transfer_stats
from ..errors import InputError
from ..ops import _dispatch
from ..ops import pack_rgba
from .modes import ModeSettings
from . import stages

__all__ = ["DEVICE_BACKENDS", "resolve_ops_backend", "post_process", "transfer_stats"]

DEVICE_BACKENDS = ("cuda", "emu")


def resolve_ops_backend(ops_backend: str) -> str:
    """``"cpu"``, ``"cuda"`` or ``"emu"`` for a pipeline's ``ops_backend``; ``"auto"`` picks
    ``"cuda"`` when a device can be used, else ``"cpu"``. Raises a clear error when the asked-for
    backend cannot run here."""
    if ops_backend == "auto":
        return "cuda" if "cuda" in _dispatch.available_backends() else "cpu"
    return _dispatch.resolve(ops_backend)


def post_process(
    rgb: np.ndarray,
    prob: np.ndarray,
    mode: ModeSettings,
    backend: str,
    *,
    refine: bool,
    want_fg: bool,
    want_rgba: bool,
    timer: Callable,
) -> Tuple[np.ndarray, Optional[np.ndarray], Dict[str, object]]:
    """α (and the RGBA) from the image and the segmenter's probability, on the device.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 host image.
    prob : (h, w) float32 probability in [0, 1] at the network size (host).
    mode : the mode's settings (thresholds, band, prior, upscaling).
    backend : "cuda" or "emu".
    refine, want_fg, want_rgba : as :meth:`Pipeline.run`.
    timer : the pipeline's stage timer (a context manager per stage name).

    Returns
    -------
    alpha : (H, W) float32 host array.
    rgba : (H, W, 4) uint8 host array, or None.
    info : sizes and settings used.
    """
    if backend not in DEVICE_BACKENDS:
        raise InputError(f"post_process runs on {DEVICE_BACKENDS}, not {backend!r}")
    H, W = rgb.shape[:2]
    info: Dict[str, object] = {"ops_backend": backend}
    with timer("upload"):
        d_rgb = to_device(rgb, backend)
        d_prob = to_device(np.asarray(prob, np.float32), backend)
    if not refine:
        with timer("upscale"):
            d_alpha = ops.resize(d_prob, (H, W), method="bilinear", backend=backend)
    else:
        work = stages.working_size((H, W), mode.work_pixels)
        info["working_size"] = work
        with timer("resize"):
            # the working image as float in [0, 1]: what solve_alpha reads
            d_rgb_w = _dispatch.native("area_downscale", backend)(d_rgb, work[0], work[1])
            d_prob_w = ops.resize(d_prob, work, method="bilinear", backend=backend)
        with timer("trimap"):
            d_tri = stages.trimap(d_prob_w, mode, backend=backend)
        info["band_px"] = mode.band_px(max(work))
        with timer("matting"):
            d_alpha_w = stages.solve_band(d_rgb_w, d_tri, d_prob_w, mode, backend=backend)
        with timer("upscale"):
            if work == (H, W):
                d_alpha = d_alpha_w
            else:
                d_alpha = ops.upscale_alpha(d_alpha_w, d_rgb, radius=mode.upscale_radius, eps=mode.upscale_eps,
                                            backend=backend)
    d_fg = None
    if want_fg and want_rgba:  # the colour only matters for the cutout
        with timer("foreground"):
            d_fg = ops.estimate_foreground(d_rgb, d_alpha, backend=backend)
    if not want_rgba:
        with timer("download"):
            alpha = d_alpha.get()
        return np.clip(alpha, 0.0, 1.0, out=alpha), None, info
    with timer("compose"):
        d_rgba = pack_rgba(d_rgb, d_alpha, foreground=d_fg, backend=backend)
    with timer("download"):
        rgba = d_rgba.get()
    info["alpha_from_rgba"] = True
    alpha = rgba[:, :, 3].astype(np.float32)
    alpha /= np.float32(255.0)
    return alpha, rgba, info
