"""A sample photo that needs no data file: a toy astronaut drawn procedurally.

``alphacut cut --sample`` cuts it out. It is generated here (a few signed-distance shapes,
shading and sensor noise, seeded) rather than shipped or taken from scikit-image's astronaut,
so the package needs no image file and no extra dependency, and the picture is ours (public
domain). It also returns its exact alpha, which makes it a handy smoke test.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["sample_image", "sample_image_and_alpha"]


def _smooth(d: np.ndarray, px: float) -> np.ndarray:
    """Coverage from a signed distance (negative inside), anti-aliased over ``px`` pixels."""
    return np.clip(0.5 - d / px, 0.0, 1.0)


def _ellipse(yy, xx, cy, cx, ry, rx):
    return (np.hypot((yy - cy) / ry, (xx - cx) / rx) - 1.0) * min(ry, rx)


def _box(yy, xx, cy, cx, hy, hx, r):
    qy = np.abs(yy - cy) - hy + r
    qx = np.abs(xx - cx) - hx + r
    return np.hypot(np.maximum(qy, 0), np.maximum(qx, 0)) + np.minimum(np.maximum(qy, qx), 0) - r


def sample_image_and_alpha(height: int = 480, width: int = 640, seed: int = 7) -> Tuple[np.ndarray, np.ndarray]:
    """(rgb (H, W, 3) uint8, alpha (H, W) float32): the astronaut over a gradient backdrop."""
    h, w = int(height), int(width)
    s = min(h, w) / 480.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = w * 0.5
    # body parts (signed distances in pixels)
    helmet = _ellipse(yy, xx, 150 * s, cx, 88 * s, 84 * s)
    torso = _box(yy, xx, 315 * s, cx, 95 * s, 88 * s, 40 * s)
    arm_l = _box(yy, xx, 300 * s, cx - 112 * s, 70 * s, 26 * s, 24 * s)
    arm_r = _box(yy, xx, 300 * s, cx + 112 * s, 70 * s, 26 * s, 24 * s)
    legs = _box(yy, xx, 440 * s, cx, 60 * s, 70 * s, 20 * s)
    body = np.minimum.reduce([helmet, torso, arm_l, arm_r, legs])
    alpha = _smooth(body, 1.5)
    # backdrop: a blue-to-grey gradient with a soft vignette
    t = yy / max(h - 1, 1)
    bg = np.stack([90 + 100 * t, 130 + 80 * t, 190 + 20 * t], axis=-1)
    bg *= (1.0 - 0.25 * ((xx - cx) / w) ** 2)[..., None]
    # suit: off-white with shading from a light at the upper left
    shade = 0.75 + 0.25 * np.clip(1.0 - (np.hypot(yy - 120 * s, xx - (cx - 60 * s)) / (260 * s)), 0, 1)
    suit = np.stack([235 * shade, 232 * shade, 225 * shade], axis=-1)
    visor = _smooth(_ellipse(yy, xx, 155 * s, cx, 50 * s, 62 * s), 1.5)
    glint = _smooth(_ellipse(yy, xx, 135 * s, cx - 25 * s, 9 * s, 16 * s), 2.0)
    visor_col = np.array([40, 34, 20], np.float32) + 150 * glint[..., None]
    suit = suit * (1 - visor[..., None]) + visor_col * visor[..., None]
    badge = _smooth(_box(yy, xx, 300 * s, cx, 22 * s, 30 * s, 6 * s), 1.5)
    suit = suit * (1 - badge[..., None]) + np.array([200, 60, 40], np.float32) * badge[..., None]
    rgb = suit * alpha[..., None] + bg * (1 - alpha[..., None])
    rng = np.random.default_rng(seed)
    rgb += rng.normal(0.0, 2.0, rgb.shape)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), alpha.astype(np.float32)


def sample_image(height: int = 480, width: int = 640) -> np.ndarray:
    """The sample photo, (H, W, 3) uint8 RGB."""
    return sample_image_and_alpha(height, width)[0]
