"""End-to-end cutout latency, JPEG bytes in → PNG bytes out, side by side with rembg 2.0.86.

    python -m pytest bench/test_bench_pipeline.py --benchmark-enable \
        --benchmark-columns=median,min,max,rounds --benchmark-group-by=group

Groups:
- ``e2e-12mp`` / ``e2e-1mp``: alphacut (u2netp, refinement + foreground on, PNG level 1), alphacut
  plain mask (no refinement), rembg ``remove()`` plain and (1 MP only) ``alpha_matting=True``.
  Each alphacut run's per-stage timings (ms) are stored in ``extra_info`` (``--benchmark-json``) and
  printed with ``-s``.
- ``png-12mp``: encoding one 12 MP RGBA cutout: Pillow at its default level, Pillow level 1,
  alphacut's threaded encoder level 1.

The u2netp model comes from ../shared/data/models (rembg is pointed at a temporary U2NET_HOME
holding a link to it, so nothing is downloaded); the benchmark skips where it is absent.
"""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from conftest import SHARED_DATA

U2NETP = SHARED_DATA / "models" / "u2netp_320.onnx"
SIZE_1MP = (866, 1155)

pytestmark = pytest.mark.skipif(not U2NETP.exists(), reason=f"real model not present: {U2NETP}")


def _jpeg(rgb: np.ndarray) -> bytes:
    from PIL import Image

    b = io.BytesIO()
    Image.fromarray(rgb).save(b, "JPEG", quality=90)
    return b.getvalue()


@pytest.fixture(scope="module")
def inputs(photo_12mp):
    from PIL import Image

    rgb12 = photo_12mp[0]
    rgb1 = np.asarray(Image.fromarray(rgb12).resize((SIZE_1MP[1], SIZE_1MP[0]), Image.BILINEAR))
    return {"12mp": _jpeg(rgb12), "1mp": _jpeg(rgb1), "rgb12": rgb12}


@pytest.fixture(scope="module")
def alphacut_session():
    from alphacut import Session

    return Session("u2netp", model_path=U2NETP)


@pytest.fixture(scope="module")
def rembg_session(tmp_path_factory):
    home = tmp_path_factory.mktemp("u2net_home")
    (home / "u2netp.onnx").symlink_to(U2NETP)
    old = os.environ.get("U2NET_HOME")
    os.environ["U2NET_HOME"] = str(home)
    from rembg import new_session

    s = new_session("u2netp")
    yield s
    if old is None:
        os.environ.pop("U2NET_HOME", None)
    else:
        os.environ["U2NET_HOME"] = old


def _alphacut_e2e(session, data: bytes, *, refine=True, stages=None):
    from alphacut.image import decode_image, encode_png

    t0 = time.perf_counter()
    rgb = decode_image(data).rgb
    t1 = time.perf_counter()
    res = session.run(rgb, refine=refine, foreground=refine)
    t2 = time.perf_counter()
    png = encode_png(res.rgba, compress_level=1)
    t3 = time.perf_counter()
    if stages is not None:
        st = {"decode": (t1 - t0) * 1e3, **res.timings, "encode": (t3 - t2) * 1e3}
        stages.append(st)
    return png


def _report(benchmark, stages):
    keys = list(stages[0])
    med = {k: float(np.median([s.get(k, 0.0) for s in stages])) for k in keys}
    benchmark.extra_info["stages_ms_median"] = {k: round(v, 1) for k, v in med.items()}
    print("\n  stages (median ms): " + ", ".join(f"{k} {v:.0f}" for k, v in med.items()))


@pytest.mark.parametrize("size", ["12mp", "1mp"])
def test_alphacut_refined(benchmark, inputs, alphacut_session, size):
    benchmark.group = f"e2e-{size}"
    data = inputs[size]
    _alphacut_e2e(alphacut_session, data)  # warm-up (first ORT run, thread pools)
    stages = []
    png = benchmark.pedantic(
        _alphacut_e2e, args=(alphacut_session, data), kwargs={"stages": stages}, rounds=3, iterations=1
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    _report(benchmark, stages)


@pytest.mark.parametrize("size", ["12mp", "1mp"])
def test_alphacut_plain(benchmark, inputs, alphacut_session, size):
    benchmark.group = f"e2e-{size}"
    data = inputs[size]
    stages = []
    benchmark.pedantic(
        _alphacut_e2e,
        args=(alphacut_session, data),
        kwargs={"refine": False, "stages": stages},
        rounds=3,
        iterations=1,
        warmup_rounds=1,
    )
    _report(benchmark, stages)


@pytest.mark.parametrize("size", ["12mp", "1mp"])
def test_rembg_plain(benchmark, inputs, rembg_session, size):
    from rembg import remove

    benchmark.group = f"e2e-{size}"
    data = inputs[size]
    out = benchmark.pedantic(
        remove,
        args=(data,),
        kwargs={"session": rembg_session},
        rounds=2,
        iterations=1,
        warmup_rounds=1 if size == "1mp" else 0,
    )
    assert out[:8] == b"\x89PNG\r\n\x1a\n"


def test_rembg_alpha_matting_1mp(benchmark, inputs, rembg_session):
    from rembg import remove

    benchmark.group = "e2e-1mp"
    benchmark.pedantic(
        remove, args=(inputs["1mp"],), kwargs={"session": rembg_session, "alpha_matting": True}, rounds=1, iterations=1
    )


@pytest.fixture(scope="module")
def cutout_12mp(photo_12mp):
    rgb, a = photo_12mp
    return np.dstack([rgb * (a[:, :, None] > 0), a]).astype(np.uint8)


@pytest.mark.parametrize("how", ["pillow-default", "pillow-level1", "alphacut-level1"])
def test_png_encode_12mp(benchmark, cutout_12mp, how):
    from PIL import Image

    from alphacut.image import encode_png

    benchmark.group = "png-12mp"

    def pil(level):
        b = io.BytesIO()
        Image.fromarray(cutout_12mp, "RGBA").save(b, "PNG", **({} if level is None else {"compress_level": level}))
        return b.getvalue()

    if how == "pillow-default":
        out = benchmark.pedantic(pil, args=(None,), rounds=1, iterations=1)
    elif how == "pillow-level1":
        out = benchmark.pedantic(pil, args=(1,), rounds=3, iterations=1)
    else:
        out = benchmark.pedantic(
            encode_png, args=(cutout_12mp,), kwargs={"compress_level": 1}, rounds=5, iterations=1, warmup_rounds=1
        )
    benchmark.extra_info["bytes"] = len(out)
