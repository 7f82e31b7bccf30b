"""The emulated device as strict as a GPU: streams are queues run when something waits for them
(legacy, blocking and non-blocking semantics), pageable uploads land late, memory and shared
memory start as NaN bytes, frees poison at once, launches on the wrong device fail, and blocks
and threads run in shuffled orders. Each test names the defect it would catch."""

import numpy as np
import pytest

import alphacut
import alphacut.device
from alphacut import _core

pytestmark = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")


class HostPosingAsDevice:
    """A NumPy array exposing __cuda_array_interface__ (valid for the emulation only)."""

    def __init__(self, a: np.ndarray):
        self.a = a
        self.__cuda_array_interface__ = {
            "shape": a.shape,
            "typestr": a.dtype.str,
            "data": (a.ctypes.data, False),
            "strides": None,
            "version": 3,
        }


@pytest.fixture
def stream():
    made = []

    def make(non_blocking=True):
        s = _core._emu_stream_create(non_blocking)
        made.append(s)
        return s

    yield make
    for s in made:
        _core._emu_stream_destroy(s)


@pytest.fixture
def emu_config():
    yield _core._emu_configure
    _core._emu_configure()  # back to one device, natural order, kernels that run
    _core._emu_set_device(0)


# ---- poison -----------------------------------------------------------------------------------


def test_uninitialised_device_memory_reads_nan():
    assert np.isnan(_core._selftest_uninit_device_memory_emu(300)).all()


def test_uninitialised_shared_memory_reads_nan_in_every_block():
    # A block must not see what the previous block on the same host thread left behind.
    out = _core._selftest_uninit_shared_emu(5, 64)
    assert np.isnan(out).all()


def test_a_kernel_using_memory_freed_before_it_ran_is_reported():
    # cudaFree does not wait for the kernel queued on a non-blocking stream: on a device the
    # memory may already be another allocation's. Freed in stream order it is fine.
    with pytest.raises(alphacut.InternalError, match="freed"):
        _core._selftest_free_before_kernel_runs_emu(100, False)
    np.testing.assert_array_equal(_core._selftest_free_before_kernel_runs_emu(100, True), 0)


# ---- streams ----------------------------------------------------------------------------------


def test_pageable_upload_lands_late_for_a_non_blocking_stream(stream):
    x = np.arange(1000, dtype=np.float32)
    s = stream(non_blocking=True)
    # cudaMemcpy from pageable memory returns before the copy lands on the device; a kernel on a
    # non-blocking stream does not wait for the legacy stream, so it reads the poison.
    assert np.isnan(_core._selftest_upload_then_kernel_emu(x, s, False)).all()
    np.testing.assert_array_equal(_core._selftest_upload_then_kernel_emu(x, s, True), x)
    # A blocking stream waits for the legacy stream's copy.
    np.testing.assert_array_equal(_core._selftest_upload_then_kernel_emu(x, stream(non_blocking=False), False), x)


def test_work_on_a_stream_runs_when_waited_for(rng, stream):
    img = rng.random((9, 13, 3), dtype=np.float32)
    a = rng.random((9, 13), dtype=np.float32)
    s = stream()
    out = _core.premultiply_emu(HostPosingAsDevice(img), HostPosingAsDevice(a), stream=s)
    assert _core._emu_stream_pending(s) > 0  # only enqueued
    _core._emu_stream_synchronize(s)
    assert _core._emu_stream_pending(s) == 0
    np.testing.assert_allclose(out.get(), img * a[..., None], atol=1e-6)


def test_to_device_then_op_on_a_caller_stream(rng, stream):
    # Defect 3: to_device copied with cudaMemcpy on the legacy stream, which returns before the
    # data lands; an op on the caller's non-blocking stream then read memory not yet written.
    img = rng.random((21, 34, 3), dtype=np.float32)
    a = rng.random((21, 34), dtype=np.float32)
    d_img, d_a = alphacut.device.to_device(img, "emu"), alphacut.device.to_device(a, "emu")
    s = stream()
    out = _core.premultiply_emu(d_img, d_a, stream=s)
    _core._emu_stream_synchronize(s)
    np.testing.assert_allclose(out.get(), img * a[..., None], atol=1e-6)


def test_to_device_then_op_on_the_private_stream(rng):
    img = rng.random((21, 34, 3), dtype=np.float32)
    a = rng.random((21, 34), dtype=np.float32)
    out = _core.premultiply_emu(alphacut.device.to_device(img, "emu"), alphacut.device.to_device(a, "emu"))
    np.testing.assert_allclose(out.get(), img * a[..., None], atol=1e-6)


def test_result_on_a_caller_stream_names_it_and_get_waits(rng, stream):
    # Defect 4: a result made on the caller's stream said "stream": None (ready) and .get()
    # copied on the legacy stream, which does not wait for a non-blocking stream.
    img = rng.random((17, 23, 3), dtype=np.float32)
    a = rng.random((17, 23), dtype=np.float32)
    s = stream()
    out = _core.premultiply_emu(HostPosingAsDevice(img), HostPosingAsDevice(a), stream=s)
    assert out.__cuda_array_interface__["stream"] == s
    np.testing.assert_allclose(out.get(), img * a[..., None], atol=1e-6)
    # made on the private stream (synchronised before returning): ready, no stream to wait for
    ready = _core.premultiply_emu(HostPosingAsDevice(img), HostPosingAsDevice(a))
    assert ready.__cuda_array_interface__["stream"] is None


