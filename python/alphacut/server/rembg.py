"""rembg's HTTP dialect, as ``rembg s`` (rembg 2.0.86) speaks it.

``POST /api/remove``: multipart ``file`` with the form fields ``model, a, af, ab, ae, om, ppm, dc,
vm``; ``bgc`` and ``extras`` stay query parameters. ``GET /api/remove?url=...`` takes every option
as a query parameter. The answer is ``image/png``, made exactly as :func:`alphacut.remove` makes it
from the same bytes and options. Errors are FastAPI's ``{"detail": "..."}``.

Differences from rembg, on purpose: the default model is the server's first model (rembg's,
bria-rmbg, is not one alphacut ships) and a model not loaded is a 400 naming the loaded ones;
malformed values are 400s (rembg answers 422, or 500 for ``bgc``/``model`` values it cannot use);
``extras`` must be a JSON object with keys this server accepts (``putalpha``) instead of being
handed to the session (models and their files are chosen at start-up, not by clients); ``ae`` is
at most 10000; ``vm`` (ViTMatte) is refused.
"""

from __future__ import annotations

import json
from typing import Dict, Mapping, Optional, Tuple

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..compat.rembg import RemoveOptions, remove_finish, remove_item
from ..errors import Error
from ..image import encode_png
from ._http import media_type, parse_bool, parse_int, read_form, upload_bytes
from .service import CutoutService, ServiceError, as_service_error, bad

__all__ = ["PREFIX", "router", "render_error"]

PREFIX = "/api/"
FIELDS = ("model", "a", "af", "ab", "ae", "om", "ppm", "dc", "vm")
_EXTRAS = {"putalpha"}

router = APIRouter(tags=["rembg (rembg s)"])


def render_error(err: ServiceError, request_id: str) -> Response:
    """FastAPI's error shape, as rembg's server answers."""
    return JSONResponse(
        {"detail": err.message}, status_code=err.status, headers={**err.headers, "X-Request-Id": request_id}
    )


def _parse_bgc(raw: Optional[str]) -> Optional[Tuple[int, ...]]:
    if raw is None or raw == "":
        return None
    try:
        vals = tuple(int(v) for v in raw.split(","))
    except ValueError:
        raise bad(f"bgc must be 'r,g,b,a' (integers 0..255), got {raw[:40]!r}", "bgc") from None
    if len(vals) not in (3, 4) or any(not 0 <= v <= 255 for v in vals):
        raise bad(f"bgc must be 'r,g,b,a' (3 or 4 integers 0..255), got {raw[:40]!r}", "bgc")
    return vals


def _parse_extras(raw: Optional[str]) -> Dict[str, object]:
    if raw is None or raw == "":
        return {}
    try:
        extras = json.loads(raw)
    except ValueError:
        raise bad("extras must be a JSON object", "extras") from None
    if not isinstance(extras, dict):
        raise bad("extras must be a JSON object", "extras")
    unknown = sorted(set(extras) - _EXTRAS)
    if unknown:
        raise bad(
            f"extras: {', '.join(map(repr, unknown))} not accepted by this server (accepted: "
            f"{', '.join(sorted(_EXTRAS))}; models are chosen when the server starts)",
            "extras",
        )
    return extras


def parse_options(values: Mapping[str, str], svc: CutoutService) -> Tuple[str, RemoveOptions]:
    """(model name, :class:`RemoveOptions`) from rembg's fields, with its defaults and ranges."""
    model = values.get("model") or svc.default_model
    svc.session(model)  # a model not loaded: 400 naming the loaded ones
    if parse_bool(values.get("vm", False), "vm"):
        raise bad("vm (ViTMatte edge refinement) is not supported by this server; use a=true (alpha matting)", "vm")
    extras = _parse_extras(values.get("extras"))
    opts = RemoveOptions(
        alpha_matting=parse_bool(values.get("a", False), "a"),
        foreground_threshold=parse_int(values.get("af", 240), "af", 0, 255),
        background_threshold=parse_int(values.get("ab", 10), "ab", 0, 255),
        erode_size=parse_int(values.get("ae", 10), "ae", 0, 10_000),
        only_mask=parse_bool(values.get("om", False), "om"),
        post_process_mask=parse_bool(values.get("ppm", False), "ppm"),
        decontaminate=parse_bool(values.get("dc", False), "dc"),
        bgcolor=_parse_bgc(values.get("bgc")),
        putalpha=parse_bool(extras.get("putalpha", False), "extras.putalpha"),
    )
    return model, opts


