"""The engine behind every dialect: sessions, the batching queue, limits, timeouts, and the error
type each dialect renders. It knows nothing of HTTP routes or of any dialect's field names.

- Sessions (:class:`alphacut.Session`) are created once at start-up, one per model, and shared.
- Cutout requests are admitted up to ``workers × max_batch + queue`` at once; past that
  :meth:`CutoutService.admit` raises ``busy`` (503, Retry-After).
- Decoding, encoding and downloads run in a thread pool; the pipeline runs in ``workers``
  inference threads. Images of one model that arrive within ``batch_wait_ms`` of each other
  (up to ``max_batch``) go through :func:`alphacut.pipeline.pipeline.run_batch` together: one
  network call where the model's batch dimension is dynamic, a call per image otherwise.
- Every failure is a :class:`ServiceError` (HTTP status, a dialect-neutral code, a message fit for
  the client); anything unexpected is logged with its traceback and reaches the client as
  ``internal`` with the request id only.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import functools
import logging
import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from ..errors import DecodeError, Error, InputError
from ..image import DecodedImage, ImageTooLargeError, decode_image
from ..pipeline import CutoutResult
from ..pipeline.memory import available_bytes, estimate_bytes
from ..pipeline.pipeline import BatchItem, run_batch
from ..session import Session
from . import urls
from .config import ServerConfig
from .metrics import Metrics

__all__ = ["CutoutService", "ServiceError", "Submit"]

log = logging.getLogger("alphacut.server")


class ServiceError(Exception):
    """An answer other than success: ``status`` (HTTP), ``code`` (dialect-neutral, see below),
    ``message`` (for the client: no path, traceback or internal name), ``headers``.

    Codes: ``invalid_parameter``, ``invalid_image``, ``missing_source``, ``multiple_sources``,
    ``unsupported_media_type``, ``file_too_large``, ``resolution_too_high``, ``unknown_model``,
    ``url_disabled``, ``url_refused``, ``download_failed``, ``unknown_foreground``,
    ``auth_failed``, ``busy``, ``timeout``, ``not_found``, ``method_not_allowed``, ``internal``.
    A dialect may raise its own codes (``field`` names the parameter at fault, when one is)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = int(status)
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-]+){2,}")


def client_message(msg: str, limit: int = 300) -> str:
    """A library message made safe for a client: file paths removed, one line, bounded."""
    msg = _PATH.sub("<path>", str(msg).strip().splitlines()[0] if str(msg).strip() else "")
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"


def bad(message: str, field: Optional[str] = None, code: str = "invalid_parameter") -> ServiceError:
    """A 400 for a parameter a client can fix."""
    return ServiceError(400, code, message, field=field)


class _Job:
    __slots__ = ("item", "future", "t0")

    def __init__(self, item: BatchItem, future: asyncio.Future[Any]) -> None:
        self.item = item
        self.future = future
        self.t0 = time.monotonic()


class _Batcher:
    """The queue of one model: forms batches of up to ``max_batch`` images arriving within
    ``batch_wait_ms`` and runs each in an inference thread when one is free."""

    def __init__(self, service: CutoutService, model: str) -> None:
        self.service = service
        self.model = model
        self.pending: Deque[_Job] = collections.deque()
        self.wake = asyncio.Event()
        self.task: Optional[asyncio.Task[None]] = None
        self.running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._loop(), name=f"alphacut-batcher-{self.model}")

    async def submit(self, item: BatchItem) -> CutoutResult:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        job = _Job(item, fut)
        self.pending.append(job)
        self._gauge()
        self.wake.set()
        try:
            return await fut
        finally:
            if not fut.done():  # the request timed out or went away while it waited
                fut.cancel()
            with contextlib.suppress(ValueError):
                self.pending.remove(job)
            self._gauge()

    def _gauge(self) -> None:
        self.service.metrics.queue_depth.labels(self.model).set(len(self.pending))

    async def _loop(self) -> None:
        cfg = self.service.config
        slots = self.service.slots
        while True:
            while not self.pending:
                self.wake.clear()
                await self.wake.wait()
            # A free inference thread first (shared by every model: a batcher never holds one while
            # it has nothing to run); the images arriving meanwhile join the batch.
            await slots.acquire()
            try:
                jobs: List[_Job] = []
                if self.pending:
                    deadline = self.pending[0].t0 + cfg.batch_wait_ms / 1000.0
                    while len(self.pending) < cfg.max_batch:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self.wake.clear()
                        try:
                            await asyncio.wait_for(self.wake.wait(), left)
                        except asyncio.TimeoutError:
                            break
                    while self.pending and len(jobs) < cfg.max_batch:
                        job = self.pending.popleft()
                        if not job.future.done():
                            jobs.append(job)
                    self._gauge()
            except BaseException:
                slots.release()
                raise
            if not jobs:
                slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._run(jobs))
            self.running.add(task)
            task.add_done_callback(self.running.discard)

    async def _run(self, jobs: List[_Job]) -> None:
        svc = self.service
        try:
            results = await svc.run_batch([(self.model, j.item) for j in jobs])
            for job, res in zip(jobs, results):
                if job.future.done():
                    continue
                if isinstance(res, BaseException):
                    job.future.set_exception(res)
                else:
                    job.future.set_result(res)
        except BaseException as exc:  # the executor is shutting down, or a bug: every waiter hears of it
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            if not isinstance(exc, Exception):
                raise
        finally:
            svc.slots.release()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)


