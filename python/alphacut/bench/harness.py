"""The measuring loop: warm-up, repeated timed runs, per-stage figures, batch throughput and
(optionally) peak memory in a subprocess, for any :class:`Target`.

A target is what gets measured. It turns a :class:`~alphacut.bench.inputs.BenchImage` into the
input it takes (outside the clock: e.g. JPEG bytes), and ``run(prepared)`` does the work once and
returns its own per-stage timings in milliseconds (may be empty). The harness times ``run`` as a
whole with :func:`time.perf_counter`; the stage figures are what the target reports. The only
pipeline-specific code is in :mod:`alphacut.bench.adapter`.
"""

from __future__ import annotations

import gc
import importlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..errors import Error, InputError
from .inputs import BenchImage
from .stats import summarize

#: stage names in pipeline order, for tables and charts; unknown stages follow in the order seen
STAGE_ORDER = (
    "decode",
    "preprocess",
    "segment",
    "resize",
    "trimap",
    "matting",
    "refine",
    "upscale",
    "foreground",
    "pack",
    "composite",
    "encode",
    "upload",
    "download",
)


class Target:
    """What the harness measures. Subclasses override :meth:`run` (and :meth:`prepare`)."""

    name = "target"
    #: backend the figures belong to ("cpu", "cuda", "tensorrt"); "cpu" unless a subclass says so
    backend = "cpu"

    def prepare(self, image: BenchImage) -> Any:
        """Turn the image into this target's input (not timed). Default: the RGB array."""
        return image.rgb

    def run(self, prepared: Any) -> Dict[str, float]:
        """Do the work once; return per-stage timings in ms (``{}`` when there are none)."""
        raise NotImplementedError

    def run_batch(self, prepared: Sequence[Any]) -> None:
        """Process several inputs; default: one after the other. Override for a real batch path."""
        for p in prepared:
            self.run(p)

    def describe(self) -> Dict[str, object]:
        """What the report states about this target (model, backend, providers actually used...)."""
        return {"name": self.name, "backend": self.backend}

    def close(self) -> None:
        """Free what the target holds."""


class CalibrationTarget(Target):
    """A target of known cost: touches ``mb`` MiB of fresh memory and sleeps ``ms`` milliseconds,
    reporting them as two stages. For checking the harness and the memory probe themselves."""

    name = "calibration"

    def __init__(self, mb: float = 0.0, ms: float = 0.0) -> None:
        self.mb = float(mb)
        self.ms = float(ms)

    def run(self, prepared: Any) -> Dict[str, float]:
        import numpy as np

        t0 = time.perf_counter()
        buf = np.ones(int(self.mb * 2**20), np.uint8)  # np.ones touches every page
        t1 = time.perf_counter()
        if self.ms > 0:
            time.sleep(self.ms / 1000.0)
        t2 = time.perf_counter()
        del buf
        return {"allocate": (t1 - t0) * 1e3, "sleep": (t2 - t1) * 1e3}

    def describe(self) -> Dict[str, object]:
        return {"name": self.name, "backend": self.backend, "mb": self.mb, "ms": self.ms}


def calibration_target(mb: float = 0.0, ms: float = 0.0) -> CalibrationTarget:
    """Factory for :class:`CalibrationTarget` (``"alphacut.bench.harness:calibration_target"``)."""
    return CalibrationTarget(mb, ms)


def load_factory(path: str) -> Callable[..., Target]:
    """Import ``"package.module:function"`` and return the function."""
    mod, sep, attr = path.partition(":")
    if not sep or not mod or not attr:
        raise InputError(f"factory must look like 'package.module:function', got {path!r}")
    try:
        return getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot load target factory {path!r}: {exc}") from None


@dataclass
class BenchConfig:
    repeat: int = 10
    warmup: int = 2
    batch: int = 4  # images in the throughput run; 0 skips it
    memory: bool = True  # peak RSS in a subprocess per size
    factory: Optional[str] = None  # needed for the memory subprocess
    factory_kwargs: Dict[str, object] = field(default_factory=dict)
    photo: Optional[str] = None  # the path the images were made from, None = procedural

    def check(self) -> None:
        if self.repeat < 1:
            raise InputError(f"--repeat must be at least 1, got {self.repeat}")
        if self.warmup < 0:
            raise InputError(f"--warmup must be 0 or more, got {self.warmup}")
        if self.batch < 0:
            raise InputError(f"--batch must be 0 or more, got {self.batch}")


