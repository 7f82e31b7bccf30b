"""The ops on a real CUDA device against the CPU ops, on real images and awkward sizes, and
device arrays from CuPy / PyTorch used in place. Skipped with the reason where there is no
device (tests/ops already run every op on cuda too, through the `backend` fixture)."""

import numpy as np
import pytest
from conftest import load_gray, load_rgb, shared_path

import alphacut
import alphacut.device
from alphacut import ops
from alphacut.ops import pack_rgba, preprocess, preprocess_into

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not alphacut.device.is_available(), reason=f"no CUDA device: {alphacut.device.why_unavailable()}"
    ),
]

SIZES = [(1, 1), (1, 37), (29, 1), (17, 33), (480, 640), (3000, 4000)]


def _real():
    rgb = load_rgb(shared_path("images", "alphamatting_gt05", "input", "GT05.jpg"))
    a = load_gray(shared_path("images", "alphamatting_gt05", "alpha", "GT05.jpg"))
    return rgb, a


@pytest.mark.parametrize("size", SIZES)
def test_composite_family_matches_cpu(rng, size):
    fg = rng.random(size + (3,), dtype=np.float32)
    bg = rng.random(size + (3,), dtype=np.float32)
    a = rng.random(size, dtype=np.float32)
    # FMA contraction on the device: within a few float32 ulps of the CPU.
    np.testing.assert_allclose(
        ops.composite(fg, a, bg, backend="cuda"), ops.composite(fg, a, bg, backend="cpu"), atol=1e-6
    )
    np.testing.assert_allclose(ops.premultiply(fg, a, backend="cuda"), ops.premultiply(fg, a, backend="cpu"), atol=1e-6)
    np.testing.assert_allclose(
        ops.unpremultiply(fg, a, backend="cuda"), ops.unpremultiply(fg, a, backend="cpu"), atol=1e-5
    )


def test_real_image_pipeline_tail():
    rgb, a8 = _real()
    a = a8.astype(np.float32) / 255
    np.testing.assert_array_equal(pack_rgba(rgb, a, backend="cuda"), pack_rgba(rgb, a, backend="cpu"))
    x_gpu = preprocess(rgb, (320, 320), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), backend="cuda")
    x_cpu = preprocess(rgb, (320, 320), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), backend="cpu")
    np.testing.assert_allclose(x_gpu, x_cpu, rtol=1e-5, atol=2e-5)
    h_gpu = preprocess(rgb, (320, 320), dtype="float16", backend="cuda").astype(np.float32)
    h_cpu = preprocess(rgb, (320, 320), dtype="float16", backend="cpu").astype(np.float32)
    np.testing.assert_allclose(h_gpu, h_cpu, rtol=1e-3)  # at most one half ulp apart


def test_to_device_and_back(rng):
    x = rng.random((30, 40, 3), dtype=np.float32)
    d = alphacut.device.to_device(x)
    np.testing.assert_array_equal(d.get(), x)
    p = ops.premultiply(d, alphacut.device.to_device(np.ones((30, 40), np.float32)), backend="cuda")
    assert type(p).__name__ == "CudaDeviceArray"
    np.testing.assert_allclose(p.get(), x, atol=1e-7)


def test_cupy_zero_copy(rng):
    cp = pytest.importorskip("cupy")
    img = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    d_img = cp.asarray(img)
    buf = cp.zeros((1, 3, 64, 96), cp.float32)
    stream = cp.cuda.Stream(non_blocking=True)
    preprocess_into(buf, d_img, mean=0.5, std=0.25, backend="cuda", stream=stream.ptr)
    stream.synchronize()
    np.testing.assert_allclose(
        cp.asnumpy(buf), preprocess(img, (64, 96), mean=0.5, std=0.25, backend="cpu"), rtol=1e-5, atol=1e-5
    )
    out = preprocess(d_img, (64, 96), backend="cuda")
    wrapped = cp.asarray(out)  # no copy: same device pointer
    assert wrapped.data.ptr == out.__cuda_array_interface__["data"][0]


def test_torch_zero_copy(rng):
    torch = pytest.importorskip("torch")
    rgb = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    a = rng.random((50, 60), dtype=np.float32)
    out = pack_rgba(torch.from_numpy(rgb).cuda(), torch.from_numpy(a).cuda(), backend="cuda")
    t = torch.as_tensor(out, device="cuda")
    np.testing.assert_array_equal(t.cpu().numpy(), pack_rgba(rgb, a, backend="cpu"))


def test_guided_filter_and_upscale_match_cpu():
    from alphacut import _core

    if not hasattr(_core, "guided_filter_cuda"):
        pytest.skip("guided_filter kernels are not in this build")
    rgb, a8 = _real()
    np.testing.assert_allclose(
        _core.guided_filter_cuda(rgb, a8, 8, 1e-4), _core.guided_filter_cpu(rgb, a8, 8, 1e-4), rtol=0, atol=1e-5
    )
    low = np.ascontiguousarray(a8[::4, ::4])
    np.testing.assert_allclose(
        _core.upscale_alpha_cuda(low, rgb, 2, 1e-4), _core.upscale_alpha_cpu(low, rgb, 2, 1e-4), rtol=0, atol=4e-5
    )


