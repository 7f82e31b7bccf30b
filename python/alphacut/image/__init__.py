"""Image input and output: decoding any input to RGB uint8, encoding cutouts fast.

- :mod:`~alphacut.image.decode`: :func:`decode_image` (paths, bytes, file objects, PIL images,
  arrays; EXIF orientation; every mode to (H, W, 3) uint8) and the header-first pixel limit.
- :mod:`~alphacut.image.png`: :func:`encode_png`, the threaded PNG encoder.
- :mod:`~alphacut.image.encode`: :func:`encode` in one of :data:`FORMATS` (RGBA PNG, WebP, JPEG on
  a colour, the mask), :func:`flatten`, :func:`parse_color`.

:func:`write_atomic` (defined in :mod:`alphacut._files`, with every file alphacut writes) saves the
encoded bytes through a temporary file and refuses to overwrite an input.

>>> from alphacut.image import decode_image, encode
>>> import numpy as np
>>> decode_image(np.zeros((2, 3), np.uint8)).rgb.shape
(2, 3, 3)
>>> encode(np.zeros((2, 3, 4), np.uint8), "png")[:4]
b'\\x89PNG'
"""

from __future__ import annotations

from .._files import write_atomic
from .decode import DecodedImage, ImageTooLargeError, check_pixels, decode_image
from .encode import (
    FORMATS,
    avif_available,
    encode,
    encode_avif,
    encode_jpeg,
    encode_mask,
    encode_webp,
    flatten,
    parse_color,
)
from .png import encode_png

__all__ = [
    "DecodedImage",
    "ImageTooLargeError",
    "check_pixels",
    "decode_image",
    "encode_png",
    "encode_webp",
    "encode_avif",
    "avif_available",
    "encode_jpeg",
    "encode_mask",
    "encode",
    "flatten",
    "parse_color",
    "write_atomic",
    "FORMATS",
]
