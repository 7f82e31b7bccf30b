"""Everything rembg-shaped (alphacut.compat.rembg): remove() with rembg's keywords, defaults and
return types; new_session (cached, thread-safe); rembg's exact numbers with rembg_compat."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import tiny_models as tm
from conftest import load_rgb, shared_path
from PIL import Image

import alphacut
from alphacut import Session, new_session, remove
from alphacut.compat import rembg


def test_remove_mirrors_input_types(tiny):
    rgb, _ = tm.red_disk(90, 120)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    out = remove(buf.getvalue(), session=tiny)
    assert isinstance(out, bytes)
    im = Image.open(io.BytesIO(out))
    assert im.format == "PNG" and im.mode == "RGBA" and im.size == (120, 90)
    out = remove(Image.fromarray(rgb), session=tiny)
    assert isinstance(out, Image.Image) and out.mode == "RGBA"
    out_arr = remove(rgb, session=tiny)
    assert isinstance(out_arr, np.ndarray) and out_arr.shape == (90, 120, 4)
    np.testing.assert_array_equal(np.asarray(im), out_arr)
    forced = remove(rgb, session=tiny, force_return_bytes=True)
    assert isinstance(forced, bytes)
    # the plain path's alpha is the session's plain mask
    np.testing.assert_array_equal(out_arr[:, :, 3], tiny.predict_mask(rgb))


def test_remove_only_mask_bgcolor_putalpha(tiny):
    rgb, _ = tm.red_disk(90, 120)
    m = remove(rgb, session=tiny, only_mask=True)
    assert m.shape == (90, 120) and m.dtype == np.uint8
    np.testing.assert_array_equal(m, tiny.predict_mask(rgb))
    pil = remove(Image.fromarray(rgb), session=tiny, only_mask=True, bgcolor=(1, 2, 3, 255))
    assert pil.mode == "L"  # rembg ignores bgcolor with only_mask
    bg = remove(rgb, session=tiny, bgcolor=(10, 200, 30, 255))
    assert (bg[:, :, 3] == 255).all()
    clear = m == 0
    assert (bg[clear][:, :3] == [10, 200, 30]).all()
    # opaque pixels keep the image colour
    solid = m == 255
    np.testing.assert_array_equal(bg[solid][:, :3], rgb[solid])
    pa = remove(rgb, session=tiny, putalpha=True)
    np.testing.assert_array_equal(pa[:, :, :3], rgb)


def test_post_process_mask_matches_rembg():
    from rembg.bg import post_process

    rng = np.random.default_rng(3)
    mask = (rng.random((60, 80)) > 0.5).astype(np.uint8) * 255
    mask[20:40, 20:60] = 255
    np.testing.assert_array_equal(rembg.post_process(mask), post_process(mask))
    real = np.asarray(Image.open(shared_path("images", "rembg", "reference_u2netp_rgba", "car-1.png")))[:, :, 3]
    np.testing.assert_array_equal(rembg.post_process(real.copy()), post_process(real.copy()))


def test_remove_alpha_matting_uses_fast_refinement(tiny):
    rgb, gt = tm.red_disk(150, 200, soft=8)
    out = remove(rgb, session=tiny, alpha_matting=True, alpha_matting_erode_size=6)
    res = tiny.last_result
    assert {"trimap", "matting", "foreground"} <= set(res.timings)
    assert out.shape == (150, 200, 4)
    # the trimap is rembg's: sure where mask > 240 / < 10, each eroded by a 6x6 square
    mask = tiny.predict_mask(rgb)
    np.testing.assert_array_equal(res.trimap, _scipy_trimap(mask, 240, 10, 6))
    np.testing.assert_array_equal(out[:, :, 3][res.trimap == 255], 255)
    np.testing.assert_array_equal(out[:, :, 3][res.trimap == 0], 0)
    # every value rembg accepts is accepted: crossed thresholds, a negative erosion (a 3x3 cross)
    remove(
        rgb,
        session=tiny,
        alpha_matting=True,
        alpha_matting_foreground_threshold=5,
        alpha_matting_background_threshold=10,
    )
    np.testing.assert_array_equal(tiny.last_result.trimap, _scipy_trimap(mask, 5, 10, 10))
    remove(rgb, session=tiny, alpha_matting=True, alpha_matting_erode_size=-1)
    np.testing.assert_array_equal(tiny.last_result.trimap, _scipy_trimap(mask, 240, 10, -1))
    # no sure foreground: rembg falls back to the mask with the foreground colour estimated
    fb = remove(rgb, session=tiny, alpha_matting=True, alpha_matting_foreground_threshold=300)
    np.testing.assert_array_equal(fb[:, :, 3], mask)
    for bad in ({"alpha_matting_erode_size": 2.5}, {"alpha_matting_foreground_threshold": "240"}):
        with pytest.raises(alphacut.InputError):
            remove(rgb, session=tiny, alpha_matting=True, **bad)


def _scipy_trimap(mask, fg, bg, erode):
    """rembg's alpha_matting_cutout trimap, with scipy as rembg builds it."""
    from scipy.ndimage import binary_erosion

    structure = np.ones((erode, erode), np.uint8) if erode > 0 else None
    is_fg = binary_erosion(mask > fg, structure=structure)
    is_bg = binary_erosion(mask < bg, structure=structure, border_value=1)
    tri = np.full(mask.shape, 128, np.uint8)
    tri[is_fg] = 255
    tri[is_bg] = 0
    return tri


