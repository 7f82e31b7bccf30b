"""The ASGI app: :func:`create_app` puts the three dialects (rembg, remove.bg, alphacut's own) on
one :class:`~alphacut.server.service.CutoutService`.

Around every request (:class:`Frontdoor`): a request id (``X-Request-Id``, the client's when it
sends a sane one), the API key check (``--api-key-file``: every route needs ``X-Api-Key``,
compared in constant time), the body size limit (413 from ``Content-Length`` before reading, or
while reading), the per-request timeout (504), one log line (id, route, status, ms, bytes in and
out) and the request metrics. Every error is rendered in the dialect of the route's path; an
unexpected exception is logged with its traceback and answered as a 500 with the request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import time
import uuid
from typing import FrozenSet, List, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from . import native, rembg, removebg
from .config import ServerConfig
from .metrics import Metrics
from .service import CutoutService, ServiceError, client_message

__all__ = ["create_app", "render_error"]

log = logging.getLogger("alphacut.server")
access_log = logging.getLogger("alphacut.server.access")

_DIALECTS = ((rembg.PREFIX, rembg.render_error), (removebg.PREFIX, removebg.render_error))
_RID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_HTTP_CODES = {
    400: "invalid_parameter",
    401: "auth_failed",
    403: "auth_failed",
    404: "not_found",
    405: "method_not_allowed",
    413: "file_too_large",
    415: "unsupported_media_type",
}


def render_error(path: str, err: ServiceError, request_id: str):
    """The error response in the dialect of ``path``: rembg's under /api/, remove.bg's under
    /v1.0/, alphacut's elsewhere."""
    for prefix, render in _DIALECTS:
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return render(err, request_id)
    return native.render_error(err, request_id)


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


class Frontdoor:
    """Pure ASGI middleware: request id, API key, body limit, timeout, log line, metrics."""

    def __init__(self, app, *, config: ServerConfig, keys: List[bytes], metrics: Metrics, routes: FrozenSet[str]):
        self.app = app
        self.config = config
        self.keys = [_digest(k) for k in keys]
        self.metrics = metrics
        self.routes = routes

    def _auth_error(self, scope) -> Optional[ServiceError]:
        if not self.keys or scope.get("method") == "OPTIONS":  # CORS preflights carry no custom header
            return None
        given = None
        for k, v in scope.get("headers", ()):
            if k == b"x-api-key":
                given = v
        if given is None:
            return ServiceError(403, "auth_failed", "Missing API Key: send it in the X-Api-Key header")
        d = _digest(given)
        ok = False
        for key in self.keys:  # no early exit: the time does not depend on which key matched
            ok |= hmac.compare_digest(d, key)
        return None if ok else ServiceError(403, "auth_failed", "API Key invalid")

    async def _respond(self, scope, send, err: ServiceError, rid: str) -> None:
        scope.setdefault("state", {})["error_code"] = err.code
        response = render_error(scope["path"], err, rid)
        await response(scope, None, send)

    @staticmethod
    async def _discard_body(receive, cap: int, seconds: float = 5.0) -> None:
        """Read and drop a refused body (up to ``cap`` bytes, a few seconds), so the client reads
        the answer instead of a reset connection."""
        seen = 0
        deadline = time.monotonic() + seconds
        with contextlib.suppress(Exception):
            while seen <= cap and time.monotonic() < deadline:
                msg = await asyncio.wait_for(receive(), max(0.01, deadline - time.monotonic()))
                if msg["type"] != "http.request":
                    return
                seen += len(msg.get("body", b""))
                if not msg.get("more_body"):
                    return

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        raw_rid = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = raw_rid if _RID.match(raw_rid) else uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        path = scope["path"]
        route = path if path in self.routes else "other"
        limit = self.config.max_body_bytes
        t0 = time.perf_counter()
        st = {"started": False, "status": 500, "in": 0, "out": 0}

        async def send_(msg) -> None:
            if msg["type"] == "http.response.start":
                st["started"] = True
                st["status"] = msg["status"]
                hs = [h for h in msg.get("headers", []) if h[0].lower() != b"x-request-id"]
                hs.append((b"x-request-id", rid.encode("latin-1")))
                msg = {**msg, "headers": hs}
            elif msg["type"] == "http.response.body":
                st["out"] += len(msg.get("body", b""))
            await send(msg)

        async def receive_():
            msg = await receive()
            if msg["type"] == "http.request":
                st["in"] += len(msg.get("body", b""))
                if st["in"] > limit:
                    raise ServiceError(413, "file_too_large", f"the request body is above the limit of {limit:,} bytes")
            return msg

        try:
            err = self._auth_error(scope)
            if err is None:
                declared = headers.get(b"content-length", b"").strip()
                if declared.isdigit() and int(declared) > limit:
                    err = ServiceError(
                        413,
                        "file_too_large",
                        f"the request body ({int(declared):,} bytes) is above the limit of {limit:,} bytes",
                    )
                    await self._discard_body(receive, 64 * limit)
            if err is not None:
                await self._respond(scope, send_, err, rid)
            else:
                await asyncio.wait_for(self.app(scope, receive_, send_), self.config.timeout_s)
        except asyncio.TimeoutError:
            if not st["started"]:
                await self._respond(
                    scope,
                    send_,
                    ServiceError(
                        504,
                        "timeout",
                        f"the request took longer than the server's limit of {self.config.timeout_s:g} s",
                    ),
                    rid,
                )
        except ServiceError as exc:
            if not st["started"]:
                await self._respond(scope, send_, exc, rid)
        except Exception:  # noqa: BLE001 - a bug: logged in full, the client gets the request id only
            log.exception("request %s %s failed", rid, path)
            if not st["started"]:
                await self._respond(
                    scope,
                    send_,
                    ServiceError(500, "internal", f"internal error; the server log has the details (request {rid})"),
                    rid,
                )
        finally:
            secs = time.perf_counter() - t0
            status = st["status"]
            code = state.get("error_code")
            if status >= 400 and code:
                self.metrics.errors.labels(route, code).inc()
            self.metrics.observe_request(route, status, secs, st["in"], st["out"])
            access_log.info(
                "rid=%s %s %s status=%d ms=%.1f in=%d out=%d%s",
                rid,
                scope.get("method"),
                route,
                status,
                secs * 1000.0,
                st["in"],
                st["out"],
                f" error={code}" if code else "",
            )


