"""Shared inputs for the benchmarks: a real photo scaled to 12 MP (4000 x 3000) when
../shared/data is present, else a synthetic scene of the same size (the test id says which)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))
SIZE_12MP = (3000, 4000)  # (H, W)


def _real_photo(shape):
    from PIL import Image

    src = SHARED_DATA / "images" / "composites" / "input" / "lemur__on_leaves.jpg"
    alpha = SHARED_DATA / "images" / "composites" / "alpha" / "lemur__on_leaves.png"
    if not src.exists():
        return None
    h, w = shape
    with Image.open(src) as im:
        rgb = np.asarray(im.convert("RGB").resize((w, h), Image.BILINEAR))
    with Image.open(alpha) as im:
        a = np.asarray(im.convert("L").resize((w, h), Image.BILINEAR))
    return rgb, a


def _synthetic(shape):
    h, w = shape
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((yy - h / 2) / (h / 3), (xx - w / 2) / (w / 4))
    a = np.clip((1.1 - r) * 8, 0, 1)
    rgb = (rng.random((h, w, 3)) * 60 + 100 + 80 * a[..., None]).astype(np.uint8)
    return rgb, (a * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo_12mp():
    """(rgb uint8 (3000, 4000, 3), alpha uint8 (3000, 4000))."""
    return _real_photo(SIZE_12MP) or _synthetic(SIZE_12MP)
