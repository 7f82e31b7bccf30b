"""TensorRT engine build specs: the optimisation profiles, precision and workspace an engine is
built with, from ``engines/<model>.json`` or derived from the model's manifest. Plain Python."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ...errors import InputError, ModelError
from ...models.manifest import ModelManifest

__all__ = ["SPEC_DIR", "BuildSpec", "Profile", "Shape", "default_profile", "load_build_spec"]

Shape = Tuple[int, ...]
#: The repository's engine build specs (``engines/<model>.json``), when running from a checkout.
SPEC_DIR = Path(__file__).resolve().parents[4] / "engines"


@dataclass(frozen=True)
class Profile:
    """One optimisation profile: per input name, (min, opt, max) shapes."""

    shapes: Dict[str, Tuple[Shape, Shape, Shape]]

    def to_json(self) -> Dict[str, List[List[int]]]:
        return {k: [list(s) for s in v] for k, v in sorted(self.shapes.items())}


@dataclass(frozen=True)
class BuildSpec:
    """How to build an engine: precision, profiles, workspace (bytes)."""

    precision: str = "fp16"
    profiles: Tuple[Profile, ...] = ()
    workspace: int = 1 << 30

    def to_json(self) -> dict:
        return {
            "precision": self.precision,
            "workspace": self.workspace,
            "profiles": [p.to_json() for p in self.profiles],
        }


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
    ``workspace_mib``, ``profiles``: a list of ``{input: [min, opt, max]}``), else one derived from
    the manifest. ``precision`` overrides the file's."""
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
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"engine build spec {path} is malformed: {exc}") from None
    else:
        spec = BuildSpec(profiles=(default_profile(manifest, input_names),))
    if precision is not None:
        spec = BuildSpec(precision=precision, profiles=spec.profiles, workspace=spec.workspace)
    if spec.precision not in ("fp32", "fp16"):
        raise InputError(f"precision must be 'fp32' or 'fp16', not {spec.precision!r}")
    return spec
