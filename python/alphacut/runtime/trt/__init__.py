"""TensorRT engines, laid out as Polygraphy lays them out:

- :mod:`.spec`: how an engine is built (:class:`Profile`, :class:`BuildSpec`, ``engines/<model>.json``);
- :mod:`.cache`: built plans on disk (:class:`EngineCache`);
- :mod:`.loader`: the loaders (:class:`NetworkFromOnnxPath`, :class:`EngineFromNetwork`,
  :class:`SaveEngine`, :class:`EngineFromBytes`) and :func:`build_or_load_engine`;
- :mod:`.runner`: :class:`TensorRTRuntime`, which runs an engine.

None of these modules imports ``tensorrt`` at import time: the loaders and the runtime import it
when they run, so this package (and ``alphacut``) imports on a machine without TensorRT, and the
build specs and the cache are tested without a GPU.
"""

from __future__ import annotations

from .cache import EngineCache, engine_cache_dir
from .loader import (
    EngineFromBytes,
    EngineFromNetwork,
    NetworkFromOnnxPath,
    SaveEngine,
    build_or_load_engine,
    import_tensorrt,
)
from .runner import TensorRTRuntime
from .spec import SPEC_DIR, BuildSpec, Profile, default_profile, load_build_spec

__all__ = [
    "SPEC_DIR",
    "BuildSpec",
    "EngineCache",
    "EngineFromBytes",
    "EngineFromNetwork",
    "NetworkFromOnnxPath",
    "Profile",
    "SaveEngine",
    "TensorRTRuntime",
    "build_or_load_engine",
    "default_profile",
    "engine_cache_dir",
    "import_tensorrt",
    "load_build_spec",
]
