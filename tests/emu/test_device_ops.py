"""The op wrappers with device arrays on the emulation backend: morphology, make_trimap,
resize, guided_filter (+ coefficients) and upscale_alpha read device arrays in place, keep
their results on the device, and agree with the CPU op on the same data. Also the transfer
counters the bindings keep (tests/pipeline/test_device_pipeline.py relies on them)."""

import importlib

import numpy as np
import pytest

from alphacut import InputError, _core, ops
from alphacut.device import to_device, transfer_stats

gf = importlib.import_module("alphacut.ops._guided_filter")

pytestmark = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")


def _dev(x):
    return to_device(x, "emu")


def test_morphology_on_device(rng):
    m = rng.random((37, 53)) > 0.7
    for op in (ops.dilate, ops.erode):
        d = op(_dev(m.view(np.uint8)), 3, backend="emu")
        assert type(d).__name__ == "EmuDeviceArray" and d.dtype == np.bool_
        np.testing.assert_array_equal(d.get(), op(m, 3, backend="cpu"))


def test_make_trimap_on_device(rng):
    p = rng.random((41, 29)).astype(np.float32)
    d = ops.make_trimap(_dev(p), 0.8, 0.2, 2, backend="emu")
    assert d.shape == (41, 29) and d.dtype == np.uint8
    np.testing.assert_array_equal(d.get(), ops.make_trimap(p, 0.8, 0.2, 2, backend="cpu"))
    with pytest.raises(InputError, match="bg_threshold"):
        ops.make_trimap(_dev(p), 0.2, 0.8, backend="emu")


@pytest.mark.parametrize("method", ["bilinear", "area", "bicubic"])
def test_resize_on_device(rng, method):
    img = rng.integers(0, 256, (45, 61, 3), dtype=np.uint8)
    d = ops.resize(_dev(img), (20, 33), method, backend="emu")
    assert d.shape == (20, 33, 3) and d.dtype == np.uint8
    diff = np.abs(d.get().astype(int) - ops.resize(img, (20, 33), method, backend="cpu").astype(int))
    assert diff.max() <= 1 and np.mean(diff > 0) < 0.01  # the uint8 bound of csrc/ops/README.md
    f = rng.random((45, 61), dtype=np.float32)
    np.testing.assert_allclose(
        ops.resize(_dev(f), (90, 30), method, backend="emu").get(),
        ops.resize(f, (90, 30), method, backend="cpu"),
        atol=1e-5,
    )
    with pytest.raises(InputError, match="method"):
        ops.resize(_dev(f), (9, 9), "nearest", backend="emu")
    with pytest.raises(InputError, match="height"):
        ops.resize(_dev(f), (0, 9), backend="emu")


def test_guided_filter_on_device(rng):
    g = rng.integers(0, 256, (33, 47, 3), dtype=np.uint8)
    p = rng.random((33, 47), dtype=np.float32)
    q = ops.guided_filter(_dev(g), _dev(p), 4, 1e-3, backend="emu")
    np.testing.assert_allclose(q.get(), ops.guided_filter(g, p, 4, 1e-3, backend="cpu"), atol=1e-5)
    a, b = gf.guided_filter_coefficients(_dev(g), p, 4, 1e-3, backend="emu")  # mixed: host p is uploaded
    ca, cb = gf.guided_filter_coefficients(g, p, 4, 1e-3, backend="cpu")
    np.testing.assert_allclose(a.get(), ca, atol=1e-5)
    np.testing.assert_allclose(b.get(), cb, atol=1e-5)
    with pytest.raises(InputError, match="size"):
        ops.guided_filter(_dev(g), _dev(p[:-1]), 4, 1e-3, backend="emu")
    with pytest.raises(InputError, match="eps"):
        ops.guided_filter(_dev(g), _dev(p), 4, 0.0, backend="emu")


def test_upscale_alpha_on_device(rng):
    guide = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    low = rng.random((15, 20), dtype=np.float32)
    d = ops.upscale_alpha(_dev(low), _dev(guide), 1, 1e-4, backend="emu")
    assert d.shape == (60, 80) and d.dtype == np.float32
    np.testing.assert_allclose(d.get(), ops.upscale_alpha(low, guide, 1, 1e-4, backend="cpu"), atol=4e-5)
    with pytest.raises(InputError, match="larger than guide_full"):
        ops.upscale_alpha(_dev(guide[:, :, 0].astype(np.float32) / 255), _dev(guide[:10, :10]), backend="emu")


def test_device_arrays_need_a_gpu_backend(rng):
    d = _dev(rng.random((8, 8), dtype=np.float32))
    with pytest.raises(InputError, match="backend='cuda'"):
        ops.resize(d, (4, 4), backend="cpu")
    with pytest.raises(InputError, match="backend='cuda'"):
        ops.dilate(d, 1, backend="cpu")


def test_transfer_stats_count_copies(rng):
    img = rng.random((16, 24, 3), dtype=np.float32)
    transfer_stats("emu", reset=True)
    d = _dev(img)  # 1 upload
    r = ops.resize(d, (8, 12), backend="emu")  # stays on the device
    ops.resize(r, (4, 6), backend="emu").get()  # 1 download
    s = transfer_stats("emu", reset=True)
    assert s == {"uploads": 1, "upload_bytes": img.nbytes, "downloads": 1, "download_bytes": 4 * 6 * 3 * 4}
    ops.resize(img, (8, 12), backend="emu")  # host in, host out: 1 each way
    s = transfer_stats("emu")
    assert (s["uploads"], s["downloads"]) == (1, 1)
    assert transfer_stats("emu", reset=True)["uploads"] == 1 and transfer_stats("emu")["uploads"] == 0
