"""``alphacut models fetch mediapipe-selfie`` on a fresh machine, against a local stand-in for the
registry: the wheel's .tflite member read with HTTP range requests (or out of ``pip download``),
hash-checked, converted, verified and cached. No real download."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import threading
import zipfile
from pathlib import Path

import pytest
from conftest import shared_path

from alphacut.errors import DownloadError
from alphacut.models import get_manifest, resolve_model, sources

pytest.importorskip("onnx")

MEMBER = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
WHEEL = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"


def _wheel(path: Path, member_data: bytes, filler: int = 3_000_000) -> bytes:
    import os

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mediapipe-0.10.21.dist-info/METADATA", "Name: mediapipe\nVersion: 0.10.21\n")
        z.writestr("mediapipe/big_library.so", os.urandom(filler))  # incompressible: the bulk of the wheel
        for i in range(300):  # a central directory of some size
            z.writestr(f"mediapipe/python/module_{i}.py", f"x = {i}\n")
        z.writestr(MEMBER, member_data)
    return path.read_bytes()


class _Registry(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    sent = {"bytes": 0, "requests": 0}
    honour_ranges = True

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        body = self.files.get(path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        status = 200
        rng = self.headers.get("Range")
        if rng and self.honour_ranges and not path.endswith("/json"):
            spec = rng.split("=", 1)[1]
            a, b = spec.split("-")
            if a == "":
                start, end = max(0, len(body) - int(b)), len(body)
            else:
                start, end = int(a), min(len(body), int(b) + 1 if b else len(body))
            body, status = body[start:end], 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        _Registry.sent["bytes"] += len(body)
        _Registry.sent["requests"] += 1


@contextlib.contextmanager
def _serve(files, honour_ranges=True):
    _Registry.files = files
    _Registry.sent = {"bytes": 0, "requests": 0}
    _Registry.honour_ranges = honour_ranges
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REMBG_HOME", str(tmp_path / "rembg"))
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "u2net"))
    monkeypatch.delenv("ALPHACUT_MODEL_DIR", raising=False)
    return tmp_path / "home"


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry serving a mediapipe wheel with the real .tflite member; yields (base URL, wheel bytes)."""
    wheel = _wheel(tmp_path / WHEEL, shared_path("models", "mediapipe_selfie_segmentation.tflite").read_bytes())

    def files(base):
        meta = {
            "urls": [
                {"filename": "mediapipe-0.10.21-cp39-cp39-win_amd64.whl", "url": f"{base}/other.whl"},
                {"filename": WHEEL, "url": f"{base}/files/{WHEEL}"},
            ]
        }
        return {"/pypi/mediapipe/0.10.21/json": json.dumps(meta).encode(), f"/files/{WHEEL}": wheel}

    return files, wheel


def _no_pip(monkeypatch):
    def fail(requirement, dest_dir, timeout=600.0):
        raise AssertionError("pip download must not run when range requests work")

    monkeypatch.setattr(sources, "pip_download", fail)


def test_fetch_reads_the_member_by_ranges_converts_verifies_and_caches(
    fresh_home, registry, monkeypatch, fresh_sessions
):
    files, wheel = registry
    _no_pip(monkeypatch)
    m = get_manifest("mediapipe-selfie")
    with _serve({}) as base:
        _Registry.files = files(base)
        monkeypatch.setattr(sources, "wheel_url", lambda requirement, timeout=60.0: f"{base}/files/{WHEEL}")
        p = resolve_model(m, progress=False)
        sent = dict(_Registry.sent)
    assert p.parent == fresh_home / "models" and p.name == m.file
    assert m.accepts("sha256", hashlib.sha256(p.read_bytes()).hexdigest())
    assert sent["bytes"] < len(wheel) / 5, sent  # the member and the directory, not the wheel
    assert [q.name for q in p.parent.iterdir() if not q.name.startswith(".") and q.suffix != ".lock"] == [m.file]
    # found in the cache next time, verified, without the network
    assert resolve_model(m, download=False) == p
    # and it runs as the person segmenter of a general-mode session
    from alphacut import Session

    monkeypatch.delenv("ALPHACUT_PERSON_MODEL")
    s = Session("u2netp", model_path=shared_path("models", "u2netp_320.onnx"), route=True, download=False)
    assert s.route and s.pipeline.person_manifest.name == "mediapipe-selfie"