class _MemoryHold:
    """The memory one request has reserved (bytes), released when it ends."""

    __slots__ = ("bytes",)

    def __init__(self, n: int = 0) -> None:
        self.bytes = n


_REQUEST_MEMORY: contextvars.ContextVar[_MemoryHold] = contextvars.ContextVar("alphacut_request_memory")


def _memory_budget(config: ServerConfig) -> Optional[int]:
    if config.max_memory_mb is not None:
        return int(config.max_memory_mb * 1e6)
    avail = available_bytes()
    return None if avail is None else int(avail * 0.8)


#: ``submit(model, item)``: run one image through the network in a batch formed elsewhere (Ray
#: Serve's ``@serve.batch`` in :mod:`alphacut.server.ray`), answering its :class:`CutoutResult`.
Submit = Callable[[str, BatchItem], Awaitable[CutoutResult]]


class CutoutService:
    """Sessions, the batching queues and the limits of one server (see the module docstring).

    Lifecycle: :meth:`load` (blocking: builds the sessions), :meth:`start` (in the event loop:
    the batchers), :meth:`stop` (waits for the batches in flight).

    ``submit``: where the images go instead of the service's own batching queues (one per model);
    whoever forms the batches runs them with :meth:`run_batch`. ``replica``: what identifies this
    process among several serving the same app (shown by ``/readyz`` and in ``/metrics``)."""

    def __init__(
        self,
        config: ServerConfig,
        metrics: Optional[Metrics] = None,
        *,
        submit: Optional[Submit] = None,
        replica: Optional[Dict[str, str]] = None,
    ) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self.submit = submit
        self.replica: Dict[str, str] = dict(replica or {})
        self.sessions: Dict[str, Session] = {}
        self.ready = False
        self.draining = False
        self.in_flight = 0
        self._lock = threading.Lock()
        self._batchers: Dict[str, _Batcher] = {}
        self.infer_pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="alphacut-infer")
        self.work_pool = ThreadPoolExecutor(max_workers=max(2, config.workers + 1), thread_name_prefix="alphacut-work")
        self.url_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alphacut-url")
        self.slots: asyncio.Semaphore
        self.url_policy = urls.UrlPolicy(
            max_bytes=config.max_upload_bytes,
            timeout_s=config.url_timeout_s,
            test_endpoints=frozenset(config._url_test_endpoints),
        )
        self._recent_ms: Deque[float] = collections.deque(maxlen=64)
        self.memory_budget = _memory_budget(config)
        self.memory_reserved = 0
        if self.memory_budget is not None:
            self.metrics.memory_budget.set(self.memory_budget)
        self._memory_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------
    def load(self) -> None:
        """Create one session per configured model (the slow part of start-up)."""
        cfg = self.config
        for spec, name in zip(cfg.models, cfg.model_names):
            with self._lock:
                if name in self.sessions:
                    continue
            s = Session(
                spec,
                runtime=cfg.runtime,
                precision=cfg.precision,
                backend=cfg.backend,
                model_path=cfg.model_paths.get(name),
                threads=cfg.threads,
            )
            s.runtime.activate()
            with self._lock:
                self.sessions[name] = s
            self.metrics.engine.labels(name, s.runtime_name, s.backend, self.replica.get("id", "")).set(1)
            log.info("model %s loaded (%s, %s)", name, s.runtime_name, s.backend)

    def engines(self) -> Dict[str, Dict[str, str]]:
        """Per loaded model, the runtime that runs its network and the backend of the kernels after it."""
        return {name: {"runtime": s.runtime_name, "backend": s.backend} for name, s in self.sessions.items()}

    async def start(self) -> None:
        self.slots = asyncio.Semaphore(self.config.workers)
        for name in self.sessions if self.submit is None else ():
            b = self._batchers[name] = _Batcher(self, name)
            b.start()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        self.draining = True
        for b in self._batchers.values():
            await b.stop()
        for pool in (self.infer_pool, self.work_pool, self.url_pool):
            pool.shutdown(wait=True, cancel_futures=True)
        log.info("engine stopped (requests in flight at the end: %d)", self.in_flight)

    # -- models ------------------------------------------------------------------------------------
    @property
    def model_names(self) -> List[str]:
        return list(self.sessions)

    @property
    def default_model(self) -> str:
        return self.config.model_names[0]

    def session(self, model: Optional[str] = None) -> Session:
        name = self.default_model if model is None else model
        s = self.sessions.get(name)
        if s is None:
            raise ServiceError(
                400,
                "unknown_model",
                f"model {name!r} is not loaded on this server; loaded: {', '.join(self.sessions)}",
                field="model",
            )
        return s

    # -- admission -------------------------------------------------------------------------------
    def retry_after(self) -> int:
        """Seconds a refused client should wait: about one mean request time."""
        mean = sum(self._recent_ms) / len(self._recent_ms) if self._recent_ms else 1000.0
        return max(1, min(60, math.ceil(mean / 1000.0)))

    @contextlib.asynccontextmanager
    async def admit(self):
        """Hold one of the ``capacity`` cutout slots for a request, or raise ``busy`` (503)."""
        if self.draining or not self.ready:
            raise ServiceError(
                503, "busy", "the server is starting or shutting down; retry shortly", headers={"Retry-After": "1"}
            )
        if self.in_flight >= self.config.capacity:
            raise ServiceError(
                503,
                "busy",
                f"the server is at capacity ({self.config.capacity} requests); retry after the time in Retry-After",
                headers={"Retry-After": str(self.retry_after())},
            )
        self.in_flight += 1
        self.metrics.in_flight.set(self.in_flight)
        t0 = time.perf_counter()
        held = _MemoryHold()
        token = _REQUEST_MEMORY.set(held)
        try:
            yield
        finally:
            _REQUEST_MEMORY.reset(token)
            self._release(held)
            self.in_flight -= 1
            self.metrics.in_flight.set(self.in_flight)
            self._recent_ms.append((time.perf_counter() - t0) * 1000.0)

    # -- work ----------------------------------------------------------------------------------------
    async def run_batch(self, jobs: Sequence[Tuple[str, BatchItem]]) -> List[Any]:
        """One batch of ``(model, item)`` through :func:`~alphacut.pipeline.pipeline.run_batch` in an
        inference thread: the result, or the exception, of each image in order; the batch size and
        the stage times go to the metrics."""
        for model, n in collections.Counter(m for m, _ in jobs).items():
            self.metrics.batch_size.labels(model).observe(n)
        items = [item for _, item in jobs]
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(
            self.infer_pool, functools.partial(run_batch, items, return_exceptions=True)
        )
        for res in results:
            if not isinstance(res, BaseException):
                self.metrics.observe_stages(res.timings)
        return results

    async def compute(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        """``fn(*args, **kwargs)`` in the work pool (encoding, compositing: CPU work off the loop).
        alphacut errors become 400s; anything else is re-raised (a bug: 500)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.work_pool, functools.partial(fn, *args, **kwargs))
        except ServiceError:
            raise
        except Error as exc:
            raise as_service_error(exc) from None

    async def decode(self, data: bytes, what: str = "image") -> DecodedImage:
        """Decode uploaded bytes with the server's limits: 413 above ``max_upload_mb`` or
        ``max_pixels`` (checked from the header, before decoding), 400 for what is not an image."""
        if len(data) > self.config.max_upload_bytes:
            raise ServiceError(
                413,
                "file_too_large",
                f"{what}: {len(data):,} bytes, above the limit of {self.config.max_upload_bytes:,}",
                field=what,
            )
        if not data:
            raise ServiceError(400, "invalid_image", f"{what}: the upload is empty", field=what)
        t0 = time.perf_counter()
        try:
            check = functools.partial(self._reserve, _REQUEST_MEMORY.get(None), what)
            d = await self.compute(decode_image, data, max_pixels=self.config.max_pixels, check=check)
        except ServiceError as exc:
            exc.field = exc.field or what
            exc.message = exc.message.replace(f"<{len(data)} bytes>", what)
            raise
        d.info["decode_ms"] = (time.perf_counter() - t0) * 1000.0  # the run's timings start with it
        return d

    def _reserve(self, held: Optional[_MemoryHold], what: str, height: int, width: int) -> None:
        """The memory check of :meth:`decode`, from the header (in a work thread): the image's
        estimate against the budget (413), then against what the requests in flight hold (503);
        the reservation is held by the request until :meth:`admit` ends."""
        if self.memory_budget is None:
            return
        alone = estimate_bytes(height, width)
        if alone > self.memory_budget:
            raise ServiceError(
                413,
                "resolution_too_high",
                f"{what}: a {width}x{height} image needs about {alone / 1e6:,.0f} MB to cut out, above this "
                f"server's memory budget of {self.memory_budget / 1e6:,.0f} MB",
                field=what,
            )
        need = estimate_bytes(height, width, base=False)  # the working memory that does not grow is shared
        with self._memory_lock:
            if self.memory_reserved + need > self.memory_budget - (alone - need):
                raise ServiceError(
                    503,
                    "busy",
                    f"{what}: the server's memory is taken by the requests in flight "
                    f"({self.memory_reserved / 1e6:,.0f} of {self.memory_budget / 1e6:,.0f} MB); retry after the "
                    "time in Retry-After",
                    headers={"Retry-After": str(self.retry_after())},
                )
            self.memory_reserved += need
            self.metrics.memory_reserved.set(self.memory_reserved)
            if held is not None:
                held.bytes += need
                return
        self._release(_MemoryHold(need))  # decoded outside a request: nothing holds it

    def _release(self, held: _MemoryHold) -> None:
        if held.bytes:
            with self._memory_lock:
                self.memory_reserved -= held.bytes
                held.bytes = 0
                self.metrics.memory_reserved.set(self.memory_reserved)

    async def fetch(self, url: str, what: str = "image_url") -> bytes:
        """Download a URL input (when ``allow_url``) through the SSRF-safe fetcher."""
        if not self.config.allow_url:
            raise ServiceError(
                400,
                "url_disabled",
                f"{what}: URL inputs are disabled on this server (it was "
                "started without --allow-url); upload the image instead",
                field=what,
            )
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.url_pool, functools.partial(urls.fetch, url, self.url_policy))
        except urls.UrlRefused as exc:
            raise ServiceError(400, "url_refused", f"{what}: {exc}", field=what) from None
        except urls.UrlFetchError as exc:
            raise ServiceError(
                400, "download_failed", f"{what}: failed to download the image: {exc}", field=what
            ) from None

    async def cutout(self, model: str, item: BatchItem, decoded: Optional[DecodedImage] = None) -> CutoutResult:
        """Run one image through its model's batching queue (the ``decoded`` image's decode time
        first in its timings)."""
        if decoded is not None and "decode_ms" in decoded.info:
            item.timings = {"decode": decoded.info["decode_ms"], **(item.timings or {})}
        b = self._batchers.get(model)
        if b is None and (self.submit is None or not self.ready):
            self.session(model)  # the 400 naming the loaded models
            raise ServiceError(503, "busy", "the server is starting; retry shortly", headers={"Retry-After": "1"})
        try:
            if b is not None:
                return await b.submit(item)
            assert self.submit is not None
            self.session(model)
            return await self.submit(model, item)
        except ServiceError:
            raise
        except Error as exc:
            raise as_service_error(exc) from None


def as_service_error(exc: Error) -> ServiceError:
    """The answer for an alphacut error a client caused (a bad image, a bad option)."""
    if isinstance(exc, ImageTooLargeError):
        return ServiceError(413, "resolution_too_high", client_message(str(exc)))
    if isinstance(exc, DecodeError):
        return ServiceError(400, "invalid_image", client_message(str(exc)))
    if isinstance(exc, InputError):
        return ServiceError(400, "invalid_parameter", client_message(str(exc)))
    # ModelError, BackendUnavailableError...: the server's own trouble, not the client's
    log.error("engine error: %s", exc)
    return ServiceError(500, "internal", "the engine failed on this request; the server log has the details")
