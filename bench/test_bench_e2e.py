"""End-to-end latency of the pipeline per size (1 MP, 4K, 12 MP): JPEG bytes in, PNG bytes out,
on each backend, with rembg 2.0.86's plain ``remove()`` on the same u2netp file in the same group.

Run (figures only with --benchmark-enable; see bench/README.md)::

    PYTHONPATH=python python -m pytest bench/test_bench_e2e.py --benchmark-enable \
        --benchmark-columns=median,iqr,min,max,rounds --benchmark-sort=name

Each size is one pytest-benchmark group, so the alphacut and rembg rows of a size sit side by side.
Per-stage medians (ms) go into ``extra_info`` (``--benchmark-json`` keeps them). cuda and tensorrt
are skipped with the reason on machines without a GPU; rembg is skipped when it is not installed.
``ALPHACUT_BENCH_ROUNDS`` sets the rounds (default 5).
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

import pytest

from alphacut.bench.inputs import find_photo, make_images, parse_sizes

ROUNDS = int(os.environ.get("ALPHACUT_BENCH_ROUNDS", "5"))
SIZES = parse_sizes("1mp,4k,12mp")
REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))
U2NETP = SHARED / "models" / "u2netp_320.onnx"

_images: dict = {}


def _image(name):
    if name not in _images:
        shape = dict(SIZES)[name]
        _images[name] = make_images([(name, shape)], photo=find_photo(None))[0]
    return _images[name]


_targets: dict = {}


def _target(backend):
    """One session per backend for the whole module; skip with the reason when it cannot run here."""
    from alphacut.errors import BackendUnavailableError, Error

    if backend not in _targets:
        from alphacut.bench.adapter import PipelineTarget

        try:
            kw = {"model_path": str(U2NETP)} if U2NETP.exists() else {}
            _targets[backend] = PipelineTarget(model="u2netp", backend=backend, io="bytes", **kw)
        except BackendUnavailableError as exc:
            _targets[backend] = f"backend {backend} unavailable: {exc}"
        except Error as exc:
            _targets[backend] = f"pipeline unavailable: {exc}"
    t = _targets[backend]
    if isinstance(t, str):
        pytest.skip(t)
    return t


@pytest.mark.parametrize("size", [n for n, _ in SIZES])
@pytest.mark.parametrize(
    "backend",
    [
        "cpu",
        pytest.param("cuda", marks=pytest.mark.gpu),
        pytest.param("tensorrt", marks=[pytest.mark.gpu, pytest.mark.trt]),
    ],
)
def test_e2e_alphacut(benchmark, backend, size):
    target = _target(backend)
    im = _image(size)
    data = target.prepare(im)
    stages: dict = {}

    def once():
        for k, v in (target.run(data) or {}).items():
            stages.setdefault(k, []).append(v)

    benchmark.group = f"e2e {size} ({im.shape[1]}x{im.shape[0]})"
    benchmark.name = f"alphacut-{backend}"
    benchmark.extra_info.update({"input": im.source, "backend": backend, "io": "jpeg->png"})
    benchmark.pedantic(once, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    for k, v in stages.items():
        benchmark.extra_info[f"{k}_ms_median"] = round(statistics.median(v), 2)
    assert stages, "the pipeline reported no stage timings"


@pytest.fixture(scope="module")
def rembg_u2netp():
    pytest.importorskip("rembg", reason="rembg is not installed (pip install rembg==2.0.86)")
    if not U2NETP.exists():
        pytest.skip(f"real data not present: {U2NETP}")
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_rembg", Path(__file__).with_name("compare_rembg.py"))
    cmp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cmp)
    import pooch

    saved = {k: os.environ.get(k) for k in ("U2NET_HOME", "REMBG_HOME")}
    retrieve = pooch.retrieve
    with tempfile.TemporaryDirectory(prefix="rembg-home-") as home:
        expected = cmp.rembg_home_with(U2NETP, Path(home))
        yield cmp.rembg_remover(cmp.rembg_session(expected))
    pooch.retrieve = retrieve
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.mark.parametrize("size", [n for n, _ in SIZES])
def test_e2e_rembg_plain(benchmark, rembg_u2netp, size):
    im = _image(size)
    data = im.jpeg()
    benchmark.group = f"e2e {size} ({im.shape[1]}x{im.shape[0]})"
    benchmark.name = "rembg-2.0.86-plain"
    benchmark.extra_info.update({"input": im.source, "io": "jpeg->png"})
    out = benchmark.pedantic(rembg_u2netp, args=(data,), rounds=ROUNDS, warmup_rounds=1, iterations=1)
    assert out[:8] == b"\x89PNG\r\n\x1a\n"
