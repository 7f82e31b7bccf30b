"""The drop-in's distribution builds: named rembg with a local version that says what it is, every
module of the source tree in the wheel, the ``rembg`` console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest
from _dropin import DROPIN_SRC


def test_wheel_has_every_module_and_the_rembg_command(tmp_path):
    pytest.importorskip("setuptools")
    src = tmp_path / "rembg-dropin"
    shutil.copytree(DROPIN_SRC.parent, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(src),
            "-w",
            str(tmp_path / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert wheel.name.startswith("rembg-2.0.86+alphacut.")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        metadata = z.read(meta).decode()
        entry_points = z.read(entry).decode()
    modules = {str(p.relative_to(DROPIN_SRC)) for p in DROPIN_SRC.rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    assert "rembg/sessions/u2netp.py" in names and "rembg/bg.py" in names
    assert "Name: rembg" in metadata and "Requires-Dist: alphacut" in metadata
    assert "rembg = rembg.cli:main" in entry_points