def ordered_stages(names) -> List[str]:
    """Stage names with the known ones in pipeline order first, the rest in the order given."""
    names = list(dict.fromkeys(names))
    known = [s for s in STAGE_ORDER if s in names]
    return known + [s for s in names if s not in STAGE_ORDER]


def measure(
    target: Target, image: BenchImage, cfg: BenchConfig, progress: Optional[Callable[[str], None]] = None
) -> Dict[str, object]:
    """All figures for one image size: the ``results[i]`` entry of a report."""
    cfg.check()
    say = progress or (lambda s: None)
    prepared = target.prepare(image)
    for i in range(cfg.warmup):
        say(f"{image.name}: warm-up {i + 1}/{cfg.warmup}")
        target.run(prepared)
    totals: List[float] = []
    stages: Dict[str, List[float]] = {}
    for i in range(cfg.repeat):
        gc.collect()
        t0 = time.perf_counter()
        st = target.run(prepared) or {}
        totals.append((time.perf_counter() - t0) * 1e3)
        for k, v in st.items():
            stages.setdefault(str(k), []).append(float(v))
        say(f"{image.name}: run {i + 1}/{cfg.repeat}: {totals[-1]:.0f} ms")
    result: Dict[str, object] = {
        "size": image.name,
        "height": image.shape[0],
        "width": image.shape[1],
        "megapixels": round(image.megapixels, 3),
        "input": image.source,
        "latency_ms": summarize(totals),
        "samples_ms": [round(x, 3) for x in totals],
        "stages_ms": {k: summarize(stages[k]) for k in ordered_stages(stages)},
        "throughput": None,
        "memory": None,
    }
    if cfg.batch > 0:
        say(f"{image.name}: throughput, {cfg.batch} images")
        batch = [prepared] * cfg.batch
        batched = type(target).run_batch is not Target.run_batch
        seq_dt = None
        if batched:  # the same images one after the other, just before: the ratio's baseline
            gc.collect()
            t0 = time.perf_counter()
            Target.run_batch(target, batch)
            seq_dt = time.perf_counter() - t0
        gc.collect()
        t0 = time.perf_counter()
        target.run_batch(batch)
        dt = time.perf_counter() - t0
        throughput: Dict[str, object] = {
            "images": cfg.batch,
            "seconds": round(dt, 4),
            "images_per_s": cfg.batch / dt,
            "mode": "batched" if batched else "sequential",
        }
        if seq_dt is not None:
            throughput["sequential_images_per_s"] = cfg.batch / seq_dt
            throughput["speedup"] = round(seq_dt / dt, 3)
        result["throughput"] = throughput
    if cfg.memory:
        if not cfg.factory:
            raise InputError("the memory probe needs the target's factory ('module:function')")
        from .memory import measure_in_subprocess

        say(f"{image.name}: peak memory (subprocess)")
        spec: Dict[str, object] = {
            "factory": cfg.factory,
            "kwargs": cfg.factory_kwargs,
            "size": image.name,
            "shape": list(image.shape),
            "photo": cfg.photo,
            "warmup": min(cfg.warmup, 1),
        }
        result["memory"] = measure_in_subprocess(spec)
    return result


def run_benchmark(
    target: Target,
    images: Sequence[BenchImage],
    cfg: BenchConfig,
    progress: Optional[Callable[[str], None]] = None,
    command: str = "",
    extra_config: Optional[Dict[str, object]] = None,
) -> Dict[str, object]:
    """Measure ``target`` on every image and return a complete report (see :mod:`.report`)."""
    from .machine import machine_info
    from .report import SCHEMA, utc_now

    cfg.check()
    if not images:
        raise InputError("no images to measure")
    machine = machine_info()
    results = []
    try:
        for im in images:
            results.append(measure(target, im, cfg, progress))
        described = target.describe()
    finally:
        target.close()
    config = {
        "repeat": cfg.repeat,
        "warmup": cfg.warmup,
        "batch": cfg.batch,
        "memory": cfg.memory,
        "sizes": [im.name for im in images],
    }
    config.update(extra_config or {})
    return {
        "schema": SCHEMA,
        "created_utc": utc_now(),
        "command": command,
        "machine": machine,
        "target": described,
        "config": config,
        "results": results,
    }


__all__ = [
    "Target",
    "CalibrationTarget",
    "calibration_target",
    "BenchConfig",
    "measure",
    "run_benchmark",
    "load_factory",
    "ordered_stages",
    "STAGE_ORDER",
    "Error",
]
