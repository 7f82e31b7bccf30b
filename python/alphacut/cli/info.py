"""``alphacut info``: versions, GPUs (compute capability, driver), which kernel backends and network
runtimes are usable here and why not, and the TensorRT engine cache. Works without a GPU."""

from __future__ import annotations

import json
import platform
import sys
from typing import Dict, Optional


def register(sub):
    p = sub.add_parser(
        "info",
        help="versions, GPUs, usable backends and runtimes, engine cache",
        description="What alphacut can use on this machine, and why not where it cannot.",
    )
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    p.set_defaults(func=_info)


def _version(module: str) -> Optional[str]:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return version(module)
    except PackageNotFoundError:
        return None


def collect() -> Dict[str, object]:
    """Everything ``alphacut info`` reports, as a dict."""
    from .. import __version__, _core
    from .. import device as _device
    from ..runtime import tensorrt_unavailable_reason
    from ..runtime.trt.cache import EngineCache, engine_cache_dir
    from ..runtime.trt.gpu import list_gpus

    info: Dict[str, object] = {}
    trt_version = None
    try:
        import tensorrt

        trt_version = getattr(tensorrt, "__version__", "?")
    except ImportError:
        pass
    try:
        import onnxruntime as ort

        ort_version: Optional[str] = ort.__version__
        providers = list(ort.get_available_providers())
    except ImportError:  # pragma: no cover - a dependency
        ort_version, providers = None, []
    info["versions"] = {
        "alphacut": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": _version("numpy"),
        "onnxruntime": ort_version,
        "onnx": _version("onnx"),
        "tensorrt": trt_version,
    }
    info["build"] = {
        "cuda_kernels": bool(getattr(_core, "built_with_cuda", False)),
        "emulation": bool(getattr(_core, "built_with_emu", False)),
    }
    try:
        gpus, driver = list_gpus()
        info["gpus"] = [
            {"index": g.index, "name": g.name, "compute_capability": g.compute_capability, "memory_mib": g.memory_mib}
            for g in gpus
        ]
        info["driver_cuda"] = driver
        info["gpu_reason"] = None
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        info["gpus"], info["driver_cuda"], info["gpu_reason"] = [], None, str(exc)

    cuda_reason = _device.why_unavailable()
    backends = {
        "cpu": None,
        "emu": None if info["build"]["emulation"] else "not built (rebuild with -Ccmake.define.ALPHACUT_EMU=ON)",  # type: ignore[index]
        "cuda": cuda_reason,
    }
    info["backends"] = {k: {"usable": v is None, "why_not": v} for k, v in backends.items()}
    ort_cuda = (
        None
        if "CUDAExecutionProvider" in providers and cuda_reason is None
        else (
            "onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)"
            if "CUDAExecutionProvider" not in providers
            else f"no usable CUDA device ({cuda_reason})"
        )
    )
    runtimes = {"onnxruntime": None, "onnxruntime-cuda": ort_cuda, "tensorrt": tensorrt_unavailable_reason()}
    info["runtimes"] = {k: {"usable": v is None, "why_not": v} for k, v in runtimes.items()}
    from .. import heap

    info["heap"] = "retained" if heap.heap_retained() else "system"
    cache = EngineCache(engine_cache_dir())
    info["engine_cache"] = {"path": str(cache.root), "engines": cache.entries()}
    return info


def _info(args) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    out = sys.stdout.write
    v = info["versions"]
    assert isinstance(v, dict)
    out("versions:\n")
    for k, val in v.items():
        out(f"  {k:12s} {val if val is not None else 'not installed'}\n")
    b = info["build"]
    assert isinstance(b, dict)
    out(
        f"native build: CUDA kernels {'yes' if b['cuda_kernels'] else 'no'}, emulation {'yes' if b['emulation'] else 'no'}\n"
    )
    gpus = info["gpus"]
    assert isinstance(gpus, list)
    if gpus:
        out(f"GPUs (driver supports CUDA {info['driver_cuda']}):\n")
        for g in gpus:
            out(f"  [{g['index']}] {g['name']}, compute capability {g['compute_capability']}, {g['memory_mib']} MiB\n")
    else:
        out(f"GPUs: none ({info['gpu_reason']})\n")
    for section in ("backends", "runtimes"):
        out(f"{section}:\n")
        sec = info[section]
        assert isinstance(sec, dict)
        for name, st in sec.items():
            out(f"  {name:17s} {'usable' if st['usable'] else 'unusable: ' + str(st['why_not'])}\n")
    out(f"heap: {info['heap']} (ALPHACUT_HEAP; see alphacut.heap)\n")
    ec = info["engine_cache"]
    assert isinstance(ec, dict)
    ents = ec["engines"]
    out(f"engine cache: {ec['path']}: {len(ents)} engine(s)\n")
    for e in ents:
        out(
            f"  {e.get('model', '?')} {e.get('precision', '?')} TensorRT {e.get('tensorrt', '?')} "
            f"{e.get('gpu', '?')} (sm {e.get('compute_capability', '?')}) {e['bytes'] / 2**20:.1f} MiB\n"
        )
    return 0