def test_the_cli_fetches_it(fresh_home, registry, monkeypatch, capsys):
    from alphacut.cli import main

    files, _ = registry
    _no_pip(monkeypatch)
    with _serve({}) as base:
        _Registry.files = files(base)
        monkeypatch.setattr(sources, "wheel_url", lambda requirement, timeout=60.0: f"{base}/files/{WHEEL}")
        assert main(["models", "fetch", "mediapipe-selfie", "--no-progress"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("mediapipe_selfie_segmentation_256x256.onnx") and Path(out).is_file()


def test_without_range_requests_the_wheel_comes_from_pip(fresh_home, registry, monkeypatch, tmp_path):
    files, wheel = registry
    calls = []

    def fake_pip(requirement, dest_dir, timeout=600.0):
        calls.append(requirement)
        w = Path(dest_dir) / WHEEL
        w.write_bytes(wheel)
        return w

    monkeypatch.setattr(sources, "pip_download", fake_pip)
    with _serve({}, honour_ranges=False) as base:
        _Registry.files = files(base)
        monkeypatch.setattr(sources, "wheel_url", lambda requirement, timeout=60.0: f"{base}/files/{WHEEL}")
        p = resolve_model(get_manifest("mediapipe-selfie"), progress=False)
    assert calls == ["mediapipe==0.10.21"] and p.is_file()


def test_a_wrong_member_is_rejected_and_nothing_is_kept(fresh_home, tmp_path, monkeypatch):
    data = bytearray(shared_path("models", "mediapipe_selfie_segmentation.tflite").read_bytes())
    data[1000] ^= 0xFF
    wheel = _wheel(tmp_path / WHEEL, bytes(data), filler=1000)
    monkeypatch.setattr(sources, "pip_download", lambda *a, **k: (_ for _ in ()).throw(sources._Permanent("no pip")))
    with _serve({}) as base:
        meta = {"urls": [{"filename": WHEEL, "url": f"{base}/files/{WHEEL}"}]}
        _Registry.files = {"/pypi/mediapipe/0.10.21/json": json.dumps(meta).encode(), f"/files/{WHEEL}": wheel}
        monkeypatch.setattr(sources, "wheel_url", lambda requirement, timeout=60.0: f"{base}/files/{WHEEL}")
        with pytest.raises(DownloadError, match="sha256"):
            resolve_model(get_manifest("mediapipe-selfie"), progress=False)
    models = fresh_home / "models"
    assert not models.exists() or not [q for q in models.iterdir() if q.suffix == ".onnx"]


def test_without_the_onnx_package_the_error_says_what_to_install(fresh_home, registry, monkeypatch):
    files, _ = registry
    _no_pip(monkeypatch)

    def no_onnx(name):
        def convert(data):
            raise ImportError("converting a TFLite model needs the onnx package: pip install 'alphacut[convert]'")

        return convert

    monkeypatch.setattr(sources, "_converter", no_onnx)
    with _serve({}) as base:
        _Registry.files = files(base)
        monkeypatch.setattr(sources, "wheel_url", lambda requirement, timeout=60.0: f"{base}/files/{WHEEL}")
        with pytest.raises(DownloadError, match=r"alphacut\[convert\]"):
            resolve_model(get_manifest("mediapipe-selfie"), progress=False)


def test_an_unreachable_registry_leaves_general_mode_on_u2netp_alone(fresh_home, monkeypatch, u2netp_home):
    """A fresh machine that cannot get the person model: the session uses u2netp alone and says so once."""
    import warnings

    import alphacut.session
    from alphacut import Session

    monkeypatch.delenv("ALPHACUT_PERSON_MODEL")
    monkeypatch.setattr(alphacut.session, "_WARNED", set())
    monkeypatch.setattr(alphacut.session, "_PERSON_FAILED", set())
    monkeypatch.setattr(
        sources, "wheel_url", lambda requirement, timeout=60.0: "http://127.0.0.1:9/x.whl"
    )  # nothing listens
    monkeypatch.setattr(sources, "pip_download", lambda *a, **k: (_ for _ in ()).throw(sources._Permanent("offline")))
    with pytest.warns(UserWarning, match="no person segmenter") as said:
        s = Session()
    assert not s.route and s.model_name == "u2netp"
    # the warning says why (the failing source's reason), not only "could not fetch ... from any source:"
    assert "offline" in str(said[0].message) or "127.0.0.1" in str(said[0].message), str(said[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not Session(foreground=False).route  # not fetched again, not said again


def test_the_wheel_url_comes_from_pips_own_report(monkeypatch):
    """The registry is whatever pip is configured to use: the URL is read from pip's dry-run
    report, and a report without one is a clear error."""
    import subprocess

    seen = {}

    def fake_run(cmd, capture_output, text, timeout):
        seen["cmd"] = cmd
        report = {"install": [{"download_info": {"url": "http://127.0.0.1:1/files/" + WHEEL}}]}
        return subprocess.CompletedProcess(cmd, 0, json.dumps(report), "")

    monkeypatch.setattr(sources.subprocess, "run", fake_run)
    assert sources.wheel_url("mediapipe==0.10.21") == "http://127.0.0.1:1/files/" + WHEEL
    assert seen["cmd"][1:4] == ["-m", "pip", "install"] and "--dry-run" in seen["cmd"] and "--report" in seen["cmd"]
    assert seen["cmd"][-1] == "mediapipe==0.10.21"
    monkeypatch.setattr(
        sources.subprocess, "run", lambda cmd, **k: subprocess.CompletedProcess(cmd, 0, json.dumps({"install": []}), "")
    )
    with pytest.raises(sources._Permanent, match="report"):
        sources.wheel_url("mediapipe==0.10.21")
