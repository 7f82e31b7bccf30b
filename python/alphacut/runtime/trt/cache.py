"""The TensorRT engine cache: built plans on disk, keyed by everything that changes the plan.

Plans are keyed by the ONNX file's sha256, the TensorRT version, the GPU name and compute
capability, the precision, the optimisation-profile shapes, the workspace limit, TF32, the build
recipe (its version, strong typing) and the manifest version; written to a temp file and renamed under a file lock, with a JSON sidecar saying how
each was built. Plain Python, tested without a GPU.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

from ... import config
from ...errors import ModelError
from .spec import BuildSpec

__all__ = ["EngineCache", "engine_cache_dir"]


def engine_cache_dir() -> Path:
    """``config.home() / "engines"``."""
    return config.home() / "engines"


@dataclass
class EngineCache:
    """Built plans on disk, keyed by everything that changes the plan."""

    root: Path = field(default_factory=engine_cache_dir)

    @staticmethod
    def key(
        *,
        onnx_sha256: str,
        trt_version: str,
        gpu_name: str,
        compute_capability: str,
        spec: BuildSpec,
        manifest_version: int,
        recipe: Optional[dict] = None,
    ) -> str:
        payload = json.dumps(
            {
                "onnx_sha256": onnx_sha256,
                "tensorrt": trt_version,
                "gpu": gpu_name,
                "cc": compute_capability,
                "build": spec.to_json(),
                "manifest_version": manifest_version,
                "recipe": recipe or {},
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"{key}.plan"

    def get(self, key: str) -> Optional[bytes]:
        p = self.path(key)
        try:
            return p.read_bytes()
        except FileNotFoundError:
            return None

    def sidecar(self, key: str) -> Optional[dict]:
        try:
            return json.loads(self.path(key).with_suffix(".json").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def evict(self, key: str) -> None:
        """Delete a plan and its sidecar (a plan that no longer deserialises)."""
        for p in (self.path(key), self.path(key).with_suffix(".json")):
            p.unlink(missing_ok=True)

    def entries(self) -> List[dict]:
        """Every cached plan: its sidecar (how it was built) with ``key``, ``path`` and ``bytes``."""
        out: List[dict] = []
        if not self.root.is_dir():
            return out
        for plan in sorted(self.root.glob("*.plan")):
            side = self.sidecar(plan.stem) or {}
            out.append(dict(side, key=plan.stem, path=str(plan), bytes=plan.stat().st_size))
        return out

    def clear(self) -> int:
        """Delete every plan, sidecar and lock file; the number of plans deleted."""
        n = 0
        if not self.root.is_dir():
            return 0
        for p in self.root.iterdir():
            if p.suffix == ".plan":
                n += 1
            if p.suffix in (".plan", ".json", ".lock"):
                p.unlink(missing_ok=True)
        return n

    def get_or_build(self, key: str, build: Callable[[], bytes], info: dict) -> bytes:
        """The cached plan, or ``build()`` it under the lock (one builder per key at a time)."""
        from ..._files import file_lock

        plan = self.get(key)
        if plan:
            return plan
        with file_lock(self.root / f"{key}.lock", timeout=3600):
            plan = self.get(key)
            if plan:
                return plan
            t0 = time.perf_counter()
            plan = build()
            info = dict(info, build_seconds=round(time.perf_counter() - t0, 3))
            self.put(key, plan, info)
            return plan

    def put(self, key: str, plan: bytes, info: dict) -> Path:
        """Write the plan and its sidecar atomically (temp file, fsync, rename)."""
        from ..._files import AtomicFile

        if not plan:
            raise ModelError("refusing to cache an empty engine plan")
        dest = self.path(key)
        side = AtomicFile(dest.with_suffix(".json"))
        try:
            side.f.write(
                json.dumps(
                    dict(
                        info,
                        key=key,
                        bytes=len(plan),
                        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        host=platform.node(),
                    ),
                    indent=2,
                    sort_keys=True,
                ).encode()
            )
            side.commit()
        except BaseException:
            side.discard()
            raise
        out = AtomicFile(dest)
        try:
            out.f.write(plan)
            out.commit()
        except BaseException:
            out.discard()
            raise
        return dest
