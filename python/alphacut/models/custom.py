"""Manifests for any ONNX file a user brings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

from ..errors import InputError, ModelError
from .manifest import InputSpec, ModelManifest, OutputSpec

_ACTIVATIONS = ("none", "sigmoid", "softmax")


def _floats3(values: Sequence[float]) -> Tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


def custom_manifest(
    path: Union[str, os.PathLike[str]],
    size: Optional[Tuple[int, int]] = None,
    *,
    mean: Sequence[float] = (0.0, 0.0, 0.0),
    std: Sequence[float] = (1.0, 1.0, 1.0),
    scale: float = 1.0 / 255.0,
    color: str = "RGB",
    layout: str = "NCHW",
    output: Union[int, str] = 0,
    channel: int = 0,
    activation: str = "none",
    kind: str = "segmenter",
    name: Optional[str] = None,
) -> ModelManifest:
    """A manifest for any ONNX segmenter or matting network, reading its I/O names from the file.

    The normalisation is ``x = (pixel * scale - mean) / std`` per channel, on pixels in 0..255
    in ``color`` order.

    Parameters
    ----------
    path : path-like
        The ONNX file.
    size : (H, W), optional
        The size the network runs at. Default: the file's static input size; for a file with
        dynamic height/width, None (the pipeline then needs ``short_side``-style resizing).
    mean, std : 3 floats
        Per-channel normalisation (default 0 and 1).
    scale : float, default 1/255
    color : {"RGB", "BGR"}
    layout : {"NCHW", "NHWC"}
    output : int or str, default 0
        Which graph output holds the map: its index or name.
    channel : int, default 0
        Which channel of that output is the foreground.
    activation : {"none", "sigmoid", "softmax"}
        What turns the output into a probability.
    kind : {"segmenter", "matting"}
    name : str, optional
        Default ``"custom:<file stem>"``.

    Returns
    -------
    ModelManifest
        With ``file`` the absolute path, no sources and no hash.

    Examples
    --------
    >>> m = custom_manifest("my_model.onnx", size=(320, 320), mean=(0.485, 0.456, 0.406),
    ...                     std=(0.229, 0.224, 0.225), activation="sigmoid")  # doctest: +SKIP
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelError(f"model file not found: {p}")
    if color not in ("RGB", "BGR"):
        raise InputError(f"color must be 'RGB' or 'BGR', not {color!r}")
    if layout not in ("NCHW", "NHWC"):
        raise InputError(f"layout must be 'NCHW' or 'NHWC', not {layout!r}")
    if activation not in _ACTIVATIONS:
        raise InputError(f"activation must be one of {', '.join(_ACTIVATIONS)}, not {activation!r}")
    if kind not in ("segmenter", "matting"):
        raise InputError(f"kind must be 'segmenter' or 'matting', not {kind!r}")
    if len(tuple(mean)) != 3 or len(tuple(std)) != 3:
        raise InputError("mean and std must have 3 values each")
    if any(float(s) == 0.0 for s in std):
        raise InputError("std must not contain 0")
    if size is not None:
        if len(tuple(size)) != 2 or any(int(v) <= 0 for v in size):
            raise InputError(f"size must be (H, W) with positive sides, not {size!r}")
        size = (int(size[0]), int(size[1]))

    from ..runtime.onnxruntime import OrtRuntime

    with OrtRuntime(p, threads=1) as runner:
        ins = runner.input_metadata()
        outs = runner.output_metadata()
    if not ins or not outs:
        raise ModelError(f"{p} has no inputs or no outputs: not a usable network")
    in_name, in_shape, _ = ins[0]
    if size is None and len(in_shape) == 4:
        h, w = (in_shape[2], in_shape[3]) if layout == "NCHW" else (in_shape[1], in_shape[2])
        if isinstance(h, int) and h > 0 and isinstance(w, int) and w > 0:
            size = (int(h), int(w))
    channels = 3
    if len(in_shape) == 4:
        c = in_shape[1] if layout == "NCHW" else in_shape[3]
        if isinstance(c, int):
            channels = c
    if isinstance(output, int):
        if not 0 <= output < len(outs):
            raise InputError(f"output index {output} is out of range: {p} has {len(outs)} outputs")
        out_name = outs[output][0]
    else:
        names = [n for n, _, _ in outs]
        if output not in names:
            raise InputError(f"{p} has no output {output!r}; its outputs are {', '.join(names)}")
        out_name = output
    return ModelManifest(
        name=name or f"custom:{p.stem}",
        kind=kind,
        file=str(p.resolve()),
        task="user-supplied network",
        input=InputSpec(
            name=in_name,
            size=size,
            layout=layout,
            color=color,
            scale=float(scale),
            mean=_floats3(mean),
            std=_floats3(std),
            channels=channels,
            kind="image" if channels == 3 else "image+trimap",
        ),
        output=OutputSpec(name=out_name, channel=int(channel), activation=activation),
        notes="custom manifest built from the file's own I/O names",
    )
