"""Every environment variable alphacut reads, in one place.

=================================  =====================================================================
variable                           meaning (default)
=================================  =====================================================================
``ALPHACUT_HOME``                  cache folder for models and engines (``~/.cache/alphacut``)
``ALPHACUT_MODEL_DIR``             extra folders searched for model files, ``os.pathsep``-separated (none)
``ALPHACUT_NUM_THREADS``           threads for the native CPU ops (0 = one per hardware thread)
``ALPHACUT_HEAP``                  ``retain``: freed memory stays in the heap for the next cut, ONNX
                                   Runtime's arena handed back into it after each run; ``system``:
                                   glibc's defaults (``retain`` in the ``alphacut`` command but
                                   ``serve``, ``system`` in the server and for a program embedding
                                   alphacut; see :mod:`alphacut.heap`)
``ALPHACUT_MAX_PIXELS``            largest image :func:`~alphacut.image.decode_image` accepts, in pixels
                                   (``178956970``, as Pillow)
``ALPHACUT_SESSION_MAX_PIXELS``    largest image a :class:`~alphacut.Session` cuts (``100000000``);
                                   the server has its own (``--max-pixels``, 25 MP)
``ALPHACUT_SHARED_DATA``           real test/benchmark data (models, photos with GT alpha) (``../shared/data``)
``ALPHACUT_PERSON_MODEL``          the person segmenter's file for general mode's routing and portrait
                                   mode, or ``none`` to turn routing off (the cached mediapipe-selfie,
                                   fetched when missing)
``REMBG_HOME``                     rembg's model folder, reused read-only (``~/.rembg``)
``U2NET_HOME``                     rembg's legacy model folder, reused read-only (``~/.u2net``)
=================================  =====================================================================
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MAX_PIXELS = 178_956_970
#: A cut needs far more memory than a decode (see :mod:`alphacut.pipeline.memory`): a lower default.
DEFAULT_SESSION_MAX_PIXELS = 100_000_000


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        from .errors import Error

        raise Error(f"environment variable {name}={raw!r} is not an integer") from None


def home() -> Path:
    """alphacut's cache folder (``ALPHACUT_HOME``, default ``~/.cache/alphacut``)."""
    raw = os.environ.get("ALPHACUT_HOME")
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "alphacut"


def num_threads() -> int:
    """``ALPHACUT_NUM_THREADS`` (0 = one per hardware thread)."""
    return _int_env("ALPHACUT_NUM_THREADS", 0)


def max_pixels() -> int:
    """``ALPHACUT_MAX_PIXELS``: images above this many pixels are refused before decoding."""
    return _int_env("ALPHACUT_MAX_PIXELS", DEFAULT_MAX_PIXELS)


def session_max_pixels() -> int:
    """``ALPHACUT_SESSION_MAX_PIXELS``: the largest image a :class:`~alphacut.Session` cuts by default."""
    return _int_env("ALPHACUT_SESSION_MAX_PIXELS", DEFAULT_SESSION_MAX_PIXELS)


def rembg_model_dirs() -> list[Path]:
    """Folders where rembg keeps models, newest layout first (read-only reuse)."""
    dirs: list[Path] = []
    rembg_home = os.environ.get("REMBG_HOME")
    dirs.append((Path(rembg_home).expanduser() if rembg_home else Path.home() / ".rembg") / "models")
    u2net_home = os.environ.get("U2NET_HOME")
    dirs.append(Path(u2net_home).expanduser() if u2net_home else Path.home() / ".u2net")
    return dirs


def model_dirs() -> list[Path]:
    """``ALPHACUT_MODEL_DIR``: extra folders searched for model files (``os.pathsep``-separated)."""
    raw = os.environ.get("ALPHACUT_MODEL_DIR", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def person_model_env() -> str | None:
    """``ALPHACUT_PERSON_MODEL``: a file, ``"none"``, or None when unset."""
    raw = os.environ.get("ALPHACUT_PERSON_MODEL", "").strip()
    return raw or None


def shared_data_env() -> Path | None:
    """``ALPHACUT_SHARED_DATA``: the folder of real models and photos used by ``alphacut bench``
    (None when unset; callers fall back to ``../shared/data`` beside a source checkout)."""
    raw = os.environ.get("ALPHACUT_SHARED_DATA", "").strip()
    return Path(raw).expanduser() if raw else None
