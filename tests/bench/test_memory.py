import sys

import numpy as np
import pytest

import alphacut
from alphacut.bench import memory

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM and clear_refs are Linux-only")


@linux
def test_peak_rss_sees_a_numpy_allocation():
    with memory.PeakRSS() as m:
        a = np.ones(96 * 2**20, np.uint8)  # 96 MiB, every page touched
        del a
    r = m.result
    assert 85 <= r["delta_mb"] <= 140, r
    assert r["peak_mb"] >= r["rss_before_mb"] + 85


@linux
def test_peak_rss_sees_native_allocations_tracemalloc_misses():
    # memory allocated by a C library (here: Pillow's decoder buffers) is not Python's allocator
    import tracemalloc

    from PIL import Image

    tracemalloc.start()
    with memory.PeakRSS() as m:
        im = Image.new("RGB", (6000, 6000), (10, 20, 30))  # ~137 MiB inside Pillow's C core
        im.load()
        del im
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert m.result["delta_mb"] > 90
    assert py_peak / 2**20 < 10  # tracemalloc does not see it


@linux
def test_subprocess_probe_with_calibration_target():
    spec = {
        "factory": "alphacut.bench.harness:calibration_target",
        "kwargs": {"mb": 64, "ms": 0},
        "size": "tiny",
        "shape": [24, 32],
        "photo": None,
        "warmup": 1,
    }
    r = memory.measure_in_subprocess(spec, timeout=120)
    assert 55 <= r["delta_mb"] <= 100, r
    assert r["method"].startswith("VmHWM")
    assert r["process_maxrss_mb"] >= r["peak_mb"] - 1


def test_subprocess_probe_reports_a_failing_target_clearly():
    spec = {
        "factory": "alphacut.bench.harness:no_such_factory",
        "kwargs": {},
        "size": "tiny",
        "shape": [8, 8],
        "photo": None,
    }
    with pytest.raises(alphacut.Error, match="memory probe for tiny failed"):
        memory.measure_in_subprocess(spec, timeout=120)


def test_fallback_without_reset(monkeypatch):
    monkeypatch.setattr(memory, "reset_peak", lambda: False)
    with memory.PeakRSS() as m:
        pass
    assert m.result["method"].startswith("ru_maxrss")
    assert m.result["peak_mb"] == pytest.approx(memory.maxrss_mb(), abs=1.0)
