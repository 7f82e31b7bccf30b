"""alphacut.heap: freed memory kept in the heap (glibc), who applies it, and ONNX Runtime's arena
handed back into it. The setting is process-wide, so each case runs in a child process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import conftest
import pytest

import alphacut
from alphacut import InputError, heap

REPO = Path(__file__).resolve().parents[1]
glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the heap setting is glibc's (mallopt); elsewhere it is a no-op, tested below",
)


def child(code: str, **env: str) -> dict:
    """Run ``code`` in a fresh interpreter (alphacut importable); it prints one JSON line."""
    e = dict(os.environ)
    e.pop("ALPHACUT_HEAP", None)
    e.update(env)
    e["PYTHONPATH"] = os.pathsep.join([str(Path(alphacut.__file__).parents[1])] + sys.path)
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=e, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


FAULTS = """
    import json, resource, numpy as np
    from alphacut import heap
    {setup}
    def faults():
        r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        a = np.ones(64 << 20, np.uint8)  # 64 MiB, touched
        del a
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0
    faults()
    print(json.dumps({{"again": [faults() for _ in range(3)], "retained": heap.heap_retained()}}))
"""


@glibc_only
def test_retained_heap_reuses_freed_pages():
    # 64 MiB freed then allocated again: with glibc's defaults it is a fresh mmap each time, so
    # every page faults again (16,384 of 4 KiB, or 32 huge pages); kept in the heap, none does.
    kept = child(FAULTS.format(setup="assert heap.retain_heap()"))
    plain = child(FAULTS.format(setup=""))
    assert kept["retained"] and not plain["retained"]
    assert max(kept["again"]) <= 4, kept
    assert min(plain["again"]) >= 30, plain  # 16,384 small pages or 32 huge ones


@glibc_only
def test_session_applies_the_environment():
    code = """
        import json
        from alphacut import Session, heap
        before = heap.heap_retained()
        Session("u2netp", model_path={path!r})
        print(json.dumps({{"before": before, "after": heap.heap_retained()}}))
    """.format(path=str(conftest.shared_path("models", "u2netp_320.onnx")))
    assert child(code, ALPHACUT_HEAP="retain") == {"before": False, "after": True}
    assert child(code) == {"before": False, "after": False}  # a library does not decide it alone
    assert child(code, ALPHACUT_HEAP="system") == {"before": False, "after": False}


@glibc_only
def test_the_command_retains_unless_told_not_to():
    def info(**env):
        e = dict(os.environ)
        e.pop("ALPHACUT_HEAP", None)
        e.update(env)
        e["PYTHONPATH"] = str(Path(alphacut.__file__).parents[1])
        return subprocess.run(
            [sys.executable, "-m", "alphacut", "info"], env=e, capture_output=True, text=True, timeout=120, check=False
        )

    out = info()
    assert out.returncode == 0, out.stderr
    assert "heap: retained" in out.stdout
    assert "heap: system" in info(ALPHACUT_HEAP="system").stdout
    bad = info(ALPHACUT_HEAP="sometimes")
    assert bad.returncode == 1 and "ALPHACUT_HEAP must be 'retain' or 'system'" in bad.stderr


def test_bad_setting_is_refused(monkeypatch):
    monkeypatch.setenv("ALPHACUT_HEAP", "forever")
    with pytest.raises(InputError, match="ALPHACUT_HEAP must be 'retain' or 'system'"):
        heap.setting()
    monkeypatch.setenv("ALPHACUT_HEAP", " Retain ")
    assert heap.setting() == "retain"
    monkeypatch.delenv("ALPHACUT_HEAP")
    assert heap.setting() == "system" and heap.setting("retain") == "retain"


def test_elsewhere_nothing_changes(monkeypatch):
    monkeypatch.setattr(heap, "_glibc", lambda: None)
    monkeypatch.setattr(heap, "_retained", False)
    assert heap.retain_heap() is False and heap.heap_retained() is False


ARENA = """
    import json, numpy as np
    from alphacut.bench.memory import read_status
    from alphacut.runtime import OrtRuntime
    r = OrtRuntime({path!r}, threads=1, shrink_arena={shrink})
    x = np.random.default_rng(0).random((1, 3, 320, 320), dtype=np.float32)
    name = r.input_metadata()[0][0]
    r.infer({{name: x}})
    before = read_status()["VmRSS"]
    r.infer({{name: x}})
    print(json.dumps({{"rss_mb": read_status()["VmRSS"], "before": before}}))
