"""``alphacut models list | fetch | verify`` through the CLI entry point (in-process and as a
subprocess, for the exit code and the no-traceback rule)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import conftest
import pytest

from alphacut.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REMBG_HOME", str(tmp_path / "rembg"))
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "u2net"))
    return tmp_path


def test_list_shows_every_model_and_where_it_is(home, capsys):
    legacy = home / "u2net" / "u2netp.onnx"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(conftest.shared_path("models", "u2netp_320.onnx").read_bytes())
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    from alphacut.models import list_manifests

    for m in list_manifests():
        assert m.name in out
    line = next(line for line in out.splitlines() if line.startswith("u2netp "))
    assert str(legacy) in line
    assert "bring your own file" in next(line for line in out.splitlines() if line.startswith("modnet "))
    assert "not fetched" in next(line for line in out.splitlines() if line.startswith("u2net "))
    assert "not supported by the pipeline" in out
    assert main(["models", "list", "--kind", "matting"]) == 0
    out = capsys.readouterr().out
    assert "modnet" in out and "u2netp" not in out


def test_verify_name_path_and_all(home, capsys):
    p = conftest.shared_path("models", "sinet_320.onnx")
    assert main(["models", "verify", str(p)]) == 0
    assert "OK, sinet (sha256 matches)" in capsys.readouterr().out
    assert main(["models", "verify"]) == 0
    assert "no model files found locally" in capsys.readouterr().out
    legacy = home / "u2net" / "u2netp.onnx"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(conftest.shared_path("models", "u2netp_320.onnx").read_bytes())
    assert main(["models", "verify", "u2netp"]) == 0
    assert f"u2netp: OK {legacy}" in capsys.readouterr().out
    assert main(["models", "verify"]) == 0
    assert main(["models", "verify", "sinet"]) == 1  # not available locally
    assert "not available locally" in capsys.readouterr().err


def test_verify_unknown_file_that_loads(home, tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).parent))
    from _tiny_onnx import tiny_segmenter

    f = tmp_path / "mine.onnx"
    f.write_bytes(tiny_segmenter())
    assert main(["models", "verify", str(f)]) == 0
    assert "matches no known model's hash" in capsys.readouterr().out
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    assert main(["models", "verify", str(bad)]) == 1
    assert "cannot load" in capsys.readouterr().err


def test_fetch_without_source_and_unknown_name_exit_1_without_traceback(home):
    for args in (["models", "fetch", "vitmatte"], ["models", "fetch", "u3net"], ["models", "verify", "nope"]):
        r = subprocess.run([sys.executable, "-m", "alphacut", *args], capture_output=True, text=True)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.startswith("alphacut: error: ") and "Traceback" not in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "alphacut", "models", "fetch", "vitmatte"], capture_output=True, text=True
    )
    assert "no download source" in r.stderr


def test_fetch_uses_an_existing_rembg_file_offline(home, capsys):
    f = home / "rembg" / "models" / "u2netp" / "u2netp.onnx"
    f.parent.mkdir(parents=True)
    f.write_bytes(conftest.shared_path("models", "u2netp_320.onnx").read_bytes())
    assert main(["models", "fetch", "u2netp", "--no-progress"]) == 0
    assert capsys.readouterr().out.strip() == str(f)
