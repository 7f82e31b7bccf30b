"""alphacut.models.resolve: the cache, the search folders and rembg's, explicit paths, files
verified once until they change, and one download for concurrent callers (the lock)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from alphacut import ModelError
from alphacut.models import file_hash, get_manifest, resolve, resolve_model, verify

sys.path.insert(0, str(Path(__file__).parent))
from _model_server import (  # noqa: E402
    CORRUPT,
    GOOD,
    Handler,
    cache_listing,
    isolate_home,
    manifest,
    no_partial_files,
    serve,
)


@pytest.fixture
def server():
    with serve() as base:
        yield base


@pytest.fixture
def home(tmp_path, monkeypatch):
    return isolate_home(tmp_path, monkeypatch)


def test_cache_hit_needs_no_network(server, home):
    resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    # Sources now point at a port nobody listens on: a cache hit must not touch them.
    again = resolve_model(manifest("http://127.0.0.1:9/never.onnx"), progress=False)
    assert again.read_bytes() == GOOD
    assert Handler.hits["/good.onnx"] == 1
    assert resolve_model(manifest(), download=False) == again


def test_corrupt_cached_file_is_replaced(server, home):
    d = home / "models"
    d.mkdir(parents=True)
    (d / "tiny.onnx").write_bytes(CORRUPT)
    with pytest.warns(UserWarning, match="corrupt cached model"):
        p = resolve_model(manifest(f"{server}/good.onnx"), progress=False)
    assert p.read_bytes() == GOOD
    assert Handler.hits["/good.onnx"] == 1


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
    assert Handler.hits["/good.onnx"] == 2


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
    assert Handler.hits["/slow.onnx"] == 1
    assert no_partial_files(home)


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
    real = resolve.file_hash
    monkeypatch.setattr(resolve, "file_hash", lambda *a, **k: calls.append(a) or real(*a, **k))
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
