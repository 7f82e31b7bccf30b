"""CUDA's launch limits as the emulation enforces them (gridDim.y / .z <= 65,535, blockDim <= 1024
threads, x and y <= 1024, z <= 64), and the ops on images whose rows pass those limits: a
kernel that put one block row per 8 image rows in gridDim.y failed from 524,281 rows on (one per
4 rows: 262,141). Plus the morphology kernels' cost, which must not grow with the radius."""

import time

import numpy as np
import pytest

import alphacut
from alphacut import _core, ops

pytestmark = pytest.mark.skipif(not _core.built_with_emu, reason="built without the emulation (-DALPHACUT_EMU=ON)")

TALL = 2**19 + 40  # 65,540 blocks of 8 rows


@pytest.mark.parametrize(
    "grid, block",
    [
        ((1, 65536, 1), (1, 1, 1)),
        ((1, 1, 65536), (1, 1, 1)),
        ((1, 1, 1), (1025, 1, 1)),
        ((1, 1, 1), (1, 1025, 1)),
        ((1, 1, 1), (1, 1, 65)),
        ((1, 1, 1), (64, 32, 1)),
        ((0, 1, 1), (1, 1, 1)),
    ],
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
        np.testing.assert_allclose(
            getattr(ops, name)(*args, backend="emu"), getattr(ops, name)(*args, backend="cpu"), atol=1e-5, err_msg=name
        )


def test_tall_pack_rgba(tall):
    img, a = tall
    u8 = (img * 255).astype(np.uint8)
    fg = img[100 : TALL - 5]
    np.testing.assert_array_equal(
        ops.pack_rgba(u8, a, foreground=fg, offset=(100, 0), backend="emu"),
        ops.pack_rgba(u8, a, foreground=fg, offset=(100, 0), backend="cpu"),
    )
    out = ops.pack_rgba(u8, a, backend="emu")
    want = out.copy()
    _core.pack_rgba_patch_cpu(u8, fg, 100, 0, want)
    _core.pack_rgba_patch_emu(u8, fg, 100, 0, out)
    np.testing.assert_array_equal(out, want)


def test_tall_preprocess_and_resize(tall):
    img, _ = tall
    u8 = (img[:64] * 255).astype(np.uint8)
    np.testing.assert_allclose(
        ops.preprocess(u8, (TALL, 1), backend="emu"), ops.preprocess(u8, (TALL, 1), backend="cpu"), atol=1e-5
    )
    for method in ("bilinear", "area", "bicubic"):
        np.testing.assert_allclose(
            ops.resize(img[:64], (TALL, 1), method, backend="emu"),
            ops.resize(img[:64], (TALL, 1), method, backend="cpu"),
            atol=1e-5,
            err_msg=method,
        )


def test_tall_upscale_alpha(tall):
    img, a = tall
    low = np.ascontiguousarray(a[:64])  # the full-resolution pass is the tall one
    np.testing.assert_allclose(
        ops.upscale_alpha(low, img, 1, 1e-3, backend="emu"),
        ops.upscale_alpha(low, img, 1, 1e-3, backend="cpu"),
        atol=4e-5,
    )


# guided_filter: the multi-pass kernels (a block row per 4 image rows) on 270,000 rows are in
# csrc/emu/tests/emu_selftest.cpp (test_sanitizers.py); the fused ones put a block row per >= 64
# image rows, past the limit only beyond 4.19 M rows, and fold the same way.


def test_tall_morphology_and_trimap(tall):
    _, a = tall
    for r in (0, 3, 1000, TALL):
        for name in ("dilate", "erode"):
            np.testing.assert_array_equal(
                getattr(ops, name)(a, r, backend="emu"),
                getattr(ops, name)(a, r, backend="cpu"),
                err_msg=f"{name} r={r}",
            )
        np.testing.assert_array_equal(
            ops.make_trimap(a, 0.7, 0.3, r, backend="emu"),
            ops.make_trimap(a, 0.7, 0.3, r, backend="cpu"),
            err_msg=f"make_trimap r={r}",
        )


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
    tri[TALL // 2 :] = 255
    tri[TALL // 2 - 20 : TALL // 2 + 20] = 128
    a_emu, info_emu = ops.solve_alpha(img, tri, tol=1e-9, max_iter=2000, return_info=True, backend="emu")
    a_cpu, info_cpu = ops.solve_alpha(img, tri, tol=1e-9, max_iter=2000, return_info=True, backend="cpu")
    assert info_emu["unknown"] == info_cpu["unknown"] == 40
    np.testing.assert_allclose(a_emu, a_cpu, atol=1e-4)


def _best_of(n, f):
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.parametrize("shape", [(1, 200000), (200000, 1)])
def test_morphology_cost_does_not_grow_with_the_radius(shape):
    # Each thread used to count one whole window before its segment: 1 x 200000 took 0.01 s at
    # r = 10 and 0.42 s at r = 200000 on emu. The scans are now O(1) per pixel in r.
    rng = np.random.default_rng(3)
    m = rng.random(shape) < 0.001
    small = _best_of(3, lambda: ops.dilate(m, 10, backend="emu"))
    for r in (5000, 200000, 2**31 - 1):
        big = _best_of(3, lambda r=r: ops.dilate(m, r, backend="emu"))
        assert big < 3 * small + 0.02, f"r={r}: {big:.3f} s against {small:.3f} s at r=10"
        np.testing.assert_array_equal(ops.dilate(m, r, backend="emu"), ops.dilate(m, r, backend="cpu"))


def test_trimap_of_a_long_row_with_a_huge_radius():
    # 1 x 10^7 with a huge radius did not finish in 60 s; it is the whole-image window now.
    p = np.zeros((1, 2 * 10**6), np.float32)
    p[0, 10**6 :] = 1
    t0 = time.perf_counter()
    got = ops.make_trimap(p, radius=10**9, backend="emu")
    assert time.perf_counter() - t0 < 10
    np.testing.assert_array_equal(got, ops.make_trimap(p, radius=10**9, backend="cpu"))
    assert (got == 128).all()
