"""On a real device: the kernel probe, results made on a caller's stream, and arrays on a second
GPU (tests/emu/test_emu_streams.py checks the same on the emulated device without a GPU)."""

import numpy as np
import pytest

from alphacut import _core, device

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not device.is_available(), reason=f"no CUDA device: {device.why_unavailable()}"),
]


def test_probe_runs_a_kernel():
    assert _core.gpu_probe_cuda() == ""


def test_to_device_result_is_complete_and_get_waits_for_the_caller_stream():
    cp = pytest.importorskip("cupy")
    rng = np.random.default_rng(0)
    img = rng.random((480, 640, 3), dtype=np.float32)
    a = rng.random((480, 640), dtype=np.float32)
    d_img, d_a = device.to_device(img, "cuda"), device.to_device(a, "cuda")
    assert d_img.__cuda_array_interface__["stream"] is None
    s = cp.cuda.Stream(non_blocking=True)
    out = _core.premultiply_cuda(d_img, d_a, stream=s.ptr)
    assert out.__cuda_array_interface__["stream"] == s.ptr
    np.testing.assert_allclose(out.get(), img * a[..., None], atol=1e-6)


def test_arrays_on_the_second_gpu_run_there():
    cp = pytest.importorskip("cupy")
    if cp.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("one GPU")
    rng = np.random.default_rng(1)
    img = rng.random((64, 96, 3), dtype=np.float32)
    a = rng.random((64, 96), dtype=np.float32)
    with cp.cuda.Device(1):
        d_img, d_a = cp.asarray(img), cp.asarray(a)
    out = _core.premultiply_cuda(d_img, d_a)
    np.testing.assert_allclose(out.get(), img * a[..., None], atol=1e-6)
    assert cp.cuda.runtime.getDevice() == 0
