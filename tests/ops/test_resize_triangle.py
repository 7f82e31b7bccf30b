"""``resize(..., method="triangle")``: antialiased bilinear, against Pillow's ``Image.BILINEAR``
(the filter the segmenters' input is shrunk with on the host) on every backend of this build."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_rgb, shared_path
from PIL import Image

from alphacut import ops

SIZES = [
    ((64, 80), (32, 40)),  # 2x
    ((97, 131), (30, 41)),  # ~3.2x, odd
    ((200, 150), (19, 23)),  # ~10x, different per axis
    ((50, 60), (45, 59)),  # barely smaller
    ((20, 30), (33, 47)),  # enlarging: plain bilinear
]


def _pil(img: np.ndarray, size) -> np.ndarray:
    h, w = size
    if img.dtype == np.float32:
        planes = [np.asarray(Image.fromarray(img[..., c], mode="F").resize((w, h), Image.BILINEAR)) for c in range(3)]
        return np.stack(planes, axis=-1)
    return np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR))


@pytest.mark.parametrize("src,dst", SIZES)
def test_uint8_matches_pillow_within_one(backend, rng, src, dst):
    img = rng.integers(0, 256, size=src + (3,), dtype=np.uint8)
    out = ops.resize(img, dst, "triangle", backend=backend)
    ref = _pil(img, dst)
    diff = np.abs(out.astype(int) - ref.astype(int))
    assert out.shape == ref.shape and diff.max() <= 1, (diff.max(), diff.mean())
    assert diff.mean() < 0.3  # PIL rounds to uint8 between its passes: about 1 value in 5 is off by 1


@pytest.mark.parametrize("src,dst", SIZES)
def test_float_matches_pillow(backend, rng, src, dst):
    img = rng.uniform(0.0, 1.0, size=src + (3,)).astype(np.float32)
    np.testing.assert_allclose(ops.resize(img, dst, "triangle", backend=backend), _pil(img, dst), atol=2e-5)


def test_real_photo_to_the_network_size(backend):
    rgb = load_rgb(shared_path("images", "composites", "input", "GT05__on_leaves.jpg"))
    small = np.ascontiguousarray(rgb[::4, ::4])
    out = ops.resize(small, (320, 320), "triangle", backend=backend)
    diff = np.abs(out.astype(int) - _pil(small, (320, 320)).astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.2, (diff.max(), diff.mean())


def test_it_is_not_the_area_filter(rng):
    """The two shrink filters differ (so the tests above tell them apart)."""
    img = rng.integers(0, 256, size=(97, 131, 3), dtype=np.uint8)
    a, t = (ops.resize(img, (30, 41), m, backend="cpu").astype(int) for m in ("area", "triangle"))
    assert np.abs(a - t).max() > 5
