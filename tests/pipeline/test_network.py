"""Preprocessing per manifest and reading the probability; rembg's exact numbers (±1 LSB)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_rgb, shared_path
from PIL import Image

import alphacut
from alphacut.models.manifest import IMAGENET_MEAN, IMAGENET_STD, InputSpec, OutputSpec
from alphacut.pipeline import network as pp


def test_normalisation_matches_numpy(rng):
    rgb = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    spec = InputSpec(size=(64, 48), mean=IMAGENET_MEAN, std=IMAGENET_STD)
    x = pp.preprocess(rgb, spec)
    ref = ((rgb / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)).transpose(2, 0, 1)[None]
    assert x.dtype == np.float32 and x.shape == (1, 3, 64, 48)
    np.testing.assert_allclose(x, ref, atol=1e-5)


def test_bgr_nhwc_and_sinet_style_scale(rng):
    rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mean = (102.890434, 111.25247, 126.91212)
    std = tuple(255 * s for s in (62.93292, 62.82138, 66.355705))
    spec = InputSpec(size=(32, 32), layout="NHWC", color="BGR", scale=1.0, mean=mean, std=std)
    x = pp.preprocess(rgb, spec)
    bgr = rgb[:, :, ::-1].astype(np.float64)
    ref = ((bgr - np.array(mean)) / np.array(std))[None]
    assert x.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(x, ref, atol=1e-6)


def test_shrink_is_antialiased_bilinear(rng):
    rgb = rng.integers(0, 256, (150, 100, 3), dtype=np.uint8)  # under 4x: the filter alone
    spec = InputSpec(size=(60, 40))
    x = pp.preprocess(rgb, spec)[0].transpose(1, 2, 0)
    ref = np.asarray(Image.fromarray(rgb).resize((40, 60), Image.Resampling.BILINEAR)) / 255.0
    assert np.abs(x - ref).max() <= 0.5 / 255


def test_large_shrink_stays_close_to_the_plain_filter():
    rgb = load_rgb(shared_path("images", "composites", "input", "lemur__on_leaves.jpg"))
    big = np.asarray(Image.fromarray(rgb).resize((rgb.shape[1] * 3, rgb.shape[0] * 3), Image.Resampling.BICUBIC))
    small = pp.shrink_for_network(big, (320, 320))
    ref = np.asarray(Image.fromarray(big).resize((320, 320), Image.Resampling.BILINEAR))
    diff = np.abs(small.astype(int) - ref.astype(int))
    assert diff.mean() < 1.0 and diff.max() <= 24


@pytest.mark.parametrize(
    "hw, spec, expect",
    [
        ((300, 200), InputSpec(size=(320, 320)), (320, 320)),
        ((1000, 1500), InputSpec(short_side=512, multiple_of=32), (512, 768)),
        ((333, 1000), InputSpec(short_side=512, multiple_of=32), (512, 1536)),
        ((100, 130), InputSpec(multiple_of=32), (96, 128)),
    ],
)
def test_network_size(hw, spec, expect):
    assert pp.network_size(spec, hw) == expect


def test_read_probability_activations():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 2, 5, 6)).astype(np.float32)
    outs = {"out": logits}
    p = pp.read_probability(outs, OutputSpec(channel=1, activation="sigmoid"))
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-logits[0, 1])), rtol=1e-5)
    p = pp.read_probability(outs, OutputSpec(channel=1, activation="softmax"))
    e = np.exp(logits[0])
    np.testing.assert_allclose(p, e[1] / e.sum(0), rtol=1e-5)
    p = pp.read_probability(
        {"o": logits.transpose(0, 2, 3, 1).repeat(4, 1).repeat(4, 2)},
        OutputSpec(channel=1, activation="softmax"),
        layout="NHWC",
    )
    assert p.shape == (20, 24)
    if "reduce" in OutputSpec.__dataclass_fields__:  # multi-class: 1 − P(background)
        p = pp.read_probability(outs, OutputSpec(activation="softmax", reduce="1-background"))
        np.testing.assert_allclose(p, 1 - e[0] / e.sum(0), rtol=1e-5)
    # "none": clipped to [0, 1]
    p = pp.read_probability({"o": np.array([[[[-0.5, 0.3, 1.7]]]], np.float32)}, OutputSpec())
    np.testing.assert_array_equal(p, np.array([[0.0, 0.3, 1.0]], np.float32))
    with pytest.raises(alphacut.ModelError, match="channel"):
        pp.read_probability(outs, OutputSpec(channel=5))
    with pytest.raises(alphacut.ModelError, match="no output"):
        pp.read_probability(outs, OutputSpec(name="nope"))
    with pytest.raises(alphacut.ModelError, match="NaN"):
        pp.read_probability({"o": np.full((1, 1, 2, 2), np.nan, np.float32)}, OutputSpec())


def test_preprocess_bad_input():
    with pytest.raises(alphacut.InputError):
        pp.preprocess(np.zeros((4, 4), np.uint8), InputSpec(size=(4, 4)))
    with pytest.raises(alphacut.ModelError, match="layout"):
        pp.preprocess(np.zeros((4, 4, 3), np.uint8), InputSpec(size=(4, 4), layout="CHW"))
