"""Benchmark inputs: named sizes and the images made at those sizes.

Sizes are 1 MP (1155 x 866, 4:3), 4K (3840 x 2160) and 12 MP (4000 x 3000), or any ``WxH``. The
image is a real photo when one is found (centre-cropped to the size's aspect ratio, then resized
with Lanczos; an upscaled photo is smoother than a native 12 MP one, which the report states by
giving the source's own size), otherwise a procedural scene (a textured subject on a textured
background). Every report says which (:attr:`BenchImage.source`).

The photo is looked up in this order: an explicit path, ``$ALPHACUT_SHARED_DATA/images/...``,
then ``../shared/data/images/...`` beside a source checkout.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InputError

#: named sizes as (H, W)
SIZES = {
    "1mp": (866, 1155),
    "4k": (2160, 3840),
    "12mp": (3000, 4000),
}
DEFAULT_SIZES = ("1mp", "4k", "12mp")

#: photos tried in order, relative to the shared data folder (the largest real photo first)
PHOTO_CANDIDATES = (
    "images/rembg/input/animal-3.jpg",
    "images/composites/input/lemur__on_leaves.jpg",
)

_WXH = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")
_MAX_SIDE = 20000


def parse_sizes(spec) -> List[Tuple[str, Tuple[int, int]]]:
    """Parse ``"1mp,4k,12mp"`` or ``"1920x1080"`` (W x H) into ``[(name, (H, W)), ...]``.

    Parameters
    ----------
    spec : str (comma-separated) or sequence of str

    Returns
    -------
    list of (name, (H, W)) in the given order, duplicates removed.

    Example
    -------
    >>> parse_sizes("1mp,640x480")
    [('1mp', (866, 1155)), ('640x480', (480, 640))]
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: List[Tuple[str, Tuple[int, int]]] = []
    for raw in items:
        name = str(raw).strip().lower()
        if not name:
            continue
        if name in SIZES:
            shape = SIZES[name]
        else:
            m = _WXH.match(name)
            if not m:
                raise InputError(
                    f"unknown size {raw!r}: use one of {', '.join(SIZES)} or WIDTHxHEIGHT such as 1920x1080"
                )
            w, h = int(m.group(1)), int(m.group(2))
            if not (1 <= w <= _MAX_SIDE and 1 <= h <= _MAX_SIDE):
                raise InputError(f"size {raw!r}: each side must be between 1 and {_MAX_SIDE} pixels")
            name, shape = f"{w}x{h}", (h, w)
        if name not in [n for n, _ in out]:
            out.append((name, shape))
    if not out:
        raise InputError("no sizes given: use e.g. --sizes 1mp,4k,12mp")
    return out


def shared_data_dir() -> Optional[Path]:
    """The shared data folder (``$ALPHACUT_SHARED_DATA``, else ``../shared/data`` beside a source
    checkout), or None when neither exists."""
    from .. import config

    env = config.shared_data_env()
    cands = [env] if env else []
    here = Path(__file__).resolve()
    if len(here.parents) > 4:  # <repo>/python/alphacut/bench/inputs.py -> <repo>/../shared/data
        cands.append(here.parents[4] / "shared" / "data")
    for c in cands:
        if c.is_dir():
            return c
    return None


def find_photo(path=None) -> Optional[Path]:
    """The source photo: ``path`` when given (it must exist), else the first candidate found."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise InputError(f"--image {p}: no such file")
        return p
    root = shared_data_dir()
    if root is None:
        return None
    for rel in PHOTO_CANDIDATES:
        if (root / rel).is_file():
            return root / rel
    return None


@dataclass
class BenchImage:
    """An (H, W, 3) uint8 RGB image at a benchmark size, its JPEG bytes, and where it came from."""

    name: str
    rgb: np.ndarray
    source: str
    _jpeg: Optional[bytes] = None

    @property
    def shape(self) -> Tuple[int, int]:
        return self.rgb.shape[0], self.rgb.shape[1]

    @property
    def megapixels(self) -> float:
        return self.rgb.shape[0] * self.rgb.shape[1] / 1e6

    def jpeg(self, quality: int = 95) -> bytes:
        """The image as JPEG bytes (quality 95, 4:4:4), encoded once and cached."""
        if self._jpeg is None:
            from PIL import Image

            buf = io.BytesIO()
            Image.fromarray(self.rgb).save(buf, "JPEG", quality=quality, subsampling=0)
            self._jpeg = buf.getvalue()
        return self._jpeg


def _crop_to_aspect(w: int, h: int, tw: int, th: int) -> Tuple[int, int, int, int]:
    if w * th > h * tw:  # too wide: crop the sides
        cw = max(1, round(h * tw / th))
        x0 = (w - cw) // 2
        return x0, 0, x0 + cw, h
    ch = max(1, round(w * th / tw))
    y0 = (h - ch) // 2
    return 0, y0, w, y0 + ch


def from_photo(path, shape: Tuple[int, int], name: str = "") -> BenchImage:
    """The photo at ``path`` centre-cropped to the aspect of ``shape`` (H, W) and resized (Lanczos)."""
    from PIL import Image, ImageOps

    h, w = shape
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        sw, sh = im.size
        box = _crop_to_aspect(sw, sh, w, h)
        rgb = np.asarray(im.resize((w, h), Image.Resampling.LANCZOS, box=box))
    src = f"photo {Path(path).name} ({sw}x{sh}) cropped and resized to {w}x{h}"
    return BenchImage(name or f"{w}x{h}", np.ascontiguousarray(rgb), src)


def procedural(shape: Tuple[int, int], name: str = "", seed: int = 0) -> BenchImage:
    """A deterministic scene of ``shape`` (H, W): a shaded, textured ellipse (the subject) with a
    soft edge on a gradient background with fine noise. Used when no photo is available."""
    h, w = shape
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    r = np.sqrt(((yy - 0.55) / 0.33) ** 2 + ((xx - 0.5) / 0.22) ** 2)
    a = np.clip((1.0 - r) * 12.0, 0.0, 1.0)[..., None]
    bg = np.stack([60 + 120 * xx + 0 * yy, 90 + 80 * yy + 0 * xx, 150 - 60 * xx + 0 * yy], axis=-1)
    fg = np.stack([200 - 80 * yy + 0 * xx, 120 + 40 * np.sin(xx * 40) + 0 * yy, 80 + 0 * xx + 0 * yy], axis=-1)
    img = a * fg + (1.0 - a) * bg
    img += rng.normal(0.0, 6.0, size=(h, w, 1)).astype(np.float32)
    rgb = np.clip(img, 0, 255).astype(np.uint8)
    return BenchImage(name or f"{w}x{h}", rgb, f"procedural scene {w}x{h} (no photo found)")


def make_images(
    sizes: Sequence[Tuple[str, Tuple[int, int]]], photo=None, allow_procedural: bool = True
) -> List[BenchImage]:
    """One :class:`BenchImage` per ``(name, (H, W))``, from the photo when found."""
    src = find_photo(photo)
    out = []
    for name, shape in sizes:
        if src is not None:
            out.append(from_photo(src, shape, name))
        elif allow_procedural:
            out.append(procedural(shape, name))
        else:
            raise InputError("no photo found: pass --image PATH or set ALPHACUT_SHARED_DATA")
    return out
