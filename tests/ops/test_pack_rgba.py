import numpy as np
import pytest
from _child import run_child
from conftest import load_gray, load_rgb, shared_path

import alphacut
from alphacut.ops import pack_rgba


@pytest.mark.parametrize("shape", [(17, 33), (3, 1029)])  # the vector loop's tail, and long rows
def test_matches_numpy(backend, rng, shape):
    rgb = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    a = rng.uniform(-0.2, 1.2, shape).astype(np.float32)  # out-of-range values clamp
    a[0, :6] = [0.5 / 255, 1.5 / 255, 0.0, 1.0, np.nextafter(np.float32(0.5 / 255), 0), 254.5 / 255]
    a[-1, -3:] = [0.0, 1e-9, 1.0]
    out = pack_rgba(rgb, a, backend=backend)
    assert out.shape == shape + (4,) and out.dtype == np.uint8
    ref = np.floor(np.clip(a, 0, 1) * np.float32(255) + np.float32(0.5)).astype(np.uint8)
    np.testing.assert_array_equal(out[..., 3], ref)
    np.testing.assert_array_equal(out[..., :3], np.where(ref[..., None] == 0, 0, rgb))  # no colour where clear


def test_uint8_alpha_roundtrips_exactly(backend, rng):
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(pack_rgba(rgb, a, backend=backend)[..., 3], a)


def test_real_image_matches_pil(backend):
    from PIL import Image

    rgb = load_rgb(shared_path("images", "alphamatting_gt05", "input", "GT05.jpg"))
    a = load_gray(shared_path("images", "alphamatting_gt05", "alpha", "GT05.jpg"))
    out = pack_rgba(rgb, a.astype(np.float32) / 255, backend=backend)
    im = Image.fromarray(np.where(a[..., None] == 0, 0, rgb).astype(np.uint8))
    im.putalpha(Image.fromarray(a))
    np.testing.assert_array_equal(out, np.asarray(im))


def test_foreground_rectangle(backend, rng):
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    a = rng.random((20, 30), dtype=np.float32)
    a[:, :5] = 1.0
    fg = rng.random((8, 12, 3), dtype=np.float32)
    out = pack_rgba(rgb, a, foreground=fg, offset=(4, 3), backend=backend)
    a8 = np.floor(a * np.float32(255) + np.float32(0.5)).astype(np.uint8)
    want = np.where(a8[..., None] == 0, 0, rgb)
    soft = want[4:12, 3:15]
    f8 = np.floor(fg * np.float32(255) + np.float32(0.5)).astype(np.uint8)
    sa = a8[4:12, 3:15, None]
    want[4:12, 3:15] = np.where((sa == 0) | (sa == 255), soft, f8)
    np.testing.assert_array_equal(out[..., :3], want)
    np.testing.assert_array_equal(out[..., 3], a8)
    with pytest.raises(alphacut.Error, match="outside the image"):
        pack_rgba(rgb, a, foreground=fg, offset=(15, 0), backend=backend)


def test_strided_crop(backend, rng):
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    a = rng.random((20, 30), dtype=np.float32)
    out = pack_rgba(rgb[3:15, 4:25], a[3:15, 4:25], backend=backend)
    np.testing.assert_array_equal(out[..., :3], rgb[3:15, 4:25])


@pytest.mark.parametrize(
    "rgb, a, match",
    [
        (np.zeros((0, 3, 3), np.uint8), np.zeros((0, 3), np.float32), "empty"),
        (np.zeros((2, 3, 4), np.uint8), np.zeros((2, 3), np.float32), "channels"),
        (np.zeros((2, 3, 3), np.float32), np.zeros((2, 3), np.float32), "dtype"),
        (np.zeros((2, 3, 3), np.uint8), np.zeros((3, 3), np.float32), "must match"),
        (np.zeros((2, 3, 3), np.uint8), np.full((2, 3), np.nan, np.float32), "NaN"),
    ],
)
def test_bad_input(backend, rgb, a, match):
    with pytest.raises(alphacut.InputError, match=match):
        pack_rgba(rgb, a, backend=backend)


@pytest.mark.parametrize(
    "offset", [(0, 2**31 - 1), (2**31 - 1, 0), (0, 2**31 - 8), (3, 2**31), (0, -(2**31)), (-1, 0), (0, 8)]
)
def test_offset_out_of_range_is_refused(backend, offset):
    # fg_x0 + fg.width used to overflow int and pass the bounds check: the CPU op wrote outside
    # its buffer (SIGSEGV) and the kernels ignored the offset. Run in a child: a crash fails one test.
    out = run_child(f"""
        import numpy as np
        import alphacut, alphacut.ops as ops
        try:
            ops.pack_rgba(np.zeros((4, 8, 3), np.uint8), np.full((4, 8), .5, np.float32),
                          foreground=np.zeros((1, 1, 3), np.float32), offset={offset!r}, backend={backend!r})
        except alphacut.InputError as e:
            print("InputError:", e)
    """)
    assert out.startswith("InputError:") and "offset" in out, out


@pytest.mark.parametrize("offset", [(0, 2**31 - 1), (2**31 - 1, 0), (0, 2**31 - 8)])
def test_native_rectangle_check_does_not_overflow(backend, offset):
    # The native checks on their own (below the Python wrapper), for pack_rgba and the in-place patch.
    out = run_child(f"""
        import numpy as np
        import alphacut
        from alphacut import _core
        img = np.zeros((4, 8, 3), np.uint8)
        a = np.full((4, 8), .5, np.float32)
        fg = np.zeros((1, 1, 3), np.float32)
        rgba = np.zeros((4, 8, 4), np.uint8)
        for call in (lambda: _core.pack_rgba_{backend}(img, a, fg, *{offset!r}),
                     lambda: _core.pack_rgba_patch_{backend}(img, fg, *{offset!r}, rgba)):
            try:
                call()
                print("accepted")
            except alphacut.Error as e:
                print("refused:", e)
    """)
    lines = out.splitlines()
    assert len(lines) == 2 and all(ln.startswith("refused:") and "outside the image" in ln for ln in lines), out


def test_offset_must_be_two_integers(backend):
    rgb, a = np.zeros((4, 8, 3), np.uint8), np.full((4, 8), 0.5, np.float32)
    fg = np.zeros((1, 1, 3), np.float32)
    for bad in [(0,), (0, 1, 2), ("a", 0), (0.5, 0), None, 3]:
        with pytest.raises(alphacut.InputError, match="offset"):
            pack_rgba(rgb, a, foreground=fg, offset=bad, backend=backend)
    # the last position that fits, and an offset without a foreground (ignored), are accepted
    assert pack_rgba(rgb, a, foreground=fg, offset=(3, 7), backend=backend).shape == (4, 8, 4)
    assert pack_rgba(rgb, a, offset=(2**40, 0), backend=backend).shape == (4, 8, 4)
