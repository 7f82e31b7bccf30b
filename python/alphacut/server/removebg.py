"""The remove.bg API v1.0 dialect: ``POST /v1.0/removebg`` and ``GET /v1.0/account``.

The body is multipart, JSON or form-urlencoded, with exactly one source: ``image_file``
(multipart), ``image_file_b64`` or ``image_url`` (``missing_source`` / ``multiple_sources``
otherwise). Options, as remove.bg documents them:

``size``       preview (default; also small, regular): at most 0.25 MP · medium: 1.5 MP · hd:
               4 MP · full (4k), auto, 50MP: the original (within ``--max-pixels``)
``type``       auto · person (portrait mode; a loaded person model) · product, car,
               transportation, graphic(s) (product mode) · animal, other (general mode)
``type_level`` none (no X-Type header) · 1 · 2 · latest
``format``     auto (PNG where transparent, else JPG) · png · jpg · zip (``color.jpg`` +
               ``alpha.png``) · webp
``channels``   rgba · alpha (the matte alone, grey)
``bg_color``   hex (3, 4, 6, 8 digits, with or without #) or a colour name;
               ``bg_image_file`` / ``bg_image_url``: an image, resized to cover and centred
``roi``        "x1 y1 x2 y2" in px or %: only this region can be foreground
``crop``, ``crop_margin`` (1, 2 or 4 values in px or % of the subject, at most 50 % / 500 px),
``scale`` ("10%".."100%" or original), ``position`` (original, center, "x%" or "x% y%")
``add_shadow``, ``semitransparency``: accepted; alphacut keeps soft edges and adds no shadow.

The answer is the image with ``X-Width``, ``X-Height``, ``X-Type``, ``X-Credits-Charged`` ("0":
nothing is metered) and ``X-Foreground-Top/Left/Width/Height``; with ``Accept: application/json``
it is ``{"data": {"result_b64", "foreground_top", ...}}``. Errors are
``{"errors": [{"title", "code", "detail"}]}``; a full queue answers 429 with Retry-After.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import time
import zipfile
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..pipeline.modes import PERSON_MODELS
from ..pipeline.pipeline import BatchItem
from ._http import media_type, parse_bool, read_form, upload_bytes
from .service import CutoutService, ServiceError, bad

__all__ = ["PREFIX", "router", "render_error"]

PREFIX = "/v1.0/"
router = APIRouter(tags=["remove.bg API v1.0"])

#: size → the most pixels of the result (None: the original, within --max-pixels)
SIZES: Dict[str, Optional[int]] = {
    "preview": 250_000,
    "small": 250_000,
    "regular": 250_000,
    "medium": 1_500_000,
    "hd": 4_000_000,
    "full": None,
    "4k": None,
    "auto": None,
    "50mp": None,
}
#: type → alphacut mode
TYPES = {
    "auto": "general",
    "person": "portrait",
    "product": "product",
    "car": "product",
    "transportation": "product",
    "graphic": "product",
    "graphics": "product",
    "animal": "general",
    "other": "general",
}
TYPE_LEVELS = ("none", "1", "2", "latest")
FORMATS = ("auto", "png", "jpg", "jpeg", "zip", "webp")
CHANNELS = ("rgba", "alpha")
#: what "unlimited" is stated as where remove.bg's clients expect a number of credits
UNLIMITED_CREDITS = 1_000_000_000

# dialect-neutral codes -> remove.bg's
_CODES = {
    "invalid_parameter": "invalid_parameters",
    "url_refused": "invalid_image_url",
    "download_failed": "failed_image_download",
    "url_disabled": "url_input_disabled",
    "busy": "rate_limit_exceeded",
    "internal": "internal_error",
    "invalid_image": "invalid_image",
}


def render_error(err: ServiceError, request_id: str) -> Response:
    """``{"errors": [{"title", "code", "detail"}]}``; a full server answers remove.bg's 429."""
    status, headers = err.status, {**err.headers, "X-Request-Id": request_id}
    code = _CODES.get(err.code, err.code)
    if err.code == "invalid_parameter" and err.field:
        code = f"invalid_{err.field}"
    if err.code == "busy":
        status = 429
        headers.setdefault("Retry-After", "1")
        headers.update(
            {
                "X-RateLimit-Limit": "0",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + int(headers["Retry-After"])),
            }
        )
    elif err.code == "auth_failed":
        status = 403
    title = err.message
    return JSONResponse(
        {"errors": [{"title": title, "code": code, "detail": err.message}]}, status_code=status, headers=headers
    )


