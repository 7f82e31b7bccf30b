"""The pipeline with its post-processing resident on the device (``backend``), run here on
the emulated CUDA kernels: the very same .cu sources as on a GPU, executed on the CPU. The
image (and its working-size copy) goes up once, the cutout comes down once, and the result
matches the CPU pipeline on
real photos with the real u2netp. tests/gpu runs the same on a device."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import COMPOSITES, load_gray, load_rgb, shared_path

import alphacut
from alphacut import _core, device
from alphacut.pipeline import resolve_backend

pytestmark = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")

# The emulated kernels run block by block on fibers: keep the photos small (~0.1 MP), the
# working size below it so upscale_alpha runs too.
SIDE = 360
WORK = 160 * 120


def _needs(*ops):
    missing = [op for op in ops if not hasattr(_core, f"{op}_emu")]
    if missing:
        pytest.skip(f"{', '.join(missing)} has no emu kernel in this build")


def _photo(name):
    from PIL import Image

    rgb = load_rgb(shared_path("images", "composites", "input", f"{name}.jpg"))
    gt = load_gray(shared_path("images", "composites", "alpha", f"{name}.png"))
    h, w = gt.shape
    s = SIDE / max(h, w)
    size = (round(w * s), round(h * s))
    return (
        np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS)),
        np.asarray(Image.fromarray(gt).resize(size, Image.BILINEAR)),
    )


@pytest.fixture(scope="module")
def sessions():
    from alphacut import Session

    path = shared_path("models", "u2netp_320.onnx")
    cpu = Session("u2netp", model_path=path, work_pixels=WORK)
    emu = Session("u2netp", model_path=path, work_pixels=WORK, backend="emu")
    return cpu, emu


def test_backend_is_checked():
    from alphacut.pipeline import Pipeline

    with pytest.raises(alphacut.InputError, match="backend must be one of"):
        Pipeline(None, None, backend="gpu")
    if not device.is_available():
        with pytest.raises(alphacut.BackendUnavailableError, match="cuda"):
            Pipeline(None, None, backend="cuda")
        assert resolve_backend("auto") == "cpu"


def test_plain_mask_on_device_matches_cpu(sessions):
    cpu, emu = sessions
    rgb, _ = _photo(COMPOSITES[0])
    device.transfer_stats("emu", reset=True)
    r_emu = emu.run(rgb, refine=False, foreground=False)
    stats = device.transfer_stats("emu", reset=True)
    r_cpu = cpu.run(rgb, refine=False, foreground=False)
    # one upload of the image (+ the 320x320 probability), one download of the cutout
    assert stats["uploads"] == 2 and stats["upload_bytes"] == rgb.nbytes + 320 * 320 * 4
    assert stats["downloads"] == 1 and stats["download_bytes"] == rgb.shape[0] * rgb.shape[1] * 4
    assert r_emu.info["backend"] == "emu" and r_emu.foreground is None
    a_cpu = r_cpu.rgba[:, :, 3].astype(int)
    assert np.abs(r_emu.rgba[:, :, 3].astype(int) - a_cpu).max() <= 1
    np.testing.assert_array_equal(r_emu.rgba[:, :, 3].astype(np.float32) / 255, r_emu.alpha)
    opaque = (a_cpu == 255) & (r_emu.rgba[:, :, 3] == 255)
    np.testing.assert_array_equal(r_emu.rgba[opaque][:, :3], rgb[opaque])


@pytest.mark.parametrize("name", COMPOSITES[:4])
def test_refined_cutout_on_device_matches_cpu(sessions, name):
    """Trimap, solve in the band, guided upscaling, foreground colour and the RGBA pack on the
    device agree with the CPU pipeline, and are as close to the true alpha (``-s`` prints the
    figures)."""
    _needs("solve_alpha", "estimate_foreground")
    from alphacut.metrics import matte_errors

    cpu, emu = sessions
    rgb, gt = _photo(name)
    device.transfer_stats("emu", reset=True)
    r_emu = emu.run(rgb)
    stats = device.transfer_stats("emu", reset=True)
    r_cpu = cpu.run(rgb)
    # up: the image, its working-size copy (which also fed the network), the 320x320 probability
    assert (stats["uploads"], stats["downloads"]) == (3, 1), stats
    wh, ww = r_cpu.info["working_size"]
    assert stats["upload_bytes"] == rgb.nbytes + wh * ww * 3 + 320 * 320 * 4
    assert stats["download_bytes"] == r_cpu.rgba.nbytes
    assert r_emu.info["working_size"] == r_cpu.info["working_size"]
    assert set(r_emu.timings) >= {
        "segment",
        "upload",
        "resize",
        "trimap",
        "matting",
        "upscale",
        "foreground",
        "pack",
        "download",
    }
    a_emu, a_cpu = r_emu.rgba[:, :, 3].astype(int), r_cpu.rgba[:, :, 3].astype(int)
    diff = np.abs(a_emu - a_cpu)
    # The same uint8 working image on both; the solve's reductions and the foreground's sweeps
    # run in another order on the device: small differences in the band only.
    # Measured: at most 1 LSB anywhere, mean < 1e-4 (the same uint8 working image on both).
    assert diff.max() <= 2 and diff.mean() < 0.01, (diff.mean(), diff.max())
    sad_emu, sad_cpu = (matte_errors(a.astype(np.float32) / 255, gt)["sad"] for a in (a_emu, a_cpu))
    assert sad_emu <= 1.002 * sad_cpu + 0.01, (sad_emu, sad_cpu)
    # Colour: the image where opaque, the estimated foreground on soft pixels, 0 where transparent.
    both = lambda v: (a_emu == v) & (a_cpu == v)  # noqa: E731
    np.testing.assert_array_equal(r_emu.rgba[both(255)][:, :3], rgb[both(255)])
    assert (r_emu.rgba[a_emu == 0][:, :3] == 0).all()
    soft = (a_emu > 25) & (a_emu < 230) & (a_cpu > 25) & (a_cpu < 230)
    col = np.abs(r_emu.rgba[soft][:, :3].astype(int) - r_cpu.rgba[soft][:, :3].astype(int))
    print(
        f"\n{name}: A |emu - cpu| mean {diff.mean():.4f}, p99.9 {np.percentile(diff, 99.9):.0f}, max {diff.max()}; "
        f"SAD emu {sad_emu:.3f} cpu {sad_cpu:.3f}; soft colour |emu - cpu| mean {col.mean():.2f}"
    )
    assert col.mean() < 4.0, col.mean()


def test_alpha_only_on_device_downloads_the_float_alpha(sessions):
    _needs("solve_alpha")
    cpu, emu = sessions
    rgb, _ = _photo(COMPOSITES[0])
    device.transfer_stats("emu", reset=True)
    alpha = emu.predict_alpha(rgb)
    stats = device.transfer_stats("emu", reset=True)
    assert stats["downloads"] == 1 and stats["download_bytes"] == alpha.nbytes
    assert alpha.dtype == np.float32 and 0 <= alpha.min() and alpha.max() <= 1
    assert np.abs(alpha - cpu.predict_alpha(rgb)).mean() < 1e-3


def test_routed_probability_is_what_goes_up(fresh_sessions):
    """Routing happens on the host before the upload: a portrait routed to the person model
    uploads its 256x256 probability, and the device cutout matches the routed CPU one."""
    _needs("solve_alpha", "estimate_foreground")
    from alphacut import Session

    kw = dict(
        model_path=shared_path("models", "u2netp_320.onnx"),
        work_pixels=WORK,
        route=True,
        person_model_path=shared_path("models", "mediapipe_selfie_segmentation_256x256.onnx"),
    )
    cpu, emu = Session("u2netp", **kw), Session("u2netp", backend="emu", **kw)
    rgb, _ = _photo("p3m_p_514ca06a__on_GT26r")
    device.transfer_stats("emu", reset=True)
    r_emu = emu.run(rgb, foreground=False)
    stats = device.transfer_stats("emu", reset=True)
    r_cpu = cpu.run(rgb, foreground=False)
    assert r_emu.info["route"]["choice"] == r_cpu.info["route"]["choice"] == "person"
    wh, ww = r_cpu.info["working_size"]
    assert stats["upload_bytes"] == rgb.nbytes + wh * ww * 3 + 256 * 256 * 4
    diff = np.abs(r_emu.rgba[:, :, 3].astype(int) - r_cpu.rgba[:, :, 3].astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.01, (diff.mean(), diff.max())
