"""A stand-in ``tensorrt`` module for the builder and runner logic, without a GPU.

Its classes answer only the attribute names that the real bindings of the chosen version have
(``fixtures/trt_api.json``, recorded from the wheels by ``tools/trt_api_check.py``): on "11.4.0.106"
``BuilderFlag.FP16`` raises AttributeError as it does in TensorRT 11. Building returns a JSON "plan"
that says how the network was made (creation flags, builder flags, what the parser read);
executing runs a pointwise network on the emulated device's memory, which is host memory, so a
test can see which pointers the engine was given and what it read there.
"""

from __future__ import annotations

import ctypes
import json
import types
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

FIXTURE = Path(__file__).parent / "fixtures" / "trt_api.json"
API = json.loads(FIXTURE.read_text())["api"]
V10, V11 = "10.16.1.11", "11.4.0.106"


class _Guarded:
    """Attribute access limited to what the real class of this version has (the fake's own
    state, set on the instance, aside)."""

    _trt_class = ""
    _version = ""

    def __getattribute__(self, name):
        if not name.startswith("_") and name not in object.__getattribute__(self, "__dict__"):
            allowed = API[object.__getattribute__(self, "_version")][type(self)._trt_class]
            if name not in allowed:
                raise AttributeError(f"'tensorrt.{type(self)._trt_class}' object has no attribute '{name}'")
        return object.__getattribute__(self, name)


def _enum(version: str, cls: str) -> types.SimpleNamespace:
    """The enum's members as in the real bindings (upper-case names), each a distinct int."""
    names = [n for n in API[version][cls] if n.isupper()]
    return types.SimpleNamespace(**{n: i for i, n in enumerate(sorted(names))})


