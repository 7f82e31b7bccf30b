"""alphacut.image.png: the threaded PNG encoder writes valid files (chunk CRCs, the combined
Adler-32) that decode to the same pixels, for every filter and level."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

import alphacut
from alphacut.image import encode_png
from alphacut.image import png as png_mod


def _png_chunks(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i = 8
    out = []
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        tag = data[i + 4 : i + 8]
        body = data[i + 8 : i + 8 + n]
        (crc,) = struct.unpack(">I", data[i + 8 + n : i + 12 + n])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, f"bad CRC in {tag}"
        out.append((tag, body))
        i += 12 + n
    return out


@pytest.mark.parametrize("shape", [(1, 1, 4), (7, 5, 3), (64, 33), (301, 257, 4), (2000, 700, 4)])
@pytest.mark.parametrize("level", [0, 1, 2, 6, 9])
@pytest.mark.parametrize("filt", ["up", "sub", "none"])
def test_encode_png_roundtrip(shape, level, filt, rng):
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    if len(shape) == 3 and shape[0] > 100:
        a[: shape[0] // 2] = 0  # compressible half, as in a cutout's background
    data = encode_png(a, compress_level=level, filter=filt)
    chunks = _png_chunks(data)
    idat = b"".join(b for t, b in chunks if t == b"IDAT")
    raw = zlib.decompress(idat)  # zlib checks the combined Adler-32
    c = 1 if a.ndim == 2 else a.shape[2]
    assert len(raw) == a.shape[0] * (a.shape[1] * c + 1)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), a)


def test_encode_png_real_cutout_and_is_smaller_at_higher_level():
    p = shared_path("images", "rembg", "reference_u2netp_rgba", "cloth-1.png")
    a = np.asarray(Image.open(p).convert("RGBA"))
    fast = encode_png(a, compress_level=1)
    small = encode_png(a, compress_level=9)
    assert len(small) < len(fast) < a.size
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(fast))), a)


def test_encode_png_bad_input():
    with pytest.raises(alphacut.InputError):
        encode_png(np.zeros((4, 4, 4), np.float32))
    with pytest.raises(alphacut.InputError):
        encode_png(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(alphacut.InputError, match="compress_level"):
        encode_png(np.zeros((4, 4, 4), np.uint8), compress_level=10)
    with pytest.raises(alphacut.InputError, match="filter"):
        encode_png(np.zeros((4, 4, 4), np.uint8), filter="paeth2")


@pytest.mark.skipif(png_mod._isal is None, reason="the isal package is not installed")
def test_isal_deflate_at_fast_levels_decodes_as_zlib_and_pillow(monkeypatch):
    # A real cutout in several bands on threads: the ISA-L stream, joined and checksummed as one
    # zlib stream, inflates (zlib) to the filtered rows and decodes (Pillow) to the same pixels.
    p = shared_path("images", "rembg", "reference_u2netp_rgba", "cloth-1.png")
    a = np.asarray(Image.open(p).convert("RGBA"))
    a = np.ascontiguousarray(np.concatenate([a] * 3, axis=0))  # several 1 MB bands
    used = []
    real = png_mod._compressobj
    monkeypatch.setattr(png_mod, "_compressobj", lambda e, lv, s: used.append(e) or real(e, lv, s))
    for level in (1, 2):
        used.clear()
        data = encode_png(a, compress_level=level, threads=2)
        assert set(used) == {"isal"} and len(used) > 1
        idat = b"".join(b for t, b in _png_chunks(data) if t == b"IDAT")
        assert len(zlib.decompress(idat)) == a.shape[0] * (a.shape[1] * 4 + 1)
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), a)
        # no larger than zlib's own at the same level (measured: a few per cent smaller)
        monkeypatch.setenv("ALPHACUT_PNG_DEFLATE", "zlib")
        used.clear()
        ref = encode_png(a, compress_level=level, threads=2)
        assert set(used) == {"zlib"}
        monkeypatch.delenv("ALPHACUT_PNG_DEFLATE")
        assert len(data) <= len(ref) * 1.02
    used.clear()
    encode_png(a, compress_level=6)
    assert set(used) == {"zlib"}


def test_without_isal_the_checksums_are_zlibs(monkeypatch):
    # Where the isal package is absent, deflate, CRC-32 and Adler-32 all come from zlib: the file
    # is the same as zlib's path with ISA-L present, chunk for chunk.
    p = shared_path("images", "rembg", "reference_u2netp_rgba", "cloth-1.png")
    a = np.ascontiguousarray(np.concatenate([np.asarray(Image.open(p).convert("RGBA"))] * 3, axis=0))
    monkeypatch.setenv("ALPHACUT_PNG_DEFLATE", "zlib")
    with_isal = encode_png(a, compress_level=1, threads=2)
    monkeypatch.setattr(png_mod, "_isal", None)
    data = encode_png(a, compress_level=1, threads=2)
    assert len(_png_chunks(data)) > 4  # IHDR, an IDAT per band, the Adler-32's IDAT, IEND
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), a)
    assert data == with_isal
