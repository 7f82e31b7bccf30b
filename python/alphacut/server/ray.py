"""alphacut on Ray Serve: the server of ``alphacut serve`` as a Ray Serve application, so that one
HTTP endpoint runs on many replicas across a laptop, a VM fleet or Kubernetes (KubeRay) unchanged.
Needs the ``ray`` extra (``pip install "alphacut[ray]"``: ``ray[serve]``).

- The ingress of each replica is :func:`alphacut.server.app.create_app` on the replica's own
  :class:`~alphacut.server.service.CutoutService`: every route, dialect and error answer is the
  single-process server's.
- A replica is one process holding one set of sessions, loaded once when it starts. The images for
  the network are batched by Ray Serve's ``@serve.batch`` (``max_batch`` and ``batch_wait_ms`` of
  the :class:`ServerConfig`; ``workers`` batches at once) and each batch runs through
  :meth:`CutoutService.run_batch`, the service's own batching queue being left out.
- Placement: a replica asks Ray for ``cpus_per_replica`` CPUs and ``gpus_per_replica`` GPUs (a
  fraction shares a GPU). ``runtime="auto"`` / ``backend="auto"`` (the defaults here) are decided
  in each replica by :func:`choose_engine`: TensorRT and the CUDA kernels where Ray gave the
  replica a GPU and they can run, ONNX Runtime and the CPU kernels elsewhere. ``/readyz`` and
  ``/metrics`` (``alphacut_engine``) say what each replica chose.
- Health: Ray calls :meth:`AlphacutDeployment.check_health` every ``health_check_period_s``; a
  replica that fails it, or whose process dies, is replaced by a new one.

Entry points: :func:`build` (an application for ``serve.run``), :func:`app` (the builder that
``serve run alphacut.server.ray:app key=value ...`` and Serve config files such as
``deploy/ray-serve.yaml`` import) and :func:`serve_on_ray` (``alphacut serve --ray``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import math
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import Error, InputError
from .config import ServerConfig

# The module imports without Ray (its decisions and the proxy middleware need none); what runs
# on Ray asks for it with the extra's name (:func:`require_ray`).
HAVE_RAY = importlib.util.find_spec("ray") is not None and importlib.util.find_spec("ray.serve") is not None
if HAVE_RAY:
    import ray
    from ray import serve


def require_ray() -> None:
    """Raise :class:`alphacut.Error` naming the ``ray`` extra when Ray Serve is not installed."""
    if not HAVE_RAY:
        raise Error('alphacut on Ray Serve needs ray[serve]: pip install "alphacut[ray]"')


__all__ = [
    "APP_NAME",
    "DEPLOYMENT_NAME",
    "PROXY_CALLBACK",
    "PROXY_CALLBACK_ENV",
    "ReplicaLost",
    "RayOptions",
    "app",
    "build",
    "choose_engine",
    "deployment_options",
    "parse_autoscale",
    "proxy_middlewares",
    "replica_config",
    "require_ray",
    "serve_on_ray",
]
if HAVE_RAY:
    __all__.append("AlphacutDeployment")

log = logging.getLogger("alphacut.server")

APP_NAME = "alphacut"
DEPLOYMENT_NAME = "alphacut"


# -- decisions (pure functions: what a replica asks for and what it runs) --------------------------


@dataclass(frozen=True)
class RayOptions:
    """How the application is spread over the cluster.

    replicas : a fixed number of replicas (ignored when ``autoscale`` is set).
    autoscale : ``(min, max)`` replicas; Ray adds one when the requests held per replica pass
        ``workers × max_batch`` and removes idle ones down to ``min``.
    gpus_per_replica : GPUs each replica reserves (0: a CPU replica; 0.5: two share a GPU).
    cpus_per_replica : CPUs each replica reserves (also its ONNX Runtime threads when
        ``threads`` is not set, and its native ops' threads unless ``ALPHACUT_NUM_THREADS`` is set).
    """

    replicas: int = 1
    autoscale: Optional[Tuple[int, int]] = None
    gpus_per_replica: float = 0.0
    cpus_per_replica: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.replicas, bool) or not isinstance(self.replicas, int) or self.replicas < 1:
            raise InputError(f"replicas must be an integer >= 1, got {self.replicas!r}")
        if self.autoscale is not None:
            lo, hi = self.autoscale
            if not (isinstance(lo, int) and isinstance(hi, int)) or lo < 0 or hi < 1 or lo > hi:
                raise InputError(f"autoscale must be MIN:MAX with 0 <= MIN <= MAX and MAX >= 1, got {lo}:{hi}")
        for name in ("gpus_per_replica", "cpus_per_replica"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InputError(f"{name} must be a number >= 0, got {v!r}")
        g = self.gpus_per_replica
        if g > 1 and g != int(g):
            raise InputError(f"gpus_per_replica above 1 must be a whole number of GPUs, got {g!r}")


def parse_autoscale(text: str) -> Tuple[int, int]:
    """``"MIN:MAX"`` → ``(min, max)``, or :class:`InputError`."""
    parts = str(text).split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = int(parts[0]), int(parts[1])
    except ValueError:
        raise InputError(f"autoscale must be MIN:MAX (e.g. 1:4), got {text!r}") from None
    return lo, hi


def deployment_options(config: ServerConfig, options: RayOptions) -> Dict[str, Any]:
    """The Ray Serve deployment options of the application: resources per replica, replica count or
    autoscaling, queue bounds and health checks (a Serve config file may override any of them)."""
    actor: Dict[str, Any] = {"num_cpus": options.cpus_per_replica}
    if options.gpus_per_replica > 0:
        actor["num_gpus"] = options.gpus_per_replica
    held = config.workers * config.max_batch
    out: Dict[str, Any] = {
        "ray_actor_options": actor,
        # A replica is sent at most what it admits itself; Ray's router holds ``queue`` more
        # (per proxy) and answers 503 past that.
        "max_ongoing_requests": config.capacity,
        "max_queued_requests": max(1, config.queue),
        "health_check_period_s": 10.0,
        "health_check_timeout_s": 30.0,
        "graceful_shutdown_timeout_s": float(config.drain_s),
    }
    if options.autoscale is not None:
        lo, hi = options.autoscale
        out["autoscaling_config"] = {
            "min_replicas": lo,
            "initial_replicas": max(lo, 1),
            "max_replicas": hi,
            "target_ongoing_requests": held,
        }
    else:
        out["num_replicas"] = options.replicas
    return out


def choose_engine(
    runtime: str,
    backend: str,
    *,
    gpu_ids: Sequence[Any],
    tensorrt_reason: Optional[str],
    cuda_reason: Optional[str],
) -> Tuple[str, str]:
    """(runtime, backend) of one replica: ``"auto"`` becomes TensorRT / the CUDA kernels when Ray gave
    the replica a GPU (``gpu_ids``) and they can run there (their ``*_reason`` is None), ONNX
    Runtime / the CPU kernels otherwise. An explicit choice is kept (and fails at load, with the
    reason, on a replica that cannot run it)."""
    on_gpu = len(gpu_ids) > 0
    if runtime == "auto":
        runtime = "tensorrt" if on_gpu and tensorrt_reason is None else "onnxruntime"
    if backend == "auto":
        backend = "cuda" if on_gpu and cuda_reason is None else "cpu"
    return runtime, backend


def replica_config(config: ServerConfig, *, gpu_ids: Sequence[Any], num_cpus: Optional[float]) -> ServerConfig:
    """The configuration one replica runs: its engine chosen (:func:`choose_engine`, with what this
    process can use) and, for the CPU runtime with no ``threads`` set, as many network threads as
    the CPUs the replica reserved (at least one)."""
    from ..device import why_unavailable
    from ..runtime import tensorrt_unavailable_reason

    rt, be = choose_engine(
        config.runtime,
        config.backend,
        gpu_ids=gpu_ids,
        tensorrt_reason=tensorrt_unavailable_reason() if gpu_ids and config.runtime == "auto" else "no GPU",
        cuda_reason=why_unavailable() if gpu_ids and config.backend == "auto" else "no GPU",
    )
    threads = config.threads
    if threads is None and rt == "onnxruntime" and num_cpus is not None:
        threads = max(1, int(num_cpus))
    return dataclasses.replace(config, runtime=rt, backend=be, threads=threads)


# -- the deployment --------------------------------------------------------------------------------


if HAVE_RAY:

    @serve.deployment(name=DEPLOYMENT_NAME)
    @serve.ingress()
    class AlphacutDeployment:
        """One replica: a :class:`CutoutService` with its sessions loaded, behind the FastAPI app of
        ``alphacut serve``; the network calls batched by ``@serve.batch``."""

        def __init__(self, config: ServerConfig) -> None:
            from .service import CutoutService

            ctx = ray.get_runtime_context()
            gpu_ids = [str(g) for g in ray.get_gpu_ids()]
            num_cpus = ctx.get_assigned_resources().get("CPU")
            self.config = replica_config(config, gpu_ids=gpu_ids, num_cpus=num_cpus)
            if num_cpus and not os.environ.get("ALPHACUT_NUM_THREADS"):
                from .. import ops

                ops.set_num_threads(max(1, int(num_cpus)))  # the native ops on the CPUs the replica reserved
            try:
                replica_id = serve.get_replica_context().replica_id.unique_id
            except Exception:  # noqa: BLE001 - outside Serve (a unit test): no replica id
                replica_id = ""
            cfg = self.config
            # @serve.batch on a function made here, so that the batch size and wait are the config's
            # (and ``workers`` batches run at once, as the single-process server's inference threads).
            self._submit = serve.batch(
                max_batch_size=cfg.max_batch,
                batch_wait_timeout_s=cfg.batch_wait_ms / 1000.0,
                max_concurrent_batches=cfg.workers,
            )(self._run_batch)
            self.service = CutoutService(
                cfg,
                submit=self._submit_one,
                replica={
                    "id": replica_id,
                    "node": ctx.get_node_id(),
                    "pid": str(os.getpid()),
                    "gpus": ",".join(gpu_ids),
                },
            )
            self.service.load()  # before the replica is reported up: a missing model fails the replica here
            log.info("replica %s (pid %d): %s", replica_id, os.getpid(), self.service.engines())

        async def _submit_one(self, model: str, item: Any) -> Any:
            res = await self._submit((model, item))
            if isinstance(res, BaseException):
                raise res
            return res

        async def _run_batch(self, jobs: List[Tuple[str, Any]]) -> List[Any]:
            return await self.service.run_batch(jobs)

        def __serve_build_asgi_app__(self):
            from .app import create_app

            return create_app(self.config, service=self.service)

        def check_health(self) -> None:
            """Ray's health check: the models are loaded and the inference threads take work; raising
            makes Ray replace the replica."""
            svc = self.service
            if set(svc.sessions) != set(self.config.model_names):
                raise RuntimeError(f"models loaded: {sorted(svc.sessions)}, expected {self.config.model_names}")
            if getattr(svc.infer_pool, "_shutdown", False):
                raise RuntimeError("the inference threads are shut down")


def build(config: Optional[ServerConfig] = None, options: Optional[RayOptions] = None):
    """The Ray Serve application of ``config`` (default ``runtime`` and ``backend`` "auto"), for
    ``serve.run(build(...))``."""
    require_ray()
    config = config or ServerConfig(runtime="auto", backend="auto")
    options = options or RayOptions()
    deployment: Any = AlphacutDeployment  # a serve.Deployment (the decorators' types hide it)
    return deployment.options(**deployment_options(config, options)).bind(config)


_RAY_KEYS = ("replicas", "autoscale", "gpus_per_replica", "cpus_per_replica")


def _coerce(name: str, value: Any, default: Any) -> Any:
    """A value given as text on ``serve run``'s command line, to the type of the field's default."""
    if not isinstance(value, str) or isinstance(default, str):
        return list(value) if isinstance(value, (list, tuple)) and isinstance(default, tuple) else value
    if isinstance(default, bool):
        low = value.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise InputError(f"{name} must be true or false, got {value!r}")
    if isinstance(default, tuple):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(default, dict):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InputError(f'{name} must be a JSON object (e.g. {{"u2netp": "/models/u2netp.onnx"}}), got {value!r}')
        return parsed
    try:
        if isinstance(default, int) or name in ("replicas", "threads"):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        raise InputError(f"{name} must be a number, got {value!r}") from None
    return value


def app(args: Dict[str, Any]):
    """The application builder for ``serve run alphacut.server.ray:app [key=value ...]`` and for the
    ``args:`` of a Serve config file: any :class:`ServerConfig` field (``models`` as a list or
    comma-separated) and ``replicas``, ``autoscale`` ("MIN:MAX"), ``gpus_per_replica``,
    ``cpus_per_replica``. ``runtime`` and ``backend`` default to "auto"."""
    args = dict(args or {})
    defaults = {f.name: getattr(ServerConfig(), f.name) for f in dataclasses.fields(ServerConfig)}
    ray_defaults = dataclasses.asdict(RayOptions())
    unknown = sorted(k for k in args if k not in _RAY_KEYS and (k not in defaults or k.startswith("_")))
    if unknown:
        raise InputError(
            f"unknown argument(s) {', '.join(unknown)}; known: {', '.join(ServerConfig.field_names()[:-1])}, {', '.join(_RAY_KEYS)}"
        )
    ray_args: Dict[str, Any] = {}
    for k in _RAY_KEYS:
        if k in args:
            v = args.pop(k)
            if k == "autoscale":
                v = parse_autoscale(v) if isinstance(v, str) else (tuple(v) if v is not None else None)
            else:
                v = _coerce(k, v, ray_defaults[k])
            ray_args[k] = v
    fields = {k: _coerce(k, v, defaults[k]) for k, v in args.items()}
    if isinstance(fields.get("models"), list):
        fields["models"] = tuple(fields["models"])
    fields.setdefault("runtime", "auto")
    fields.setdefault("backend", "auto")
    return build(ServerConfig(**fields), RayOptions(**ray_args))


# -- Ray Serve's HTTP proxy ------------------------------------------------------------------------

#: The environment variable that makes Ray Serve's HTTP proxies load :func:`proxy_middlewares`; it
#: must be set where the proxies start (``ray start``, or the driver that starts a local cluster).
PROXY_CALLBACK_ENV = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
PROXY_CALLBACK = "alphacut.server.ray:proxy_middlewares"


class ReplicaLost:
    """ASGI middleware for Ray Serve's HTTP proxy: a request whose replica went away before it
    answered (its process killed, its node lost: the proxy would close with a bare 500) is answered
    503 ``busy`` with ``Retry-After: 1``, in the dialect of its route, so that clients retry it; Ray
    sends the retry to a live replica."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_(msg) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, receive, send_)
        except Exception:  # noqa: BLE001 - answered below when nothing was sent yet
            if started:
                raise
            log.warning("request %s failed in the proxy before an answer", scope.get("path"), exc_info=True)
        if started:
            return
        from .app import render_error
        from .service import ServiceError

        rid = ""
        for k, v in scope.get("headers", ()):
            if k == b"x-request-id":
                rid = v.decode("latin-1")[:64]
        err = ServiceError(
            503,
            "busy",
            "the replica serving this request stopped before answering; retry after the time in Retry-After",
            headers={"Retry-After": "1"},
        )
        await render_error(scope["path"], err, rid)(scope, receive, send)


def proxy_middlewares() -> List[Any]:
    """The middlewares Ray Serve's HTTP proxy loads through ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH
    =alphacut.server.ray:proxy_middlewares``: :class:`ReplicaLost`."""
    from starlette.middleware import Middleware

    return [Middleware(ReplicaLost)]


# -- alphacut serve --ray ------------------------------------------------------------------------


def serve_on_ray(config: ServerConfig, options: RayOptions, *, address: Optional[str] = None) -> int:
    """Start a local Ray cluster (or join the one at ``address``: ``auto``, ``ray://host:10001``),
    deploy the application with Serve's HTTP proxy on ``config.host:config.port`` and serve until
    SIGTERM/SIGINT; then remove the application (and stop the local cluster this call started)."""
    require_ray()
    config.api_keys()  # an unreadable key file is reported before anything starts
    stop = threading.Event()
    started_here = address is None and not ray.is_initialized()
    if started_here:  # the proxies of the cluster started here load it; joined clusters set it at `ray start`
        os.environ.setdefault(PROXY_CALLBACK_ENV, PROXY_CALLBACK)
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
    # After ray.init, whose own handler would abort the process on SIGTERM: stop cleanly instead.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve.start(http_options={"host": config.host, "port": config.port})
        serve.run(build(config, options), name=APP_NAME, route_prefix="/", blocking=False)
        log.info(
            "serving %s on http://%s:%d through Ray Serve (%s)",
            ", ".join(config.model_names),
            config.host,
            config.port,
            f"autoscaling {options.autoscale[0]}..{options.autoscale[1]} replicas"
            if options.autoscale
            else f"{options.replicas} replica(s)",
        )
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        try:
            if started_here:
                serve.shutdown()
            else:
                serve.delete(APP_NAME)
        finally:
            if started_here:
                ray.shutdown()
