"""Run a snippet in a fresh interpreter, so a crash (a signal) or a hang fails one test with what
happened instead of taking the test session down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import alphacut

PYTHON_DIR = str(Path(alphacut.__file__).resolve().parents[1])


def describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def run_child(code: str, timeout: float = 60.0) -> str:
    """Runs ``code`` (with ``alphacut`` importable); returns its stdout. Fails the calling test
    when the child is killed by a signal, exits non-zero or does not finish within ``timeout``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the child did not finish within {timeout} s (a hang)") from None
    if proc.returncode != 0:
        raise AssertionError(f"the child failed: {describe(proc.returncode)}\n--- stderr ---\n{proc.stderr[-4000:]}")
    return proc.stdout
