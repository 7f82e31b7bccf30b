"""Helpers for running the rembg drop-in (compat/rembg/src) beside the real rembg.

The drop-in installs a package named ``rembg``; in the test process ``import rembg`` is the real
rembg 2.0.86 (the ``test`` extra installs it), so the drop-in runs in subprocesses with
``PYTHONPATH=<repo>/compat/rembg/src:<alphacut's package dir>`` and never shadows it here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pytest
from conftest import REPO, shared_path

DROPIN_SRC = REPO / "compat" / "rembg" / "src"


def alphacut_dir() -> Path:
    """The folder holding the alphacut package the tests import (the source tree or site-packages)."""
    import alphacut

    return Path(alphacut.__file__).resolve().parents[1]


def dropin_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(DROPIN_SRC), str(alphacut_dir())])
    env.pop("PYTHONHOME", None)
    env.update(extra)
    return env


# Every script run with the drop-in first proves it imported the drop-in, not the real rembg.
_PRELUDE = f"import rembg, sys\nassert rembg.__file__.startswith({str(DROPIN_SRC)!r}), rembg.__file__\n"


def run_dropin(
    code: str,
    *,
    cwd: Path,
    stdin: Optional[bytes] = None,
    timeout: float = 300,
    env: Optional[dict] = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """``python -c PRELUDE + code`` with the drop-in on the path; stdout/stderr as bytes."""
    r = subprocess.run(
        [sys.executable, "-c", _PRELUDE + code],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env or dropin_env(),
    )
    if check and r.returncode != 0:
        raise AssertionError(f"drop-in script failed ({r.returncode}):\n{r.stderr.decode(errors='replace')}")
    return r


def run_rembg_cli(
    args: Sequence[str], *, cwd: Path, stdin: Optional[bytes] = None, timeout: float = 300, env: Optional[dict] = None
) -> subprocess.CompletedProcess:
    """The drop-in's ``rembg`` command (``python -m rembg ARGS``)."""
    return subprocess.run(
        [sys.executable, "-m", "rembg", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env or dropin_env(),
    )


@pytest.fixture
def real_rembg():
    """The real rembg 2.0.86, imported in this process (never the drop-in)."""
    rembg = pytest.importorskip("rembg")
    if Path(rembg.__file__).resolve().is_relative_to(REPO / "compat" / "rembg"):
        pytest.fail(f"the test process imported the drop-in ({rembg.__file__}); it must run in a subprocess")
    return rembg


@pytest.fixture
def rembg_home(u2netp_home):
    """REMBG_HOME (also for subprocesses) holding u2netp, as rembg lays it out."""
    return u2netp_home.parents[1]


@pytest.fixture
def car(tmp_path) -> Path:
    return shared_path("images", "rembg", "input", "car-1.jpg")


def absdiff(a, b) -> np.ndarray:
    return np.abs(np.asarray(a).astype(int) - np.asarray(b).astype(int))


def scipy_trimap(mask, fg, bg, erode) -> np.ndarray:
    """rembg's alpha-matting trimap, built with scipy as rembg builds it."""
    from scipy.ndimage import binary_erosion

    structure = np.ones((erode, erode), np.uint8) if erode > 0 else None
    tri = np.full(mask.shape, 128, np.uint8)
    tri[binary_erosion(mask > fg, structure=structure)] = 255
    tri[binary_erosion(mask < bg, structure=structure, border_value=1)] = 0
    return tri
