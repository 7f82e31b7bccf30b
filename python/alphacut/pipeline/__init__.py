"""The cutout pipeline, stage by stage, on arrays.

decode (:mod:`alphacut.image`) → network input (resize + normalise per the manifest) →
segmenter → trimap → matting of the unknown band (native ``solve_alpha`` at ~1 MP, or a matting
network on full-resolution tiles) → ``upscale_alpha`` to full resolution →
``estimate_foreground`` where α is soft → RGBA (``pack_rgba``). :class:`Pipeline` runs the
stages in one loop, on the CPU or resident on a device, and returns per-stage timings in
milliseconds.
"""

from __future__ import annotations

from .modes import MODES, PERSON_MODELS, ModeSettings, get_mode
from .network import network_size
from .pipeline import BACKENDS, CutoutResult, Pipeline, resolve_backend

__all__ = [
    "BACKENDS",
    "CutoutResult",
    "MODES",
    "ModeSettings",
    "PERSON_MODELS",
    "Pipeline",
    "get_mode",
    "network_size",
    "resolve_backend",
]