def test_consumer_waits_for_the_producer_stream_it_names(rng, stream):
    # A device input that names its stream (CAI v3): the op must wait for it before reading.
    img = rng.random((17, 23, 3), dtype=np.float32)
    a = rng.random((17, 23), dtype=np.float32)
    s = stream()
    p = _core.premultiply_emu(HostPosingAsDevice(img), HostPosingAsDevice(a), stream=s)
    back = _core.unpremultiply_emu(p, HostPosingAsDevice(a))  # private stream; p still queued on s
    np.testing.assert_allclose(back.get(), img, atol=1e-4)


class RecordingDLPack:
    """A DLPack producer on a (pretend) CUDA device that records the stream it was asked for."""

    def __init__(self, a: np.ndarray):
        self.a = a
        self.streams = []

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None):
        self.streams.append(stream)
        return self.a.__dlpack__()


def test_dlpack_is_asked_for_the_stream_we_consume_on(rng):
    img = RecordingDLPack(rng.random((5, 6, 3), dtype=np.float32))
    a = RecordingDLPack(rng.random((5, 6), dtype=np.float32))
    alphacut.ops.premultiply(img, a, backend="emu")
    # our private stream is blocking: it waits for the legacy stream (1), which the producer
    # orders its work before; None would leave the choice to the producer.
    assert img.streams == [1] and a.streams == [1]


# ---- devices ----------------------------------------------------------------------------------


def test_arrays_on_device_1_run_on_device_1(rng, emu_config):
    # Defect 8: the kernels were launched on device 0 whatever device the arrays were on.
    emu_config(devices=2)
    img = rng.random((8, 9, 3), dtype=np.float32)
    a = rng.random((8, 9), dtype=np.float32)
    _core._emu_set_device(1)
    d_img, d_a = alphacut.device.to_device(img, "emu"), alphacut.device.to_device(a, "emu")
    _core._emu_set_device(0)
    out = _core.premultiply_emu(d_img, d_a)
    np.testing.assert_allclose(out.get(), img * a[..., None], atol=1e-6)
    assert _core._emu_get_device() == 0  # the caller's device is restored


# ---- the probe --------------------------------------------------------------------------------


def test_probe_launches_a_kernel(emu_config):
    assert _core.gpu_probe_emu() == ""
    emu_config(no_kernel_image=True)
    reason = _core.gpu_probe_emu()
    assert "no kernel image" in reason
    assert "no kernel image" in alphacut.device._why_unavailable_for("emu")
    emu_config()
    assert alphacut.device._why_unavailable_for("emu") is None


# ---- shuffled execution -----------------------------------------------------------------------


def _ops(rng):
    rgb = rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)
    prob = rng.random((45, 70), dtype=np.float32)
    a = rng.random((45, 70), dtype=np.float32)
    low = rng.random((23, 35), dtype=np.float32)
    tri = _core.make_trimap_cpu(prob, 0.8, 0.2, 3)
    return {
        "make_trimap": lambda: _core.make_trimap_emu(prob, 0.8, 0.2, 3),
        "dilate": lambda: _core.dilate_emu((prob > 0.5).astype(np.uint8), 4),
        "guided_filter": lambda: _core.guided_filter_emu(rgb, a, 4, 1e-3),
        "upscale_alpha": lambda: _core.upscale_alpha_emu(low, rgb, 2, 1e-4),
        "resize": lambda: _core.resize_emu(rgb, 31, 52, 1),
        "estimate_foreground": lambda: _core.estimate_foreground_emu(rgb, a),
        "solve_alpha": lambda: _core.solve_alpha_emu(rgb / np.float32(255), tri, prob, prob, 1e-5, 0.1, 0.5, 50, 1e-6)[
            0
        ],
        "pack_rgba": lambda: _core.pack_rgba_emu(rgb, a),
        "composite": lambda: _core.composite_emu(rgb.astype(np.float32) / 255, a, np.zeros_like(rgb, np.float32)),
    }


@pytest.mark.parametrize("name", list(_ops(np.random.default_rng(0))))
def test_same_bits_in_any_block_and_thread_order(name, emu_config):
    run = _ops(np.random.default_rng(1))[name]
    results = []
    for seed in (0, 0x5EED, 0xC0FFEE):
        emu_config(seed=seed)
        results.append(np.asarray(run()))
    for r in results[1:]:
        np.testing.assert_array_equal(r.view(np.uint8), results[0].view(np.uint8))


def test_barrier_site_mismatch_is_reported():
    # Every thread reaches "a" __syncthreads(), but the two halves of the block different ones.
    with pytest.raises(alphacut.InternalError, match="barrier-site mismatch"):
        _core._selftest_split_barrier_emu(64)
    np.testing.assert_array_equal(_core._selftest_launch_with_threads_emu(8), np.arange(8))


def test_shuffling_changes_the_order(emu_config):
    # The shuffle is real: the order in which threads of a block reach an atomic counter changes.
    emu_config(seed=0)
    natural = _core._selftest_arrival_order_emu(64)
    emu_config(seed=1234)
    shuffled = _core._selftest_arrival_order_emu(64)
    np.testing.assert_array_equal(np.sort(shuffled), np.arange(64))
    assert not np.array_equal(natural, shuffled)
