"""Every decoder failure is a DecodeError: corrupt AVIF (Pillow raises RuntimeError), DDS and BLP
(NotImplementedError), and the rest, whichever exception the Pillow plug-in throws."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, features

import alphacut
from alphacut.errors import DecodeError
from alphacut.image import decode_image


def _raw_pillow_error(data: bytes):
    """The exception Pillow itself raises on ``data`` (None when it decodes)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


def _flips(data: bytes, step: int = 5):
    for pos in range(0, len(data), step):
        x = bytearray(data)
        x[pos] ^= 0xFF
        yield bytes(x)


def _avif_bytes(rng) -> bytes:
    b = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(b, "AVIF")
    return b.getvalue()


def corrupt_dds() -> bytes:
    """A DDS whose pixel format FourCC is unknown: Pillow raises NotImplementedError."""
    b = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 255)).save(b, "DDS")
    d = bytearray(b.getvalue())
    struct.pack_into("<I", d, 80, 4)  # DDPF_FOURCC
    d[84:88] = b"ZZZZ"
    return bytes(d)


def corrupt_blp() -> bytes:
    """A BLP2 header with an unknown encoding: Pillow raises BLPFormatError (a NotImplementedError)."""
    return b"BLP2" + struct.pack("<I", 1) + bytes([9, 0, 0, 0]) + struct.pack("<II", 8, 8) + bytes(128 + 1024)


def corrupt_avif(rng) -> bytes:
    """An AVIF with one byte flipped where Pillow raises RuntimeError (None when no flip does)."""
    for x in _flips(_avif_bytes(rng), 1):
        if isinstance(_raw_pillow_error(x), RuntimeError):
            return x
    return None  # type: ignore[return-value]


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
def test_corrupt_avif_is_a_decode_error(rng):
    data = _avif_bytes(rng)
    raw_types = set()
    for x in _flips(data):
        raw = _raw_pillow_error(x)
        if raw is None:
            continue
        raw_types.add(type(raw).__name__)
        with pytest.raises(DecodeError):
            decode_image(x)
    bad = corrupt_avif(rng)
    assert bad is not None, "no corruption makes Pillow raise RuntimeError here"
    msg = str(pytest.raises(DecodeError, decode_image, bad).value)
    assert "corrupt" in msg or "cannot read" in msg
    assert "Error:" not in msg  # no exception class names in messages servers pass on
    # rembg's signature too: an alphacut error, not Pillow's
    with pytest.raises(alphacut.Error):
        alphacut.remove(bad)


@pytest.mark.parametrize("make, raw_type", [(corrupt_dds, NotImplementedError), (corrupt_blp, NotImplementedError)])
def test_corrupt_dds_and_blp_are_decode_errors(make, raw_type, tmp_path):
    data = make()
    assert isinstance(_raw_pillow_error(data), raw_type)  # what Pillow does on its own
    with pytest.raises(DecodeError, match="corrupt|cannot read"):
        decode_image(data)
    p = tmp_path / "x.bin"
    p.write_bytes(data)
    with pytest.raises(DecodeError, match=str(p)):
        decode_image(p)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF", "GIF", "QOI", "DDS", "ICO"])
def test_any_corruption_is_decoded_or_a_decode_error(fmt, rng):
    """Truncations and byte flips of each format: decoded, or DecodeError (never another type)."""
    im = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    b = io.BytesIO()
    (im.convert("RGBA") if fmt == "DDS" else im).save(b, fmt)
    data = b.getvalue()
    cases = [data[:n] for n in range(1, len(data), max(1, len(data) // 40))] + list(
        _flips(data, max(1, len(data) // 60))
    )
    for x in cases:
        try:
            decode_image(x)
        except DecodeError:
            pass
