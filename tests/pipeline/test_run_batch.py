"""Several images, one network call: ``Session.run_batch`` / ``pipeline.run_batch`` give each image
what ``run`` gives it, with one network call for N images when the batch dimension is dynamic and
one call per image when it is fixed at 1."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_models as tm
from conftest import load_rgb, shared_path

import alphacut
from alphacut import Session
from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec
from alphacut.pipeline.pipeline import BatchItem, batch_limit, run_batch


def _manifest(name="tiny_seg"):
    return ModelManifest(
        name=name,
        kind="segmenter",
        file="seg.onnx",
        input=InputSpec(name="input", size=(64, 64)),
        output=OutputSpec(channel=1, activation="softmax"),
    )


@pytest.fixture
def dynamic(tmp_path, fresh_sessions):
    path = tm.segmenter(tmp_path / "seg_dyn.onnx", size=(64, 64), batch="N")
    return Session(_manifest("tiny_dyn"), model_path=path)


@pytest.fixture
def fixed(tmp_path, fresh_sessions):
    path = tm.segmenter(tmp_path / "seg_one.onnx", size=(64, 64))
    return Session(_manifest("tiny_one"), model_path=path)


def _count_calls(session, monkeypatch):
    calls = []
    real = session.runtime.infer

    def counting(feeds):
        calls.append({k: v.shape for k, v in feeds.items()})
        return real(feeds)

    monkeypatch.setattr(session.runtime, "infer", counting)
    return calls


def _images():
    sizes = [(120, 160), (150, 200), (90, 90), (200, 130), (64, 64)]
    return [tm.red_disk(h, w, r=min(h, w) / 3, seed=i)[0] for i, (h, w) in enumerate(sizes)]


@pytest.mark.parametrize("opts", [{}, {"refine": False, "foreground": False}, {"rgba": False}])
def test_run_batch_equals_run_per_image_in_one_network_call(dynamic, monkeypatch, opts):
    imgs = _images()
    singles = [dynamic.run(im, **opts) for im in imgs]
    calls = _count_calls(dynamic, monkeypatch)
    batch = dynamic.run_batch(imgs, **opts)
    assert len(calls) == 1 and calls[0]["input"][0] == len(imgs)  # one call, N images stacked
    for one, many in zip(singles, batch):
        np.testing.assert_array_equal(one.alpha, many.alpha)
        if one.rgba is not None:
            np.testing.assert_array_equal(one.rgba, many.rgba)
        np.testing.assert_array_equal(one.probability, many.probability)
        assert many.info["batch_size"] == len(imgs) and one.info["batch_size"] == 1
        assert list(many.timings) == list(one.timings)  # the same stages, in the same order


def test_fixed_batch_of_one_falls_back_to_a_call_per_image(fixed, monkeypatch):
    assert batch_limit(fixed.runtime, "input") == 1
    imgs = _images()[:3]
    singles = [fixed.run(im) for im in imgs]
    calls = _count_calls(fixed, monkeypatch)
    batch = fixed.run_batch(imgs, workers=1)  # the batched path (by default: side by side)
    assert [c["input"][0] for c in calls] == [1, 1, 1]
    for one, many in zip(singles, batch):
        np.testing.assert_array_equal(one.rgba, many.rgba)
        assert many.info["batch_size"] == 1


def test_batch_mixes_modes_and_options_of_one_model(dynamic, monkeypatch):
    imgs = _images()[:3]
    product = dynamic.pipeline.with_mode("product")
    items = [
        BatchItem(dynamic.pipeline, imgs[0]),
        BatchItem(product, imgs[1]),
        BatchItem(dynamic.pipeline, imgs[2], rgba=False, refine=False, foreground=False),
    ]
    expected = [
        dynamic.pipeline.run(imgs[0]),
        product.run(imgs[1]),
        dynamic.pipeline.run(imgs[2], rgba=False, refine=False, foreground=False),
    ]
    calls = _count_calls(dynamic, monkeypatch)
    got = run_batch(items)
    assert len(calls) == 1
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e.alpha, g.alpha)
    assert got[1].info["mode"] == "product" and got[2].rgba is None


def test_one_bad_image_does_not_fail_the_others(dynamic):
    imgs = _images()[:2]
    res = dynamic.run_batch([imgs[0], b"not an image", np.zeros((0, 4, 3), np.uint8), imgs[1]], return_exceptions=True)
    assert isinstance(res[1], alphacut.DecodeError) and isinstance(res[2], alphacut.InputError)
    np.testing.assert_array_equal(res[0].rgba, dynamic.run(imgs[0]).rgba)
    np.testing.assert_array_equal(res[3].rgba, dynamic.run(imgs[1]).rgba)
    assert res[0].info["batch_size"] == 2
    with pytest.raises(alphacut.DecodeError):
        dynamic.run_batch([imgs[0], b"not an image"])


def test_a_failing_stacked_call_is_retried_image_by_image(dynamic, monkeypatch):
    real = dynamic.runtime.infer
    sizes = []

    def flaky(feeds):
        n = feeds["input"].shape[0]
        sizes.append(n)
        if n > 1:
            raise alphacut.ModelError("out of memory for this batch")
        return real(feeds)

    monkeypatch.setattr(dynamic.runtime, "infer", flaky)
    imgs = _images()[:3]
    res = dynamic.run_batch(imgs)
    assert sizes == [3, 1, 1, 1]
    assert all(r.info["batch_size"] == 1 for r in res)


def test_rembg_compat_chain_batches_too(tmp_path, fresh_sessions, monkeypatch):
    path = tm.segmenter(tmp_path / "seg_dyn.onnx", size=(64, 64), batch="N")
    s = Session(_manifest("tiny_dyn"), model_path=path, rembg_compat=True)
    imgs = _images()[:3]
    singles = [s.predict_mask(im) for im in imgs]
    calls = _count_calls(s, monkeypatch)
    res = s.run_batch(imgs, rgba=False, refine=False, foreground=False)
    assert len(calls) == 1
    for m, r in zip(singles, res):
        np.testing.assert_array_equal(m, np.round(r.alpha * 255).astype(np.uint8))


def test_u2netp_run_batch_matches_run(u2netp_home):
    """The real model (fixed batch of 1): the loop gives exactly what run gives."""
    rgb = load_rgb(shared_path("images", "rembg", "input", "car-1.jpg"))
    s = Session("u2netp")
    a, b = s.run_batch([rgb, rgb[::2, ::2].copy()])
    np.testing.assert_array_equal(a.rgba, s.run(rgb).rgba)
    assert a.info["batch_size"] == 1 and b.rgba.shape[:2] == rgb[::2, ::2].shape[:2]
