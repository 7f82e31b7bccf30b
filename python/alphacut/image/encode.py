"""Encoding a cutout for the user: RGBA PNG, WebP (lossy or lossless, with alpha), AVIF (where
Pillow has it), JPEG flattened on a colour, or the mask alone. Every format but the mask carries an
ICC profile when given one (the input's, from :attr:`DecodedImage.info` ``["icc_profile"]``).

:func:`encode` dispatches on one of :data:`FORMATS`; :func:`flatten` lays a cutout on a colour or an
image, and :func:`parse_color` reads the colours the CLI and the API accept. The PNG itself is
:func:`alphacut.image.png.encode_png`.
"""

from __future__ import annotations

import io as _io
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError
from .png import encode_png

__all__ = [
    "FORMATS",
    "avif_available",
    "encode",
    "encode_avif",
    "encode_webp",
    "encode_jpeg",
    "encode_mask",
    "flatten",
    "parse_color",
]

FORMATS = ("png", "webp", "avif", "jpg", "mask")
WEBP_MAX_SIDE = 16383  # libwebp's hard limit (14-bit dimensions)


def avif_available() -> bool:
    """Whether this Pillow writes AVIF (Pillow >= 11.3 built with libavif)."""
    from PIL import features

    try:
        return bool(features.check("avif"))
    except (ValueError, KeyError):  # an older Pillow does not know the feature's name
        return False


def parse_color(value, *, channels: int = 3) -> Tuple[int, ...]:
    """A colour from ``'#rrggbb'``, ``'#rrggbbaa'``, ``'#rgb'``, ``'r,g,b[,a]'`` or a tuple of ints 0..255.

    Returns ``channels`` values (alpha defaults to 255 when 4 are asked for)."""
    vals: Sequence[int]
    if isinstance(value, str):
        s = value.strip()
        try:
            if s.startswith("#"):
                hx = s[1:]
                if len(hx) in (3, 4):
                    hx = "".join(ch * 2 for ch in hx)
                if len(hx) not in (6, 8):
                    raise ValueError
                vals = [int(hx[i : i + 2], 16) for i in range(0, len(hx), 2)]
            else:
                vals = [int(v) for v in s.split(",")]
        except ValueError:
            raise InputError(f"cannot read a colour from {value!r} (use '#rrggbb' or 'r,g,b')") from None
    else:
        try:
            vals = [int(v) for v in value]
        except (TypeError, ValueError):
            raise InputError(f"cannot read a colour from {value!r} (use '#rrggbb' or 'r,g,b')") from None
    if len(vals) not in (3, 4) or any(not 0 <= v <= 255 for v in vals):
        raise InputError(f"a colour needs 3 or 4 values in 0..255, got {value!r}")
    vals = list(vals)
    if channels == 4 and len(vals) == 3:
        vals.append(255)
    return tuple(vals[:channels])


