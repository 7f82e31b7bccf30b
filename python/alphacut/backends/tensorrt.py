"""TensorRT engines: Polygraphy-style loaders, an engine cache, and :class:`TensorRTRunner`.

Nothing here imports ``tensorrt`` at module import; the loaders and the runner import it when
called, so ``alphacut`` imports without TensorRT. Device memory comes from
:class:`alphacut.device.CudaBuffers` (``cuda-python`` or CuPy).

The engine cache (:class:`EngineCache`) is plain Python and is tested without a GPU: plans are
keyed by the ONNX file's sha256, the TensorRT version, the GPU name and compute capability, the
precision, the optimisation-profile shapes, the workspace limit and the manifest version;
written to a temp file and renamed under a file lock, with a JSON sidecar saying how each was
built.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import config
from ..device import CudaBuffers, gpu_identity
from ..errors import BackendUnavailableError, InputError, ModelError
from ..models.manifest import ModelManifest
from .base import Runner

Shape = Tuple[int, ...]
#: The repository's engine build specs (``engines/<model>.json``), when running from a checkout.
SPEC_DIR = Path(__file__).resolve().parents[3] / "engines"


def import_tensorrt():
    """The ``tensorrt`` module, or :class:`BackendUnavailableError` saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailableError(
            f"TensorRT is not installed ({exc}). Install it with `pip install alphacut[gpu]` (tensorrt>=10) "
            "on a machine with an NVIDIA GPU, or use backend='onnxruntime'.") from None
    return trt


# -- build specs ---------------------------------------------------------------------------------
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
        return {"precision": self.precision, "workspace": self.workspace,
                "profiles": [p.to_json() for p in self.profiles]}


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
        opt = tuple(max(lo_, min(hi_, int(round((lo_ * hi_) ** 0.5 / k)) * k))
                    for lo_, hi_ in zip(spec.min_size, spec.max_size))  # type: ignore[assignment]
    else:
        raise ModelError(f"manifest {manifest.name!r} has neither a fixed size nor a short side; "
                         "write an engine build spec with explicit profiles")
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


def load_build_spec(manifest: ModelManifest, precision: Optional[str] = None,
                    spec_dir: Optional[Path] = None, input_names: Optional[Sequence[str]] = None) -> BuildSpec:
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
                for p in raw.get("profiles", []))
            for p in profiles:
                for k, v in p.shapes.items():
                    if len(v) != 3:
                        raise ValueError(f"profile for {k!r} needs [min, opt, max]")
            spec = BuildSpec(precision=raw.get("precision", "fp16"),
                             profiles=profiles or (default_profile(manifest, input_names),),
                             workspace=int(raw.get("workspace_mib", 1024)) << 20)
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"engine build spec {path} is malformed: {exc}") from None
    else:
        spec = BuildSpec(profiles=(default_profile(manifest, input_names),))
    if precision is not None:
        spec = BuildSpec(precision=precision, profiles=spec.profiles, workspace=spec.workspace)
    if spec.precision not in ("fp32", "fp16"):
        raise InputError(f"precision must be 'fp32' or 'fp16', not {spec.precision!r}")
    return spec


# -- engine cache --------------------------------------------------------------------------------
def engine_cache_dir() -> Path:
    """``config.home() / "engines"``."""
    return config.home() / "engines"


@dataclass
class EngineCache:
    """Built plans on disk, keyed by everything that changes the plan."""

    root: Path = field(default_factory=engine_cache_dir)

    @staticmethod
    def key(*, onnx_sha256: str, trt_version: str, gpu_name: str, compute_capability: str,
            spec: BuildSpec, manifest_version: int) -> str:
        payload = json.dumps({
            "onnx_sha256": onnx_sha256, "tensorrt": trt_version, "gpu": gpu_name,
            "cc": compute_capability, "build": spec.to_json(), "manifest_version": manifest_version,
        }, sort_keys=True)
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

    def get_or_build(self, key: str, build: Callable[[], bytes], info: dict) -> bytes:
        """The cached plan, or ``build()`` it under the lock (one builder per key at a time)."""
        from ..models.fetch import file_lock

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
        from ..models.fetch import _AtomicFile

        if not plan:
            raise ModelError("refusing to cache an empty engine plan")
        dest = self.path(key)
        side = _AtomicFile(dest.with_suffix(".json"))
        try:
            side.f.write(json.dumps(dict(info, key=key, bytes=len(plan),
                                         built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                         host=platform.node()), indent=2, sort_keys=True).encode())
            side.commit()
        except BaseException:
            side.discard()
            raise
        out = _AtomicFile(dest)
        try:
            out.f.write(plan)
            out.commit()
        except BaseException:
            out.discard()
            raise
        return dest