def create_app(config: Optional[ServerConfig] = None, *, service: Optional[CutoutService] = None) -> FastAPI:
    """The server as an ASGI app (FastAPI), for ``uvicorn``, tests, or a deployment that wraps it
    (Ray Serve's ``@serve.ingress``).

    Parameters
    ----------
    config : ServerConfig, optional
        Default ``ServerConfig()``.
    service : CutoutService, optional
        One built (and perhaps loaded) already; default a new one for ``config``.

    The models are loaded when the app starts (its lifespan), unless ``service.load()`` ran
    before; ``/readyz`` answers 200 once they are.

    Examples
    --------
    >>> from alphacut.server import ServerConfig, create_app
    >>> app = create_app(ServerConfig(models=("u2netp",), max_batch=4))   # doctest: +SKIP
    >>> import uvicorn; uvicorn.run(app, host="127.0.0.1", port=7000)      # doctest: +SKIP
    """
    config = config or ServerConfig()
    keys = config.api_keys()
    svc = service or CutoutService(config)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await asyncio.get_running_loop().run_in_executor(None, svc.load)
        await svc.start()
        try:
            yield
        finally:
            await svc.stop()

    app = FastAPI(
        title="alphacut",
        version=__version__,
        lifespan=lifespan,
        description="Background removal: rembg's and remove.bg's HTTP dialects and alphacut's own, on one engine.",
    )
    app.state.service = svc
    app.state.config = config
    for module in (rembg, removebg, native):
        app.include_router(module.router)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError):
        request.state.error_code = exc.code
        return render_error(request.url.path, exc, request.state.request_id)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        err = ServiceError(
            exc.status_code,
            _HTTP_CODES.get(exc.status_code, "error"),
            client_message(exc.detail) if isinstance(exc.detail, str) else "error",
            headers=dict(exc.headers or {}),
        )
        request.state.error_code = err.code
        return render_error(request.url.path, err, getattr(request.state, "request_id", ""))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ())[1:])
        err = ServiceError(400, "invalid_parameter", f"{where or 'request'}: {first.get('msg', 'invalid')}")
        request.state.error_code = err.code
        return render_error(request.url.path, err, getattr(request.state, "request_id", ""))

    if config.cors:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors),
            allow_credentials=False,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=[
                "X-Width",
                "X-Height",
                "X-Type",
                "X-Credits-Charged",
                "X-Foreground-Top",
                "X-Foreground-Left",
                "X-Foreground-Width",
                "X-Foreground-Height",
                "X-Request-Id",
                "Server-Timing",
                "Retry-After",
            ],
        )
    paths = {r.path for m in (rembg, removebg, native) for r in m.router.routes}
    paths |= {p for p in (app.openapi_url, app.docs_url, app.redoc_url) if p}
    app.add_middleware(Frontdoor, config=config, keys=keys, metrics=svc.metrics, routes=frozenset(paths))
    return app
