"""Runs fuzz cases in a child interpreter (_worker.py) and checks the properties of the results:

* no crash (a signal, an exit) and no hang (a case past its time limit);
* a call either returns or raises alphacut.InputError (or a subclass): any other exception is a
  finding, bad input or not;
* a returned result is finite;
* cpu and emu agree: both accept or both refuse, the same shapes and dtypes, values within the
  op's stated tolerance (csrc/ops/README.md).

A crashed or hung worker is replaced, and the next case runs in a fresh one.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _python_dir() -> str:
    """Where the worker imports alphacut from: ALPHACUT_FUZZ_PYTHON, else wherever this process
    would import it from (an install, or python/ on PYTHONPATH), else this tree's python/."""
    if os.environ.get("ALPHACUT_FUZZ_PYTHON"):
        return os.environ["ALPHACUT_FUZZ_PYTHON"]
    spec = importlib.util.find_spec("alphacut")
    if spec is not None and spec.origin:
        return str(Path(spec.origin).resolve().parents[1])
    return str(HERE.parents[1] / "python")


PYTHON_DIR = _python_dir()
sys.path.insert(0, str(HERE))

import _cases

# cpu vs emu, per op: (rtol, atol) on every output, or a name for the special rules below.
TOLERANCES = {
    "composite": (1e-6, 1e-6),
    "premultiply": (1e-6, 1e-6),
    "unpremultiply": (1e-6, 1e-6),
    "pack_rgba": (0, 0),
    "preprocess": (1e-5, 1e-5),  # float16: the same float32 rounded alike, so exact or one ulp apart
    "preprocess_into": (1e-5, 1e-5),
    "resize": "resize",
    "guided_filter": (1e-4, 1e-5),
    "guided_filter_coefficients": (1e-4, 1e-5),
    "upscale_alpha": (1e-4, 4e-5),
    "dilate": (0, 0),
    "erode": (0, 0),
    "make_trimap": (0, 0),
    "estimate_foreground": "foreground",
    "solve_alpha": "solve",
}


