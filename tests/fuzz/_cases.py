"""Fuzz cases as plain data, and how the worker runs them.

A case is ``{"op": name, "args": [...], "kwargs": {...}}`` whose values are Python literals or
``{"array": spec}``; a spec says how to build the array (shape, dtype, fill, seed, memory layout),
so a finding prints as a case that reproduces it (``python tests/fuzz/_cases.py '<case>'``).
"""

from __future__ import annotations

import math

import numpy as np

# Fills: how the values of an array are drawn.
FILLS = ("unit", "any", "binary", "edges", "const", "huge", "tiny", "nan", "inf", "trimap")
# Layouts: the memory an op sees (C order, Fortran order, every other column, reversed axes,
# rows padded, a stride-0 broadcast, channels that are a slice of a wider array).
LAYOUTS = ("c", "f", "strided", "reversed", "rowpad", "broadcast", "channel_view")


def _values(rng: np.random.Generator, shape, dtype: np.dtype, fill: str) -> np.ndarray:
    shape = tuple(shape)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        lo, hi = (0, 255) if dtype == np.uint8 else (max(info.min, -1000), min(info.max, 1000))
        if fill == "binary":
            return np.where(rng.random(shape) < 0.5, lo, hi).astype(dtype)
        if fill == "trimap":
            return rng.choice(np.array([0, 128, 255], dtype=np.int64).clip(lo, hi), shape).astype(dtype)
        if fill == "const":
            return np.full(shape, min(hi, 37), dtype)
        if fill == "edges":
            return rng.choice(np.array([lo, 0, 1, 127, 128, 254, hi], dtype=np.int64).clip(lo, hi), shape).astype(dtype)
        return rng.integers(lo, hi, shape, endpoint=True).astype(dtype)
    # floating point
    if fill == "unit":
        v = rng.random(shape)
    elif fill == "any":
        v = rng.uniform(-2.0, 3.0, shape)
    elif fill == "binary":
        v = (rng.random(shape) < 0.5).astype(np.float64)
    elif fill == "trimap":
        v = rng.choice(np.array([0.0, 0.5, 1.0]), shape)
    elif fill == "edges":
        v = rng.choice(np.array([0.0, 1.0, 0.5, 1e-7, 1 - 1e-7, 0.05, 0.95]), shape)
    elif fill == "const":
        v = np.full(shape, 0.5)
    elif fill == "huge":
        v = rng.uniform(-1, 1, shape) * 10.0 ** rng.uniform(20, 38, shape)
    elif fill == "tiny":
        v = rng.uniform(0, 1, shape) * 10.0 ** rng.uniform(-45, -30, shape)
    elif fill in ("nan", "inf"):
        v = rng.random(shape)
        if v.size:
            v.flat[rng.integers(0, v.size)] = np.nan if fill == "nan" else np.inf
    else:
        raise ValueError(f"unknown fill {fill!r}")
    with np.errstate(over="ignore"):
        return v.astype(dtype)


def build_array(spec: dict) -> np.ndarray:
    """The array a spec describes: shape, dtype, fill, seed, layout, readonly."""
    shape = tuple(int(s) for s in spec["shape"])
    dtype = np.dtype(spec["dtype"])
    rng = np.random.default_rng(spec.get("seed", 0))
    layout = spec.get("layout", "c")
    fill = spec.get("fill", "unit")
    base = list(shape)
    if len(shape) >= 2:
        if layout == "strided":
            base[1] = 2 * shape[1]
        elif layout == "rowpad":
            base[1] = shape[1] + 3
        elif layout == "broadcast":
            base[0] = min(shape[0], 1)
        elif layout == "channel_view" and len(shape) == 3:
            base[2] = shape[2] + 1
    v = _values(rng, base, dtype, fill)
    if len(shape) >= 2:
        if layout == "strided":
            v = v[:, ::2]
        elif layout == "rowpad":
            v = v[:, 1 : shape[1] + 1]
        elif layout == "broadcast":
            v = np.broadcast_to(v, shape)
        elif layout == "channel_view" and len(shape) == 3:
            v = v[..., : shape[2]]
    if layout == "f":
        v = np.asfortranarray(v)
    elif layout == "reversed":
        v = v[tuple(slice(None, None, -1) for _ in shape)]
    if spec.get("readonly") and v.flags.writeable:
        v = v.view()
        v.flags.writeable = False
    assert v.shape == shape, (v.shape, shape)
    return v


def materialise(x):
    """A case value with its array specs built."""
    if isinstance(x, dict) and set(x) == {"array"}:
        return build_array(x["array"])
    if isinstance(x, dict):
        return {k: materialise(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(materialise(v) for v in x)
    if isinstance(x, list):
        return [materialise(v) for v in x]
    return x


def run(case: dict, backend: str):
    """Calls the op of `case` on `backend`; returns its result (exceptions propagate)."""
    from alphacut import ops

    args = materialise(case.get("args", []))
    kwargs = materialise(case.get("kwargs", {}))
    op = case["op"]
    if op == "preprocess_into":  # the first argument is the buffer written into
        out = args[0]
        ops.preprocess_into(*args, backend=backend, **kwargs)
        return np.array(out)
    return getattr(ops, op)(*args, backend=backend, **kwargs)


def outputs(result) -> list:
    """The arrays and numbers of a result, flattened: arrays, tuples of them, (alpha, info)."""
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, (tuple, list)):
        return [o for r in result for o in outputs(r)]
    if isinstance(result, dict):
        return [
            np.asarray(v, dtype=np.float64) for k, v in sorted(result.items()) if isinstance(v, (int, float, np.number))
        ]
    if isinstance(result, (int, float, np.number)):
        return [np.asarray(result, dtype=np.float64)]
    if hasattr(result, "get") and hasattr(result, "__cuda_array_interface__"):
        return [result.get()]
    raise TypeError(f"unexpected result type {type(result).__name__}")


def finite(a: np.ndarray) -> bool:
    if a.dtype.kind not in "fc":
        return True
    with np.errstate(invalid="ignore"):
        return bool(np.isfinite(a).all())


def describe(case: dict) -> str:
    return repr(case)


if __name__ == "__main__":  # reproduce a case: python tests/fuzz/_cases.py "<case repr>" [backend ...]
    import sys

    c = eval(sys.argv[1], {"inf": math.inf, "nan": math.nan})  # a case printed by the runner
    for b in sys.argv[2:] or ["cpu", "emu"]:
        try:
            r = run(c, b)
            print(b, [(o.shape, o.dtype, finite(o)) for o in outputs(r)])
        except Exception as e:  # noqa: BLE001 - shown, as the runner would classify it
            print(b, type(e).__name__, e)
