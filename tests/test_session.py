"""alphacut's own API: Session on arrays, paths and bytes, model routing, the keywords of the
previous release."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
import tiny_models as tm
from conftest import load_rgb, shared_path
from PIL import Image

import alphacut
import alphacut.session
from alphacut import Session
from alphacut.models import get_manifest
from alphacut.pipeline import PERSON_MODELS


def test_session_arrays(tiny):
    rgb, gt = tm.red_disk(120, 160)
    a = tiny.predict_alpha(rgb)
    assert a.shape == (120, 160) and a.dtype == np.float32
    assert np.abs(a - gt).mean() < 0.02
    rgba = tiny.cutout(rgb)
    assert rgba.shape == (120, 160, 4) and rgba.dtype == np.uint8
    assert "segment" in tiny.last_timings and tiny.last_result.rgba is rgba
    # the same through a path and through bytes (decode timed too)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    res = tiny.run(buf.getvalue())
    assert "decode" in res.timings
    np.testing.assert_array_equal(res.rgba, rgba)


def test_previous_result_is_let_go_while_the_next_runs(tiny, monkeypatch):
    # Kept through the next call, the last result's full-size arrays would add to its peak
    # memory (~140 MiB at 12 MP); last_result is cleared when a call starts and set at its end.
    import weakref

    import alphacut.pipeline.pipeline as pp

    rgb, _ = tm.red_disk(120, 160)
    tiny.run(rgb)
    seen = []
    old = weakref.ref(tiny.last_result.rgba)
    run, run_batch = tiny.pipeline.run, pp.run_batch

    def spy_run(*a, **k):
        seen.append((tiny.last_result, old()))
        return run(*a, **k)

    def spy_batch(*a, **k):
        seen.append((tiny.last_result, old()))
        return run_batch(*a, **k)

    monkeypatch.setattr(tiny.pipeline, "run", spy_run)
    monkeypatch.setattr(pp, "run_batch", spy_batch)
    res = tiny.run(rgb)
    assert tiny.last_result is res
    old = weakref.ref(res.rgba)
    del res
    out = tiny.run_batch([rgb, rgb])
    assert tiny.last_result is out[-1]
    # Pipeline.run goes through run_batch too: seen from both calls, never the old result
    assert len(seen) >= 2 and all(x == (None, None) for x in seen), seen


def test_portrait_mode_without_person_model_falls_back(u2netp_home, monkeypatch):
    monkeypatch.setattr(alphacut.session, "PERSON_MODELS", ("no_such_person_model",))
    s = Session(mode="portrait")
    assert s.model_name == "u2netp" and s.info["routed_to_person_model"] is None


def test_unknown_model_is_a_model_error(u2netp_home):
    with pytest.raises(alphacut.ModelError):
        Session("definitely-not-a-model")
    with pytest.raises(alphacut.ModelError):
        Session("u2netp", model_path=u2netp_home / "absent.onnx")


def _cache_person_model(tmp_home: Path):
    """Put the shared MediaPipe selfie model where a fetched model would be (alphacut's cache)."""
    src = shared_path("models", "mediapipe_selfie_segmentation_256x256.onnx")
    for name in PERSON_MODELS:
        try:
            m = get_manifest(name)
        except alphacut.Error:
            continue
        d = tmp_home / "models"
        d.mkdir(parents=True, exist_ok=True)
        (d / m.file).write_bytes(src.read_bytes())
        return name
    pytest.skip("no person-segmenter manifest in this build")


P3M = ["p3m_p_09ba26b4__on_leaves", "p3m_p_514ca06a__on_GT26r", "p3m_p_514ca06a__on_beach", "p3m_p_bd6af989__on_GT26r"]


def test_portrait_mode_routes_to_a_person_model_and_it_is_better_on_portraits(u2netp_home, tmp_path):
    from conftest import load_gray

    from alphacut.metrics import matte_errors

    name = _cache_person_model(tmp_path / "alphacut_home")
    portrait = Session(mode="portrait", refine=False, foreground=False)
    assert portrait.info["routed_to_person_model"] == name and portrait.model_name == name
    general = Session(refine=False, foreground=False, route=False)
    assert general.model_name == "u2netp"
    sad_p, sad_g = [], []
    for n in P3M:
        rgb = load_rgb(shared_path("images", "composites", "input", f"{n}.jpg"))
        gt = load_gray(shared_path("images", "composites", "alpha", f"{n}.png"))
        sad_p.append(matte_errors(portrait.predict_alpha(rgb), gt)["sad"])
        sad_g.append(matte_errors(general.predict_alpha(rgb), gt)["sad"])
    # QUALITY_NOTES: u2netp mean SAD 66 on these, the MediaPipe selfie model 22.5
    assert np.mean(sad_p) < 0.6 * np.mean(sad_g), (sad_p, sad_g)
    # an explicit model wins over the routing
    assert Session("u2netp", mode="portrait").model_name == "u2netp"


def test_runtime_and_backend_keywords(tiny, tmp_path):
    """runtime= names the network engine, backend= where the kernels run; the previous release's
    backend="onnxruntime" (the runtime) and ops_backend= (the kernels) still work, with a warning."""
    man, path = tiny.manifest, tiny.model_path
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = Session(man, model_path=path, runtime="onnxruntime", backend="cpu")
    assert (s.runtime_name, s.backend) == ("onnxruntime", "cpu")
    with pytest.warns(DeprecationWarning, match="runtime='onnxruntime'"):
        old = Session(man, model_path=path, backend="onnxruntime")
    assert (old.runtime_name, old.backend) == ("onnxruntime", "cpu")
    with pytest.warns(DeprecationWarning, match="backend='cpu'"):
        old = Session(man, model_path=path, ops_backend="cpu")
    assert old.backend == "cpu"
    with pytest.raises(alphacut.InputError, match="backend must be one of"):
        Session(man, model_path=path, backend="gpu")


def test_run_with_another_mode_keeps_the_session(tiny):
    """Session.run(mode=...) uses those settings for the call only."""
    rgb, _ = tm.red_disk(120, 160, soft=6)
    base = tiny.run(rgb, foreground=False)
    wide = tiny.run(rgb, foreground=False, mode=alphacut.pipeline.get_mode("general", band=0.05))
    assert wide.info["band_px"] > base.info["band_px"]
    assert (wide.trimap == 128).sum() > (base.trimap == 128).sum()
    assert tiny.run(rgb, foreground=False).info["band_px"] == base.info["band_px"]


def test_arrays_are_held_to_the_pixel_limit(tiny, monkeypatch):
    """The pixel limit applies to arrays as to encoded images (one limit on every entry point)."""
    monkeypatch.setenv("ALPHACUT_MAX_PIXELS", "10000")
    with pytest.raises(alphacut.InputError, match="pixels"):
        tiny.run(np.zeros((200, 100, 3), np.uint8))
    tiny.run(np.zeros((100, 100, 3), np.uint8))
