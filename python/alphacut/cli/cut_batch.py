"""Running ``alphacut cut`` over many images with decode, network and encode overlapped.

:class:`Runner` decodes the next images on worker threads while the network runs on the current
ones (``Session.run_batch`` on the images already decoded, so a model with a dynamic batch gets
one call for several), and hands each result to worker threads that finish it (crop, shadow,
background), encode it and write it atomically. Pillow's decoders and encoders, zlib, ONNX
Runtime and alphacut's native ops release the GIL, so the stages really overlap. A failing image
is reported and the others go on; an interrupt cancels what has not started and waits for the
writes in flight, which are atomic: no partial file is ever left.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple


@dataclass
class Job:
    name: str  # shown in messages
    src: Any  # a path, bytes or an array
    dst: Optional[Path]  # None: stdout
    fmt: str
    rel: Path = Path("image")  # for the debug folder's layout
    make_parents: bool = False  # a subfolder of -o OUT: created when the first output goes there


@dataclass
class Decoded:
    rgb: Any
    icc: Optional[bytes]
    ms: float


@dataclass
class Tally:
    done: int = 0
    failures: List[Tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


class Progress:
    """A progress bar with images/s (tqdm when installed), and messages that do not break it."""

    def __init__(self, total: Optional[int], enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.t0 = time.perf_counter()
        self.bar = None
        self.enabled = enabled and (total is None or total > 1)
        if self.enabled:
            try:
                from tqdm import tqdm

                fmt = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]"
                if total is None:
                    fmt = "{n_fmt} [{elapsed}, {rate_noinv_fmt}{postfix}]"
                self.bar = tqdm(
                    total=total, unit="img", file=sys.stderr, leave=True, dynamic_ncols=True, bar_format=fmt
                )
            except ImportError:
                self.bar = None

    def update(self, name: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(name[-30:], refresh=False)
            self.bar.update(1)
            return
        rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
        total = self.total or self.done
        width = 30
        k = int(width * self.done / total)
        print(
            f"\r[{'#' * k}{'.' * (width - k)}] {self.done}/{total} {rate:.2f} img/s {name[-30:]:30s}",
            end="" if self.done < total else "\n",
            file=sys.stderr,
            flush=True,
        )

    def write(self, msg: str) -> None:
        if self.bar is not None:
            self.bar.write(msg, file=sys.stderr)
        else:
            if self.enabled and self.done and self.total and self.done < self.total:
                print(file=sys.stderr)
            print(msg, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def describe_error(name: str, exc: BaseException) -> str:
    from ..errors import Error

    msg = str(exc)
    if not isinstance(exc, Error):
        msg = f"{type(exc).__name__}: {msg}"
    return msg if msg.startswith(name) else f"{name}: {msg}"


class Runner:
    """Decode → network → finish (effects, encode, write), overlapped across images.

    Parameters
    ----------
    session : alphacut.Session
    finish : callable(job, decoded, result) -> str or None
        Runs on a worker thread: makes and writes the output; returns a line to print (or None).
    io_threads : int
        Decode threads and finish threads (each); 0 runs everything in order on the calling thread.
    max_batch : int
        The most decoded images given to one ``run_batch`` call.
    """

    def __init__(
        self,
        session,
        finish: Callable[[Job, Decoded, Any], Optional[str]],
        *,
        io_threads: int = 2,
        max_batch: int = 4,
        progress: Optional[Progress] = None,
    ) -> None:
        self.session = session
        self.finish = finish
        self.io_threads = max(0, int(io_threads))
        self.max_batch = max(1, int(max_batch))
        self.progress = progress or Progress(None, False)
        self.tally = Tally()
        self._dec = ThreadPoolExecutor(self.io_threads, "alphacut-decode") if self.io_threads else None
        self._fin = ThreadPoolExecutor(self.io_threads, "alphacut-encode") if self.io_threads else None

    # -- stages --------------------------------------------------------------------------------
    def decode(self, job: Job) -> Decoded:
        """Decode with the session's limits (pixels and memory, from the header first)."""
        from ..session import decode_for_cut

        t0 = time.perf_counter()
        d = decode_for_cut(job.src, getattr(self.session, "max_pixels", None))
        return Decoded(d.rgb, d.info.get("icc_profile"), (time.perf_counter() - t0) * 1000.0)

    def _fail(self, job: Job, exc: BaseException) -> None:
        msg = describe_error(job.name, exc)
        self.tally.failures.append((job.name, msg))
        self.progress.write(f"alphacut: error: {msg}")

    def _collect(self, job: Job, fut: Future[Optional[str]]) -> None:
        try:
            line = fut.result()
        except Exception as exc:  # noqa: BLE001 - one image's failure never stops the others
            self._fail(job, exc)
        else:
            self.tally.done += 1
            if line:
                self.progress.write(line)
        self.progress.update(job.name)

    # -- the loop ------------------------------------------------------------------------------
    def run(self, jobs: Sequence[Job]) -> Tally:
        t0 = time.perf_counter()
        it = iter(jobs)
        lookahead = max(2, 2 * self.io_threads)
        decoding: Deque[Tuple[Job, Future]] = deque()
        finishing: Deque[Tuple[Job, Future]] = deque()

        def submit_decode() -> None:
            while len(decoding) < lookahead:
                job = next(it, None)
                if job is None:
                    return
                f: Future = Future()
                if self._dec is None:
                    try:
                        f.set_result(self.decode(job))
                    except Exception as exc:  # noqa: BLE001
                        f.set_exception(exc)
                else:
                    f = self._dec.submit(self.decode, job)
                decoding.append((job, f))
                if self._dec is None:
                    return  # in order: decode one, run it, finish it

        def drain(block_above: int) -> None:
            while finishing and (finishing[0][1].done() or len(finishing) > block_above):
                job, f = finishing.popleft()
                self._collect(job, f)

        try:
            while True:
                submit_decode()
                if not decoding:
                    break
                group = [decoding.popleft()]
                while (
                    decoding
                    and len(group) < self.max_batch
                    and decoding[0][1].done()
                    and decoding[0][0].fmt == group[0][0].fmt
                ):
                    group.append(decoding.popleft())
                ready: List[Tuple[Job, Decoded]] = []
                for job, f in group:
                    try:
                        ready.append((job, f.result()))
                    except Exception as exc:  # noqa: BLE001
                        self._fail(job, exc)
                        self.progress.update(job.name)
                if ready:
                    submit_decode()  # keep the decoders busy while the network runs
                    fg = None if ready[0][0].fmt != "mask" else False
                    results = self.session.run_batch(
                        [d.rgb for _, d in ready], rgba=True, foreground=fg, return_exceptions=True
                    )
                    for (job, d), res in zip(ready, results):
                        if isinstance(res, BaseException):
                            self._fail(job, res)
                            self.progress.update(job.name)
                            continue
                        res.timings = {"decode": d.ms, **res.timings}
                        if self._fin is None:
                            f = Future()
                            try:
                                f.set_result(self.finish(job, d, res))
                            except Exception as exc:  # noqa: BLE001
                                f.set_exception(exc)
                        else:
                            f = self._fin.submit(self.finish, job, d, res)
                        finishing.append((job, f))
                drain(2 * max(1, self.io_threads))
            drain(0)
        except BaseException:
            # Interrupted: drop what has not started; the writes in flight are atomic and complete.
            for _, f in decoding:
                f.cancel()
            for _, f in finishing:
                f.cancel()
            self.close()
            raise
        finally:
            self.tally.seconds += time.perf_counter() - t0
        return self.tally

    def close(self) -> None:
        for pool in (self._dec, self._fin):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._dec = self._fin = None


def json_safe(d: Dict[str, Any]) -> Dict[str, Any]:
    """The JSON-serialisable part of a result's ``info``."""
    import json

    out = {}
    for k, v in d.items():
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            v = repr(v)
        out[k] = v
    return out
