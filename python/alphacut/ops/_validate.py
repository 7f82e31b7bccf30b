"""Input checks shared by the ops. Every failure raises :class:`alphacut.InputError` with a
message that names the argument, what was expected and what was given."""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def array(x, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            raise InputError(f"{name}: cannot be read as an array ({exc})") from exc
    return x


def image(x, name: str, *, channels=(1, 3), dtypes=(np.uint8, np.float32, np.float64, np.bool_)) -> np.ndarray:
    """An (H, W) or (H, W, C) image with C in ``channels`` (1 means (H, W) or (H, W, 1))."""
    x = array(x, name)
    if x.dtype.type not in dtypes:
        allowed = ", ".join(np.dtype(d).name for d in dtypes)
        raise InputError(f"{name}: dtype {x.dtype} is not supported (use one of {allowed})")
    if x.ndim == 3 and x.shape[2] == 1 and 1 in channels:
        x = x[:, :, 0]
    if x.ndim == 2:
        if 1 not in channels:
            raise InputError(f"{name}: expected (H, W, C) with C in {channels}, got shape {x.shape}")
    elif x.ndim == 3:
        if x.shape[2] not in channels:
            raise InputError(f"{name}: expected {channels} channels, got shape {x.shape}")
    else:
        raise InputError(f"{name}: expected an (H, W) or (H, W, C) array, got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"{name}: image is empty (shape {x.shape})")
    if x.shape[0] >= 2**31 or x.shape[1] >= 2**31:
        raise InputError(f"{name}: image dimensions {x.shape[:2]} are too large")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise InputError(f"{name}: contains NaN or infinite values")
    return x


def bounded(x: np.ndarray, name: str, bound: float) -> np.ndarray:
    """x, after checking that a float array's values lie within +-bound: past it an op's float32
    arithmetic (an interpolation's overshoot, a filter's extrapolation) could overflow to inf."""
    if x.dtype.kind == "f" and x.size and np.abs(x).max() > bound:
        raise InputError(f"{name}: values must lie within +-{bound:g}, got magnitudes up to {np.abs(x).max():g}")
    return x


def same_size(a: np.ndarray, b: np.ndarray, na: str, nb: str) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise InputError(f"{nb} has size {b.shape[:2]} but {na} has size {a.shape[:2]}; they must match")


def to_float01(x: np.ndarray) -> np.ndarray:
    """float32 in [0, 1]: uint8 is divided by 255, bool becomes 0/1, floats are cast."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) * np.float32(1.0 / 255.0)
    if x.dtype == np.bool_:
        return x.astype(np.float32)
    return np.asarray(x, dtype=np.float32)


def packed(x: np.ndarray) -> np.ndarray:
    """The array with packed pixels and rows apart by at least a row (rows may stay strided), as
    the native views need; anything else (negative strides, the overlapping rows of
    ``np.broadcast_to``) is copied."""
    isz = x.dtype.itemsize
    c = x.shape[2] if x.ndim == 3 else 1
    ok = (x.ndim == 2 or x.strides[2] == isz) and (x.shape[1] == 1 or x.strides[1] == isz * c)
    ok = ok and x.strides[0] % isz == 0 and (x.shape[0] == 1 or x.strides[0] >= isz * c * x.shape[1])
    return x if ok else np.ascontiguousarray(x)


INT32_MAX = 2**31 - 1
FLOAT32_MAX = float(np.finfo(np.float32).max)


def integer(v, name: str, lo: int = 0, hi: int | None = INT32_MAX) -> int:
    """An integer (not a bool) in ``[lo, hi]`` (``hi=None``: no upper bound), as an ``int``. The
    native ops take 32-bit ints: a parameter that may be larger (a radius wider than any image)
    is clamped by its op after this check."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
        if hi is not None:
            want = f"an integer in [{lo}, {hi}]"
        else:
            want = "a non-negative integer" if lo == 0 else f"an integer >= {lo}"
        raise InputError(f"{name} must be {want}, got {v!r}")
    return int(v)


def nonneg_int(v, name: str) -> int:
    return integer(v, name, 0, None)


def _real(v, name: str) -> float:
    if isinstance(v, (str, bytes)):
        raise InputError(f"{name} must be a number, got {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be a number, got {v!r}") from None


def number(v, name: str, lo: float, hi: float, *, open_low: bool = False) -> float:
    """A real number in ``[lo, hi]`` (``(lo, hi]`` with ``open_low``), as a ``float``. The ranges
    keep the native float32 / float64 arithmetic of each op finite; each op documents its own."""
    f = _real(v, name)
    if not ((f > lo) if open_low else (f >= lo)) or not f <= hi:  # NaN fails too
        raise InputError(f"{name} must be a number in {'(' if open_low else '['}{lo:g}, {hi:g}], got {v!r}")
    return f


def positive_float(v, name: str, allow_zero: bool = False) -> float:
    f = _real(v, name)
    if not np.isfinite(f) or f < 0 or (f == 0 and not allow_zero):
        raise InputError(f"{name} must be {'non-negative' if allow_zero else 'positive'} and finite, got {v!r}")
    return f
