"""TensorRT loaders in Polygraphy's style: small callables, each producing the next stage from
the one before (ONNX file -> network -> serialised plan -> engine), and
:func:`build_or_load_engine`, which puts them together behind the engine cache.

Nothing here imports ``tensorrt`` at module import; :func:`import_tensorrt` is called when a
loader runs, so ``alphacut`` imports without TensorRT.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Callable, Dict, Optional, Tuple, Union

from ...errors import BackendUnavailableError, ModelError
from ...models.manifest import ModelManifest
from .cache import EngineCache
from .spec import BuildSpec, load_build_spec

if TYPE_CHECKING:
    import tensorrt

__all__ = [
    "RECIPE_VERSION",
    "CachedEngine",
    "EngineFromBytes",
    "EngineFromNetwork",
    "NetworkFromOnnxPath",
    "SaveEngine",
    "build_or_load_engine",
    "build_recipe",
    "has_weak_typing",
    "import_tensorrt",
]


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module, or :class:`BackendUnavailableError` saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailableError(
            f"TensorRT is not installed ({exc}). Install it with `pip install alphacut[gpu]` (tensorrt>=10) "
            "on a machine with an NVIDIA GPU, or use runtime='onnxruntime'."
        ) from None
    return trt


#: Bumped when the way an engine is built changes (flags, typing, the FP16 conversion), so
#: that plans built the old way are not reused.
RECIPE_VERSION = 2


def has_weak_typing(trt: ModuleType) -> bool:
    """True where ``BuilderFlag.FP16`` exists (TensorRT 10.x); TensorRT 11 removed it and the
    other weak-typing flags: every network is strongly typed there."""
    return getattr(trt.BuilderFlag, "FP16", None) is not None


def build_recipe(trt: ModuleType, precision: str) -> Dict[str, object]:
    """How a ``precision`` engine is built with this TensorRT:

    - ``fp16`` on 10.x: the FP32 ONNX, weakly typed, ``BuilderFlag.FP16`` set;
    - ``fp16`` on 11.x (no FP16 flag): a strongly typed network from the FP16 ONNX of
      :func:`alphacut.runtime.fp16.convert_for_tensorrt` (FP32 inputs and outputs, the
      range-sensitive ops kept in FP32);
    - ``fp32``: the FP32 ONNX (strongly typed on 11.x, where every network is).

    The result goes into the engine cache key."""
    weak = has_weak_typing(trt)
    return {
        "recipe": RECIPE_VERSION,
        "strongly_typed": not weak,
        "fp16_onnx": precision == "fp16" and not weak,
        "fp16_flag": precision == "fp16" and weak,
    }


class NetworkFromOnnxPath:
    """``()`` -> (builder, network, parser): the ONNX file parsed into a TensorRT network.

    ``strongly_typed``: create the network with ``NetworkDefinitionCreationFlag.STRONGLY_TYPED``
    (tensor types come from the graph); ``fp16_onnx``: parse the FP16 conversion of the file
    instead of the file itself."""

    def __init__(self, path: Union[str, Path], *, strongly_typed: bool = False, fp16_onnx: bool = False):
        self.path = Path(path)
        self.strongly_typed = strongly_typed
        self.fp16_onnx = fp16_onnx

    def __call__(self) -> Tuple[tensorrt.Builder, tensorrt.INetworkDefinition, tensorrt.OnnxParser]:
        trt = import_tensorrt()
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        flags = 0  # explicit batch is the only mode since TensorRT 10
        if self.strongly_typed:
            flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        if self.fp16_onnx:
            from ..fp16 import convert_for_tensorrt

            ok = parser.parse(convert_for_tensorrt(self.path), str(self.path))
        else:
            ok = parser.parse_from_file(str(self.path))
        if not ok:
            errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ModelError(f"TensorRT cannot parse {self.path}: {errs}")
        return builder, network, parser


class EngineFromNetwork:
    """``()`` -> serialised plan bytes, built from a :class:`NetworkFromOnnxPath` with a spec.

    The workspace limit and the profiles come from the spec; ``BuilderFlag.FP16`` is set for an
    "fp16" spec only where the network is weakly typed (TensorRT 10.x; a strongly typed network
    takes its types from the graph, and TensorRT 11 has no such flag); ``BuilderFlag.TF32`` is
    cleared unless the spec allows TF32, so that an "fp32" engine computes in FP32."""

    def __init__(self, network_loader: NetworkFromOnnxPath, spec: BuildSpec):
        self.network_loader = network_loader
        self.spec = spec

    def __call__(self) -> bytes:
        trt = import_tensorrt()
        builder, network, _parser = self.network_loader()
        cfg = builder.create_builder_config()
        cfg.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(self.spec.workspace))
        if self.spec.precision == "fp16" and not self.network_loader.strongly_typed:
            fp16 = getattr(trt.BuilderFlag, "FP16", None)
            if fp16 is None:
                raise ModelError(
                    f"TensorRT {trt.__version__} has no BuilderFlag.FP16: FP16 engines need a strongly typed network"
                )
            cfg.set_flag(fp16)
        if not self.spec.tf32:
            cfg.clear_flag(trt.BuilderFlag.TF32)
        names = {network.get_input(i).name for i in range(network.num_inputs)}
        for prof in self.spec.profiles:
            profile = builder.create_optimization_profile()
            for name, (lo, opt, hi) in prof.shapes.items():
                if name not in names:
                    raise ModelError(f"the build spec names input {name!r}; the network has {sorted(names)}")
                profile.set_shape(name, lo, opt, hi)
            cfg.add_optimization_profile(profile)
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
        from ..._files import AtomicFile

        plan = self.plan_loader()
        out = AtomicFile(self.path)
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

    def __call__(self) -> tensorrt.ICudaEngine:
        trt = import_tensorrt()
        plan = self.plan() if callable(self.plan) else self.plan
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(plan)
        if engine is None:
            raise ModelError(
                "TensorRT could not deserialise the engine plan (built by another "
                "TensorRT version or GPU?); delete it from the engine cache"
            )
        return engine


class CachedEngine:
    """An engine for an ONNX file, from the engine cache or built now: ``()`` gives the plan
    bytes; :meth:`deserialize` the ``ICudaEngine``, rebuilding (once) a cached plan that TensorRT
    cannot deserialise (a truncated file, a plan from another build of TensorRT).

    The cache key covers the ONNX sha256, the TensorRT version, the GPU the calling thread's CUDA
    context is on (name and compute capability; device 0 when none is current), the build spec
    (precision, profiles, workspace, TF32), the recipe (:data:`RECIPE_VERSION`, strong typing)
    and the manifest version."""

    def __init__(
        self,
        onnx_path: Union[str, Path],
        manifest: ModelManifest,
        *,
        precision: Optional[str] = None,
        cache: Optional[EngineCache] = None,
        spec_dir: Optional[Path] = None,
        spec: Optional[BuildSpec] = None,
    ) -> None:
        self.onnx_path = Path(onnx_path)
        self.manifest = manifest
        self.spec = spec if spec is not None else load_build_spec(manifest, precision, spec_dir)
        self.cache = cache or EngineCache()
        self.key: Optional[str] = None
        self.info: Dict[str, object] = {}
        self.rebuilt = False

    def _resolve(self, trt: ModuleType) -> str:
        from ..._files import file_hash
        from .gpu import current_gpu

        gpu = current_gpu()
        onnx_sha = file_hash(self.onnx_path, "sha256")
        recipe = build_recipe(trt, self.spec.precision)
        self.key = EngineCache.key(
            onnx_sha256=onnx_sha,
            trt_version=trt.__version__,
            gpu_name=gpu.name,
            compute_capability=gpu.compute_capability,
            spec=self.spec,
            manifest_version=self.manifest.version,
            recipe=recipe,
        )
        self.info = {
            "model": self.manifest.name,
            "onnx": str(self.onnx_path),
            "onnx_sha256": onnx_sha,
            "tensorrt": trt.__version__,
            "gpu": gpu.name,
            "gpu_index": gpu.index,
            "compute_capability": gpu.compute_capability,
            "manifest_version": self.manifest.version,
            **recipe,
            **self.spec.to_json(),
        }
        return self.key

    def _builder(self, trt: ModuleType) -> EngineFromNetwork:
        recipe = build_recipe(trt, self.spec.precision)
        net = NetworkFromOnnxPath(
            self.onnx_path, strongly_typed=bool(recipe["strongly_typed"]), fp16_onnx=bool(recipe["fp16_onnx"])
        )
        return EngineFromNetwork(net, self.spec)

    def __call__(self) -> bytes:
        trt = import_tensorrt()
        key = self._resolve(trt)
        return self.cache.get_or_build(key, self._builder(trt), self.info)

    def deserialize(self) -> tensorrt.ICudaEngine:
        """The engine, deserialised; a cached plan that does not deserialise is deleted and built again."""
        plan = self()
        try:
            return EngineFromBytes(plan)()
        except ModelError:
            assert self.key is not None
            self.cache.evict(self.key)
            self.rebuilt = True
            return EngineFromBytes(self())()


def build_or_load_engine(
    onnx_path: Union[str, Path],
    manifest: ModelManifest,
    *,
    precision: Optional[str] = None,
    cache: Optional[EngineCache] = None,
    spec_dir: Optional[Path] = None,
) -> bytes:
    """The engine plan for ``onnx_path``: from the cache, or built now and cached
    (``precision`` None: the build spec's, FP16 for the shipped specs)."""
    return CachedEngine(onnx_path, manifest, precision=precision, cache=cache, spec_dir=spec_dir)()
