"""Hypothesis strategies for the fuzz cases of every op (see _cases.py for the case format).

Mostly valid calls of small images (so the value properties get exercised), with awkward shapes
(0, 1 x N, N x 1), dtypes, memory layouts (Fortran order, strides, reversed axes, stride 0,
sliced channels) and values (NaN, inf, huge, subnormal), and parameters at and past their
limits (int32 and float32 ends, 0, negative, NaN, wrong types). Sizes and iteration counts of
valid calls stay small enough for a case to take milliseconds on the emulated kernels; the
extreme values are those the ops must refuse or clamp.
"""

from __future__ import annotations

import math

import _cases
from hypothesis import strategies as st


def floats_any():
    return st.one_of(st.sampled_from(FLOAT_EXTREMES), st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def mostly(draw, valid, odd, percent_odd=12):
    """`valid`, or `odd` in about `percent_odd` % of the cases (so most calls are accepted and
    their results checked, and every parameter still meets its extremes). The odd branch is the
    high end of the draw: Hypothesis starts from (and shrinks towards) 0, the valid branch."""
    return draw(odd) if draw(st.integers(0, 99)) >= 100 - percent_odd else draw(valid)


SMALL = st.one_of(st.sampled_from([1, 1, 2, 3, 5, 8, 17, 33]), st.integers(1, 40))
SIZE = mostly(SMALL, st.just(0), 5)
LONG = st.sampled_from([(1, 300), (300, 1), (1, 1000), (2, 513)])

INT_EXTREMES = [-(2**63), -(2**31), -1, 2**31 - 1, 2**31, 2**63, 2**64]
FLOAT_EXTREMES = [
    0.0,
    -0.0,
    5e-324,
    1e-45,
    1e-38,
    1e-30,
    1e-13,
    1e-12,
    1e-6,
    1e-3,
    0.5,
    1.0,
    255.0,
    1e10,
    1e15,
    1e16,
    1e30,
    1e31,
    1e38,
    3.5e38,
    1e39,
    1e200,
    1.7e308,
    math.inf,
    -math.inf,
    math.nan,
    -1.0,
    -1e-30,
]
WEIRD = ["x", None, [1, 2], (1,), b"1", True, {"a": 1}]

LAYOUT = st.sampled_from(["c"] * 6 + list(_cases.LAYOUTS))
SEED = st.integers(0, 2**32 - 1)


def weird():
    return st.sampled_from(WEIRD)


@st.composite
def hw(draw, long=True):
    if long and draw(st.integers(0, 9)) == 0:
        return draw(LONG)
    return draw(SIZE), draw(SIZE)


@st.composite
def array(
    draw, shape, dtypes, fills=("unit", "unit", "unit", "any", "binary", "edges", "const"), odd=True, layouts=True
):
    """An array spec of `shape`: mostly one of `dtypes` and `fills`; with `odd`, sometimes another
    dtype or a NaN / inf / huge / subnormal fill."""
    dtype = draw(st.sampled_from(list(dtypes)))
    fill = draw(st.sampled_from(list(fills)))
    if odd and draw(st.integers(0, 99)) >= 95:
        dtype = draw(st.sampled_from(["uint8", "float32", "float64", "bool", "float16", "int64", "uint16"]))
    if odd and draw(st.integers(0, 99)) >= 92:
        fill = draw(st.sampled_from(["huge", "tiny", "nan", "inf"]))
    spec = {"shape": tuple(shape), "dtype": dtype, "fill": fill, "seed": draw(SEED)}
    if layouts:
        spec["layout"] = draw(LAYOUT)
    return {"array": spec}


@st.composite
def channels_shape(draw, h, w, channels):
    c = draw(st.sampled_from(list(channels)))
    return (h, w) if c is None else (h, w, c)


@st.composite
def same_or_other(draw, shape):
    """Usually `shape`'s (h, w); sometimes another size."""
    if draw(st.integers(0, 99)) >= 96:
        return (draw(SIZE), draw(SIZE))
    return tuple(shape[:2])


def radius():
    return mostly(
        st.one_of(st.integers(0, 12), st.sampled_from([40, 1000, 2**31 - 1, 2**31, 2**63])),
        st.one_of(st.sampled_from([-1, -(2**31), -(2**63)]), weird()),
    )


def eps():
    return mostly(
        st.one_of(st.sampled_from([1e-6, 1e-4, 1e-3, 1e-2, 1e-12, 1e30]), st.floats(1e-12, 1e30)),
        st.one_of(floats_any(), weird()),
    )


# ---- per op -----------------------------------------------------------------------------------


@st.composite
def blend(draw, op):
    h, w = draw(hw())
    fg_shape = draw(channels_shape(h, w, [None, 1, 3, 3, 3, 4, 4]))
    fg = draw(array(fg_shape, ["float32", "float32", "uint8", "float64", "bool"]))
    alpha = draw(array(draw(same_or_other(fg_shape)), ["float32", "uint8", "float64"]))
    if op != "composite":
        return {"op": op, "args": [fg, alpha], "kwargs": {}}
    c = fg_shape[2] if len(fg_shape) == 3 else 1
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        bg = draw(
            array(fg_shape if kind else draw(channels_shape(h, w, [None, 1, 3, 4])), ["float32", "uint8", "float64"])
        )
    elif kind <= 8:
        n = c if draw(st.integers(0, 9)) else draw(st.integers(0, 5))
        bg = tuple(
            draw(st.lists(mostly(st.floats(0, 1), st.sampled_from([0, 255, 1e39, math.nan])), min_size=n, max_size=n))
        )
    else:
        bg = draw(st.one_of(weird(), st.sampled_from(["red", ("a", "b", "c"), (1, [2], 3)])))
    return {"op": op, "args": [fg, alpha, bg], "kwargs": {}}


@st.composite
def pack_rgba(draw):
    h, w = draw(hw())
    img = draw(array((h, w, draw(mostly(st.just(3), st.sampled_from([1, 4])))), ["uint8"]))
    alpha = draw(array(draw(same_or_other((h, w))), ["float32", "uint8", "float64"]))
    kwargs = {}
    if draw(st.booleans()):
        fh, fw = draw(st.integers(1, max(h, 1))), draw(st.integers(1, max(w, 1)))
        kwargs["foreground"] = draw(array((fh, fw, 3), ["float32", "float64"]))
        # Past the image, and where y0 + fh or x0 + fw passes INT32_MAX (a valid int32 each).
        odd_y = st.one_of(
            st.sampled_from([2**31 - 1, 2**31 - fh, 2**31 - 1 - fh // 2]),
            st.sampled_from(INT_EXTREMES + [h, h - fh + 1]),
        )
        odd_x = st.one_of(
            st.sampled_from([2**31 - 1, 2**31 - fw, 2**31 - 1 - fw // 2]),
            st.sampled_from(INT_EXTREMES + [w, w - fw + 1]),
        )
        y = draw(mostly(st.integers(0, max(h - fh, 0)), odd_y, 15))
        x = draw(mostly(st.integers(0, max(w - fw, 0)), odd_x, 15))
        kwargs["offset"] = draw(mostly(st.just((y, x)), weird(), 4))
    return {"op": "pack_rgba", "args": [img, alpha], "kwargs": kwargs}


def _odd_three():
    return st.one_of(
        floats_any(),
        st.tuples(floats_any(), floats_any(), floats_any()),
        st.lists(st.floats(0, 1), min_size=0, max_size=5),
        weird(),
    )


def _three_or_one():
    return mostly(
        st.one_of(
            st.floats(-2, 2),
            st.tuples(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2)),
            st.sampled_from([0.0, 0.5, (0.485, 0.456, 0.406), 127.5, 1e5]),
        ),
        _odd_three(),
    )


def _positive_three_or_one():
    return mostly(
        st.one_of(
            st.floats(0.01, 10),
            st.tuples(st.floats(0.01, 2), st.floats(0.01, 2), st.floats(0.01, 2)),
            st.sampled_from([1e-30, 1e-3, (0.229, 0.224, 0.225), 1e30]),
        ),
        _odd_three(),
    )


def _pre_params(draw):
    kwargs = {}
    if draw(st.booleans()):
        scale = st.one_of(st.sampled_from([1 / 255, 1.0, 1e-7, 256.0, 300.0]), st.floats(-10, 10))
        kwargs["scale"] = draw(mostly(scale, st.one_of(floats_any(), weird())))
    if draw(st.booleans()):
        kwargs["mean"] = draw(_three_or_one())
    if draw(st.booleans()):
        kwargs["std"] = draw(_positive_three_or_one())
    if draw(st.integers(0, 3)) == 0:
        kwargs["channel_order"] = draw(mostly(st.sampled_from(["rgb", "bgr"]), st.sampled_from(["RGB", None, 3])))
    return kwargs


@st.composite
def preprocess(draw):
    h, w = draw(hw())
    img = draw(array((h, w, draw(mostly(st.sampled_from([3, 4]), st.sampled_from([1, 2])))), ["uint8"]))
    dim = mostly(st.integers(1, 48), st.one_of(st.sampled_from([0, -1, 2**31, 2**40]), weird()), 5)
    size = draw(mostly(st.tuples(dim, dim), weird(), 3))
    kwargs = _pre_params(draw)
    if draw(st.integers(0, 2)) == 0:
        kwargs["dtype"] = draw(
            mostly(st.sampled_from(["float16", "float32"]), st.sampled_from(["float64", "int8", None]))
        )
    return {"op": "preprocess", "args": [img, size], "kwargs": kwargs}


@st.composite
def preprocess_into(draw):
    h, w = draw(hw())
    img = draw(array((h, w, draw(st.sampled_from([3, 3, 4]))), ["uint8"]))
    oh, ow = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    shape = draw(mostly(st.just((1, 3, oh, ow)), st.sampled_from([(3, oh, ow), (1, 4, oh, ow), (1, 3, oh)]), 6))
    spec = {
        "shape": shape,
        "dtype": draw(mostly(st.sampled_from(["float32", "float16"]), st.just("float64"), 6)),
        "fill": "const",
        "seed": 0,
        "layout": draw(mostly(st.just("c"), st.sampled_from(["f", "reversed"]), 6)),
        "readonly": draw(st.integers(0, 99)) >= 95,
    }
    return {"op": "preprocess_into", "args": [{"array": spec}, img], "kwargs": _pre_params(draw)}


@st.composite
def resize(draw):
    h, w = draw(hw())
    shape = draw(channels_shape(h, w, [None, 1, 3, 3, 4, 2, 16, 17]))
    img = draw(array(shape, ["uint8", "float32"]))
    dim = mostly(st.integers(1, 48), st.one_of(st.sampled_from([0, -1, 2**31, 2**40]), weird()), 5)
    size = (draw(dim), draw(dim))
    method = draw(mostly(st.sampled_from(["bilinear", "area", "bicubic"]), st.sampled_from(["nearest", None]), 5))
    return {"op": "resize", "args": [img, size, method], "kwargs": {}}


@st.composite
def guided(draw, op):
    h, w = draw(hw())
    guide = draw(array(draw(channels_shape(h, w, [None, 3, 3, 3, 1])), ["float32", "uint8", "float64"]))
    src = draw(array(draw(same_or_other((h, w))), ["float32", "uint8", "float64"]))
    return {"op": op, "args": [guide, src, draw(radius()), draw(eps())], "kwargs": {}}


@st.composite
def upscale_alpha(draw):
    H, W = draw(hw())
    h = draw(mostly(st.integers(1, max(H, 1)), SIZE, 5))
    w = draw(mostly(st.integers(1, max(W, 1)), SIZE, 5))
    low = draw(array((h, w), ["float32", "uint8", "float64"]))
    guide = draw(array(draw(channels_shape(H, W, [None, 3, 3, 3])), ["uint8", "float32"]))
    return {"op": "upscale_alpha", "args": [low, guide], "kwargs": {"radius": draw(radius()), "eps": draw(eps())}}


@st.composite
def morphology(draw, op):
    h, w = draw(hw())
    mask = draw(array((h, w), ["bool", "uint8", "float32", "float64"]))
    return {"op": op, "args": [mask, draw(radius())], "kwargs": {}}


@st.composite
def make_trimap(draw):
    h, w = draw(hw())
    prob = draw(array((h, w), ["float32", "uint8", "float64"]))
    thr = mostly(st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.05, 0.95])), st.one_of(floats_any(), weird()))
    kwargs = {}
    fg, bg = draw(thr), draw(thr)
    if isinstance(fg, float) and isinstance(bg, float) and fg < bg and draw(st.integers(0, 9)):
        fg, bg = bg, fg  # mostly in order (bg < fg)
    if draw(st.integers(0, 3)):
        kwargs["fg_threshold"] = fg
    if draw(st.integers(0, 3)):
        kwargs["bg_threshold"] = bg
    kwargs["radius"] = draw(radius())
    return {"op": "make_trimap", "args": [prob], "kwargs": kwargs}


def _iterations():
    return mostly(st.integers(0, 12), st.one_of(st.sampled_from([-1, 2**31, 2**63, 1.5]), weird()))


@st.composite
def estimate_foreground(draw):
    h, w = draw(hw(long=False))
    img = draw(array((h, w, draw(mostly(st.just(3), st.just(4), 4))), ["uint8", "float32", "float64"]))
    alpha = draw(array(draw(same_or_other((h, w))), ["float32", "uint8", "float64", "bool"]))
    kwargs = {}
    weight = mostly(
        st.one_of(st.sampled_from([1e-5, 1e-2, 1.0, 0.0, 1e-30, 1e15]), st.floats(1e-30, 1e15)),
        st.one_of(floats_any(), weird()),
    )
    for name, strat in (
        ("regularization", weight),
        ("gradient_weight", weight),
        ("n_small_iterations", _iterations()),
        ("n_big_iterations", _iterations()),
        ("small_size", mostly(st.integers(0, 64), st.sampled_from([2**31 - 1, 2**31, -1]))),
    ):
        if draw(st.booleans()):
            kwargs[name] = draw(strat)
    kwargs["return_background"] = draw(st.booleans())
    return {"op": "estimate_foreground", "args": [img, alpha], "kwargs": kwargs}


@st.composite
def solve_alpha(draw):
    h, w = draw(hw(long=False))
    img = draw(array((h, w, draw(mostly(st.just(3), st.just(1), 4))), ["float32", "uint8", "float64"]))
    tri_spec = draw(
        array(
            draw(same_or_other((h, w))),
            ["uint8", "uint8", "float32"],
            fills=("trimap", "trimap", "trimap", "binary", "unit"),
        )
    )
    kwargs = {}
    if draw(st.booleans()):
        kwargs["prior"] = draw(array(draw(same_or_other((h, w))), ["float32", "uint8"]))
    if draw(st.booleans()):
        kwargs["prior_weight"] = draw(
            mostly(st.sampled_from([None, 0.0, 0.1, 1e3, 1e30]), st.one_of(floats_any(), weird()))
        )
    if draw(st.booleans()):
        kwargs["prior_confidence"] = draw(mostly(st.sampled_from([0.0, 4.0, 0.5, 1e30]), floats_any()))
    if draw(st.booleans()):
        kwargs["eps"] = draw(eps())
    # Iterations stay bounded: tol = 0 (or one never reached) asks for exactly max_iter of them.
    kwargs["max_iter"] = draw(mostly(st.integers(0, 60), st.sampled_from([-1, 1.5, "10"])))
    if draw(st.booleans()):
        kwargs["tol"] = draw(mostly(st.sampled_from([0.0, 1e-6, 1e-3, 1.0, 1e30]), floats_any()))
    if draw(st.integers(0, 3)) == 0:
        kwargs["levels"] = draw(mostly(st.integers(0, 3), st.sampled_from([-1, 2**40])))
    kwargs["return_info"] = True
    return {"op": "solve_alpha", "args": [img, tri_spec], "kwargs": kwargs}


# op name -> strategy of its cases
OPS = {
    "composite": blend("composite"),
    "premultiply": blend("premultiply"),
    "unpremultiply": blend("unpremultiply"),
    "pack_rgba": pack_rgba(),
    "preprocess": preprocess(),
    "preprocess_into": preprocess_into(),
    "resize": resize(),
    "guided_filter": guided("guided_filter"),
    "guided_filter_coefficients": guided("guided_filter_coefficients"),
    "upscale_alpha": upscale_alpha(),
    "dilate": morphology("dilate"),
    "erode": morphology("erode"),
    "make_trimap": make_trimap(),
    "estimate_foreground": estimate_foreground(),
    "solve_alpha": solve_alpha(),
}
