"""CUDA's launch limits as the emulation enforces them (gridDim.y / .z <= 65,535, blockDim <= 1024
threads, x and y <= 1024, z <= 64), and the ops on images whose rows pass those limits: a
kernel that put one block row per 8 image rows in gridDim.y failed from 524,281 rows on (one per
4 rows: 262,141)."""

import numpy as np
import pytest

import alphacut
from alphacut import _core, ops

pytestmark = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")

TALL = 2**19 + 40  # 65,540 blocks of 8 rows


@pytest.mark.parametrize(
    "grid, block",
    [((1, 65536, 1), (1, 1, 1)), ((1, 1, 65536), (1, 1, 1)), ((1, 1, 1), (1025, 1, 1)), ((1, 1, 1), (1, 1025, 1)),
     ((1, 1, 1), (1, 1, 65)), ((1, 1, 1), (64, 32, 1)), ((0, 1, 1), (1, 1, 1))],
)
def test_launch_limits_are_enforced(grid, block):
    with pytest.raises(alphacut.InternalError, match="invalid configuration"):
        _core._selftest_grid_coverage_emu(grid, block)


def test_launch_at_the_limits_runs():
    counts, mismatches = _core._selftest_grid_coverage_emu((1, 65535, 1), (1, 1, 1))
    assert mismatches == 0 and counts.shape == (1, 65535, 1) and (counts == 1).all()
    counts, mismatches = _core._selftest_grid_coverage_emu((1, 1, 1), (1, 1, 64))
    assert mismatches == 0 and (counts == 1).all()


@pytest.fixture(scope="module")
def tall(request):
    rng = np.random.default_rng(7)
    img = rng.random((TALL, 1, 3), dtype=np.float32)
    a = rng.random((TALL, 1), dtype=np.float32)
    return img, a


def test_tall_blend(tall):
    img, a = tall
    for name, args in (("premultiply", (img, a)), ("unpremultiply", (img, a)), ("composite", (img, a, img[::-1]))):
        np.testing.assert_allclose(getattr(ops, name)(*args, backend="emu"), getattr(ops, name)(*args, backend="cpu"),
                                   atol=1e-5, err_msg=name)


def test_tall_pack_rgba(tall):
    img, a = tall
    u8 = (img * 255).astype(np.uint8)
    fg = img[100:TALL - 5]
    np.testing.assert_array_equal(ops.pack_rgba(u8, a, foreground=fg, offset=(100, 0), backend="emu"),
                                  ops.pack_rgba(u8, a, foreground=fg, offset=(100, 0), backend="cpu"))
    out = ops.pack_rgba(u8, a, backend="emu")
    want = out.copy()
    _core.pack_rgba_patch_cpu(u8, fg, 100, 0, want)
    _core.pack_rgba_patch_emu(u8, fg, 100, 0, out)
    np.testing.assert_array_equal(out, want)


def test_tall_preprocess_and_resize(tall):
    img, _ = tall
    u8 = (img[:64] * 255).astype(np.uint8)
    np.testing.assert_allclose(ops.preprocess(u8, (TALL, 1), backend="emu"),
                               ops.preprocess(u8, (TALL, 1), backend="cpu"), atol=1e-5)
    for method in ("bilinear", "area", "bicubic"):
        np.testing.assert_allclose(ops.resize(img[:64], (TALL, 1), method, backend="emu"),
                                   ops.resize(img[:64], (TALL, 1), method, backend="cpu"), atol=1e-5, err_msg=method)


def test_tall_upscale_alpha(tall):
    img, a = tall
    low = np.ascontiguousarray(a[:64])  # the full-resolution pass is the tall one
    np.testing.assert_allclose(ops.upscale_alpha(low, img, 1, 1e-3, backend="emu"),
                               ops.upscale_alpha(low, img, 1, 1e-3, backend="cpu"), atol=4e-5)
# guided_filter: the multi-pass kernels (a block row per 4 image rows) on 270,000 rows are in
# csrc/emu/tests/emu_selftest.cpp (test_sanitizers.py); the fused ones put a block row per >= 64
# image rows, past the limit only beyond 4.19 M rows, and fold the same way.


def test_tall_estimate_foreground(tall):
    img, _ = tall
    a = np.ones((TALL, 1), np.float32)
    a[1000:1010] = 0.5
    a[5000:] = 0
    f_emu, b_emu = ops.estimate_foreground(img, a, return_background=True, backend="emu")
    f_cpu, b_cpu = ops.estimate_foreground(img, a, return_background=True, backend="cpu")
    assert np.isfinite(f_emu).all() and np.isfinite(b_emu).all()
    # Outside the band (3 x 3 dilation of the active pixels) both are exact: F = image where
    # alpha == 1, B = image where alpha == 0.
    np.testing.assert_array_equal(f_emu[:990], img[:990])
    np.testing.assert_array_equal(f_emu[:990], f_cpu[:990])
    np.testing.assert_array_equal(b_emu[5010:], img[5010:])
    # F where alpha > 0 and B where alpha < 1 (elsewhere each is an extrapolation), within the
    # red-black vs scan-order difference of the small levels.
    np.testing.assert_allclose(f_emu[a[:, 0] > 0], f_cpu[a[:, 0] > 0], atol=0.1)
    np.testing.assert_allclose(b_emu[a[:, 0] < 1], b_cpu[a[:, 0] < 1], atol=0.1)


def test_tall_solve_alpha(tall):
    img, _ = tall
    tri = np.zeros((TALL, 1), np.uint8)
    tri[TALL // 2:] = 255
    tri[TALL // 2 - 20:TALL // 2 + 20] = 128
    a_emu, info_emu = ops.solve_alpha(img, tri, tol=1e-9, max_iter=2000, return_info=True, backend="emu")
    a_cpu, info_cpu = ops.solve_alpha(img, tri, tol=1e-9, max_iter=2000, return_info=True, backend="cpu")
    assert info_emu["unknown"] == info_cpu["unknown"] == 40
    np.testing.assert_allclose(a_emu, a_cpu, atol=1e-4)