def flatten(rgba: np.ndarray, background=(255, 255, 255)) -> np.ndarray:
    """Lay an (H, W, 4) uint8 cutout on a colour or an (H, W, 3) uint8 image: (H, W, 3) uint8.

    ``out = round(α·F + (1 − α)·B)`` with α = A/255."""
    rgba = _rgba(rgba, "flatten")
    a = rgba[:, :, 3:4].astype(np.float32) * np.float32(1.0 / 255.0)
    if isinstance(background, np.ndarray) and background.ndim == 3:
        if background.shape[:2] != rgba.shape[:2] or background.shape[2] != 3 or background.dtype != np.uint8:
            raise InputError(
                f"background image must be (H, W, 3) uint8 of the cutout's size {rgba.shape[:2]}, got "
                f"{background.shape} {background.dtype}"
            )
        bg = background.astype(np.float32)
    else:
        bg = np.asarray(parse_color(background), np.float32)
    out = rgba[:, :, :3].astype(np.float32) * a + bg * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _rgba(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 4:
        raise InputError(f"{name}: expected an (H, W, 4) uint8 cutout, got {a.shape} {a.dtype}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"{name}: image is empty (shape {a.shape})")
    return a


def _icc(icc_profile: Optional[bytes]) -> Dict[str, Any]:
    return {"icc_profile": bytes(icc_profile)} if icc_profile else {}


def encode_webp(
    rgba: np.ndarray, *, lossless: bool = False, quality: int = 90, icc_profile: Optional[bytes] = None
) -> bytes:
    """WebP with alpha. ``lossless`` keeps every pixel; otherwise lossy colour at ``quality`` 0..100
    (default 90) with the alpha plane compressed losslessly.

    libwebp refuses images over 16383 px per side (refused here up front, :class:`InputError`), and
    a lossy image whose first partition (the per-macroblock modes) overflows 512 KiB fails with
    "encoding error 6": a 48 MP photo at quality 90 does, with the fastest method. Then the encoder
    is run again with the slower methods that code the modes more tightly (2, then 4), then at lower
    qualities; when nothing fits the error says so (never a bare ValueError)."""
    from PIL import Image

    rgba = _rgba(rgba, "encode_webp")
    h, w = rgba.shape[:2]
    if max(h, w) > WEBP_MAX_SIDE:
        raise InputError(
            f"WebP images are limited to {WEBP_MAX_SIDE} px per side, got {w}x{h}: use PNG or AVIF, or scale it down"
        )
    if isinstance(quality, bool) or not 0 <= int(quality) <= 100:
        raise InputError(f"quality must be 0..100, got {quality!r}")
    im = Image.fromarray(rgba, "RGBA")
    extra = _icc(icc_profile)
    if lossless:
        attempts = [(int(quality), 1)]
    else:
        q = int(quality)
        attempts = [(q, 0), (q, 2), (q, 4)] + [(qq, 4) for qq in (80, 70, 60, 50) if qq < q]
    last: Optional[Exception] = None
    for q, method in attempts:
        buf = _io.BytesIO()
        try:
            im.save(buf, "WEBP", lossless=bool(lossless), quality=q, method=method, **extra)
        except (ValueError, OSError) as exc:
            last = exc
            if "encoding error 6" in str(exc) or "encoding error 7" in str(exc):
                continue  # partition overflow: a slower method or a lower quality fits
            raise InputError(f"WebP encoding of a {w}x{h} image failed ({exc}): use PNG or AVIF") from None
        return buf.getvalue()
    raise InputError(
        f"WebP cannot hold this {w}x{h} image at quality {quality} ({last}: the lossy bitstream's first "
        "partition overflows); use --lossless, PNG or AVIF, or a lower --quality"
    )


def encode_avif(rgba: np.ndarray, *, quality: int = 80, speed: int = 8, icc_profile: Optional[bytes] = None) -> bytes:
    """AVIF with alpha through Pillow's AVIF plug-in (:func:`avif_available`); ``quality`` 0..100."""
    from PIL import Image

    rgba = _rgba(rgba, "encode_avif")
    if not avif_available():
        import PIL

        raise InputError(
            f"this Pillow ({PIL.__version__}) cannot write AVIF (it needs Pillow >= 11.3 built with libavif): "
            "use png or webp"
        )
    if isinstance(quality, bool) or not 0 <= int(quality) <= 100:
        raise InputError(f"quality must be 0..100, got {quality!r}")
    buf = _io.BytesIO()
    try:
        Image.fromarray(rgba, "RGBA").save(buf, "AVIF", quality=int(quality), speed=int(speed), **_icc(icc_profile))
    except (ValueError, OSError, RuntimeError) as exc:
        raise InputError(f"AVIF encoding of a {rgba.shape[1]}x{rgba.shape[0]} image failed ({exc})") from None
    return buf.getvalue()


def encode_jpeg(
    rgba: np.ndarray, *, background=(255, 255, 255), quality: int = 95, icc_profile: Optional[bytes] = None
) -> bytes:
    """JPEG of the cutout flattened on ``background`` (a colour, white by default, or an image)."""
    from PIL import Image

    if not 1 <= int(quality) <= 100:
        raise InputError(f"quality must be 1..100, got {quality!r}")
    rgb = flatten(rgba, background)
    buf = _io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "JPEG", quality=int(quality), **_icc(icc_profile))
    return buf.getvalue()


def encode_mask(alpha: np.ndarray, *, compress_level: int = 1) -> bytes:
    """Single-channel (L) PNG of an (H, W) uint8 mask or of the alpha of an (H, W, 4) cutout."""
    a = np.asarray(alpha)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, 3]
    if a.ndim != 2 or a.dtype != np.uint8:
        raise InputError(f"encode_mask: expected an (H, W) uint8 mask, got {a.shape} {a.dtype}")
    return encode_png(a, compress_level=compress_level)


def encode(
    rgba: np.ndarray,
    fmt: str = "png",
    *,
    compress_level: int = 1,
    background=None,
    quality: Optional[int] = None,
    lossless: bool = False,
    icc_profile: Optional[bytes] = None,
) -> bytes:
    """Encode a cutout in one of :data:`FORMATS`: "png" (RGBA), "webp", "avif", "jpg" (flattened on
    ``background``, white by default) or "mask" (L PNG of the alpha). A ``background`` with "png",
    "webp" or "avif" flattens too (the output is then opaque). ``icc_profile`` (bytes) is embedded
    in every format but the mask."""
    fmt = fmt.lower()
    if fmt == "jpeg":
        fmt = "jpg"
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    rgba = _rgba(rgba, "encode")
    if fmt == "mask":
        return encode_mask(rgba, compress_level=compress_level)
    if fmt == "jpg":
        return encode_jpeg(
            rgba,
            background=(255, 255, 255) if background is None else background,
            quality=95 if quality is None else quality,
            icc_profile=icc_profile,
        )
    if background is not None:
        flat = flatten(rgba, background)
        rgba = np.dstack([flat, np.full(flat.shape[:2], 255, np.uint8)])
    if fmt == "webp":
        return encode_webp(rgba, lossless=lossless, quality=90 if quality is None else quality, icc_profile=icc_profile)
    if fmt == "avif":
        return encode_avif(rgba, quality=80 if quality is None else quality, icc_profile=icc_profile)
    return encode_png(rgba, compress_level=compress_level, icc_profile=icc_profile)
