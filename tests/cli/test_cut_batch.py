"""The overlapped runner of ``alphacut cut``: decode of the next images and encode of the previous
ones run while the network runs; failures are per image; an interrupt cancels what has not started."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from alphacut.cli.cut_batch import Job, Runner


class _Clock:
    def __init__(self):
        self.lock = threading.Lock()
        self.spans = []  # (kind, name, start, end)

    def span(self, kind, name, t0):
        with self.lock:
            self.spans.append((kind, name, t0, time.perf_counter()))


class _SlowNetwork:
    """A stand-in session: the 'network' takes 0.15 s per image and records when it ran."""

    def __init__(self, clock, fail=()):
        self.clock = clock
        self.fail = set(fail)
        self.seen = []

    def run_batch(self, images, *, rgba, foreground, return_exceptions):
        out = []
        for rgb in images:
            t0 = time.perf_counter()
            time.sleep(0.15)
            key = int(rgb[0, 0, 0])
            self.seen.append(key)
            self.clock.span("net", key, t0)
            if key in self.fail:
                out.append(RuntimeError(f"network failed on {key}"))
                continue
            a = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
            out.append(SimpleNamespace(rgba=a, timings={}, info={}, probability=None, trimap=None))
        return out


def _images(tmp_path: Path, n: int):
    jobs = []
    for i in range(n):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (1200, 900), (i, 0, 0)).save(p, compress_level=9)  # decode takes a while too
        jobs.append(Job(str(p), p, tmp_path / f"{i}.out", "png"))
    return jobs


def _finisher(clock, written):
    def finish(job, decoded, res):
        t0 = time.perf_counter()
        time.sleep(0.1)  # encode + write
        written.append((job.name, int(res.rgba[0, 0, 0])))
        clock.span("fin", int(res.rgba[0, 0, 0]), t0)
        return None

    return finish


def _overlaps(clock, a, b):
    A = [s for s in clock.spans if s[0] == a]
    B = [s for s in clock.spans if s[0] == b]
    return sum(1 for x in A for y in B if x[2] < y[3] and y[2] < x[3])


@pytest.mark.parametrize("threads", [0, 2])
def test_stages_overlap_only_with_threads(tmp_path, threads):
    clock = _Clock()
    written = []
    session = _SlowNetwork(clock)

    def timed_decode(job):
        t0 = time.perf_counter()
        d = Runner.decode(runner, job)
        clock.span("dec", int(d.rgb[0, 0, 0]), t0)
        return d

    runner = Runner(session, _finisher(clock, written), io_threads=threads, max_batch=1)
    runner.decode = timed_decode  # type: ignore[method-assign]
    jobs = _images(tmp_path, 6)
    t0 = time.perf_counter()
    tally = runner.run(jobs)
    wall = time.perf_counter() - t0
    runner.close()
    assert tally.done == 6 and not tally.failures
    assert sorted(written) == sorted((j.name, i) for i, j in enumerate(jobs))  # each result to its own job
    assert session.seen == list(range(6))
    busy = sum(s[3] - s[2] for s in clock.spans)
    if threads:
        assert _overlaps(clock, "dec", "net") >= 3 and _overlaps(clock, "fin", "net") >= 3
        assert wall < 0.9 * busy
    else:
        assert _overlaps(clock, "dec", "net") == 0 and _overlaps(clock, "fin", "net") == 0


def test_a_failing_image_does_not_stop_the_others(tmp_path):
    clock = _Clock()
    written = []
    jobs = _images(tmp_path, 5)
    jobs[1].src.write_bytes(b"corrupt")
    runner = Runner(_SlowNetwork(clock, fail={3}), _finisher(clock, written), io_threads=2, max_batch=1)
    tally = runner.run(jobs)
    runner.close()
    assert tally.done == 3
    assert [n for n, _ in tally.failures] == [jobs[1].name, jobs[3].name]
    assert "network failed on 3" in tally.failures[1][1]
    assert sorted(i for _, i in written) == [0, 2, 4]


def test_interrupt_cancels_what_has_not_started(tmp_path):
    clock = _Clock()
    written = []

    class Interrupting(_SlowNetwork):
        def run_batch(self, images, **kw):
            if int(images[0][0, 0, 0]) == 2:
                raise KeyboardInterrupt
            return super().run_batch(images, **kw)

    runner = Runner(Interrupting(clock), _finisher(clock, written), io_threads=2, max_batch=1)
    with pytest.raises(KeyboardInterrupt):
        runner.run(_images(tmp_path, 8))
    done = sorted(i for _, i in written)
    assert done in ([0], [0, 1])  # image 0 finished long before; 1 finished or was cancelled; nothing after
    assert runner._fin is None and runner._dec is None  # the pools were shut down
