"""Each mode held to the exact GT on the images it is meant for, its settings against the
general ones on the same images in the same run (so a wrecked setting fails here).

Measured (``PYTHONPATH=python python -m pytest -q -s tests/pipeline/test_modes_gt.py``), mean SAD
(band SAD) ÷ 1000:

- product (u2netp) on the toy and the antelope (GT05 ×4, aim_o): 13.68 (8.23); with the general
  settings 14.03 (8.54); product is lower on each of the 5 images.
- portrait (MediaPipe selfie) on the 4 P3M portraits: 17.67 (8.88); general settings 17.88 (9.14).

Wrecking a setting was measured too: thresholds 0.95/0.05 give 15.57 / 19.48, band ×3 14.44 /
18.84, prior_weight ×10 14.05 / 18.64, prior_confidence 0 14.43 / 19.73 (product / portrait).
The upscaling settings (``upscale_radius``, ``upscale_eps``) are not held here: every GT image is
under the working size, so no upscaling runs; on 2× enlargements (with an interpolated GT) they
move the SAD by 0.1 %.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_gray, load_rgb, shared_path

from alphacut import Session
from alphacut.metrics import matte_errors
from alphacut.pipeline import get_mode

PRODUCT_IMAGES = ["GT05__on_beach", "GT05__on_leaves", "GT05", "GT05_on_GT26r", "aim_o_0b7228ec__on_beach"]
PORTRAIT_IMAGES = [
    "p3m_p_09ba26b4__on_leaves",
    "p3m_p_514ca06a__on_GT26r",
    "p3m_p_514ca06a__on_beach",
    "p3m_p_bd6af989__on_GT26r",
]


def _image(name):
    if name.startswith("GT05") and "__" not in name:
        d = shared_path("images", "alphamatting_gt05")
        src = d / "input" / "GT05.jpg" if name == "GT05" else d / "composite" / f"{name}.jpg"
        return load_rgb(src), load_gray(d / "alpha" / "GT05.jpg")
    d = shared_path("images", "composites")
    return load_rgb(d / "input" / f"{name}.jpg"), load_gray(d / "alpha" / f"{name}.png")


def _errors(session, names, mode):
    out = []
    for n in names:
        rgb, gt = _image(n)
        e = matte_errors(session.run(rgb, rgba=False, mode=mode).alpha, gt)
        out.append((e["sad"], e["sad_band"]))
    return np.array(out)


@pytest.fixture
def product_and_general(fresh_sessions):
    s = Session("u2netp", mode="product", model_path=shared_path("models", "u2netp_320.onnx"), foreground=False)
    return _errors(s, PRODUCT_IMAGES, None), _errors(s, PRODUCT_IMAGES, get_mode("general"))


def test_product_mode_on_crisp_subjects(product_and_general):
    prod, gen = product_and_general
    print(
        f"product: SAD {prod[:, 0].mean():.2f} (band {prod[:, 1].mean():.2f}); "
        f"general settings: {gen[:, 0].mean():.2f} ({gen[:, 1].mean():.2f}); per image {prod[:, 0].round(2)}"
    )
    assert prod[:, 0].mean() <= 14.1 and prod[:, 1].mean() <= 8.5  # measured 13.68 / 8.23, +3 %
    assert prod[:, 0].mean() <= 0.99 * gen[:, 0].mean()  # measured 2.5 % lower
    assert (prod[:, 0] <= gen[:, 0] + 0.05).all()


def test_portrait_mode_on_portraits(fresh_sessions):
    s = Session(
        mode="portrait",
        person_model_path=shared_path("models", "mediapipe_selfie_segmentation_256x256.onnx"),
        foreground=False,
    )
    assert s.model_name == "mediapipe-selfie"
    port = _errors(s, PORTRAIT_IMAGES, None)
    gen = _errors(s, PORTRAIT_IMAGES, get_mode("general"))
    print(
        f"portrait: SAD {port[:, 0].mean():.2f} (band {port[:, 1].mean():.2f}); "
        f"general settings: {gen[:, 0].mean():.2f} ({gen[:, 1].mean():.2f}); per image {port[:, 0].round(2)}"
    )
    assert port[:, 0].mean() <= 18.2 and port[:, 1].mean() <= 9.15  # measured 17.67 / 8.88, +3 %
    assert port[:, 1].mean() <= 0.99 * gen[:, 1].mean()  # measured 2.9 % lower
    assert port[:, 0].mean() <= gen[:, 0].mean()
