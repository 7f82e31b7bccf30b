"""The server's settings: :class:`ServerConfig`, one dataclass that ``alphacut serve`` fills from its
options and that :func:`alphacut.server.create_app` takes (for embedding)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Tuple, Union

from ..errors import InputError
from ..models.manifest import ModelManifest

__all__ = ["ServerConfig"]

ModelSpec = Union[str, ModelManifest]


@dataclass
class ServerConfig:
    """Everything the server needs to know, with its defaults.

    Parameters
    ----------
    host, port : where to listen (default 127.0.0.1:7000, rembg's port; never all interfaces
        unless asked: ``host="0.0.0.0"``).
    models : model names (or manifests) loaded at start-up; the first is the default. Requests
        naming another model get a 400.
    model_paths : name → ONNX file, for models not found by name (embedding and tests).
    runtime, backend, precision, threads : as for :class:`alphacut.Session`.
    workers : inference threads (each runs one batch at a time).
    max_batch, batch_wait_ms : a batch for the network holds up to ``max_batch`` images that
        arrived within ``batch_wait_ms`` of the first.
    queue : requests accepted beyond those being processed (``workers × max_batch``); past that
        the answer is 503 (429 in remove.bg's dialect) with Retry-After.
    timeout_s : per request; past it the answer is 504.
    max_upload_mb : the largest image upload (and downloaded image), in MB (10⁶ bytes).
    max_pixels : the largest image accepted, checked from the header before decoding.
    max_memory_mb : the memory (MB, 10⁶ bytes) the requests in flight may need together, each
        image's share estimated from its header before decoding
        (:func:`alphacut.pipeline.memory.estimate_bytes`): an image that alone needs more gets a
        413, one that does not fit beside the others now a 503 with Retry-After. Default: 80 %
        of the memory available when the server starts.
    allow_url : accept URL inputs (rembg's ``url=``, remove.bg's ``image_url``/``bg_image_url``).
    url_timeout_s : the time limit of one URL download (redirects included).
    api_key_file : one key per line (``#`` comments); when set every route needs ``X-Api-Key``.
    cors : allowed browser origins (``("*",)`` for any); none by default.
    log_level : "debug", "info", "warning", "error".
    drain_s : how long SIGTERM waits for requests in flight.
    """

    host: str = "127.0.0.1"
    port: int = 7000
    models: Tuple[ModelSpec, ...] = ("u2netp",)
    model_paths: Dict[str, str] = field(default_factory=dict)
    runtime: str = "onnxruntime"
    backend: str = "cpu"
    precision: Optional[str] = None
    threads: Optional[int] = None
    workers: int = 1
    max_batch: int = 8
    batch_wait_ms: float = 10.0
    queue: int = 16
    timeout_s: float = 60.0
    max_upload_mb: float = 25.0
    max_pixels: int = 25_000_000
    max_memory_mb: Optional[float] = None
    allow_url: bool = False
    url_timeout_s: float = 15.0
    api_key_file: Optional[str] = None
    cors: Tuple[str, ...] = ()
    log_level: str = "info"
    drain_s: float = 30.0
    # For tests only: (address, port) endpoints the URL fetcher may reach although they are
    # private or loopback (a local test image server). Neither the CLI nor any request can set it.
    _url_test_endpoints: FrozenSet[Tuple[str, int]] = frozenset()

    def __post_init__(self) -> None:
        if isinstance(self.models, (str, ModelManifest)):
            self.models = (self.models,)
        self.models = tuple(self.models)
        if isinstance(self.cors, str):
            self.cors = tuple(o.strip() for o in self.cors.split(",") if o.strip())
        self.cors = tuple(self.cors)
        self.validate()

    # ------------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`alphacut.InputError` naming the first bad setting."""
        if not self.models:
            raise InputError("models: name at least one model to load (e.g. u2netp)")
        names = self.model_names
        if len(set(names)) != len(names):
            raise InputError(f"models: a model is named twice ({', '.join(names)})")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise InputError(f"port must be 0..65535, got {self.port!r}")
        for name, lo in (("workers", 1), ("max_batch", 1), ("queue", 0), ("max_pixels", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise InputError(f"{name} must be an integer >= {lo}, got {v!r}")
        for name in ("batch_wait_ms", "timeout_s", "max_upload_mb", "url_timeout_s", "drain_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (v == 0 and name != "batch_wait_ms"):
                raise InputError(f"{name} must be a positive number, got {v!r}")
        m = self.max_memory_mb
        if m is not None and (isinstance(m, bool) or not isinstance(m, (int, float)) or not m > 0):
            raise InputError(f"max_memory_mb must be a positive number, got {m!r}")
        if self.log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
            raise InputError(f"log_level must be debug, info, warning or error, got {self.log_level!r}")
        for host, port in self._url_test_endpoints:
            ipaddress.ip_address(host)
            if not isinstance(port, int):
                raise InputError(f"_url_test_endpoints: port must be an integer, got {port!r}")

    @property
    def model_names(self) -> List[str]:
        return [m.name if isinstance(m, ModelManifest) else str(m) for m in self.models]

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)

    @property
    def max_body_bytes(self) -> int:
        """The largest request body: an upload in base64 (4/3) plus room for the other fields."""
        return self.max_upload_bytes * 4 // 3 + 1_000_000

    @property
    def capacity(self) -> int:
        """Cutout requests held at once (being processed plus waiting); more get 503/429."""
        return self.workers * self.max_batch + self.queue

    def api_keys(self) -> List[bytes]:
        """The keys of ``api_key_file`` (empty list when none is set)."""
        if not self.api_key_file:
            return []
        p = Path(self.api_key_file).expanduser()
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"api_key_file: cannot read {p}: {exc.strerror or exc}") from None
        keys = [ln.strip().encode("utf-8") for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        if not keys:
            raise InputError(f"api_key_file: {p} holds no key (one key per line)")
        return keys

    @classmethod
    def field_names(cls) -> List[str]:
        return [f.name for f in fields(cls)]
