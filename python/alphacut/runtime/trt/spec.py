"""TensorRT engine build specs: the optimisation profiles, precision, TF32 and workspace an engine
is built with, from the package's ``alphacut/engines/<model>.json`` (shipped in the wheel) or
derived from the model's manifest. Plain Python."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ...errors import InputError, ModelError
from ...models.manifest import ModelManifest

__all__ = ["SPEC_DIR", "BuildSpec", "Profile", "Shape", "default_profile", "load_build_spec"]

Shape = Tuple[int, ...]
#: The engine build specs (``<name>.json``): package data, inside the installed ``alphacut``.
SPEC_DIR = Path(__file__).resolve().parents[2] / "engines"


@dataclass(frozen=True)
class Profile:
    """One optimisation profile: per input name, (min, opt, max) shapes."""

    shapes: Dict[str, Tuple[Shape, Shape, Shape]]

    def to_json(self) -> Dict[str, List[List[int]]]:
        return {k: [list(s) for s in v] for k, v in sorted(self.shapes.items())}

    @property
    def max_batch(self) -> int:
        return max(hi[0] for _, _, hi in self.shapes.values())

    def with_max_batch(self, n: int) -> Profile:
        """The profile with every input's largest batch set to ``n`` (the smallest stays, the
        optimum is clipped to ``n``); for NCHW/NHWC inputs, whose batch is the first axis."""
        out = {}
        for k, (lo, opt, hi) in self.shapes.items():
            out[k] = (lo, (min(opt[0], n),) + tuple(opt[1:]), (n,) + tuple(hi[1:]))
        return Profile(out)


@dataclass(frozen=True)
class BuildSpec:
    """How to build an engine: precision, profiles, workspace (bytes), and whether TensorRT may
    run FP32 layers in TF32 (its default on sm_80+; off for "fp32" engines, so that they are
    FP32 and not TF32)."""

    precision: str = "fp16"
    profiles: Tuple[Profile, ...] = ()
    workspace: int = 1 << 30
    tf32: bool = False

    def to_json(self) -> dict:
        return {
            "precision": self.precision,
            "workspace": self.workspace,
            "tf32": self.tf32,
            "profiles": [p.to_json() for p in self.profiles],
        }

    @property
    def max_batch(self) -> int:
        return max((p.max_batch for p in self.profiles), default=1)

    def with_max_batch(self, n: int) -> BuildSpec:
        if int(n) < 1:
            raise InputError(f"max batch must be >= 1, not {n}")
        return replace(self, profiles=tuple(p.with_max_batch(int(n)) for p in self.profiles))


def default_profile(manifest: ModelManifest, input_names: Optional[Sequence[str]] = None) -> Profile:
    """A profile from the manifest: batch 1; the fixed size, or for dynamic networks
    ``min_size`` / (short side, or the geometric middle of the range) / ``max_size``."""
    spec = manifest.input
    c = spec.channels

    def shape(hw: Tuple[int, int]) -> Shape:
        return (1, c, hw[0], hw[1]) if spec.layout == "NCHW" else (1, hw[0], hw[1], c)

    if spec.size is not None:
        opt = spec.size
    elif spec.short_side is not None:
        opt = (spec.short_side, spec.short_side)
    elif spec.min_size is not None and spec.max_size is not None:
        # No preferred size: the geometric middle of the range, on the network's grid.
        k = max(1, spec.multiple_of)
        opt = tuple(
            max(lo_, min(hi_, int(round((lo_ * hi_) ** 0.5 / k)) * k)) for lo_, hi_ in zip(spec.min_size, spec.max_size)
        )  # type: ignore[assignment]
    else:
        raise ModelError(
            f"manifest {manifest.name!r} has neither a fixed size nor a short side; "
            "write an engine build spec with explicit profiles"
        )
    lo = spec.min_size or opt
    hi = spec.max_size or opt
    name = spec.name or (input_names[0] if input_names else None)
    if name is None:
        raise ModelError(f"manifest {manifest.name!r} names no input; pass the network's input names")
    shapes = {name: (shape(lo), shape(opt), shape(hi))}
    if spec.trimap_name:
        tri = lambda hw: (1, 1, hw[0], hw[1]) if spec.layout == "NCHW" else (1, hw[0], hw[1], 1)  # noqa: E731
        shapes[spec.trimap_name] = (tri(lo), tri(opt), tri(hi))
    return Profile(shapes)


def load_build_spec(
    manifest: ModelManifest,
    precision: Optional[str] = None,
    spec_dir: Optional[Path] = None,
    input_names: Optional[Sequence[str]] = None,
) -> BuildSpec:
    """The build spec for a model: ``<spec_dir>/<name>.json`` when present (keys ``precision``,
    ``workspace_mib``, ``profiles``: a list of ``{input: [min, opt, max]}``, optional ``tf32``),
    else one derived from the manifest (FP16). ``precision`` overrides the file's. TF32 is off
    unless the file asks for it: an "fp32" engine computes in FP32."""
    d = SPEC_DIR if spec_dir is None else Path(spec_dir)
    path = d / f"{manifest.name}.json"
    if path.is_file():
        try:
            raw = json.loads(path.read_text())
            profiles = tuple(
                Profile({k: tuple(tuple(int(x) for x in s) for s in v) for k, v in p.items()})  # type: ignore[misc]
                for p in raw.get("profiles", [])
            )
            for p in profiles:
                for k, v in p.shapes.items():
                    if len(v) != 3:
                        raise ValueError(f"profile for {k!r} needs [min, opt, max]")
            spec = BuildSpec(
                precision=raw.get("precision", "fp16"),
                profiles=profiles or (default_profile(manifest, input_names),),
                workspace=int(raw.get("workspace_mib", 1024)) << 20,
                tf32=bool(raw.get("tf32", False)),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"engine build spec {path} is malformed: {exc}") from None
    else:
        spec = BuildSpec(profiles=(default_profile(manifest, input_names),))
    if precision is not None:
        spec = replace(spec, precision=precision)
    if spec.precision not in ("fp32", "fp16"):
        raise InputError(f"precision must be 'fp32' or 'fp16', not {spec.precision!r}")
    return spec
