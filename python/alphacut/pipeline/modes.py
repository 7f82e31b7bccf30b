"""The cutout modes: what trimap, matting and upscaling settings suit which kind of subject.

``general``   objects and animals: a moderate unknown band, the segmenter's edge as a prior; a
              person segmenter runs beside u2netp and takes over where u2netp misses most of a
              person (:mod:`alphacut.pipeline.route`).
``product``   hard-edged products: a narrow band, a strong prior, a crisp upscaling (small eps).
``portrait``  people: a wide band for soft hair, a weak prior, and a person segmenter when one is
              available (QUALITY_NOTES: the MediaPipe selfie model beats u2netp on portraits).

Band radii are given as a fraction of the working image's long side, so a 1200 px working image
with ``band=0.008`` gets a 10 px erosion on each side of the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from ..errors import InputError

__all__ = ["ModeSettings", "MODES", "PERSON_MODELS", "get_mode"]

# Person segmenters the ``portrait`` mode routes to when one is available locally, best first
# (QUALITY_NOTES: the MediaPipe selfie model beats u2netp on portraits).
PERSON_MODELS = ("mediapipe-selfie", "mediapipe-selfie-landscape")


@dataclass(frozen=True)
class ModeSettings:
    name: str
    fg_threshold: float = 0.95  # probability at or above which a pixel is sure foreground
    bg_threshold: float = 0.05  # probability at or below which a pixel is sure background
    band: float = 0.008  # trimap erosion radius, as a fraction of the working long side
    min_band_px: int = 2
    prior_weight: Optional[float] = None  # solve_alpha's weight on the probability (None: its default)
    prior_confidence: Optional[float] = None  # solve_alpha's down-weighting of an unsure prior (None: default)
    work_pixels: int = 1_000_000  # the matting runs at about this many pixels
    upscale_radius: int = 2  # upscale_alpha window radius at the working resolution
    upscale_eps: float = 1e-4  # upscale_alpha regulariser (smaller: follows image edges more)
    person_model: bool = False  # use a person segmenter instead of the general one when available
    route: bool = False  # run a person segmenter beside the general one and pick per image (pipeline/route.py)

    def band_px(self, long_side: int) -> int:
        return max(self.min_band_px, int(round(self.band * long_side)))


# Trimap thresholds, band and prior weight from the matting evaluation on the exact-GT composites
# (bench/eval_matting.py): a strong prior and a narrow band keep product edges crisp; a weak prior
# and a wide band let colour decide in hair.
MODES = {
    "general": ModeSettings(
        "general", fg_threshold=0.6, bg_threshold=0.4, band=0.006, prior_weight=0.1, prior_confidence=4.0, route=True
    ),
    "product": ModeSettings(
        "product",
        fg_threshold=0.6,
        bg_threshold=0.4,
        band=0.003,
        prior_weight=0.3,
        prior_confidence=4.0,
        upscale_radius=1,
        upscale_eps=1e-5,
    ),
    "portrait": ModeSettings(
        "portrait",
        fg_threshold=0.6,
        bg_threshold=0.4,
        band=0.009,
        prior_weight=0.03,
        prior_confidence=4.0,
        person_model=True,
    ),
}


def get_mode(mode, **overrides) -> ModeSettings:
    """The :class:`ModeSettings` of ``mode`` ("general", "product", "portrait", or a ModeSettings),
    with fields replaced by ``overrides`` that are not None."""
    if isinstance(mode, ModeSettings):
        m = mode
    else:
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        m = MODES[mode]
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        try:
            m = replace(m, **overrides)
        except TypeError as exc:
            raise InputError(f"unknown mode setting: {exc}") from None
    if not 0.0 <= m.bg_threshold < m.fg_threshold <= 1.0:
        raise InputError(
            f"thresholds must satisfy 0 <= bg_threshold < fg_threshold <= 1, got {m.bg_threshold}, {m.fg_threshold}"
        )
    return m
