"""A local HTTP server that serves a tiny model well and badly (corrupt, truncated, 404, flaky,
slow), and the helpers the model-file tests share: manifests pointing at it, an isolated home."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

from _tiny_onnx import tiny_segmenter

from alphacut.models import ModelManifest

GOOD = tiny_segmenter()
GOOD_MD5 = hashlib.md5(GOOD).hexdigest()
CORRUPT = bytes([GOOD[0] ^ 0xFF]) + GOOD[1:]  # same length, wrong hash


class Handler(http.server.BaseHTTPRequestHandler):
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
        Handler.hits[path] += 1
        if path == "/good.onnx":
            self._send(GOOD)
        elif path == "/corrupt.onnx":
            self._send(CORRUPT)
        elif path == "/truncated.onnx":
            # Announce the full size plus more, send half, then drop the connection.
            self._send(GOOD[: len(GOOD) // 2], length=len(GOOD) + 1000)
            self.close_connection = True
        elif path == "/flaky.onnx":
            if Handler.flaky_left["n"] > 0:
                Handler.flaky_left["n"] -= 1
                self._send(GOOD[:10], length=len(GOOD))
                self.close_connection = True
            else:
                self._send(GOOD)
        elif path == "/slow.onnx":
            time.sleep(0.6)
            self._send(GOOD)
        else:
            self.send_error(404, "Not Found")


@contextlib.contextmanager
def serve() -> Iterator[str]:
    """Serve :class:`Handler` on 127.0.0.1 (a free port) with fresh counters; yields the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    Handler.hits.clear()
    Handler.flaky_left["n"] = 0
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


def isolate_home(tmp_path: Path, monkeypatch) -> Path:
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


def umask() -> int:
    u = os.umask(0)
    os.umask(u)
    return u
