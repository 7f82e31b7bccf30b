"""TensorRT loaders in Polygraphy's style: small callables, each producing the next stage from
the one before (ONNX file -> network -> serialised plan -> engine), and
:func:`build_or_load_engine`, which puts them together behind the engine cache.

Nothing here imports ``tensorrt`` at module import; :func:`import_tensorrt` is called when a
loader runs, so ``alphacut`` imports without TensorRT.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Callable, Optional, Tuple, Union

from ...device import gpu_identity
from ...errors import BackendUnavailableError, ModelError
from ...models.manifest import ModelManifest
from .cache import EngineCache
from .spec import BuildSpec, load_build_spec

if TYPE_CHECKING:
    import tensorrt

__all__ = [
    "EngineFromBytes",
    "EngineFromNetwork",
    "NetworkFromOnnxPath",
    "SaveEngine",
    "build_or_load_engine",
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


class NetworkFromOnnxPath:
    """``()`` -> (builder, network, parser): the ONNX file parsed into a TensorRT network."""

    def __init__(self, path: Union[str, Path]):
        self.path = Path(path)

    def __call__(self) -> Tuple[tensorrt.Builder, tensorrt.INetworkDefinition, tensorrt.OnnxParser]:
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


def build_or_load_engine(
    onnx_path: Union[str, Path],
    manifest: ModelManifest,
    *,
    precision: str = "fp16",
    cache: Optional[EngineCache] = None,
    spec_dir: Optional[Path] = None,
) -> bytes:
    """The engine plan for ``onnx_path``: from the cache, or built now and cached."""
    trt = import_tensorrt()
    from ..._files import file_hash

    spec = load_build_spec(manifest, precision, spec_dir)
    cache = cache or EngineCache()
    gpu, cc = gpu_identity()
    onnx_sha = file_hash(onnx_path, "sha256")
    key = EngineCache.key(
        onnx_sha256=onnx_sha,
        trt_version=trt.__version__,
        gpu_name=gpu,
        compute_capability=cc,
        spec=spec,
        manifest_version=manifest.version,
    )
    info = {
        "model": manifest.name,
        "onnx": str(onnx_path),
        "onnx_sha256": onnx_sha,
        "tensorrt": trt.__version__,
        "gpu": gpu,
        "compute_capability": cc,
        "manifest_version": manifest.version,
        **spec.to_json(),
    }
    return cache.get_or_build(key, EngineFromNetwork(NetworkFromOnnxPath(onnx_path), spec), info)