"""


@glibc_only
def test_onnxruntime_hands_its_arena_back_after_each_run():
    # u2netp's activations at 320 px take ~260 MiB of ONNX Runtime's arena. Shrunk at the end of
    # the run, it is freed (with glibc's defaults its chunks go back to the system); kept, it
    # stays resident.
    path = str(conftest.shared_path("models", "u2netp_320.onnx"))
    kept = child(ARENA.format(path=path, shrink=False))
    shrunk = child(ARENA.format(path=path, shrink=True))
    assert kept["rss_mb"] - shrunk["rss_mb"] > 100, (kept, shrunk)


def test_onnxruntime_shrinks_when_the_heap_is_retained(monkeypatch):
    from alphacut.runtime import OrtRuntime

    r = OrtRuntime(conftest.shared_path("models", "u2netp_320.onnx"))
    monkeypatch.setattr(heap, "_retained", False)
    assert r._run_options() is None
    monkeypatch.setattr(heap, "_retained", True)
    opts = r._run_options()
    assert opts is not None and opts.get_run_config_entry("memory.enable_memory_arena_shrinkage") == "cpu:0"
    assert OrtRuntime(conftest.shared_path("models", "u2netp_320.onnx"), shrink_arena=False)._run_options() is None


def test_onnxruntime_leaves_the_arena_to_a_run_in_flight(monkeypatch):
    # A run on the main thread while another thread's run of the same runtime is in flight: the
    # arena is in use by the other, so it is not shrunk; the same run alone afterwards shrinks it.
    import threading

    import numpy as np

    from alphacut.runtime import OrtRuntime

    monkeypatch.setattr(heap, "_retained", True)
    r = OrtRuntime(conftest.shared_path("models", "u2netp_320.onnx"), threads=1)
    r.activate()
    real, seen = r.session, []
    started, release = threading.Event(), threading.Event()

    class Spy:
        def run(self, names, feeds, options=None):
            main = threading.current_thread() is threading.main_thread()
            seen.append((main, options))
            if not main:
                started.set()
                release.wait(timeout=30)  # in flight until the main thread's run has begun
            return real.run(names, feeds, options)

    r.session = Spy()
    name = r.input_metadata()[0][0]
    x = np.zeros((1, 3, 320, 320), np.float32)
    other = threading.Thread(target=r.infer, args=({name: x},))
    other.start()
    assert started.wait(timeout=30)
    r.infer({name: x})
    release.set()
    other.join()
    r.infer({name: x})
    on_main = [opts for main, opts in seen if main]
    assert on_main[0] is None, "shrunk while another run was in flight"
    assert on_main[1] is not None  # alone again: shrunk
    assert [opts for main, opts in seen if not main] == [None]  # another thread's run never shrinks


def test_onnxruntime_shrinks_on_the_main_thread_only(monkeypatch):
    # Off the main thread glibc hands the arena's large chunks back to the system (a thread's
    # own heap keeps at most 64 MiB), so shrinking would cost the next run its page faults.
    import threading

    from alphacut.runtime import OrtRuntime

    monkeypatch.setattr(heap, "_retained", True)
    r = OrtRuntime(conftest.shared_path("models", "u2netp_320.onnx"))
    got = []
    t = threading.Thread(target=lambda: got.append(r._run_options()))
    t.start()
    t.join()
    assert got == [None] and r._run_options() is not None


def test_the_server_keeps_the_system_heap_unless_told():
    from alphacut.cli import heap_default

    assert heap_default(["serve", "--port", "7000"]) == "system"
    assert heap_default(["cut", "photo.jpg"]) == "retain"
    assert heap_default(["bench", "--sizes", "12mp"]) == "retain"
    assert heap_default([]) == "retain"


def test_images_side_by_side_leave_the_arena(monkeypatch):
    # Session.run_batch's workers share their runtimes: inside the batch no run shrinks the
    # arena (the others are using it); a plain run afterwards does.
    import numpy as np

    from alphacut import Session
    from alphacut.runtime import OrtRuntime

    monkeypatch.setattr(heap, "_retained", True)
    calls = []
    real = OrtRuntime._run_options

    def spy(self, alone=True):
        opts = real(self, alone)
        calls.append(opts is not None)
        return opts

    monkeypatch.setattr(OrtRuntime, "_run_options", spy)
    s = Session("u2netp", model_path=conftest.shared_path("models", "u2netp_320.onnx"), threads=2)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (96, 128, 3), dtype=np.uint8) for _ in range(4)]
    s.run_batch(images, workers=2)
    assert len(calls) == 4 and not any(calls), calls
    calls.clear()
    s.run(images[0])
    assert calls == [True]
    r = s.runtime
    with r.side_by_side():
        s.run(images[0])
    assert calls == [True, False]
