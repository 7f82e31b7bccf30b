"""alphacut.image.decode: every kind of input decoded to RGB uint8, the header-first size limit,
one clear error for each bad file."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

import alphacut
from alphacut.image import ImageTooLargeError, decode_image


def _png_bytes(im: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, "PNG", **kw)
    return b.getvalue()


def test_decode_path_bytes_filelike_pil_agree(tmp_path, rng):
    a = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    p = tmp_path / "x.png"
    Image.fromarray(a).save(p)
    data = p.read_bytes()
    for src in (p, str(p), data, bytearray(data), io.BytesIO(data), Image.open(p), a):
        d = decode_image(src)
        assert d.rgb.dtype == np.uint8 and d.rgb.shape == (37, 53, 3)
        np.testing.assert_array_equal(d.rgb, a)
        assert d.alpha is None


def test_decode_real_jpeg_matches_pillow():
    p = shared_path("images", "rembg", "input", "car-1.jpg")
    d = decode_image(p)
    ref = np.asarray(Image.open(p).convert("RGB"))
    np.testing.assert_array_equal(d.rgb, ref)
    assert d.info["format"] == "JPEG"


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_applied(orientation, rng):
    # An asymmetric image: the decoded pixels must equal the transposition the tag asks for.
    a = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    a[:5, :5] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    b = io.BytesIO()
    Image.fromarray(a).save(b, "PNG", exif=exif.tobytes())
    d = decode_image(b.getvalue())
    # Independent reference: NumPy flips/rotations per the EXIF specification.
    ref = {
        1: a,
        2: a[:, ::-1],
        3: a[::-1, ::-1],
        4: a[::-1],
        5: a.transpose(1, 0, 2),
        6: np.rot90(a, -1),
        7: a[::-1, ::-1].transpose(1, 0, 2),  # transverse: out[i, j] = a[H-1-j, W-1-i]
        8: np.rot90(a, 1),
    }[orientation]
    np.testing.assert_array_equal(d.rgb, ref)
    assert d.info["orientation"] == orientation


def test_exif_rotation_real_jpeg(tmp_path):
    src = shared_path("images", "rembg", "input", "car-1.jpg")
    im = Image.open(src)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    p = tmp_path / "rot.jpg"
    im.save(p, "JPEG", quality=95, exif=exif.tobytes())
    d = decode_image(p)
    raw = np.asarray(Image.open(p).convert("RGB"))
    assert d.rgb.shape == (raw.shape[1], raw.shape[0], 3)
    np.testing.assert_array_equal(d.rgb, np.rot90(raw, -1))


def test_grey_palette_rgba_la_cmyk(rng):
    g = rng.integers(0, 256, (16, 24), dtype=np.uint8)
    d = decode_image(_png_bytes(Image.fromarray(g, "L")))
    np.testing.assert_array_equal(d.rgb, np.repeat(g[:, :, None], 3, axis=2))

    rgba = rng.integers(0, 256, (16, 24, 4), dtype=np.uint8)
    d = decode_image(_png_bytes(Image.fromarray(rgba, "RGBA")))
    np.testing.assert_array_equal(d.rgb, rgba[:, :, :3])
    np.testing.assert_array_equal(d.alpha, rgba[:, :, 3])  # dropped from the pixels, kept for info

    la = Image.fromarray(np.dstack([g, 255 - g]), "LA")
    d = decode_image(_png_bytes(la))
    np.testing.assert_array_equal(d.rgb[:, :, 1], g)
    np.testing.assert_array_equal(d.alpha, 255 - g)

    rgb = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    pal = Image.fromarray(rgb).quantize(16)
    d = decode_image(_png_bytes(pal))
    np.testing.assert_array_equal(d.rgb, np.asarray(pal.convert("RGB")))
    assert d.info["mode"] == "P"

    cmyk = Image.fromarray(rgb).convert("CMYK")
    b = io.BytesIO()
    cmyk.save(b, "TIFF")
    d = decode_image(b.getvalue())
    # CMYK→RGB: R = 255 − C (K = 0 as Pillow converts), checked with NumPy.
    c = np.asarray(cmyk).astype(int)
    ref = np.clip(255 - c[:, :, :3] - c[:, :, 3:4], 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(d.rgb, ref)


def test_sixteen_bit_is_scaled_not_clipped(rng):
    v = rng.integers(0, 65536, (10, 12), dtype=np.uint16)
    v[0, 0], v[0, 1], v[0, 2] = 0, 65535, 32768
    im = Image.fromarray(v)  # mode I;16
    d = decode_image(_png_bytes(im))
    ref = np.rint(v.astype(np.float64) * 255.0 / 65535.0).astype(np.uint8)
    np.testing.assert_array_equal(d.rgb[:, :, 0], ref)
    assert d.info["bits"] == 16
    assert d.rgb[0, 1, 0] == 255 and d.rgb[0, 0, 0] == 0 and d.rgb[0, 2, 0] == 128
    # Pillow's own convert("L") would clip everything above 255 to white: we must not.
    assert (d.rgb[:, :, 0] < 255).mean() > 0.9
    # ndarray uint16 input: the same scaling
    np.testing.assert_array_equal(decode_image(v).rgb[:, :, 0], ref)


def test_ndarray_inputs(rng):
    f = rng.random((8, 9, 3)).astype(np.float32)
    np.testing.assert_array_equal(decode_image(f).rgb, np.rint(f * 255).astype(np.uint8))
    b = rng.random((8, 9)) > 0.5
    np.testing.assert_array_equal(decode_image(b).rgb[:, :, 2], b.astype(np.uint8) * 255)
    a4 = rng.integers(0, 256, (8, 9, 4), dtype=np.uint8)
    d = decode_image(a4)
    np.testing.assert_array_equal(d.alpha, a4[:, :, 3])


@pytest.mark.parametrize(
    "bad, msg",
    [
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((5, 5, 2), np.uint8), "shape"),
        (np.zeros((5, 5, 3), np.int32), "dtype"),
        (np.full((5, 5, 3), np.nan, np.float32), "NaN"),
        (np.full((5, 5, 3), 2.0, np.float32), r"\[0, 1\]"),
        (12345, "cannot read an image"),
    ],
)
def test_bad_arrays_raise_input_error(bad, msg):
    with pytest.raises(alphacut.InputError, match=msg):
        decode_image(bad)


def _bad_files(tmp_path):
    src = shared_path("images", "rembg", "input", "car-1.jpg").read_bytes()
    return {
        "empty.jpg": b"",
        "text.jpg": b"this is not an image, it is a text file\n" * 20,
        "truncated.jpg": src[: len(src) // 3],
        "corrupt.png": _png_bytes(Image.new("RGB", (64, 64), (1, 2, 3)))[:60] + b"\x00garbage" * 50,
        "header_only.jpg": src[:200],
    }


def test_bad_files_give_one_clear_decode_error(tmp_path):
    for name, data in _bad_files(tmp_path).items():
        p = tmp_path / name
        p.write_bytes(data)
        for src in (p, data):
            with pytest.raises(alphacut.DecodeError) as ei:
                decode_image(src)
            assert str(ei.value)  # a message, naming what was wrong
    with pytest.raises(alphacut.DecodeError, match="no such file"):
        decode_image(tmp_path / "absent.jpg")


def _png_header_claiming(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\x00" * 100)
    idat_chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    return b"\x89PNG\r\n\x1a\n" + chunk + idat_chunk


def test_huge_header_refused_fast_without_allocating():
    data = _png_header_claiming(100_000, 100_000)
    t0 = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="pixels"):
        decode_image(data)
    assert isinstance(ImageTooLargeError("x"), alphacut.InputError)
    # a generous bound: decoding 10^10 pixels would take minutes and 30 GB
    assert time.perf_counter() - t0 < 2.0


def test_pixel_limit_is_configurable(monkeypatch, rng):
    data = _png_bytes(Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)))
    monkeypatch.setenv("ALPHACUT_MAX_PIXELS", "1999")
    with pytest.raises(ImageTooLargeError, match="ALPHACUT_MAX_PIXELS"):
        decode_image(data)
    with pytest.raises(ImageTooLargeError):
        decode_image(np.zeros((40, 50, 3), np.uint8))
    monkeypatch.setenv("ALPHACUT_MAX_PIXELS", "2000")
    assert decode_image(data).rgb.shape == (40, 50, 3)


def test_max_pixels_per_call():
    """A caller's own limit (a server's --max-pixels) replaces ALPHACUT_MAX_PIXELS for that call."""
    import io as _io

    from PIL import Image

    from alphacut.image import ImageTooLargeError, decode_image

    buf = _io.BytesIO()
    Image.new("RGB", (100, 50)).save(buf, "PNG")
    assert decode_image(buf.getvalue(), max_pixels=5000).rgb.shape == (50, 100, 3)
    with pytest.raises(ImageTooLargeError, match="above the limit of 4,999$"):
        decode_image(buf.getvalue(), max_pixels=4999)