def make(version: str = V11) -> types.ModuleType:
    """A fake ``tensorrt`` with the attribute sets of TensorRT ``version`` (a fixture key)."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    BuilderFlag = _enum(version, "BuilderFlag")
    NDCF = _enum(version, "NetworkDefinitionCreationFlag")
    trt.BuilderFlag = BuilderFlag
    trt.NetworkDefinitionCreationFlag = NDCF
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE=0)
    trt.TensorIOMode = types.SimpleNamespace(NONE=0, INPUT=1, OUTPUT=2)
    trt.DataType = types.SimpleNamespace(FLOAT=0, HALF=1)
    trt.nptype = lambda dt: {0: np.float32, 1: np.float16}[dt]
    trt.log = []
    trt.contexts = []

    def guarded(cls_name):
        def deco(cls):
            cls._trt_class = cls_name
            cls._version = version
            return cls

        return deco

    @guarded("Logger")
    class Logger(_Guarded):
        WARNING = 2

        def __init__(self, level=2):
            self.level = level

    @guarded("INetworkDefinition")
    class Network(_Guarded):
        def __init__(self, flags):
            self.flags = flags
            self.inputs: List[types.SimpleNamespace] = []

        @property
        def num_inputs(self):
            return len(self.inputs)

        def get_input(self, i):
            return self.inputs[i]

    @guarded("OnnxParser")
    class OnnxParser(_Guarded):
        def __init__(self, network, logger):
            self.network = network
            self.errors: List[str] = []

        def _read(self, model, source):
            import onnx

            tp = onnx.TensorProto
            self.network.source = source
            self.network.input_types = [vi.type.tensor_type.elem_type for vi in model.graph.input]
            self.network.output_types = [vi.type.tensor_type.elem_type for vi in model.graph.output]
            self.network.init_types = sorted({t.data_type for t in model.graph.initializer})
            self.network.fp16_weights = tp.FLOAT16 in self.network.init_types
            for vi in model.graph.input:
                self.network.inputs.append(types.SimpleNamespace(name=vi.name))
            return True

        def parse_from_file(self, path):
            import onnx

            return self._read(onnx.load(path), "file")

        def parse(self, model, path=None):
            import onnx

            return self._read(onnx.load_from_string(bytes(model)), "bytes")

        @property
        def num_errors(self):
            return len(self.errors)

        def get_error(self, i):
            return self.errors[i]

    @guarded("IOptimizationProfile")
    class Profile(_Guarded):
        def __init__(self):
            self.shapes = {}

        def set_shape(self, name, lo, opt, hi):
            self.shapes[name] = [list(lo), list(opt), list(hi)]

    @guarded("IBuilderConfig")
    class Config(_Guarded):
        def __init__(self):
            self.flags = {"TF32"}  # TensorRT's default: TF32 allowed
            self.pools = {}
            self.profiles = []

        def set_memory_pool_limit(self, pool, size):
            self.pools[pool] = size

        def set_flag(self, flag):
            self.flags.add(_name(BuilderFlag, flag))

        def clear_flag(self, flag):
            self.flags.discard(_name(BuilderFlag, flag))

        def add_optimization_profile(self, p):
            self.profiles.append(p.shapes)
            return len(self.profiles) - 1

    @guarded("Builder")
    class Builder(_Guarded):
        def __init__(self, logger):
            self.logger = logger

        def create_network(self, flags=0):
            return Network(flags)

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, cfg):
            strong = bool(network.flags & (1 << NDCF.STRONGLY_TYPED))
            plan = {
                "fake_plan": 1,
                "version": version,
                "strongly_typed": strong,
                "builder_flags": sorted(cfg.flags),
                "workspace": cfg.pools.get(0),
                "source": network.source,
                "fp16_weights": network.fp16_weights,
                "init_types": network.init_types,
                "input_types": network.input_types,
                "output_types": network.output_types,
                "profiles": cfg.profiles,
                "inputs": [t.name for t in network.inputs],
            }
            trt.log.append("build")
            return json.dumps(plan).encode()

    @guarded("Runtime")
    class Runtime(_Guarded):
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, plan):
            try:
                data = json.loads(bytes(plan).decode())
            except (UnicodeDecodeError, ValueError):
                return None  # what TensorRT does with a plan it cannot read
            trt.log.append("deserialize")
            return Engine(data)

    @guarded("ICudaEngine")
    class Engine(_Guarded):
        """Input "input" (N, 3, H, W) float32 -> output "prob" (N, 1, H, W) = sigmoid(gain * (R - B))."""

        def __init__(self, plan):
            self.plan = plan
            self.io = [("input", (-1, 3, -1, -1), trt.TensorIOMode.INPUT), ("prob", (-1, 1, -1, -1), 2)]

        @property
        def num_io_tensors(self):
            return len(self.io)

        def get_tensor_name(self, i):
            return self.io[i][0]

        def get_tensor_shape(self, name):
            return dict((n, s) for n, s, _ in self.io)[name]

        def get_tensor_dtype(self, name):
            return trt.DataType.FLOAT

        def get_tensor_mode(self, name):
            return dict((n, m) for n, _, m in self.io)[name]

        def create_execution_context(self):
            ctx = Context()
            trt.contexts.append(ctx)
            return ctx

    @guarded("IExecutionContext")
    class Context(_Guarded):
        def __init__(self):
            self.shapes: Dict[str, Tuple[int, ...]] = {}
            self.addresses: Dict[str, int] = {}
            self.seen: List[Dict[str, object]] = []

        def set_input_shape(self, name, shape):
            if len(shape) != 4 or shape[1] != 3:
                return False
            self.shapes[name] = tuple(shape)
            return True

        def set_tensor_address(self, name, ptr):
            self.addresses[name] = int(ptr)
            return True

        def get_tensor_shape(self, name):
            n, _, h, w = self.shapes["input"]
            return (n, 1, h, w)

        def execute_async_v3(self, stream):
            shape = self.shapes["input"]
            x = _at(self.addresses["input"], shape, np.float32).copy()
            y = 1.0 / (1.0 + np.exp(-20.0 * (x[:, 0:1] - x[:, 2:3])))
            _at(self.addresses["prob"], y.shape, np.float32)[...] = y
            self.seen.append({"input_ptr": self.addresses["input"], "input": x, "stream": stream})
            return True

    trt.Logger = Logger
    trt.Builder = Builder
    trt.OnnxParser = OnnxParser
    trt.Runtime = Runtime
    return trt


def _name(enum, value) -> str:
    for k, v in vars(enum).items():
        if v == value:
            return k
    raise ValueError(value)


def _at(ptr: int, shape, dtype) -> np.ndarray:
    """A NumPy view of emulated device memory (host memory) at ``ptr``."""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buf = (ctypes.c_char * n).from_address(ptr)
    return np.frombuffer(buf, dtype=dtype).reshape(shape)
