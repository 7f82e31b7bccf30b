"""The public API: Session, new_session (cached, thread-safe) and rembg's remove() keywords,
defaults and return types."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import alphacut
from alphacut import api
from alphacut.models import get_manifest
from alphacut.models.manifest import InputSpec, ModelManifest, OutputSpec
from alphacut.pipeline.modes import PERSON_MODELS
from conftest import load_rgb, shared_path

sys.path.insert(0, str(Path(__file__).parent / "pipeline"))
import tiny_models as tm  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_sessions():
    yield
    api.clear_sessions()


@pytest.fixture
def tiny(tmp_path):
    path = tm.segmenter(tmp_path / "seg.onnx", size=(64, 64))
    man = ModelManifest(name="tiny_seg", kind="segmenter", file="seg.onnx",
                        input=InputSpec(name="input", size=(64, 64)), output=OutputSpec(channel=1, activation="softmax"))
    return api.Session(man, model_path=path)


@pytest.fixture
def u2netp_home(tmp_path, monkeypatch):
    """A rembg-style model folder holding (a link to) the shared u2netp, as a user would have."""
    src = shared_path("models", "u2netp_320.onnx")
    d = tmp_path / "rembg_home" / "models" / "u2netp"
    d.mkdir(parents=True)
    (d / "u2netp.onnx").symlink_to(src)
    monkeypatch.setenv("REMBG_HOME", str(tmp_path / "rembg_home"))
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "alphacut_home"))
    return d


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


def test_remove_mirrors_input_types(tiny):
    rgb, _ = tm.red_disk(90, 120)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    out = api.remove(buf.getvalue(), session=tiny)
    assert isinstance(out, bytes)
    im = Image.open(io.BytesIO(out))
    assert im.format == "PNG" and im.mode == "RGBA" and im.size == (120, 90)
    out = api.remove(Image.fromarray(rgb), session=tiny)
    assert isinstance(out, Image.Image) and out.mode == "RGBA"
    out_arr = api.remove(rgb, session=tiny)
    assert isinstance(out_arr, np.ndarray) and out_arr.shape == (90, 120, 4)
    np.testing.assert_array_equal(np.asarray(im), out_arr)
    forced = api.remove(rgb, session=tiny, force_return_bytes=True)
    assert isinstance(forced, bytes)
    # the plain path's alpha is the session's plain mask
    np.testing.assert_array_equal(out_arr[:, :, 3], tiny.predict_mask(rgb))


def test_remove_only_mask_bgcolor_putalpha(tiny):
    rgb, _ = tm.red_disk(90, 120)
    m = api.remove(rgb, session=tiny, only_mask=True)
    assert m.shape == (90, 120) and m.dtype == np.uint8
    np.testing.assert_array_equal(m, tiny.predict_mask(rgb))
    pil = api.remove(Image.fromarray(rgb), session=tiny, only_mask=True, bgcolor=(1, 2, 3, 255))
    assert pil.mode == "L"  # rembg ignores bgcolor with only_mask
    bg = api.remove(rgb, session=tiny, bgcolor=(10, 200, 30, 255))
    assert (bg[:, :, 3] == 255).all()
    clear = m == 0
    assert (bg[clear][:, :3] == [10, 200, 30]).all()
    # opaque pixels keep the image colour
    solid = m == 255
    np.testing.assert_array_equal(bg[solid][:, :3], rgb[solid])
    pa = api.remove(rgb, session=tiny, putalpha=True)
    np.testing.assert_array_equal(pa[:, :, :3], rgb)


def test_post_process_mask_matches_rembg():
    from rembg.bg import post_process

    rng = np.random.default_rng(3)
    mask = (rng.random((60, 80)) > 0.5).astype(np.uint8) * 255
    mask[20:40, 20:60] = 255
    np.testing.assert_array_equal(api._post_process(mask), post_process(mask))
    real = np.asarray(Image.open(shared_path("images", "rembg", "reference_u2netp_rgba", "car-1.png")))[:, :, 3]
    np.testing.assert_array_equal(api._post_process(real.copy()), post_process(real.copy()))


def test_remove_alpha_matting_uses_fast_refinement(tiny):
    rgb, gt = tm.red_disk(150, 200, soft=8)
    out = api.remove(rgb, session=tiny, alpha_matting=True, alpha_matting_erode_size=6)
    res = tiny.last_result
    assert {"trimap", "matting", "foreground"} <= set(res.timings)
    assert out.shape == (150, 200, 4)
    # the trimap follows rembg's thresholds: sure where mask > 240 / < 10, eroded
    mask = tiny.predict_mask(rgb)
    assert (res.trimap[mask < 10 - 1] != 255).all()
    with pytest.raises(alphacut.InputError, match="threshold"):
        api.remove(rgb, session=tiny, alpha_matting=True, alpha_matting_foreground_threshold=5,
                   alpha_matting_background_threshold=10)
    with pytest.raises(alphacut.InputError):
        api.remove(rgb, session=tiny, alpha_matting=True, alpha_matting_erode_size=-1)


@pytest.mark.parametrize("bad, err", [
    ("not an image", alphacut.InputError),
    (b"", alphacut.DecodeError),
    (b"garbage bytes, not an image", alphacut.DecodeError),
    (np.zeros((0, 0, 3), np.uint8), alphacut.InputError),
    (np.zeros((4, 4, 3), np.float64) * np.nan, alphacut.InputError),
])
def test_remove_bad_input(tiny, bad, err):
    with pytest.raises(err):
        api.remove(bad, session=tiny)


def test_remove_vitmatte_is_refused(tiny):
    with pytest.raises(alphacut.InputError, match="vitmatte"):
        api.remove(np.zeros((4, 4, 3), np.uint8), session=tiny, vitmatte=True)


def test_new_session_default_u2netp_is_cached_and_thread_safe(u2netp_home, monkeypatch):
    created = []
    real = api.load_runtime

    def counting(*a, **k):
        created.append(a)
        return real(*a, **k)

    monkeypatch.setattr(api, "load_runtime", counting)
    got = []
    barrier = threading.Barrier(6)

    def worker():
        barrier.wait()
        got.append(api.new_session())

    ts = [threading.Thread(target=worker) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(got) == 6 and all(s is got[0] for s in got)
    assert len(created) == 1
    assert got[0].model_name == "u2netp"
    # another mode: a new Session, but the loaded network is shared
    other = api.new_session("u2netp", mode="product")
    assert other is not got[0] and other.runner is got[0].runner
    assert len(created) == 1


def test_remove_default_session_matches_rembg_when_compat(u2netp_home):
    s = api.new_session("u2netp", rembg_compat=True)
    p = shared_path("images", "rembg", "input", "car-1.jpg")
    out = api.remove(p.read_bytes(), session=s)
    got = np.asarray(Image.open(io.BytesIO(out)))
    ref = np.asarray(Image.open(shared_path("images", "rembg", "reference_u2netp_rgba", "car-1.png")))
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


def test_portrait_mode_without_person_model_falls_back(u2netp_home, monkeypatch):
    monkeypatch.setattr(api, "PERSON_MODELS", ("no_such_person_model",))
    s = api.Session(mode="portrait")
    assert s.model_name == "u2netp" and s.info["routed_to_person_model"] is None


def test_unknown_model_is_a_model_error(u2netp_home):
    with pytest.raises(alphacut.ModelError):
        api.Session("definitely-not-a-model")
    with pytest.raises(alphacut.ModelError):
        api.Session("u2netp", model_path=u2netp_home / "absent.onnx")


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


P3M = ["p3m_p_09ba26b4__on_leaves", "p3m_p_514ca06a__on_GT26r", "p3m_p_514ca06a__on_beach",
       "p3m_p_bd6af989__on_GT26r"]


def test_portrait_mode_routes_to_a_person_model_and_it_is_better_on_portraits(u2netp_home, tmp_path):
    from alphacut.metrics import matte_errors
    from conftest import load_gray

    name = _cache_person_model(tmp_path / "alphacut_home")
    portrait = api.Session(mode="portrait", refine=False, foreground=False)
    assert portrait.info["routed_to_person_model"] == name and portrait.model_name == name
    general = api.Session(refine=False, foreground=False)
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
    assert api.Session("u2netp", mode="portrait").model_name == "u2netp"
