"""Device arrays through __cuda_array_interface__, zero-copy. On the emulation device memory is
host memory, so NumPy buffers can pose as device arrays and the whole path (interface parsing,
in-place reads and writes, results that stay on the device, chaining) is checked without a GPU.
tests/gpu/test_gpu_device_arrays.py runs the same with CuPy / PyTorch on a device."""

import numpy as np
import pytest

import alphacut
from alphacut import _core, ops
from alphacut.ops import pack_rgba, preprocess, preprocess_into

pytestmark = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")


class HostPosingAsDevice:
    """A NumPy array exposing __cuda_array_interface__ (valid for the emulation only)."""

    def __init__(self, a: np.ndarray, strides=None, typestr=None, readonly=False):
        self.a = a
        self.__cuda_array_interface__ = {
            "shape": a.shape,
            "typestr": typestr or a.dtype.str,
            "data": (a.ctypes.data, readonly),
            "strides": strides if strides is not None else (None if a.flags.c_contiguous else a.strides),
            "version": 3,
        }


def test_results_stay_on_device_and_chain(rng):
    img = rng.random((13, 21, 3), dtype=np.float32)
    a = rng.uniform(0.1, 1, (13, 21)).astype(np.float32)
    d_img, d_a = HostPosingAsDevice(img), HostPosingAsDevice(a)
    p = ops.premultiply(d_img, d_a, backend="emu")
    assert type(p).__name__ == "EmuDeviceArray"
    assert p.shape == (13, 21, 3) and p.dtype == np.float32
    cai = p.__cuda_array_interface__
    assert cai["typestr"] == "<f4" and cai["shape"] == (13, 21, 3) and cai["version"] == 3
    np.testing.assert_allclose(p.get(), ops.premultiply(img, a, backend="cpu"), atol=1e-6)
    back = ops.unpremultiply(p, d_a, backend="emu")  # a device result as the next op's input
    np.testing.assert_allclose(back.get(), img, atol=1e-5)


def test_inputs_are_read_in_place(rng):
    fg = rng.random((6, 7, 3), dtype=np.float32)
    bg = rng.random((6, 7, 3), dtype=np.float32)
    a = rng.random((6, 7), dtype=np.float32)
    d_fg = HostPosingAsDevice(fg)
    out1 = ops.composite(d_fg, HostPosingAsDevice(a), HostPosingAsDevice(bg), backend="emu").get()
    np.testing.assert_allclose(out1, a[..., None] * fg + (1 - a[..., None]) * bg, atol=1e-6)
    fg[:] = 0  # the kernel reads the caller's memory, not a copy made at wrap time
    out2 = ops.composite(d_fg, HostPosingAsDevice(a), HostPosingAsDevice(bg), backend="emu").get()
    np.testing.assert_allclose(out2, (1 - a[..., None]) * bg, atol=1e-6)


def test_row_strided_device_array(rng):
    big = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    crop = big[2:15, 3:25]
    alpha = rng.random((13, 22), dtype=np.float32)
    out = pack_rgba(HostPosingAsDevice(crop), HostPosingAsDevice(alpha), backend="emu").get()
    np.testing.assert_array_equal(out, pack_rgba(np.ascontiguousarray(crop), alpha, backend="cpu"))


def test_preprocess_into_network_buffer(rng):
    img = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    for dt in (np.float32, np.float16):
        buf = np.zeros((1, 3, 16, 24), dt)
        d_buf = HostPosingAsDevice(buf)
        assert preprocess_into(d_buf, img, mean=0.5, std=0.2, backend="emu") is d_buf
        np.testing.assert_array_equal(buf, preprocess(img, (16, 24), mean=0.5, std=0.2, dtype=dt, backend="cpu"))
    d = preprocess(HostPosingAsDevice(img), (16, 24), backend="emu")
    assert type(d).__name__ == "EmuDeviceArray" and d.shape == (1, 3, 16, 24)


def test_to_device_roundtrip():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    d = _core.to_device_emu(x)
    assert d.shape == (2, 3, 4)
    np.testing.assert_array_equal(d.get(), x)
    with pytest.raises(alphacut.Error, match="not supported"):
        _core.to_device_emu(np.zeros(3, np.float64))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda a: HostPosingAsDevice(a.astype(np.float64)), "type <f8"),
        (lambda a: HostPosingAsDevice(a[None]), "dimensions"),
        (lambda a: HostPosingAsDevice(a, strides=(a.strides[0], 8, 4)), "contiguous"),
    ],
)
def test_bad_device_arrays(make, match):
    a = np.zeros((4, 5, 3), np.float32)
    with pytest.raises(alphacut.Error, match=match):
        ops.premultiply(make(a), HostPosingAsDevice(np.zeros((4, 5), np.float32)), backend="emu")


