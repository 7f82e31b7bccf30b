"""The cutout pipeline, stage by stage, on NumPy arrays.

decode (:mod:`alphacut.image`) → preprocess (resize + normalise per the manifest) → segmenter →
trimap → matting of the unknown band (native ``solve_alpha`` at ~1 MP, or a matting network on
full-resolution tiles) → ``upscale_alpha`` to full resolution → ``estimate_foreground`` where
α is soft → RGBA. :class:`Pipeline` returns per-stage timings in milliseconds.
"""

from __future__ import annotations

from .modes import MODES, ModeSettings, get_mode
from .pipeline import CutoutResult, Pipeline
from .preprocess import network_size, rembg_mask, rembg_preprocess

__all__ = [
    "CutoutResult",
    "MODES",
    "ModeSettings",
    "Pipeline",
    "get_mode",
    "network_size",
    "rembg_mask",
    "rembg_preprocess",
]
