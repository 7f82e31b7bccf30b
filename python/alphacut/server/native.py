"""alphacut's own dialect: ``POST /v1/cutout``, ``GET /v1/models``, ``/healthz``, ``/readyz``,
``/metrics``.

``POST /v1/cutout`` takes the image as the raw body (any ``image/*`` or
``application/octet-stream``) or as a multipart field ``file`` (or ``image``); query parameters
``model``, ``mode`` (general, product, portrait), ``format`` (png, webp, jpg, mask), ``bg`` (a
colour: ``#rrggbb``, ``r,g,b``) and ``refine`` (bool, default true). The answer is the image with
``X-Width``, ``X-Height``, ``X-Model``, ``X-Batch-Size`` (images that shared the network call)
and ``Server-Timing`` (milliseconds per stage). Errors: ``{"error": {"code", "message",
"request_id"}}``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..errors import Error
from ..image import encode, parse_color
from ..pipeline import MODES
from ..pipeline.pipeline import BatchItem, batch_limit
from ._http import media_type, parse_bool, read_body, read_form, upload_bytes
from .service import CutoutService, ServiceError, bad

__all__ = ["PREFIX", "router", "render_error"]

PREFIX = "/"
router = APIRouter(tags=["alphacut"])

_MEDIA = {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg", "mask": "image/png"}


def render_error(err: ServiceError, request_id: str) -> Response:
    body = {"code": err.code, "message": err.message, "request_id": request_id}
    if err.field:
        body["field"] = err.field
    return JSONResponse({"error": body}, status_code=err.status, headers={**err.headers, "X-Request-Id": request_id})


def _encode(rgba, fmt: str, bg) -> bytes:
    return encode(rgba, fmt, background=bg)


@router.post(
    "/v1/cutout",
    summary="Cut out an image",
    response_class=Response,
    openapi_extra={
        "parameters": [
            {"name": "model", "in": "query", "schema": {"type": "string"}},
            {"name": "mode", "in": "query", "schema": {"type": "string", "enum": list(MODES)}},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(_MEDIA)}},
            {"name": "bg", "in": "query", "schema": {"type": "string"}, "description": "#rrggbb or r,g,b"},
            {"name": "refine", "in": "query", "schema": {"type": "boolean"}},
        ],
        "requestBody": {
            "required": True,
            "content": {
                "image/*": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                },
            },
        },
        "responses": {"200": {"content": {m: {} for m in set(_MEDIA.values())}}},
    },
)
async def cutout(request: Request) -> Response:
    svc: CutoutService = request.app.state.service
    q = request.query_params
    async with svc.admit():
        model = q.get("model") or svc.default_model
        session = svc.session(model)
        mode = q.get("mode") or None
        if mode is not None and mode not in MODES:
            raise bad(f"mode must be one of {', '.join(MODES)}, got {mode[:40]!r}", "mode")
        fmt = (q.get("format") or "png").lower().replace("jpeg", "jpg")
        if fmt not in _MEDIA:
            raise bad(f"format must be one of {', '.join(_MEDIA)}, got {fmt[:40]!r}", "format")
        bg = None
        if q.get("bg"):
            try:
                bg = parse_color(q["bg"])
            except Error as exc:
                raise bad(f"bg: {exc}", "bg") from None
        refine = parse_bool(q["refine"], "refine") if "refine" in q else None
        mt = media_type(request)
        if mt == "multipart/form-data":
            form = await read_form(request, svc.config)
            upload = form.get("file") or form.get("image")
            if upload is None or isinstance(upload, str):
                raise bad("the multipart field 'file' (the image) is missing", "file", code="missing_source")
            data = await upload_bytes(upload, "file", svc.config)
        elif mt.startswith("image/") or mt in ("application/octet-stream", ""):
            data = await read_body(request)
            if not data:
                raise bad(
                    "the request body is empty: send the image as the body or as multipart 'file'",
                    "body",
                    code="missing_source",
                )
        else:
            raise ServiceError(
                415,
                "unsupported_media_type",
                f"send the image as the body (image/*, application/octet-stream) or as multipart 'file', not {mt[:60]}",
            )
        decoded = await svc.decode(data, "image")
        pipe = session.pipeline if mode is None else session.pipeline.with_mode(mode)
        want_fg = fmt != "mask"
        result = await svc.cutout(
            model, BatchItem(pipe, decoded.rgb, refine=refine, foreground=None if want_fg else False), decoded
        )
        body = await svc.compute(_encode, result.rgba, fmt, bg)
    h, w = decoded.rgb.shape[:2]
    timing = ", ".join(f"{k};dur={v:.1f}" for k, v in result.timings.items())
    return Response(
        body,
        media_type=_MEDIA[fmt],
        headers={
            "X-Width": str(w),
            "X-Height": str(h),
            "X-Model": model,
            "X-Batch-Size": str(result.info.get("batch_size", 1)),
            "Server-Timing": timing,
        },
    )


@router.get("/v1/models", summary="The models this server has loaded")
async def models(request: Request) -> JSONResponse:
    svc: CutoutService = request.app.state.service
    out = []
    for name, s in svc.sessions.items():
        spec = s.manifest.input
        out.append(
            {
                "name": name,
                "kind": s.manifest.kind,
                "default": name == svc.default_model,
                "input_size": list(spec.size) if spec.size else None,
                "max_network_batch": batch_limit(s.runtime, spec.name or s.runtime.input_names[0]),
                "runtime": s.runtime_name,
                "backend": s.backend,
            }
        )
    return JSONResponse({"models": out, "default": svc.default_model, "modes": list(MODES)})


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="Readiness: the models are loaded and requests are accepted")
async def readyz(request: Request) -> JSONResponse:
    svc: CutoutService = request.app.state.service
    if svc.ready and not svc.draining:
        body = {"status": "ready", "models": svc.model_names, "engines": svc.engines()}
        if svc.replica:
            body["replica"] = svc.replica
        return JSONResponse(body)
    return JSONResponse({"status": "draining" if svc.draining else "loading"}, status_code=503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    body, ctype = request.app.state.service.metrics.render()
    return Response(body, media_type=ctype)
