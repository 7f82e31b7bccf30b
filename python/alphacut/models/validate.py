"""Checking that a network file is what its manifest says (inputs, outputs, shapes).

Works on the ``(name, shape, dtype)`` metadata every :class:`~alphacut.runtime.base.Runtime`
reports, so ONNX Runtime and TensorRT are checked by the same rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import DTypeLike

from ..errors import ModelError
from .manifest import ModelManifest

Meta = Sequence[Tuple[str, Tuple[Optional[int], ...], DTypeLike]]


def _fmt(meta: Meta) -> str:
    def dim(d):
        return "?" if d is None else str(d)

    return ", ".join(f"{n} [{','.join(dim(d) for d in s)}]" for n, s, _ in meta) or "none"


def _is_float(dtype: DTypeLike) -> bool:
    try:
        return np.dtype(dtype).kind == "f"
    except TypeError:
        return False


def check_io(manifest: ModelManifest, inputs: Meta, outputs: Meta, *, source: str = "the model") -> None:
    """Raise one :class:`ModelError` listing every way the graph's I/O disagrees with ``manifest``.

    Checks: the image input exists (by name, else the first), has rank 4, float dtype, the
    manifest's channel count in its layout's channel position and its fixed size where both are
    static; a separate trimap input exists when the manifest names one; there are at least
    ``output.min_outputs`` outputs; the chosen output exists, has rank 3 or 4, and (rank 4) the
    manifest's channel count with ``output.channel`` inside it.
    """
    problems: List[str] = []
    spec = manifest.input
    ins = {n: (tuple(s), d) for n, s, d in inputs}
    outs = {n: (tuple(s), d) for n, s, d in outputs}
    if not inputs:
        problems.append("it has no inputs")
    else:
        name = spec.name if spec.name is not None else inputs[0][0]
        if name not in ins:
            problems.append(f"it has no input named {name!r}")
        else:
            shape, dtype = ins[name]
            if len(shape) != 4:
                problems.append(f"input {name!r} has rank {len(shape)}, expected 4 ({spec.layout})")
            else:
                c_axis, hw = (1, (2, 3)) if spec.layout == "NCHW" else (3, (1, 2))
                c = shape[c_axis]
                if c is not None and c != spec.channels:
                    problems.append(
                        f"input {name!r} has {c} channels at axis {c_axis}, expected {spec.channels} "
                        f"({spec.layout}, {spec.kind})"
                    )
                if spec.size is not None:
                    for axis, want in zip(hw, spec.size):
                        got = shape[axis]
                        if got is not None and got != want:
                            problems.append(
                                f"input {name!r} is {shape[hw[0]]}x{shape[hw[1]]}, expected "
                                f"{spec.size[0]}x{spec.size[1]} (HxW)"
                            )
                            break
            if dtype is not None and not _is_float(dtype):
                problems.append(f"input {name!r} has dtype {np.dtype(dtype).name}, expected a float type")
    if spec.trimap_name is not None and spec.trimap_name not in ins:
        problems.append(f"it has no trimap input named {spec.trimap_name!r}")

    ospec = manifest.output
    if not outputs:
        problems.append("it has no outputs")
    else:
        if ospec.min_outputs is not None and len(outputs) < ospec.min_outputs:
            problems.append(f"it has {len(outputs)} outputs, expected at least {ospec.min_outputs}")
        oname = ospec.name if ospec.name is not None else outputs[0][0]
        if oname not in outs:
            problems.append(f"it has no output named {oname!r}")
        else:
            shape, _ = outs[oname]
            if len(shape) not in (3, 4):
                problems.append(
                    f"output {oname!r} has rank {len(shape)}, expected a (N, C, H, W) or "
                    "(N, H, W) map: this is not a segmentation or matting network"
                )
            elif len(shape) == 4:
                c = shape[1]
                if c is not None and ospec.channels is not None and c != ospec.channels:
                    problems.append(f"output {oname!r} has {c} channels, expected {ospec.channels}")
                elif c is not None and ospec.channel >= c:
                    problems.append(f"output {oname!r} has {c} channels; channel {ospec.channel} does not exist")
    if problems:
        raise ModelError(
            f"{source} is not what manifest {manifest.name!r} describes: "
            + "; ".join(problems)
            + f". The file has inputs {_fmt(inputs)} and outputs {_fmt(outputs)}. Use the right file "
            "or describe it with alphacut.models.custom_manifest(path, ...)."
        )


def validate_model_file(path: Union[str, Path, bytes], manifest: ModelManifest) -> None:
    """Load ``path`` with ONNX Runtime and :func:`check_io` it; a file ORT cannot load is a
    :class:`ModelError` too."""
    from ..runtime.onnxruntime import OrtRuntime

    runner = OrtRuntime(path, threads=1)
    with runner:
        check_io(
            manifest,
            runner.input_metadata(),
            runner.output_metadata(),
            source=str(path) if not isinstance(path, bytes) else "the model bytes",
        )