# -- parameters -----------------------------------------------------------------------------------


@dataclass
class Options:
    size_cap: Optional[int] = 250_000
    type: str = "auto"
    type_level: str = "1"
    format: str = "auto"
    channels: str = "rgba"
    bg_color: Optional[Tuple[int, int, int, int]] = None
    roi: Optional[Tuple[Tuple[float, str], ...]] = None
    crop: bool = False
    crop_margin: Tuple[Tuple[float, str], ...] = ((0.0, "px"),)
    scale: Optional[float] = None  # a fraction, None: original
    position: Optional[Tuple[float, float]] = None  # fractions; None: original
    position_given: bool = False


def _choice(params: Dict[str, Any], name: str, allowed, default: str) -> str:
    v = params.get(name)
    if v is None or v == "":
        return default
    s = str(v).strip().lower()
    if s not in allowed:
        raise bad(f"{name}: {str(v)[:40]!r} is not one of {', '.join(a for a in allowed)}", name, f"invalid_{name}")
    return s


_LEN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(px|%)?\s*$")


def _lengths(raw: str, name: str, counts) -> Tuple[Tuple[float, str], ...]:
    parts = str(raw).replace(",", " ").split()
    if len(parts) not in counts:
        raise bad(
            f"{name}: expected {' or '.join(map(str, counts))} values, got {str(raw)[:40]!r}", name, f"invalid_{name}"
        )
    out = []
    for p in parts:
        m = _LEN.match(p)
        if not m or float(m.group(1)) < 0:
            raise bad(f"{name}: {p[:20]!r} is not a length in px or % (e.g. 30px, 10%)", name, f"invalid_{name}")
        out.append((float(m.group(1)), m.group(2) or "px"))
    return tuple(out)


def _parse_color(raw: str) -> Tuple[int, int, int, int]:
    from PIL import ImageColor

    s = str(raw).strip()
    hx = s[1:] if s.startswith("#") else s
    try:
        if re.fullmatch(r"[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8}", hx):
            if len(hx) in (3, 4):
                hx = "".join(c * 2 for c in hx)
            vals = [int(hx[i : i + 2], 16) for i in range(0, len(hx), 2)]
        else:
            vals = list(ImageColor.getrgb(s.lower()))
    except ValueError:
        raise bad(
            f"bg_color: {s[:40]!r} is not a hex colour (81d4fa, fff, 81d4fa77) or a colour name",
            "bg_color",
            "invalid_bg_color",
        ) from None
    if len(vals) == 3:
        vals.append(255)
    return tuple(vals[:4])  # type: ignore[return-value]