def _finish(session, rgb, result, opts: RemoveOptions) -> bytes:
    import numpy as np

    return encode_png(np.asarray(remove_finish(session, rgb, result, opts)), compress_level=1)


async def _remove(svc: CutoutService, data: bytes, model: str, opts: RemoveOptions, what: str) -> Response:
    decoded = await svc.decode(data, what)
    session = svc.session(model)
    try:
        item = remove_item(session, decoded.rgb, opts)
    except Error as exc:
        raise as_service_error(exc) from None
    result = await svc.cutout(model, item, decoded)
    png = await svc.compute(_finish, session, decoded.rgb, result, opts)
    return Response(png, media_type="image/png")


_OPTION_DOCS = {
    "model": "Model (default: the server's first model)",
    "a": "Alpha matting (bool, default false)",
    "af": "Alpha matting foreground threshold 0..255 (default 240)",
    "ab": "Alpha matting background threshold 0..255 (default 10)",
    "ae": "Alpha matting erode size >= 0 (default 10)",
    "om": "Only mask (bool)",
    "ppm": "Post-process mask (bool)",
    "dc": "Decontaminate edges (bool)",
    "vm": "ViTMatte (not supported: false only)",
}
_QUERY_ONLY = {"bgc": "Background colour 'r,g,b,a'", "extras": 'JSON object: {"putalpha": true}'}


def _query_param(name: str, desc: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": desc, "schema": {"type": "string"}}


@router.post(
    "/api/remove",
    summary="Remove from stream (rembg)",
    response_class=Response,
    openapi_extra={
        "parameters": [_query_param(k, v) for k, v in _QUERY_ONLY.items()],
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            **{k: {"type": "string", "description": v} for k, v in _OPTION_DOCS.items()},
                        },
                    }
                }
            },
        },
        "responses": {"200": {"content": {"image/png": {}}}},
    },
)
async def remove_post(request: Request) -> Response:
    svc: CutoutService = request.app.state.service
    async with svc.admit():
        if media_type(request) != "multipart/form-data":
            raise ServiceError(
                415, "unsupported_media_type", "send the image as multipart/form-data, in the field 'file'"
            )
        form = await read_form(request, svc.config)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise bad("the multipart field 'file' (the image) is missing", "file", code="missing_source")
        values = {k: v for k, v in form.items() if k in FIELDS and isinstance(v, str)}
        values.update({k: request.query_params[k] for k in _QUERY_ONLY if k in request.query_params})
        model, opts = parse_options(values, svc)
        data = await upload_bytes(upload, "file", svc.config)
        return await _remove(svc, data, model, opts, "file")


@router.get(
    "/api/remove",
    summary="Remove from URL (rembg)",
    response_class=Response,
    openapi_extra={
        "parameters": [_query_param("url", "Image URL (needs --allow-url)", True)]
        + [_query_param(k, v) for k, v in {**_OPTION_DOCS, **_QUERY_ONLY}.items()],
        "responses": {"200": {"content": {"image/png": {}}}},
    },
)
async def remove_get(request: Request) -> Response:
    svc: CutoutService = request.app.state.service
    async with svc.admit():
        q = request.query_params
        url = q.get("url")
        if not url:
            raise bad("the query parameter 'url' (the image's URL) is missing", "url", code="missing_source")
        values = {k: q[k] for k in (*FIELDS, *_QUERY_ONLY) if k in q}
        model, opts = parse_options(values, svc)
        data = await svc.fetch(url, "url")
        return await _remove(svc, data, model, opts, "url")