# -- loaders (Polygraphy style: callables that produce the next stage) ---------------------------
class NetworkFromOnnxPath:
    """``()`` -> (builder, network, parser): the ONNX file parsed into a TensorRT network."""

    def __init__(self, path: Union[str, Path]):
        self.path = Path(path)

    def __call__(self):
        trt = import_tensorrt()
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(str(self.path)):
            errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ModelError(f"TensorRT cannot parse {self.path}: {errs}")
        return builder, network, parser


class EngineFromNetwork:
    """``()`` -> serialised plan bytes, built from a :class:`NetworkFromOnnxPath` with a spec."""

    def __init__(self, network_loader: NetworkFromOnnxPath, spec: BuildSpec):
        self.network_loader = network_loader
        self.spec = spec

    def __call__(self) -> bytes:
        trt = import_tensorrt()
        builder, network, _parser = self.network_loader()
        cfg = builder.create_builder_config()
        cfg.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(self.spec.workspace))
        if self.spec.precision == "fp16":
            cfg.set_flag(trt.BuilderFlag.FP16)
        names = {network.get_input(i).name for i in range(network.num_inputs)}
        for prof in self.spec.profiles:
            p = builder.create_optimization_profile()
            for name, (lo, opt, hi) in prof.shapes.items():
                if name not in names:
                    raise ModelError(f"the build spec names input {name!r}; the network has {sorted(names)}")
                p.set_shape(name, lo, opt, hi)
            cfg.add_optimization_profile(p)
        plan = builder.build_serialized_network(network, cfg)
        if plan is None:
            raise ModelError("TensorRT failed to build the engine (see its log above)")
        return bytes(plan)


class SaveEngine:
    """Wraps a plan loader; writes the plan to ``path`` atomically and passes it on."""

    def __init__(self, plan_loader: Callable[[], bytes], path: Union[str, Path]):
        self.plan_loader = plan_loader
        self.path = Path(path)

    def __call__(self) -> bytes:
        from ..models.fetch import _AtomicFile

        plan = self.plan_loader()
        out = _AtomicFile(self.path)
        try:
            out.f.write(plan)
            out.commit()
        except BaseException:
            out.discard()
            raise
        return plan


class EngineFromBytes:
    """``()`` -> a deserialised ``trt.ICudaEngine``."""

    def __init__(self, plan: Union[bytes, Callable[[], bytes]]):
        self.plan = plan

    def __call__(self):
        trt = import_tensorrt()
        plan = self.plan() if callable(self.plan) else self.plan
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(plan)
        if engine is None:
            raise ModelError("TensorRT could not deserialise the engine plan (built by another "
                             "TensorRT version or GPU?); delete it from the engine cache")
        return engine


def build_or_load_engine(onnx_path: Union[str, Path], manifest: ModelManifest, *, precision: str = "fp16",
                         cache: Optional[EngineCache] = None, spec_dir: Optional[Path] = None) -> bytes:
    """The engine plan for ``onnx_path``: from the cache, or built now and cached."""
    trt = import_tensorrt()
    from ..models.fetch import file_hash

    spec = load_build_spec(manifest, precision, spec_dir)
    cache = cache or EngineCache()
    gpu, cc = gpu_identity()
    onnx_sha = file_hash(onnx_path, "sha256")
    key = EngineCache.key(onnx_sha256=onnx_sha, trt_version=trt.__version__, gpu_name=gpu,
                          compute_capability=cc, spec=spec, manifest_version=manifest.version)
    info = {"model": manifest.name, "onnx": str(onnx_path), "onnx_sha256": onnx_sha,
            "tensorrt": trt.__version__, "gpu": gpu, "compute_capability": cc,
            "manifest_version": manifest.version, **spec.to_json()}
    return cache.get_or_build(key, EngineFromNetwork(NetworkFromOnnxPath(onnx_path), spec), info)