def parse_options(p: Dict[str, Any]) -> Options:
    """The options of one request (strings from a form, or JSON values), each checked."""
    o = Options()
    o.size_cap = SIZES[_choice(p, "size", SIZES, "preview")]
    o.type = _choice(p, "type", TYPES, "auto")
    o.type_level = _choice(p, "type_level", TYPE_LEVELS, "1")
    o.format = _choice(p, "format", FORMATS, "auto").replace("jpeg", "jpg")
    o.channels = _choice(p, "channels", CHANNELS, "rgba")
    if p.get("bg_color") not in (None, ""):
        o.bg_color = _parse_color(p["bg_color"])
    if p.get("roi") not in (None, ""):
        o.roi = _lengths(p["roi"], "roi", (4,))
    o.crop = parse_bool(p.get("crop", False), "crop")
    if p.get("crop_margin") not in (None, ""):
        o.crop_margin = _lengths(p["crop_margin"], "crop_margin", (1, 2, 4))
    scale = p.get("scale")
    if scale not in (None, "") and str(scale).strip().lower() != "original":
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", str(scale))
        if not m or not 10 <= float(m.group(1)) <= 100:
            raise bad(f"scale: {str(scale)[:40]!r} must be from 10% to 100%, or original", "scale", "invalid_scale")
        o.scale = float(m.group(1)) / 100.0
    pos = p.get("position")
    if pos not in (None, ""):
        s = str(pos).strip().lower()
        o.position_given = True
        if s == "center":
            o.position = (0.5, 0.5)
        elif s != "original":
            vals = s.split()
            ok = 1 <= len(vals) <= 2 and all(re.fullmatch(r"\d+(?:\.\d+)?%", v) and float(v[:-1]) <= 100 for v in vals)
            if not ok:
                raise bad(
                    f"position: {str(pos)[:40]!r} must be original, center, or one or two values 0%..100%",
                    "position",
                    "invalid_position",
                )
            fx = float(vals[0][:-1]) / 100.0
            o.position = (fx, float(vals[-1][:-1]) / 100.0)
    if o.scale is not None and not o.position_given:
        o.position = (0.5, 0.5)  # remove.bg: scaling implies position=center
    for flag in ("add_shadow", "semitransparency"):
        if p.get(flag) not in (None, ""):
            parse_bool(p[flag], flag)
    return o