@pytest.mark.parametrize("size", [-3, 0, 1, 2, 3, 6, 7, 10, 41, 100])
def test_rembg_trimap_matches_scipy_erosion(size):
    """rembg_trimap is rembg's trimap exactly, odd and even square sizes (even: off-centre)."""
    rng = np.random.default_rng(abs(size))
    mask = (rng.random((70, 90)) * 255).astype(np.uint8)
    mask[10:60, 20:80] = 250
    mask[:5] = 0
    for fg, bg in ((240, 10), (128, 128), (5, 200), (240.5, 9.5)):
        np.testing.assert_array_equal(rembg.rembg_trimap(mask, fg, bg, size), _scipy_trimap(mask, fg, bg, size))


@pytest.mark.parametrize(
    "bad, err",
    [
        ("not an image", alphacut.InputError),
        (b"", alphacut.DecodeError),
        (b"garbage bytes, not an image", alphacut.DecodeError),
        (np.zeros((0, 0, 3), np.uint8), alphacut.InputError),
        (np.zeros((4, 4, 3), np.float64) * np.nan, alphacut.InputError),
    ],
)
def test_remove_bad_input(tiny, bad, err):
    with pytest.raises(err):
        remove(bad, session=tiny)


def test_remove_vitmatte_is_refused(tiny):
    with pytest.raises(alphacut.InputError, match="vitmatte"):
        remove(np.zeros((4, 4, 3), np.uint8), session=tiny, vitmatte=True)


def test_new_session_default_u2netp_is_cached_and_thread_safe(u2netp_home, monkeypatch):
    created = []
    import alphacut.session

    real = alphacut.session._load_runtime

    def counting(*a, **k):
        created.append(a)
        return real(*a, **k)

    monkeypatch.setattr(alphacut.session, "_load_runtime", counting)
    got = []
    barrier = threading.Barrier(6)

    def worker():
        barrier.wait()
        got.append(new_session())

    ts = [threading.Thread(target=worker) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(got) == 6 and all(s is got[0] for s in got)
    assert len(created) == 1
    assert got[0].model_name == "u2netp"
    # another mode: a new Session, but the loaded network is shared
    other = new_session("u2netp", mode="product")
    assert other is not got[0] and other.runtime is got[0].runtime
    assert len(created) == 1


def test_remove_default_session_matches_rembg_when_compat(u2netp_home):
    s = new_session("u2netp", rembg_compat=True)
    p = shared_path("images", "rembg", "input", "car-1.jpg")
    out = remove(p.read_bytes(), session=s)
    got = np.asarray(Image.open(io.BytesIO(out)))
    ref = np.asarray(Image.open(shared_path("images", "rembg", "reference_u2netp_rgba", "car-1.png")))
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


# ------------------------------------------------------------------------------------------------
# rembg compatibility on rembg's own golden outputs
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["car-1", "cloth-1", "anime-girl-1"])
def test_rembg_compat_reproduces_rembg_u2netp_masks(name):
    from alphacut import Session

    model = shared_path("models", "u2netp_320.onnx")
    rgb = load_rgb(shared_path("images", "rembg", "input", f"{name}.jpg"))
    ref = np.asarray(Image.open(shared_path("images", "rembg", "reference_u2netp_rgba", f"{name}.png")))
    s = Session("u2netp", model_path=model, rembg_compat=True)
    res = s.run(rgb)
    d = np.abs(res.rgba[:, :, 3].astype(int) - ref[:, :, 3].astype(int))
    assert d.max() <= 1, f"alpha differs by up to {d.max()} LSB"
    assert d.mean() < 1e-3
    # the colour channels follow rembg's naive (premultiplied-looking) cutout too
    assert np.abs(res.rgba[:, :, :3].astype(int) - ref[:, :, :3].astype(int)).max() <= 1
    # and the default path differs (it divides by 255 and does not stretch): the option matters
    plain = Session("u2netp", model_path=model, refine=False, foreground=False).predict_mask(rgb)
    assert np.abs(plain.astype(int) - ref[:, :, 3].astype(int)).max() > 1