class TensorRTRunner(Runner):
    """Runs a TensorRT engine (TensorRT 10 name-based I/O, ``execute_async_v3``).

    Parameters
    ----------
    engine : bytes, path-like, or a loader
        A serialised plan, a ``.plan`` file, or a callable returning plan bytes (e.g.
        ``EngineFromNetwork(...)`` or ``lambda: build_or_load_engine(...)``).
    """

    name = "tensorrt"

    def __init__(self, engine: Union[bytes, str, Path, Callable[[], bytes]]) -> None:
        super().__init__()
        self._engine_src = engine
        self.engine = None
        self.context = None
        self._cuda: Optional[CudaBuffers] = None
        self._stream = None
        self._buffers: Dict[str, Tuple[object, int, int]] = {}  # name -> (handle, ptr, nbytes)
        self._inputs: List = []
        self._outputs: List = []

    def activate_impl(self) -> None:
        trt = import_tensorrt()
        src = self._engine_src
        if isinstance(src, (str, Path)):
            p = Path(src)
            if not p.is_file():
                raise ModelError(f"engine file not found: {p}")
            src = p.read_bytes()
        self._cuda = CudaBuffers()
        self.engine = EngineFromBytes(src)()
        self.context = self.engine.create_execution_context()
        self._stream = self._cuda.stream()
        self._inputs, self._outputs = [], []
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            shape = tuple(d if d >= 0 else None for d in self.engine.get_tensor_shape(name))
            dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
            if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT:
                self._inputs.append((name, shape, dtype))
            else:
                self._outputs.append((name, shape, dtype))

    def deactivate_impl(self) -> None:
        if self._cuda is not None:
            for handle, _, _ in self._buffers.values():
                with contextlib.suppress(Exception):
                    self._cuda.free(handle)
            if self._stream is not None:
                with contextlib.suppress(Exception):
                    self._cuda.destroy_stream(self._stream)
        self._buffers.clear()
        self.context = None
        self.engine = None
        self._stream = None

    def input_metadata(self):
        self.activate()
        return list(self._inputs)

    def output_metadata(self):
        self.activate()
        return list(self._outputs)

    def _buffer(self, name: str, nbytes: int) -> int:
        old = self._buffers.get(name)
        if old is not None and old[2] >= nbytes:
            return old[1]
        if old is not None:
            self._cuda.free(old[0])
        handle, ptr = self._cuda.malloc(nbytes)
        self._buffers[name] = (handle, ptr, nbytes)
        return ptr

    def infer_impl(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        known = {n: d for n, _, d in self._inputs}
        if set(feeds) != set(known):
            raise InputError(f"the engine takes inputs {sorted(known)}, got {sorted(feeds)}")
        keep = []  # host arrays stay alive until the stream is synchronised
        for name, arr in feeds.items():
            if not isinstance(arr, np.ndarray) or arr.dtype != known[name]:
                raise InputError(f"input {name!r} must be a {known[name]} numpy array")
            arr = np.ascontiguousarray(arr)
            keep.append(arr)
            if not self.context.set_input_shape(name, arr.shape):
                raise InputError(f"input {name!r} shape {arr.shape} is outside the engine's profile")
            ptr = self._buffer(name, arr.nbytes)
            self._cuda.htod(ptr, arr, self._stream)
            self.context.set_tensor_address(name, ptr)
        results = {}
        for name, _, dtype in self._outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            host = np.empty(shape, dtype=dtype)
            ptr = self._buffer(name, host.nbytes)
            self.context.set_tensor_address(name, ptr)
            results[name] = host
        if not self.context.execute_async_v3(self._stream[1]):
            raise ModelError("TensorRT execution failed (see its log)")
        for name, host in results.items():
            self._cuda.dtoh(host, self._buffers[name][1], self._stream)
        self._cuda.sync(self._stream)
        del keep
        return results