def test_device_arrays_need_a_gpu_backend():
    d = HostPosingAsDevice(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(alphacut.InputError, match="backend='cuda'"):
        ops.premultiply(d, np.zeros((4, 5), np.float32), backend="cpu")


def test_read_only_target_is_refused():
    buf = HostPosingAsDevice(np.zeros((1, 3, 4, 4), np.float32), readonly=True)
    with pytest.raises(alphacut.Error, match="read-only"):
        preprocess_into(buf, np.zeros((8, 8, 3), np.uint8), backend="emu")


class FakeCudaDLPack:
    """A DLPack producer that claims a CUDA device but exports host memory (emulation only)."""

    def __init__(self, a: np.ndarray):
        self.a = a

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()


def test_dlpack_inputs_and_targets(rng):
    img = rng.random((9, 11, 3), dtype=np.float32)
    a = rng.random((9, 11), dtype=np.float32)
    p = ops.premultiply(FakeCudaDLPack(img), FakeCudaDLPack(a), backend="emu")
    np.testing.assert_allclose(p.get(), img * a[..., None], atol=1e-6)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    buf = np.zeros((1, 3, 8, 12), np.float32)
    preprocess_into(FakeCudaDLPack(buf), FakeCudaDLPack(rgb), backend="emu")  # written in place
    np.testing.assert_array_equal(buf, preprocess(rgb, (8, 12), backend="cpu"))
    crop = rgb[2:10, 3:20]  # DLPack strides (in elements) become byte strides
    out = pack_rgba(FakeCudaDLPack(crop), FakeCudaDLPack(np.ones((8, 17), np.float32)), backend="emu").get()
    np.testing.assert_array_equal(out[..., :3], crop)


def test_dlpack_bad_dtype_and_cpu_backend():
    with pytest.raises(alphacut.InputError, match="not supported"):
        ops.premultiply(FakeCudaDLPack(np.zeros((2, 2, 3))), FakeCudaDLPack(np.zeros((2, 2))), backend="emu")
    with pytest.raises(alphacut.InputError, match="backend='cuda'"):
        ops.premultiply(FakeCudaDLPack(np.zeros((2, 2, 3), np.float32)), np.zeros((2, 2), np.float32), backend="cpu")


# ---- guided_filter: device arrays through both kernel paths (fused, multi-pass) ---------------
# (The Python wrapper takes host arrays; the native entry points take device arrays in place.)
@pytest.mark.parametrize("shape, radius", [((33, 130), 8), ((9, 300), 120)])
def test_guided_filter_device_arrays_both_paths(rng, shape, radius):
    if not hasattr(_core, "guided_filter_emu"):
        pytest.skip("guided_filter has no emu kernel in this build")
    guide = rng.random(shape + (3,), dtype=np.float32)
    src = rng.random(shape, dtype=np.float32)
    q = _core.guided_filter_emu(HostPosingAsDevice(guide), HostPosingAsDevice(src), radius, 1e-3)
    assert type(q).__name__ == "EmuDeviceArray" and q.shape == shape
    np.testing.assert_allclose(q.get(), _core.guided_filter_cpu(guide, src, radius, 1e-3), rtol=0, atol=1e-5)
    ma, mb = _core.guided_filter_coefficients_emu(HostPosingAsDevice(guide), HostPosingAsDevice(src), radius, 1e-3)
    assert type(ma).__name__ == "EmuDeviceArray" and ma.shape == shape + (3,) and mb.shape == shape
    ca, cb = _core.guided_filter_coefficients_cpu(guide, src, radius, 1e-3)
    np.testing.assert_allclose(ma.get(), ca, rtol=0, atol=1e-5)
    np.testing.assert_allclose(mb.get(), cb, rtol=0, atol=1e-5)
    # A row-strided device view (a crop of a wider buffer) is read in place.
    wide = rng.random((shape[0], shape[1] + 7, 3), dtype=np.float32)
    crop = wide[:, 3 : 3 + shape[1]]
    d_crop = HostPosingAsDevice(crop, strides=crop.strides)
    np.testing.assert_allclose(
        _core.guided_filter_emu(d_crop, HostPosingAsDevice(src), radius, 1e-3).get(),
        _core.guided_filter_cpu(np.ascontiguousarray(crop), src, radius, 1e-3),
        rtol=0,
        atol=1e-5,
    )


# --- estimate_foreground ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtypes", [(np.uint8, np.uint8), (np.float32, np.float32), (np.uint8, np.float32)])
def test_estimate_foreground_device_arrays(rng, dtypes):
    img = rng.random((37, 53, 3), dtype=np.float32)
    a = rng.random((37, 53), dtype=np.float32)
    a[:10], a[-10:] = 1, 0
    if dtypes[0] == np.uint8:
        img = (img * 255).astype(np.uint8)
    if dtypes[1] == np.uint8:
        a = (a * 255).astype(np.uint8)
    f, b = ops.estimate_foreground(
        HostPosingAsDevice(img), HostPosingAsDevice(a), return_background=True, backend="emu"
    )
    assert type(f).__name__ == type(b).__name__ == "EmuDeviceArray"
    assert f.shape == b.shape == (37, 53, 3) and f.dtype == np.float32
    host_f, host_b = ops.estimate_foreground(img, a, return_background=True, backend="emu")
    np.testing.assert_array_equal(f.get(), host_f)
    np.testing.assert_array_equal(b.get(), host_b)
    # One device input is enough for a device result; chained into composite on the device.
    f2 = ops.estimate_foreground(img, HostPosingAsDevice(a), backend="emu")
    np.testing.assert_array_equal(f2.get(), host_f)
    a32 = a / np.float32(255) if a.dtype == np.uint8 else a
    out = ops.composite(
        f2,
        HostPosingAsDevice(np.ascontiguousarray(a32)),
        HostPosingAsDevice(np.zeros((37, 53, 3), np.float32)),
        backend="emu",
    )
    np.testing.assert_allclose(out.get(), host_f * a32[..., None], atol=1e-6)


def test_estimate_foreground_strided_and_dlpack_inputs(rng):
    big = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    crop, acrop = big[3:25, 5:33], alpha[3:25, 5:33]
    ref = ops.estimate_foreground(np.ascontiguousarray(crop), np.ascontiguousarray(acrop), backend="emu")
    np.testing.assert_array_equal(
        ops.estimate_foreground(HostPosingAsDevice(crop), HostPosingAsDevice(acrop), backend="emu").get(), ref
    )
    np.testing.assert_array_equal(
        ops.estimate_foreground(FakeCudaDLPack(crop), FakeCudaDLPack(acrop), backend="emu").get(), ref
    )


def test_estimate_foreground_bad_device_arrays():
    img = HostPosingAsDevice(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(alphacut.Error, match="bool device arrays"):
        ops.estimate_foreground(img, HostPosingAsDevice(np.zeros((4, 5), bool)), backend="emu")
    with pytest.raises(alphacut.Error, match="type <f8"):
        ops.estimate_foreground(img, HostPosingAsDevice(np.zeros((4, 5), np.float64)), backend="emu")
    with pytest.raises(alphacut.Error, match="expected"):
        ops.estimate_foreground(img, HostPosingAsDevice(np.zeros((4, 6), np.float32)), backend="emu")
    with pytest.raises(alphacut.Error, match="3 channels"):
        ops.estimate_foreground(
            HostPosingAsDevice(np.zeros((4, 5, 4), np.float32)),
            HostPosingAsDevice(np.zeros((4, 5), np.float32)),
            backend="emu",
        )
    with pytest.raises(alphacut.Error, match="regularization"):
        ops.estimate_foreground(img, HostPosingAsDevice(np.zeros((4, 5), np.float32)), regularization=-1, backend="emu")
    with pytest.raises(alphacut.InputError, match="backend='cuda'"):
        ops.estimate_foreground(img, np.zeros((4, 5), np.float32), backend="cpu")


# ---- solve_alpha (section owned by the solve_alpha kernel) -------------------------------------


def _solve_inputs(rng, h=24, w=30):
    img = rng.random((h, w, 3), dtype=np.float32)
    tri = np.full((h, w), 128, np.uint8)
    tri[:6] = 0
    tri[-6:] = 255
    prior = rng.random((h, w), dtype=np.float32)
    return img, tri, prior


def test_solve_alpha_device_in_device_out(rng):
    img, tri, prior = _solve_inputs(rng)
    host, host_info = ops.solve_alpha(img, tri, prior=prior, tol=1e-8, return_info=True, backend="emu")
    assert isinstance(host, np.ndarray)  # NumPy in -> NumPy out
    d, info = ops.solve_alpha(
        HostPosingAsDevice(img),
        HostPosingAsDevice(tri),
        prior=HostPosingAsDevice(prior),
        tol=1e-8,
        return_info=True,
        backend="emu",
    )
    assert type(d).__name__ == "EmuDeviceArray" and d.shape == (24, 30)
    np.testing.assert_array_equal(d.get(), host)
    assert info["iterations"] == host_info["iterations"] and info["levels"] == 1
    np.testing.assert_allclose(d.get(), ops.solve_alpha(img, tri, prior=prior, tol=1e-8, backend="cpu"), atol=1e-4)
    # Mixed: a device image with a host trimap, and a row-strided device crop.
    mixed = ops.solve_alpha(HostPosingAsDevice(img), tri, tol=1e-8, backend="emu")
    np.testing.assert_allclose(mixed.get(), ops.solve_alpha(img, tri, tol=1e-8, backend="cpu"), atol=1e-4)
    big = np.zeros((30, 40, 3), np.float32)
    big[3:27, 5:35] = img
    crop = HostPosingAsDevice(big[3:27, 5:35])
    np.testing.assert_array_equal(
        ops.solve_alpha(crop, tri, tol=1e-8, backend="emu").get(), ops.solve_alpha(img, tri, tol=1e-8, backend="emu")
    )
    # DLPack producers are accepted too.
    dl = ops.solve_alpha(FakeCudaDLPack(img), FakeCudaDLPack(tri), tol=1e-8, backend="emu")
    np.testing.assert_array_equal(dl.get(), mixed.get())


def test_solve_alpha_bad_device_arrays(rng):
    img, tri, _ = _solve_inputs(rng)
    with pytest.raises(alphacut.Error, match="expected <f4"):  # uint8 images: convert on the device first
        ops.solve_alpha(HostPosingAsDevice((img * 255).astype(np.uint8)), tri, backend="emu")
    with pytest.raises(alphacut.Error, match="trimap: device array has type <f4"):
        ops.solve_alpha(HostPosingAsDevice(img), HostPosingAsDevice(tri.astype(np.float32)), backend="emu")
    with pytest.raises(alphacut.Error, match="trimap has shape"):
        ops.solve_alpha(HostPosingAsDevice(img), HostPosingAsDevice(tri[:5]), backend="emu")
    with pytest.raises(alphacut.InputError, match="levels"):
        ops.solve_alpha(HostPosingAsDevice(img), tri, levels=2, backend="emu")
    with pytest.raises(alphacut.InputError, match="backend='cuda'"):
        ops.solve_alpha(HostPosingAsDevice(img), tri, backend="cpu")


# ---- shapes the Python layer checks before the native op --------------------------------------


@pytest.mark.parametrize("low, guide", [((5,), (8, 8)), ((4, 4), (8,)), ((4, 4, 1, 1), (8, 8)), ((4, 4), (8, 8, 3, 1))])
def test_upscale_alpha_device_arrays_of_the_wrong_rank(low, guide):
    # A 1-D device array used to fail unpacking its shape (a bare ValueError).
    with pytest.raises(alphacut.InputError, match="device array"):
        ops.upscale_alpha(
            HostPosingAsDevice(np.zeros(low, np.float32)),
            HostPosingAsDevice(np.zeros(guide, np.float32)),
            backend="emu",
        )


def test_preprocess_into_device_image_inside_out():
    buf = np.zeros((1, 3, 6, 4), np.float32)
    raw = buf.view(np.uint8)[0, 2]  # the last plane's bytes, (6, 16)
    image = np.lib.stride_tricks.as_strided(raw, shape=(6, 4, 3), strides=(raw.strides[0], 3, 1))
    image[:] = 200
    with pytest.raises(alphacut.InputError, match="overlap"):
        preprocess_into(HostPosingAsDevice(buf), HostPosingAsDevice(image, strides=image.strides), backend="emu")
    other = np.full((6, 4, 3), 200, np.uint8)
    preprocess_into(HostPosingAsDevice(buf), HostPosingAsDevice(other), backend="emu")
    np.testing.assert_array_equal(buf, preprocess(other, (6, 4), backend="cpu"))


# ---- uploads of host arrays whose rows overlap -----------------------------------------------


def test_upload_of_broadcast_rows():
    # A row stride of 0 (np.broadcast_to) is no pitch for cudaMemcpy2D: the upload failed with an
    # InternalError. The native entry points copy such rows one by one.
    row = np.arange(12, dtype=np.float32).reshape(1, 4, 3) / 12
    img = np.broadcast_to(row, (5, 4, 3))
    a = np.broadcast_to(np.full((1, 4), 0.5, np.float32), (5, 4))
    np.testing.assert_array_equal(_core.premultiply_emu(img, a), _core.premultiply_cpu(img, a)[..., :])
    overlapping = np.lib.stride_tricks.as_strided(
        np.arange(40, dtype=np.float32) / 40, shape=(5, 4, 3), strides=(8, 12, 4)
    )  # rows 2 floats apart, 12 long
    np.testing.assert_array_equal(_core.premultiply_emu(overlapping, a), _core.premultiply_cpu(overlapping, a))


def test_a_failed_runtime_call_does_not_fail_the_next_launch():
    # cudaMalloc's out-of-memory was left as the thread's last error, and the next op's launch
    # check reported it (as an InternalError) although that launch was fine.
    with pytest.raises(alphacut.Error, match="out of memory"):
        ops.preprocess(np.zeros((4, 4, 3), np.uint8), (2**30, 2**30), backend="emu")
    out = ops.premultiply(np.ones((4, 4, 3), np.float32), np.full((4, 4), 0.5, np.float32), backend="emu")
    np.testing.assert_array_equal(out, 0.5)