def test_alpha_matting_runs_where_the_session_runs(tiny):
    """remove(alpha_matting=True) uses the session's backend (it once ran on the CPU whatever the
    session said) and its thresholds change the result."""
    from alphacut.ops import available_backends

    if "emu" not in available_backends():
        pytest.skip("the emulated kernels are not in this build (-DALPHACUT_EMU=ON)")
    s = Session(tiny.manifest, model_path=tiny.model_path, backend="emu")
    from alphacut import device

    rgb, _ = tm.red_disk(90, 120, soft=4)
    device.transfer_stats("emu", reset=True)
    remove(rgb, session=s)
    plain = device.transfer_stats("emu", reset=True)["uploads"]
    wide = remove(rgb, session=s, alpha_matting=True, alpha_matting_erode_size=20)
    assert s.last_result.info["backend"] == "emu"
    assert device.transfer_stats("emu", reset=True)["uploads"] > plain  # the matting's kernels ran on emu
    narrow = remove(rgb, session=s, alpha_matting=True, alpha_matting_erode_size=2)
    assert not np.array_equal(wide, narrow)


# rembg 2.0.86's alpha_matting_cutout (pymatting's closed-form solve at full size) on the same
# u2netp masks and default thresholds: the SAD (/1000) in the trimap's unknown band against the exact
# GT, measured once with the real rembg (tests/compat/test_dropin.py compares with it live on car-1).
_REMBG_MATTING_SAD = {"GT05__on_beach": 1.49, "p3m_p_514ca06a__on_beach": 12.63}


@pytest.mark.parametrize("name", sorted(_REMBG_MATTING_SAD))
def test_alpha_matting_quality_on_exact_gt(name):
    """alpha_matting's band solve is as good as rembg's closed-form solve (within 15 % of its SAD)
    on exact-GT composites, hair included, and its sure pixels are rembg's."""
    from conftest import load_gray

    rgb = load_rgb(shared_path("images", "composites", "input", f"{name}.jpg"))
    gt = load_gray(shared_path("images", "composites", "alpha", f"{name}.png")).astype(np.float64) / 255
    s = Session("u2netp", model_path=shared_path("models", "u2netp_320.onnx"), rembg_compat=True)
    mask = s.predict_mask(rgb)
    out = np.asarray(rembg.alpha_matting_cutout(Image.fromarray(rgb), Image.fromarray(mask), 240, 10, 10, session=s))
    tri = rembg.rembg_trimap(mask, 240, 10, 10)
    band = tri == 128
    sad = np.abs(out[:, :, 3] / 255.0 - gt)[band].sum() / 1000
    mask_sad = np.abs(mask / 255.0 - gt)[band].sum() / 1000
    print(f"{name}: band SAD alphacut {sad:.2f}, rembg {_REMBG_MATTING_SAD[name]:.2f}, the plain mask {mask_sad:.2f}")
    assert sad <= 1.15 * _REMBG_MATTING_SAD[name]
    assert sad < mask_sad


# ------------------------------------------------------------------------------------------------
# providers / sess_opts on alphacut's own new_session, and the mapping itself
# ------------------------------------------------------------------------------------------------


