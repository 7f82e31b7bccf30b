"""TensorRT engines, laid out as Polygraphy lays them out:

- :mod:`.spec`: how an engine is built (:class:`Profile`, :class:`BuildSpec`, ``engines/<model>.json``);
- :mod:`.cache`: built plans on disk (:class:`EngineCache`);
- :mod:`.loader`: the loaders (:class:`NetworkFromOnnxPath`, :class:`EngineFromNetwork`,
  :class:`SaveEngine`, :class:`EngineFromBytes`) and :func:`build_or_load_engine`;
- :mod:`.runner`: :class:`TensorRTRuntime`, which runs an engine on alphacut's device buffers;
- :mod:`.gpu`: the GPUs (CUDA driver API through ctypes) for the cache key and ``alphacut info``.

None of these modules imports ``tensorrt`` at import time: the loaders and the runtime import it
when they run, so this package (and ``alphacut``) imports on a machine without TensorRT, and the
build specs and the cache are tested without a GPU.
"""

from __future__ import annotations

from .cache import EngineCache, engine_cache_dir
from .loader import (
    RECIPE_VERSION,
    CachedEngine,
    EngineFromBytes,
    EngineFromNetwork,
    NetworkFromOnnxPath,
    SaveEngine,
    build_or_load_engine,
    build_recipe,
    has_weak_typing,
    import_tensorrt,
)
from .runner import CUDA_STREAM_PER_THREAD, DeviceTensor, TensorRTRuntime, segment_on_device
from .spec import SPEC_DIR, BuildSpec, Profile, default_profile, load_build_spec

__all__ = [
    "CUDA_STREAM_PER_THREAD",
    "RECIPE_VERSION",
    "SPEC_DIR",
    "CachedEngine",
    "DeviceTensor",
    "BuildSpec",
    "EngineCache",
    "EngineFromBytes",
    "EngineFromNetwork",
    "NetworkFromOnnxPath",
    "Profile",
    "SaveEngine",
    "TensorRTRuntime",
    "build_or_load_engine",
    "build_recipe",
    "default_profile",
    "engine_cache_dir",
    "has_weak_typing",
    "import_tensorrt",
    "load_build_spec",
    "segment_on_device",
]
