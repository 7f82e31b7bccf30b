"""Small HTTP helpers the dialects share: reading bodies and forms within the limits, and reading
booleans and integers as the dialects' clients write them."""

from __future__ import annotations

from typing import Any, Optional

from .config import ServerConfig
from .service import ServiceError, bad

__all__ = ["media_type", "read_form", "read_body", "upload_bytes", "parse_bool", "parse_int"]

# pydantic's lax booleans: what FastAPI (and so rembg's server) accepts for a bool field.
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def media_type(request) -> str:
    """The request's Content-Type without parameters, lower case ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_form(request, config: ServerConfig):
    """The multipart or urlencoded form, with bounded counts and sizes (a field may hold a
    base64 image, so a field may be as large as a body)."""
    return await request.form(max_files=4, max_fields=64, max_part_size=config.max_body_bytes)


async def read_body(request) -> bytes:
    """The raw body (its size is limited as it is received)."""
    return await request.body()


async def upload_bytes(value: Any, field: str, config: ServerConfig) -> bytes:
    """The bytes of an uploaded form file, or 413 when above ``max_upload_mb``."""
    limit = config.max_upload_bytes
    data = await value.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(
            413, "file_too_large", f"{field}: the upload is above the limit of {limit:,} bytes", field=field
        )
    return data


def parse_bool(value: Any, field: str) -> bool:
    """A boolean from a form/query string ("true", "1", "on", ...) or a JSON boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise bad(f"{field} must be true or false, got {str(value)[:40]!r}", field)


def parse_int(value: Any, field: str, lo: Optional[int] = None, hi: Optional[int] = None) -> int:
    """An integer within [lo, hi] from a form/query string or a JSON number."""
    if isinstance(value, bool):
        raise bad(f"{field} must be an integer, got {value!r}", field)
    try:
        v = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise bad(f"{field} must be an integer, got {str(value)[:40]!r}", field) from None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise bad(f"{field} must be {rng}, got {v}", field)
    return v