def test_new_session_providers_and_sess_opts_are_applied(u2netp_home):
    import onnxruntime as ort

    with pytest.warns(RuntimeWarning, match="ROCMExecutionProvider"):
        s = new_session("u2netp", providers=["ROCMExecutionProvider", "CPUExecutionProvider"])
    assert (s.runtime_name, s.backend) == ("onnxruntime", "cpu")
    with pytest.raises(alphacut.InputError, match="not both"):
        new_session("u2netp", providers=["CPUExecutionProvider"], runtime="tensorrt")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    assert new_session("u2netp", sess_opts=opts).threads == 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    with pytest.warns(RuntimeWarning, match="graph_optimization_level"):
        new_session("u2netp", sess_opts=opts)
    # an unknown model: alphacut's error and rembg's ValueError at once
    with pytest.raises(alphacut.Error) as e:
        new_session("no-such-model")
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize(
    "providers, ort_has, trt_ok, kernels, want",
    [
        (["CUDAExecutionProvider", "CPUExecutionProvider"], True, False, True, ("onnxruntime-cuda", "cuda", 0)),
        (["CUDAExecutionProvider", "CPUExecutionProvider"], True, False, False, ("onnxruntime-cuda", "cpu", 1)),
        (["CUDAExecutionProvider", "CPUExecutionProvider"], False, False, True, ("onnxruntime", "cpu", 1)),
        (["TensorrtExecutionProvider", "CUDAExecutionProvider"], True, True, True, ("tensorrt", "cuda", 0)),
        (["TensorrtExecutionProvider", "CUDAExecutionProvider"], True, False, True, ("onnxruntime-cuda", "cuda", 1)),
        ([("TensorrtExecutionProvider", {"trt_fp16_enable": True})], False, False, False, ("onnxruntime", "cpu", 2)),
        (["OpenVINOExecutionProvider", "DmlExecutionProvider"], False, False, False, ("onnxruntime", "cpu", 3)),
        (["CPUExecutionProvider", "CUDAExecutionProvider"], True, True, True, ("onnxruntime", "cpu", 0)),
        ([], False, False, False, ("onnxruntime", "cpu", 0)),
    ],
)
def test_place_maps_execution_providers(monkeypatch, providers, ort_has, trt_ok, kernels, want):
    """TensorRT → runtime tensorrt, CUDA → onnxruntime-cuda, each with the CUDA kernels when they
    can run, first usable provider wins; every provider passed over leaves a note (printed)."""
    import alphacut.runtime

    monkeypatch.setattr(
        rembg,
        "_ort_available",
        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"] if ort_has else ["CPUExecutionProvider"],
    )
    monkeypatch.setattr(alphacut.runtime, "tensorrt_unavailable_reason", lambda: None if trt_ok else "no TensorRT here")
    monkeypatch.setattr(
        rembg,
        "_kernels_on",
        lambda wanted: ("cpu", None) if not wanted else ("cuda", None) if kernels else ("cpu", "no CUDA kernels here"),
    )
    pl = rembg.place(providers)
    assert (pl.runtime, pl.backend, len(pl.notes)) == want, pl.notes
    if not kernels and want[0] != "onnxruntime":
        assert "post-processing on the CPU" in pl.notes[-1]
    with pytest.raises(alphacut.InputError):
        rembg.place("CUDAExecutionProvider")


def test_alphacut_remove_post_process_and_decontaminate(u2netp_home, real_rembg_bg):
    """alphacut.remove's post_process_mask and decontaminate do what rembg's do to the same mask."""
    from PIL import Image as PILImage

    rgb = load_rgb(shared_path("images", "rembg", "input", "car-1.jpg"))
    s = new_session("u2netp", rembg_compat=True)
    mask = remove(rgb, session=s, only_mask=True)
    pp = remove(rgb, session=s, post_process_mask=True)
    np.testing.assert_array_equal(pp[:, :, 3], real_rembg_bg.post_process(mask))
    assert (pp[:, :, 3] != mask).sum() > 100
    dc = remove(rgb, session=s, decontaminate=True)
    ref = np.asarray(real_rembg_bg.decontaminate_cutout(PILImage.fromarray(rgb), PILImage.fromarray(mask)))
    np.testing.assert_array_equal(dc[:, :, 3], ref[:, :, 3])
    soft = (mask > 0) & (mask < 255)
    assert np.abs(dc[soft][:, :3].astype(int) - ref[soft][:, :3]).mean() < 1.5
    plain = remove(rgb, session=s)
    assert np.abs(dc[soft][:, :3].astype(int) - plain[soft][:, :3]).mean() > 10


@pytest.fixture
def real_rembg_bg():
    return pytest.importorskip("rembg.bg")
