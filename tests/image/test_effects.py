"""alphacut.image.effects against independent references: the crop box against NumPy's
bounding box of the alpha, the shadow against SciPy's Gaussian, the fits against Pillow's ImageOps."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps
from scipy import ndimage

from alphacut.errors import InputError
from alphacut.image.effects import crop_to_subject, drop_shadow, fit_background, over, parse_margin, subject_box


def _blob(rng, h=90, w=120) -> np.ndarray:
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    a = np.zeros((h, w), np.uint8)
    a[23:61, 37:95] = 255
    a[20, 50] = 3  # one faint pixel above: part of the box
    a[70, 30] = 1  # and one to the lower left
    rgba[:, :, 3] = a
    return rgba


def _np_box(alpha):
    ys, xs = np.nonzero(alpha > 0)
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def test_subject_box_matches_numpy(rng):
    for _ in range(20):
        a = np.zeros((50, 70), np.uint8)
        n = rng.integers(1, 6)
        a[rng.integers(0, 50, n), rng.integers(0, 70, n)] = rng.integers(1, 256, n)
        assert subject_box(a) == _np_box(a)
    assert subject_box(np.zeros((5, 5), np.uint8)) is None


@pytest.mark.parametrize("margin, px", [(0, 0), ("7", 7), (7, 7), ("10%", 5), ("12px", 12), ("50", 50)])
def test_crop_with_margin(rng, margin, px):
    rgba = _blob(rng)
    y0, y1, x0, x1 = _np_box(rgba[:, :, 3])  # (20, 71, 30, 95): longer side 65 -> 10 % = 6.5 -> 6
    if margin == "10%":
        px = int(round(0.10 * max(y1 - y0, x1 - x0)))
    out, box = crop_to_subject(rgba, margin)
    assert box == (y0 - px, y1 + px, x0 - px, x1 + px)
    assert out.shape == (y1 - y0 + 2 * px, x1 - x0 + 2 * px, 4)
    # the image's pixels inside the box, transparent zeros where the margin leaves the image
    pad = np.zeros((90 + 2 * px, 120 + 2 * px, 4), np.uint8)
    pad[px : px + 90, px : px + 120] = rgba
    np.testing.assert_array_equal(out, pad[y0 : y1 + 2 * px, x0 : x1 + 2 * px])
    assert _np_box(out[:, :, 3]) == (px, px + y1 - y0, px, px + x1 - x0)


def test_crop_of_an_empty_cutout_and_bad_margins(rng):
    rgba = _blob(rng)
    rgba[:, :, 3] = 0
    out, box = crop_to_subject(rgba, 5)
    assert box is None and out is rgba
    for bad in ("-3", "5em", "%", "abc"):
        with pytest.raises(InputError, match="margin"):
            parse_margin(bad)


def test_drop_shadow_matches_a_gaussian_reference():
    h, w = 120, 160
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[30:70, 40:100] = (200, 40, 10, 255)
    dy, dx, sigma, opacity = 8, 5, 4.0, 0.6
    got = drop_shadow(rgba, offset=(dy, dx), blur=sigma, opacity=opacity)
    shifted = np.zeros((h, w), np.float64)
    shifted[30 + dy : 70 + dy, 40 + dx : 100 + dx] = 1.0
    ref = ndimage.gaussian_filter(shifted, sigma, mode="constant") * opacity
    ref_a = np.where(rgba[:, :, 3] == 255, 1.0, ref)  # the opaque subject hides its shadow
    assert np.abs(got[:, :, 3] / 255.0 - ref_a).max() < 0.03
    # the subject itself unchanged; the shadow black; it falls below-right, not above-left
    np.testing.assert_array_equal(got[30:70, 40:100], rgba[30:70, 40:100])
    shadow = got[:, :, 3] > 0
    shadow[30:70, 40:100] = False
    assert (got[shadow][:, :3] == 0).all()
    assert got[75, 70, 3] > 50 and got[25, 70, 3] < 5 and got[50, 103, 3] > 50 and got[50, 36, 3] < 5


def test_drop_shadow_defaults_scale_with_the_subject():
    rgba = np.zeros((400, 400, 4), np.uint8)
    rgba[100:300, 100:300, 3] = 255
    got = drop_shadow(rgba)
    # default offset (2 %, 1 %) of 200 = (4, 2): a column under the bottom edge darkened
    assert got[303, 200, 3] > 40 and got[97, 200, 3] < got[303, 200, 3]


def test_fit_cover_matches_imageops_fit(rng):
    src = np.asarray(Image.fromarray(rng.integers(0, 256, (30, 40, 3), np.uint8)).resize((300, 200)))
    for shape in ((150, 100), (100, 300), (200, 300), (64, 64)):
        got = fit_background(src, shape, "cover")
        ref = np.asarray(ImageOps.fit(Image.fromarray(src), (shape[1], shape[0]), Image.BILINEAR))
        assert got.shape == (*shape, 4) and (got[:, :, 3] == 255).all()
        assert np.abs(got[:, :, :3].astype(int) - ref).mean() < 6, shape


def test_fit_contain_matches_imageops_pad(rng):
    src = np.asarray(Image.fromarray(rng.integers(0, 256, (30, 40, 3), np.uint8)).resize((300, 200)))
    for shape in ((150, 100), (100, 300)):
        got = fit_background(src, shape, "contain")
        ref = np.asarray(ImageOps.pad(Image.fromarray(src), (shape[1], shape[0]), Image.BILINEAR, color=(1, 2, 3)))
        inside = (ref != (1, 2, 3)).any(axis=2)
        assert ((got[:, :, 3] == 255) == inside).mean() > 0.98  # the image whole, centred
        assert (got[:, :, 3][~inside] == 0).mean() > 0.98  # transparent bars
        assert np.abs(got[:, :, :3].astype(int) - ref)[inside].mean() < 6
    stretch = fit_background(src, (50, 50), "stretch")
    assert stretch.shape == (50, 50, 4)
    with pytest.raises(InputError, match="--fit"):
        fit_background(src, (5, 5), "fill")


def test_over_is_porter_duff(rng):
    fg = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    bg = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    got = over(fg, bg).astype(np.float64)
    af, ab = fg[:, :, 3:] / 255.0, bg[:, :, 3:] / 255.0
    ao = af + ab * (1 - af)
    rgb = (fg[:, :, :3] * af + bg[:, :, :3] * ab * (1 - af)) / np.where(ao > 0, ao, 1)
    assert np.abs(got[:, :, 3] - ao[:, :, 0] * 255).max() <= 0.51
    assert np.abs(got[:, :, :3] - rgb)[ao[:, :, 0] > 0.05].max() <= 0.51
