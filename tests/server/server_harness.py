"""The real server in a subprocess on 127.0.0.1, for tests that speak HTTP to it.

:func:`shared_server` starts a server once per test session for a given name and arguments (its
models are u2netp from ../shared/data, or tiny generated ones) and stops it when the session
ends; :class:`ServerProcess` is one server (``alphacut serve ...``, or ``_launch.py`` for the
configurations the CLI cannot express: tiny models, the URL fetcher's test endpoints).
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Dict, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# The package under test, for the server subprocesses: the source tree in development, the
# installed one in CI.
PACKAGE_DIR = str(Path(__import__("alphacut").__file__).resolve().parents[1])
SHARED_DATA = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not present: {p} (the ../shared/data folder beside the repo)")
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_env(tmp: Path) -> Dict[str, str]:
    """Environment for a server subprocess: this checkout's package, u2netp where rembg keeps it."""
    src = shared("models", "u2netp_320.onnx")
    d = tmp / "rembg_home" / "models" / "u2netp"
    d.mkdir(parents=True, exist_ok=True)
    link = d / "u2netp.onnx"
    if not link.exists():
        link.symlink_to(src)
    env = dict(os.environ)
    env.update(
        {
            "REMBG_HOME": str(tmp / "rembg_home"),
            "ALPHACUT_HOME": str(tmp / "alphacut_home"),
            "PYTHONPATH": os.pathsep.join([PACKAGE_DIR, env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "PYTHONUNBUFFERED": "1",
        }
    )
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(proxy, None)
    return env


class ServerProcess:
    """One server subprocess; ``url`` is its base URL."""

    def __init__(self, args: List[str], tmp: Path, *, launch_config: Optional[dict] = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"server-{self.port}.log"
        env = model_env(tmp)
        if launch_config is not None:
            cfg = dict(launch_config, port=self.port)
            cmd = [sys.executable, str(HERE / "_launch.py"), json.dumps(cfg)]
        else:
            cmd = [sys.executable, "-m", "alphacut", "serve", "--port", str(self.port), *args]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(tmp))

    def wait_ready(self, timeout: float = 120.0) -> ServerProcess:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.log()}")
            try:
                if requests.get(self.url + "/readyz", timeout=2, headers=self.headers).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server was not ready within {timeout} s:\n{self.log()}")

    headers: Dict[str, str] = {}

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> Optional[int]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


_SERVERS: Dict[str, ServerProcess] = {}


def shared_server(
    request,
    name: str,
    args: List[str] = (),
    *,
    launch_config: Optional[dict] = None,
    headers: Optional[Dict[str, str]] = None,
) -> ServerProcess:
    """The session's server called ``name`` (started on first use, stopped at the session's end)."""
    s = _SERVERS.get(name)
    if s is None or s.proc.poll() is not None:
        tmp = request.getfixturevalue("tmp_path_factory").mktemp(f"server-{name}")
        s = ServerProcess(list(args), tmp, launch_config=launch_config)
        s.headers = dict(headers or {})
        _SERVERS[name] = s
        request.config.add_cleanup(s.stop)
        s.wait_ready()
    return s


# -- inputs -------------------------------------------------------------------------------------


def jpeg_bytes(path: Path, max_side: Optional[int] = None) -> bytes:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if max_side and max(im.size) > max_side:
            im.thumbnail((max_side, max_side))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=92)
        return buf.getvalue()


def red_disk_png(h: int = 120, w: int = 160) -> bytes:
    """A red disk on blue: the tiny test segmenter's foreground."""
    import tiny_models as tm
    from PIL import Image

    rgb, _ = tm.red_disk(h, w, r=min(h, w) / 3)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def png_bomb(side: int = 12_000) -> bytes:
    """A valid grey PNG of side × side pixels (144 MP at the default) that compresses to ~150 KB: a
    decompression bomb. Written row by row, never held whole."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    z = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def decode(data: bytes):
    """An answer's image as a numpy array."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return np.asarray(im)


def assert_clean_error(resp, status: int) -> dict:
    """An error answer: the status, JSON, and no traceback, path or internal name in it."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith("application/json"), resp.headers["content-type"]
    text = resp.text
    for leak in ("Traceback", 'File "', "/work/", "site-packages", ".py", "alphacut.", "Error:", "0x7f"):
        assert leak not in text, f"{leak!r} leaked in {text[:300]}"
    return resp.json()


__all__ = [
    "ServerProcess",
    "assert_clean_error",
    "decode",
    "free_port",
    "jpeg_bytes",
    "png_bomb",
    "red_disk_png",
    "shared",
    "shared_server",
]