def _describe_exit(code: int) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class Worker:
    """A child interpreter that runs cases; replaced after a crash or a hang."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self.proc = None
        self.started = 0
        self._start()

    def _start(self) -> None:
        self.close()
        self._stderr = tempfile.TemporaryFile()
        env = dict(os.environ)
        env["PYTHONPATH"] = PYTHON_DIR + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("ALPHACUT_NUM_THREADS", "2")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self.started += 1
        ready = self._read(120.0)
        if not (isinstance(ready, tuple) and ready[0] == "ready"):
            raise RuntimeError(
                f"the fuzz worker did not start: {_describe_exit(self.proc.poll())}\n{self._stderr_tail()}"
            )

    def _stderr_tail(self, n: int = 3000) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-n:]

    def _read_exact(self, n: int, deadline: float):
        import time

        buf = b""
        fd = self.proc.stdout.fileno()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, "hang"
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None, "hang"
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                return None, "eof"
            buf += chunk
        return buf, None

    def _read(self, timeout: float):
        import time

        deadline = time.monotonic() + timeout
        head, err = self._read_exact(8, deadline)
        if err:
            return err
        (n,) = struct.unpack("<Q", head)
        body, err = self._read_exact(n, deadline)
        if err:
            return err
        return pickle.loads(body)

    def run(self, case: dict, backends, timeout: float | None = None):
        """("ok", replies) with a reply per backend, or ("crash" | "hang", description)."""
        data = pickle.dumps((case, list(backends)), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            reply = "eof"
        else:
            reply = self._read(timeout or self.timeout)
        if reply == "hang":
            self.proc.kill()
            self.proc.wait()
            out = ("hang", f"no result within {timeout or self.timeout:g} s\n{self._stderr_tail()}")
            self._start()
            return out
        if reply == "eof":
            code = self.proc.wait()
            out = ("crash", f"{_describe_exit(code)}\n{self._stderr_tail()}")
            self._start()
            return out
        return "ok", reply

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---- properties -----------------------------------------------------------------------------

# The guided filter's tolerance holds for data in [0, 1] and eps >= this: below, a window whose
# guide colours are (nearly) collinear makes the 3 x 3 solve so ill-conditioned (~1 / eps) that the
# backends' last-bit differences (sums in another order; upscale_alpha's area downscale, 1e-6
# apart) decide the result.
GUIDED_EPS_COMPARED = 1e-6
UNIT_FILLS = {"unit", "binary", "edges", "const", "trimap", "tiny"}


def _unit_data(x) -> bool:
    """Whether every float array of a case value holds data in [0, 1] (integer arrays do)."""
    if isinstance(x, dict) and set(x) == {"array"}:
        spec = x["array"]
        return not str(spec["dtype"]).startswith("float") or spec.get("fill", "unit") in UNIT_FILLS
    if isinstance(x, dict):
        return all(_unit_data(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(_unit_data(v) for v in x)
    return True


def _guided_eps(op: str, case: dict) -> float:
    if op == "upscale_alpha":
        eps = case.get("kwargs", {}).get("eps", 1e-4)
    else:
        eps = case["args"][3] if len(case.get("args", [])) > 3 else case.get("kwargs", {}).get("eps", 0.0)
    return float(eps) if isinstance(eps, (int, float)) else 0.0


def _compare_values(op: str, case: dict, a: list, b: list) -> str | None:
    rule = TOLERANCES.get(op, (1e-5, 1e-5))
    if op in ("guided_filter", "guided_filter_coefficients", "upscale_alpha") and (
        _guided_eps(op, case) < GUIDED_EPS_COMPARED or not _unit_data(case)
    ):
        return None  # shapes, dtypes and finiteness are still checked
    if rule == "foreground":
        # Red-black on the GPU backends vs scan order on the CPU for the small levels: F and B
        # differ by design (README: mean 1e-3..6e-3 over the soft pixels); both stay in [0, 1].
        for x in a + b:
            if x.size and (x.min() < 0 or x.max() > 1):
                return f"estimate_foreground output outside [0, 1]: [{x.min()}, {x.max()}]"
        return None
    if rule == "solve":
        # alpha, then the info numbers sorted by key: coarse_iterations, iterations, levels,
        # residual, unknown, windows. The unknowns and windows are counted exactly alike; CG in
        # another reduction order reaches a tolerance after about as many iterations, so alpha is
        # compared after the same fixed number of them (tol = 0, one level: README, 1e-6; 1e-4
        # here for eps down to 1e-6), else only its range.
        alpha_a, alpha_b = a[0], b[0]
        info_a, info_b = a[1:], b[1:]
        if info_a and info_b and (info_a[-2] != info_b[-2] or info_a[-1] != info_b[-1]):
            return f"solve_alpha unknown / windows differ: {info_a[-2:]} vs {info_b[-2:]}"
        for x in (alpha_a, alpha_b):
            if x.size and (x.min() < 0 or x.max() > 1):
                return f"solve_alpha output outside [0, 1]: [{x.min()}, {x.max()}]"
        kw = case.get("kwargs", {})
        eps = kw.get("eps", 1e-6)
        fixed = kw.get("tol", 1e-3) == 0 and kw.get("levels", 1) in (0, 1) and isinstance(eps, float) and eps >= 1e-6
        if fixed and _unit_data(case):
            if info_a[1] != info_b[1]:
                return f"solve_alpha iterations differ at tol = 0: {info_a[1]} vs {info_b[1]}"
            return _close(alpha_a, alpha_b, 0, 1e-4)
        return None
    if rule == "resize":
        for x, y in zip(a, b):
            if x.dtype == np.uint8:
                d = np.abs(x.astype(np.int64) - y.astype(np.int64))
                if d.size and (d.max() > 1 or (d > 0).mean() > 0.01):
                    return f"resize uint8: max diff {d.max()}, {100 * (d > 0).mean():.2f} % of pixels differ"
            else:
                err = _close(x, y, 1e-5, 1e-5)
                if err:
                    return err
        return None
    rtol, atol = rule
    for x, y in zip(a, b):
        err = _close(x, y, rtol, atol)
        if err:
            return err
    return None


def _close(x: np.ndarray, y: np.ndarray, rtol: float, atol: float) -> str | None:
    if x.dtype == np.float16:  # one half-precision ulp (the kernel and the CPU op round the same float32)
        xi, yi = x.view(np.int16).astype(np.int64), y.view(np.int16).astype(np.int64)
        d = np.abs(xi - yi)
        return None if not d.size or d.max() <= 1 else f"float16 outputs differ by {d.max()} ulp"
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    if not np.allclose(xf, yf, rtol=rtol, atol=atol, equal_nan=False):
        d = np.abs(xf - yf)
        i = np.unravel_index(int(np.argmax(d)), d.shape) if d.ndim else ()
        return (
            f"values differ: max |cpu - emu| = {d.max():.3g} at {tuple(int(k) for k in i)} (cpu {float(xf[i])!r}, "
            f"emu {float(yf[i])!r}; rtol {rtol}, atol {atol})"
        )
    return None


def check(case: dict, outcome, backends) -> tuple:
    """(category, findings): the category counts the case (ok / input_error / finding), findings
    say what broke a property, each with the backend."""
    kind = outcome[0]
    if kind in ("crash", "hang"):
        return kind, [f"{kind}: {outcome[1]}"]
    replies = outcome[1]
    findings = []
    accepted = {}
    for b, r in zip(backends, replies):
        if r[0] == "raised":
            _, tname, is_input_error, msg = r
            if not is_input_error:
                findings.append(f"{b}: raised {tname}: {msg}")
            continue
        outs = r[1]
        accepted[b] = outs
        for i, o in enumerate(outs):
            if not _cases.finite(o):
                findings.append(f"{b}: output {i} {o.shape} {o.dtype} is not finite")
    statuses = {b: r[0] for b, r in zip(backends, replies)}
    if len(set(statuses.values())) > 1:
        findings.append(
            f"backends disagree: {statuses} "
            + "; ".join(f"{b}: {r[1]}: {r[3]}" for b, r in zip(backends, replies) if r[0] == "raised")
        )
    if len(accepted) == 2:
        (b0, a), (b1, c) = accepted.items()
        shapes = [(o.shape, o.dtype) for o in a], [(o.shape, o.dtype) for o in c]
        if shapes[0] != shapes[1]:
            findings.append(f"{b0} / {b1} shapes or dtypes differ: {shapes[0]} vs {shapes[1]}")
        else:
            err = _compare_values(case["op"], case, a, c)
            if err:
                findings.append(f"{b0} vs {b1}: {err}")
    if findings:
        return "finding", findings
    return ("ok" if accepted else "input_error"), []


@functools.cache
def _available(python_dir: str) -> tuple:
    out = subprocess.run(
        [sys.executable, "-c", "import alphacut.ops as o; print(' '.join(o.available_backends()))"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=python_dir),
        check=True,
    )
    return tuple(b for b in ("cpu", "emu") if b in out.stdout.split())


def backends() -> list:
    """cpu, and emu when the worker's alphacut has it."""
    return list(_available(PYTHON_DIR))
