"""alphacut._files: atomic writes that never overwrite an input and never leave half a file, the
inter-process lock, file hashes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

import alphacut
from alphacut import ModelError
from alphacut._files import AtomicFile, file_hash, file_lock, write_atomic


def _umask() -> int:
    u = os.umask(0)
    os.umask(u)
    return u


# ------------------------------------------------------------------------------------------------
# atomic writes
# ------------------------------------------------------------------------------------------------


def test_write_atomic_and_protect(tmp_path):
    dst = tmp_path / "out.png"
    write_atomic(dst, b"abc")
    assert dst.read_bytes() == b"abc"
    write_atomic(dst, b"defg")
    assert dst.read_bytes() == b"defg"
    assert (dst.stat().st_mode & 0o777) == 0o666 & ~_umask()
    inp = tmp_path / "in.jpg"
    inp.write_bytes(b"input")
    with pytest.raises(alphacut.InputError, match="input"):
        write_atomic(inp, b"x", protect=[inp])
    link = tmp_path / "alias.jpg"
    os.symlink(inp, link)
    with pytest.raises(alphacut.InputError, match="input"):
        write_atomic(link, b"x", protect=[inp])
    assert inp.read_bytes() == b"input"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.jpg", "in.jpg", "out.png"]


def test_write_atomic_leaves_nothing_on_error(tmp_path):
    with pytest.raises(TypeError):
        write_atomic(tmp_path / "x.png", 12345)  # not bytes: the write fails midway
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(alphacut.InputError, match="does not exist"):
        write_atomic(tmp_path / "missing" / "x.png", b"x")


def test_failed_rename_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    dst = tmp_path / "out.png"
    dst.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(dst, b"new")
    assert dst.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_atomic_file_streams_and_commits_only_at_the_end(tmp_path):
    dst = tmp_path / "sub" / "model.onnx"
    with AtomicFile(dst) as out:  # creates the folder
        out.write(b"abc")
        out.write(memoryview(b"def"))
        assert not dst.exists()  # nothing visible until the block ends
        assert out.tmp.parent == dst.parent and out.tmp.name.startswith(".tmp-model.onnx.")
    assert dst.read_bytes() == b"abcdef"
    assert (dst.stat().st_mode & 0o777) == 0o644 & ~_umask()
    with pytest.raises(RuntimeError):
        with AtomicFile(dst) as out:
            out.write(b"partial")
            raise RuntimeError("source broke")
    assert dst.read_bytes() == b"abcdef"
    assert [p.name for p in dst.parent.iterdir()] == ["model.onnx"]


def test_atomic_file_refuses_inputs_before_writing(tmp_path):
    inp = tmp_path / "in.png"
    inp.write_bytes(b"input")
    with pytest.raises(alphacut.InputError, match="refusing to write over an input"):
        AtomicFile(tmp_path / "." / "in.png", protect=[inp])
    assert [p.name for p in tmp_path.iterdir()] == ["in.png"]


# ------------------------------------------------------------------------------------------------
# hashing
# ------------------------------------------------------------------------------------------------


def test_file_hash(tmp_path):
    p = tmp_path / "f.bin"
    data = os.urandom((1 << 20) + 17)  # more than one read chunk
    p.write_bytes(data)
    assert file_hash(p) == hashlib.sha256(data).hexdigest()
    assert file_hash(p, "md5") == hashlib.md5(data).hexdigest()


# ------------------------------------------------------------------------------------------------
# locking
# ------------------------------------------------------------------------------------------------


def test_lock_excludes_a_second_holder(tmp_path):
    lock = tmp_path / "x.lock"
    with file_lock(lock):
        with pytest.raises(ModelError, match="timed out"):
            with file_lock(lock, timeout=0.3):
                pass
    with file_lock(lock, timeout=0.3):  # free again once released
        pass


def test_lock_excludes_another_process(tmp_path):
    lock = tmp_path / "p.lock"
    code = (
        "import sys, time; from pathlib import Path; from alphacut._files import file_lock\n"
        "with file_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(3)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(ModelError, match="another process is fetching"):
            with file_lock(lock, timeout=0.5):
                pass
    finally:
        proc.wait(30)
    with file_lock(lock, timeout=5):  # released when that process let go
        pass