# ---- guided_filter: the fused kernels and the multi-pass fallback on the device ---------------
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    "shape, radius",
    [
        ((1, 1), 3),
        ((17, 33), 40),
        ((65, 113), 8),
        ((480, 640), 8),
        ((480, 640), 60),
        ((480, 640), 97),
        ((3000, 4000), 8),
    ],
)
def test_guided_filter_paths_match_cpu(shape, radius, channels):
    from alphacut import _core

    if not hasattr(_core, "guided_filter_cuda"):
        pytest.skip("guided_filter kernels are not in this build")
    rng = np.random.default_rng(7)
    guide = rng.integers(0, 256, shape + ((3,) if channels == 3 else ()), dtype=np.uint8)
    src = rng.random(shape, dtype=np.float32)
    np.testing.assert_allclose(
        _core.guided_filter_cuda(guide, src, radius, 1e-4),
        _core.guided_filter_cpu(guide, src, radius, 1e-4),
        rtol=0,
        atol=1e-5,
    )
    ma, mb = _core.guided_filter_coefficients_cuda(guide, src, radius, 1e-4)
    ca, cb = _core.guided_filter_coefficients_cpu(guide, src, radius, 1e-4)
    np.testing.assert_allclose(ma, ca, rtol=0, atol=1e-5)
    np.testing.assert_allclose(mb, cb, rtol=0, atol=1e-5)


# --- estimate_foreground (section owned by the estimate_foreground kernel) ----------------------


@pytest.mark.parametrize("size", SIZES)
def test_estimate_foreground_banded_matches_cpu(rng, size):
    # Every level banded: the CPU op sweeps red-black in the band too, the same updates in the
    # same order; FMA contraction on the device and the order of the mean sums differ.
    from alphacut import _core

    img = rng.integers(0, 256, size + (3,), dtype=np.uint8)
    a = rng.integers(0, 256, size, dtype=np.uint8)
    a[: size[0] // 3] = 255
    a[size[0] - size[0] // 3 :] = 0
    f, b = _core.estimate_foreground_cuda(img, a, return_background=True, band_min_pixels=0)
    cf, cb = _core.estimate_foreground_cpu(img, a, return_background=True, band_min_pixels=0)
    np.testing.assert_allclose(f, cf, atol=1e-4)
    np.testing.assert_allclose(b, cb, atol=1e-4)


def test_estimate_foreground_real_image_close_to_cpu():
    # The defaults: red-black on the small levels where the CPU op sweeps in scan order; the
    # bounds of tests/ops/test_estimate_foreground.py::test_gpu_agrees_with_cpu_on_composites.
    rgb, a8 = _real()
    f = ops.estimate_foreground(rgb, a8, backend="cuda")
    c = ops.estimate_foreground(rgb, a8, backend="cpu")
    soft = (a8 > 0) & (a8 < 255)
    d = np.abs(f - c)[soft]
    assert d.mean() < 0.01 and np.percentile(d, 99) < 0.1, (d.mean(), np.percentile(d, 99))
    e = ops.estimate_foreground(rgb, a8, backend="emu") if "emu" in ops.available_backends() else None
    if e is not None:  # the emulated kernel is the same algorithm: FMA contraction differs only,
        # amplified where the 2x2 system is nearly singular (soft alpha with equal neighbours)
        assert np.abs(f - e)[soft].mean() < 1e-3


def test_estimate_foreground_cupy_in_place(rng):
    cp = pytest.importorskip("cupy")
    img = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    a = rng.random((300, 400), dtype=np.float32)
    out = ops.estimate_foreground(cp.asarray(img), cp.asarray(a), backend="cuda")
    assert type(out).__name__ == "CudaDeviceArray"
    np.testing.assert_allclose(cp.asnumpy(cp.asarray(out)), ops.estimate_foreground(img, a, backend="cuda"), atol=0)


# ---- solve_alpha (section owned by the solve_alpha kernel) -------------------------------------


def _solve_case(rng, h, w):
    img = rng.random((h, w, 3), dtype=np.float32)
    tri = np.full((h, w), 128, np.uint8)
    tri[: h // 3] = 0
    tri[h - h // 3 :] = 255
    return img, tri


@pytest.mark.parametrize("size", [(1, 1), (1, 37), (29, 1), (17, 33), (120, 160)])
def test_solve_alpha_matches_cpu(rng, size):
    from alphacut import _core

    if not hasattr(_core, "solve_alpha_cuda"):
        pytest.skip("solve_alpha kernels are not in this build")
    img, tri = _solve_case(rng, *size)
    args = (None, None, 1e-4, 0.0, 0.0, 4000, 1e-9)
    want, wi = _core.solve_alpha_cpu(img, tri, *args)
    got, gi = _core.solve_alpha_cuda(img, tri, *args)
    np.testing.assert_allclose(got, want, atol=1e-4)  # both converged; FMA and reduction order differ
    assert gi["unknown"] == wi["unknown"] and gi["windows"] == wi["windows"]
    assert abs(gi["iterations"] - wi["iterations"]) <= 2 + wi["iterations"] // 10


def test_solve_alpha_real_composite_and_device_arrays():
    from alphacut import _core

    if not hasattr(_core, "solve_alpha_cuda"):
        pytest.skip("solve_alpha kernels are not in this build")
    root = shared_path("images", "composites")
    img = load_rgb(root / "input" / "lemur__on_leaves.jpg").astype(np.float32) / 255
    tri = load_gray(root / "trimap" / "lemur__on_leaves.png")
    want = ops.solve_alpha(img, tri, tol=1e-6, max_iter=3000, backend="cpu")
    got = ops.solve_alpha(img, tri, tol=1e-6, max_iter=3000, backend="cuda")
    np.testing.assert_allclose(got, want, atol=2e-3)
    d = ops.solve_alpha(alphacut.device.to_device(img), alphacut.device.to_device(tri), tol=1e-6, max_iter=3000)
    assert hasattr(d, "__cuda_array_interface__")
    np.testing.assert_allclose(d.get(), got, atol=1e-6)