async def _params(request: Request, svc: CutoutService) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(fields, files) of a multipart, urlencoded or JSON body."""
    mt = media_type(request)
    fields: Dict[str, Any] = {}
    files: Dict[str, Any] = {}
    if mt in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await read_form(request, svc.config)
        for k, v in form.multi_items():
            if isinstance(v, str):
                fields[k] = v
            else:
                files[k] = v
    elif mt == "application/json":
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            raise bad("the JSON body cannot be parsed", None, "invalid_json") from None
        if not isinstance(body, dict):
            raise bad("the JSON body must be an object", None, "invalid_json")
        fields = {k: v for k, v in body.items() if v is not None}
    elif mt == "" and not request.headers.get("content-length", "0").strip("0"):
        pass  # no body at all: missing_source below
    else:
        raise ServiceError(
            415,
            "unsupported_media_type",
            f"the body must be multipart/form-data, "
            f"application/x-www-form-urlencoded or application/json, not {mt[:60] or 'untyped'}",
        )
    for name, other in (("image_file", "image_file_b64 (base64) or image_url"), ("bg_image_file", "bg_image_url")):
        if name in fields and fields[name] != "":
            raise bad(f"{name} must be a file upload (multipart/form-data); or send {other}", name, f"invalid_{name}")
        fields.pop(name, None)
    return fields, files


def _b64(raw: Any, field: str, svc: CutoutService) -> bytes:
    s = str(raw).strip()
    if s.startswith("data:") and "," in s:
        s = s.split(",", 1)[1]
    if len(s) > svc.config.max_upload_bytes * 4 // 3 + 4:
        raise ServiceError(
            413,
            "file_too_large",
            f"{field}: the image is above the limit of {svc.config.max_upload_bytes:,} bytes",
            field=field,
        )
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=False)
    except (binascii.Error, ValueError):
        raise bad(f"{field} is not valid base64", field, f"invalid_{field}") from None


async def _source(svc: CutoutService, fields, files) -> Tuple[bytes, str]:
    given = [
        k
        for k in ("image_file", "image_file_b64", "image_url")
        if (k in files) or (k in fields and str(fields[k]).strip() != "")
    ]
    if not given:
        raise bad("No image given: send one of image_file, image_file_b64 or image_url", None, "missing_source")
    if len(given) > 1:
        raise bad(f"Multiple image sources given ({', '.join(given)}): send exactly one", None, "multiple_sources")
    src = given[0]
    if src == "image_file":
        return await upload_bytes(files[src], src, svc.config), src
    if src == "image_file_b64":
        return _b64(fields[src], src, svc), src
    return await svc.fetch(str(fields[src]).strip(), src), src


async def _background(svc: CutoutService, fields, files, opts: Options) -> Optional[np.ndarray]:
    given = [
        k
        for k in ("bg_color", "bg_image_url", "bg_image_file")
        if (k in files) or (k in fields and str(fields[k]).strip() != "")
    ]
    if len(given) > 1:
        raise bad(f"Multiple backgrounds given ({', '.join(given)}): send at most one", None, "multiple_bg_sources")
    if "bg_image_file" in given:
        data = await upload_bytes(files["bg_image_file"], "bg_image_file", svc.config)
        return (await svc.decode(data, "bg_image_file")).rgb
    if "bg_image_url" in given:
        data = await svc.fetch(str(fields["bg_image_url"]).strip(), "bg_image_url")
        return (await svc.decode(data, "bg_image_url")).rgb
    return None


# -- the image work (in the service's work pool) ---------------------------------------------------


def _px(v: Tuple[float, str], ref: float) -> float:
    return v[0] * ref / 100.0 if v[1] == "%" else v[0]


def prepare(rgb: np.ndarray, opts: Options) -> Tuple[np.ndarray, Tuple[int, int, int, int], Tuple[int, int]]:
    """(the region to cut out, its box (y0, y1, x0, x1) in the output, the output size): the image
    shrunk to the ``size`` cap (area filter), then the ``roi``."""
    from .. import ops

    H, W = rgb.shape[:2]
    f = 1.0
    if opts.size_cap is not None and H * W > opts.size_cap:
        f = math.sqrt(opts.size_cap / float(H * W))
        h, w = max(1, int(H * f)), max(1, int(W * f))
        rgb = ops.resize(rgb, (h, w), method="area")
    h, w = rgb.shape[:2]
    if opts.roi is None:
        return rgb, (0, h, 0, w), (h, w)
    x1, y1, x2, y2 = (_px(opts.roi[0], W), _px(opts.roi[1], H), _px(opts.roi[2], W), _px(opts.roi[3], H))
    box = (
        max(0, int(round(y1 * f))),
        min(h, int(round(y2 * f))),
        max(0, int(round(x1 * f))),
        min(w, int(round(x2 * f))),
    )
    if box[1] - box[0] < 1 or box[3] - box[2] < 1 or x2 <= x1 or y2 <= y1:
        raise bad(
            f"roi: the region {x1:g} {y1:g} {x2:g} {y2:g} (px) is empty or outside the {W}x{H} image",
            "roi",
            "invalid_roi",
        )
    return np.ascontiguousarray(rgb[box[0] : box[1], box[2] : box[3]]), box, (h, w)


def _bbox(alpha: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _paste(dst: np.ndarray, src: np.ndarray, y: int, x: int) -> None:
    """``src`` into ``dst`` with its top-left at (y, x), clipped to ``dst``."""
    H, W = dst.shape[:2]
    h, w = src.shape[:2]
    y0, x0 = max(0, y), max(0, x)
    y1, x1 = min(H, y + h), min(W, x + w)
    if y1 > y0 and x1 > x0:
        dst[y0:y1, x0:x1] = src[y0 - y : y1 - y, x0 - x : x1 - x]


def compose(rgba_roi: np.ndarray, box, size, opts: Options, bg: Optional[np.ndarray]):
    """The result: the cutout placed at its box, cropped, scaled, positioned, on its background.
    Returns (final RGBA, foreground alpha, foreground box (top, left, height, width))."""
    from PIL import Image

    h, w = size
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[box[0] : box[1], box[2] : box[3]] = rgba_roi
    bb = _bbox(rgba[:, :, 3])
    if bb is None:
        raise ServiceError(
            400,
            "unknown_foreground",
            "Could not identify foreground in image: no subject was "
            "found (try another type, or a roi around the subject)",
        )
    if opts.crop:
        y0, y1, x0, x1 = bb
        bh, bw = y1 - y0, x1 - x0
        m = opts.crop_margin
        m4 = m * 4 if len(m) == 1 else (m[0], m[1], m[0], m[1]) if len(m) == 2 else m  # top, right, bottom, left
        top, right, bottom, left = (
            int(round(min(_px(v, ref), 0.5 * ref, 500.0))) for v, ref in zip(m4, (bh, bw, bh, bw))
        )
        out = np.zeros((bh + top + bottom, bw + left + right, 4), np.uint8)
        _paste(out, rgba[y0:y1, x0:x1], top, left)
        rgba = out
        bb = (top, top + bh, left, left + bw)
    if opts.scale is not None or opts.position is not None:
        H, W = rgba.shape[:2]
        y0, y1, x0, x1 = bb
        sub = rgba[y0:y1, x0:x1]
        sh, sw = sub.shape[:2]
        if opts.scale is not None:
            f = opts.scale * min(W / sw, H / sh)
            sw, sh = max(1, int(round(sw * f))), max(1, int(round(sh * f)))
            sub = np.asarray(Image.fromarray(sub, "RGBA").resize((sw, sh), Image.Resampling.LANCZOS))
        if opts.position is None:  # original: keep the subject's centre where it was
            y = int(round((y0 + y1) / 2 - sh / 2))
            x = int(round((x0 + x1) / 2 - sw / 2))
        else:
            x = int(round((W - sw) * opts.position[0]))
            y = int(round((H - sh) * opts.position[1]))
        rgba = np.zeros_like(rgba)
        _paste(rgba, sub, y, x)
    fg_alpha = np.ascontiguousarray(rgba[:, :, 3])
    bb = _bbox(fg_alpha)
    fg_box = (0, 0, 0, 0) if bb is None else (bb[0], bb[2], bb[1] - bb[0], bb[3] - bb[2])
    if opts.bg_color is not None:
        under = Image.new("RGBA", (rgba.shape[1], rgba.shape[0]), opts.bg_color)
        rgba = np.asarray(Image.alpha_composite(under, Image.fromarray(rgba, "RGBA")))
    elif bg is not None:
        H, W = rgba.shape[:2]
        im = Image.fromarray(bg, "RGB")
        if im.size != (W, H):
            f = max(W / im.width, H / im.height)
            nw, nh = max(W, int(math.ceil(im.width * f))), max(H, int(math.ceil(im.height * f)))
            im = im.resize((nw, nh), Image.Resampling.LANCZOS)
            left, top = (nw - W) // 2, (nh - H) // 2
            im = im.crop((left, top, left + W, top + H))
        under = Image.fromarray(np.dstack([np.asarray(im), np.full((H, W), 255, np.uint8)]), "RGBA")
        rgba = np.asarray(Image.alpha_composite(under, Image.fromarray(rgba, "RGBA")))
    return np.ascontiguousarray(rgba), fg_alpha, fg_box


def encode_result(rgba: np.ndarray, fg_alpha: np.ndarray, opts: Options) -> Tuple[bytes, str]:
    """(bytes, media type) in ``opts.format`` and ``opts.channels``."""
    from PIL import Image

    from ..image import encode_jpeg, encode_png, encode_webp

    fmt = opts.format
    if fmt == "auto":
        fmt = "png" if opts.channels == "alpha" or (rgba[:, :, 3] < 255).any() else "jpg"
    if fmt == "zip":
        color = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgba[:, :, :3]), "RGB").save(color, "JPEG", quality=95)
        alpha = encode_png(fg_alpha if opts.channels == "alpha" else np.ascontiguousarray(rgba[:, :, 3]))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr("color.jpg", color.getvalue())
            z.writestr("alpha.png", alpha)
        return buf.getvalue(), "application/zip"
    if opts.channels == "alpha":
        if fmt == "png":
            return encode_png(fg_alpha), "image/png"
        buf = io.BytesIO()
        Image.fromarray(fg_alpha, "L").save(
            buf, "JPEG" if fmt == "jpg" else "WEBP", **({"quality": 95} if fmt == "jpg" else {"lossless": True})
        )
        return buf.getvalue(), "image/jpeg" if fmt == "jpg" else "image/webp"
    if fmt == "png":
        return encode_png(rgba), "image/png"
    if fmt == "webp":
        return encode_webp(rgba), "image/webp"
    return encode_jpeg(rgba), "image/jpeg"


def _finish(rgba_roi, box, size, opts: Options, bg):
    rgba, fg_alpha, fg_box = compose(rgba_roi, box, size, opts, bg)
    data, media = encode_result(rgba, fg_alpha, opts)
    return data, media, rgba.shape[:2], fg_box


def _model_for(svc: CutoutService, opts: Options) -> str:
    if opts.type == "person":
        for name in PERSON_MODELS:
            if name in svc.sessions:
                return name
    return svc.default_model


_BODY_FIELDS: Dict[str, Dict[str, Any]] = {
    "image_file": {"type": "string", "format": "binary"},
    "image_file_b64": {"type": "string"},
    "image_url": {"type": "string"},
    "size": {"type": "string", "enum": list(SIZES)},
    "type": {"type": "string", "enum": list(TYPES)},
    "type_level": {"type": "string", "enum": list(TYPE_LEVELS)},
    "format": {"type": "string", "enum": list(FORMATS)},
    "channels": {"type": "string", "enum": list(CHANNELS)},
    "bg_color": {"type": "string"},
    "bg_image_url": {"type": "string"},
    "bg_image_file": {"type": "string", "format": "binary"},
    "roi": {"type": "string"},
    "crop": {"type": "boolean"},
    "crop_margin": {"type": "string"},
    "scale": {"type": "string"},
    "position": {"type": "string"},
    "add_shadow": {"type": "boolean"},
    "semitransparency": {"type": "boolean"},
}
_SCHEMA = {"type": "object", "properties": _BODY_FIELDS}
_JSON_SCHEMA = {"type": "object", "properties": {k: v for k, v in _BODY_FIELDS.items() if "format" not in v}}


@router.post(
    "/v1.0/removebg",
    summary="Remove the background (remove.bg API v1.0)",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": _SCHEMA},
                "application/x-www-form-urlencoded": {"schema": _JSON_SCHEMA},
                "application/json": {"schema": _JSON_SCHEMA},
            },
        },
        "responses": {
            "200": {"content": {"image/png": {}, "image/jpeg": {}, "application/zip": {}, "application/json": {}}}
        },
    },
)
async def removebg(request: Request) -> Response:
    svc: CutoutService = request.app.state.service
    async with svc.admit():
        fields, files = await _params(request, svc)
        opts = parse_options(fields)
        data, src = await _source(svc, fields, files)
        bg = await _background(svc, fields, files, opts)
        decoded = await svc.decode(data, src)
        rgb, box, size = await svc.compute(prepare, decoded.rgb, opts)
        model = _model_for(svc, opts)
        pipe = svc.session(model).pipeline.with_mode(TYPES[opts.type])
        result = await svc.cutout(model, BatchItem(pipe, rgb), decoded)
        body, media, (h, w), fg = await svc.compute(_finish, result.rgba, box, size, opts, bg)
    headers = {
        "X-Width": str(w),
        "X-Height": str(h),
        "X-Credits-Charged": "0",
        "X-Foreground-Top": str(fg[0]),
        "X-Foreground-Left": str(fg[1]),
        "X-Foreground-Height": str(fg[2]),
        "X-Foreground-Width": str(fg[3]),
    }
    if opts.type_level != "none":
        headers["X-Type"] = opts.type if opts.type != "auto" else "other"
    if "application/json" in request.headers.get("accept", "").lower():
        return JSONResponse(
            {
                "data": {
                    "result_b64": base64.b64encode(body).decode("ascii"),
                    "foreground_top": fg[0],
                    "foreground_left": fg[1],
                    "foreground_width": fg[3],
                    "foreground_height": fg[2],
                }
            },
            headers=headers,
        )
    return Response(body, media_type=media, headers=headers)


@router.get("/v1.0/account", summary="Account (remove.bg API v1.0)")
async def account(request: Request) -> JSONResponse:
    """remove.bg's account shape. alphacut meters nothing: the credits are unlimited, stated as
    ``unlimited: true`` and, where clients compute with a number, as a large one."""
    n = UNLIMITED_CREDITS
    return JSONResponse(
        {
            "data": {
                "attributes": {
                    "credits": {"total": n, "subscription": n, "payg": 0, "enterprise": 0, "unlimited": True},
                    "api": {"free_calls": n, "sizes": "all", "unlimited": True},
                    "note": "alphacut does not meter usage: credits are unlimited and every call charges 0",
                }
            }
        }
    )
