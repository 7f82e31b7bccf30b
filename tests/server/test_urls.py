"""The SSRF-safe fetcher (alphacut.server.urls): every refused target is refused before any
connection; the positive path, redirects, size and time limits against local HTTP servers that
only the test endpoints hook may reach."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from alphacut.server import urls
from alphacut.server.urls import UrlFetchError, UrlPolicy, UrlRefused, blocked_reason, check_url, fetch

BLOCKED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "10.255.255.254",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::",
    "64:ff9b::a00:1",
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946"]


@pytest.mark.parametrize("address", BLOCKED)
def test_blocked_addresses(address):
    assert blocked_reason(address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address):
    assert blocked_reason(address) is None


@pytest.fixture
def no_connect(monkeypatch):
    """Any attempt to open a socket fails the test: refusals must happen before connecting."""

    def boom(*a, **k):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", boom)
    monkeypatch.setattr(socket.socket, "connect", boom)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:7000/api/remove",
        "http://10.1.2.3/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "https://192.168.0.10/a.jpg",
        "http://0.0.0.0/",
        "http://2130706433/",  # 127.0.0.1 written as one number
    ],
)
def test_refused_before_connecting(url, no_connect):
    with pytest.raises(UrlRefused):
        fetch(url)


def test_a_name_resolving_to_loopback_is_refused(no_connect):
    with pytest.raises(UrlRefused, match="loopback"):
        fetch("http://localhost:9/x.png")
    # any address of the name counts: one public and one private answer is refused
    with pytest.raises(UrlRefused, match="private"):
        fetch("http://mixed.example/x.png", resolve=lambda h, p: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(UrlRefused, match="link-local"):
        fetch("http://metadata.example/", resolve=lambda h, p: ["169.254.169.254"])


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://x/",
        "data:image/png;base64,AA",
        "//example.com/a.png",
        "",
        "http://",
        "http://user:pw@example.com/a.png",
    ],
)
def test_schemes_and_malformed_urls(url, no_connect):
    with pytest.raises(UrlRefused):
        check_url(url)


def test_the_connection_goes_to_the_checked_address(monkeypatch):
    """The host is resolved once; the socket connects to that address (no second lookup that a
    DNS rebinding could answer with 127.0.0.1), and the Host header keeps the name."""
    lookups, connects = [], []

    def resolve(host, port):
        lookups.append(host)
        return ["93.184.216.34"]

    def fake_connect(addr, timeout=None, *a, **k):
        connects.append(addr)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", fake_connect)
    with pytest.raises(UrlFetchError):
        fetch("http://images.example:8080/a.png", resolve=resolve)
    assert lookups == ["images.example"] and connects == [("93.184.216.34", 8080)]
    t = check_url("http://images.example:8080/a.png?x=1", resolve=lambda h, p: ["93.184.216.34"])
    assert (t.address, t.port, t.path) == ("93.184.216.34", 8080, "/a.png?x=1")
    assert urls._host_header(t) == "images.example:8080"


# -- against local servers (reachable only through the test endpoints hook) ------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802
        kind, value = self.routes.get(self.path, ("status", 404))
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", value)
            self.end_headers()
        elif kind == "body":
            self.send_response(200)
            self.send_header("Content-Length", str(len(value)))
            self.end_headers()
            self.wfile.write(value)
        elif kind == "slow":
            self.send_response(200)
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"x" * 10)
                self.wfile.flush()
                time.sleep(0.1)
        elif kind == "stream":  # no Content-Length: the limit is counted while reading
            self.send_response(200)
            self.end_headers()
            self.wfile.write(value)
        else:
            self.send_response(value)
            self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def local():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    _Handler.routes = {
        "/img": ("body", b"IMAGEBYTES"),
        "/hop1": ("redirect", "/hop2"),
        "/hop2": ("redirect", "/hop3"),
        "/hop3": ("redirect", "/img"),
        "/four": ("redirect", "/hop1"),
        "/to-other-port": ("redirect", "http://127.0.0.1:9/x"),
        "/to-localhost": ("redirect", "http://localhost:9/img"),
        "/to-metadata": ("redirect", "http://169.254.169.254/latest/meta-data/"),
        "/to-ipv6-loopback": ("redirect", f"http://[::1]:{port}/img"),
        "/big": ("body", b"x" * 5000),
        "/stream": ("stream", b"y" * 5000),
        "/slow": ("slow", None),
        "/missing": ("status", 404),
    }
    yield port, UrlPolicy(max_bytes=1000, timeout_s=2.0, test_endpoints=frozenset({("127.0.0.1", port)}))
    srv.shutdown()


def test_fetch_and_redirects(local):
    port, policy = local
    assert fetch(f"http://127.0.0.1:{port}/img", policy) == b"IMAGEBYTES"
    assert fetch(f"http://127.0.0.1:{port}/hop1", policy) == b"IMAGEBYTES"  # three redirects: allowed
    with pytest.raises(UrlFetchError, match="more than 3 redirects"):
        fetch(f"http://127.0.0.1:{port}/four", policy)
    with pytest.raises(UrlFetchError, match="404"):
        fetch(f"http://127.0.0.1:{port}/missing", policy)


@pytest.mark.parametrize("path", ["/to-other-port", "/to-localhost", "/to-metadata", "/to-ipv6-loopback"])
def test_redirects_are_checked_again(local, path):
    port, policy = local
    with pytest.raises(UrlRefused):
        fetch(f"http://127.0.0.1:{port}{path}", policy)


def test_size_and_time_limits(local):
    port, policy = local
    with pytest.raises(UrlFetchError, match="5,000 bytes, above the limit of 1,000"):
        fetch(f"http://127.0.0.1:{port}/big", policy)
    with pytest.raises(UrlFetchError, match="above the limit of 1,000"):
        fetch(f"http://127.0.0.1:{port}/stream", policy)
    t0 = time.monotonic()
    with pytest.raises(UrlFetchError):
        fetch(
            f"http://127.0.0.1:{port}/slow",
            UrlPolicy(max_bytes=10_000, timeout_s=0.5, test_endpoints=policy.test_endpoints),
        )
    assert time.monotonic() - t0 < 2.0


def test_without_the_hook_the_local_server_is_refused(local):
    port, _ = local
    with pytest.raises(UrlRefused):
        fetch(f"http://127.0.0.1:{port}/img", UrlPolicy())
