"""What keeps the server up and honest, on real subprocess servers: API keys on every route, upload
and pixel limits (decompression bombs refused before decoding), batching of concurrent requests,
URL inputs (the positive path through a local image server only a test hook may reach, and every
SSRF target refused), the bounded queue (503/429 with Retry-After), the per-request timeout (504),
and SIGTERM draining the requests in flight."""

from __future__ import annotations

import base64
import http.server
import io
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")

from server_harness import (  # noqa: E402
    ServerProcess,
    assert_clean_error,
    decode,
    png_bomb,
    red_disk_png,
    shared,
    shared_server,
)

KEY = "s3cret-key-for-tests"
H = {"X-Api-Key": KEY}


class _Images(http.server.BaseHTTPRequestHandler):
    """A local image server: what a public image host would be, reachable only through the
    server's test endpoints hook."""

    routes: dict = {}

    def do_GET(self):  # noqa: N802
        kind, value = self.routes.get(self.path, ("status", 404))
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", value)
            self.end_headers()
            return
        if kind == "status":
            self.send_response(value)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(value)))
        self.end_headers()
        self.wfile.write(value)

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def images():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    _Images.routes = {
        "/disk.png": ("body", red_disk_png(120, 160)),
        "/bg.png": ("body", red_disk_png(60, 80)),
        "/hop": ("redirect", "/disk.png"),
        "/to-loopback": ("redirect", "http://127.0.0.1:9/disk.png"),
        "/to-metadata": ("redirect", "http://169.254.169.254/latest/meta-data/"),
    }
    yield port
    srv.shutdown()


@pytest.fixture(scope="module")
def tiny(request, images, tmp_path_factory):
    """A tiny segmenter with a dynamic batch, API keys, tight limits, URL inputs on, and the
    local image server as the one loopback endpoint the fetcher may reach."""
    keys = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys.write_text(f"# keys\nanother-key\n{KEY}\n")
    return shared_server(
        request,
        f"tiny-{images}",
        launch_config={
            "tiny": [{"batch": "N"}, {"name": "tiny1", "batch": 1}],
            "max_batch": 8,
            "batch_wait_ms": 400,
            "api_key_file": str(keys),
            "timeout_s": 20,
            "allow_url": True,
            "max_upload_mb": 1,
            "max_pixels": 1_000_000,
            "url_test_endpoints": [["127.0.0.1", images]],
            "queue": 32,
            "cors": ["https://app.example"],
        },
        headers=H,
    )


# -- API keys ------------------------------------------------------------------------------------


ROUTES = [
    ("post", "/api/remove", "rembg"),
    ("get", "/api/remove?url=x", "rembg"),
    ("post", "/v1.0/removebg", "removebg"),
    ("get", "/v1.0/account", "removebg"),
    ("post", "/v1/cutout", "native"),
    ("get", "/v1/models", "native"),
    ("get", "/healthz", "native"),
    ("get", "/readyz", "native"),
    ("get", "/metrics", "native"),
    ("get", "/openapi.json", "native"),
    ("get", "/docs", "native"),
]


@pytest.mark.parametrize("method,path,dialect", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_needs_the_key(tiny, method, path, dialect):
    for headers, title in (
        ({}, "Missing API Key"),
        ({"X-Api-Key": "wrong"}, "API Key invalid"),
        ({"X-Api-Key": KEY + "x"}, "API Key invalid"),
    ):
        r = getattr(requests, method)(tiny.url + path, headers=headers, timeout=10)
        body = assert_clean_error(r, 403)
        if dialect == "rembg":
            assert title in body["detail"]
        elif dialect == "removebg":
            assert body["errors"][0]["code"] == "auth_failed" and title in body["errors"][0]["title"]
        else:
            assert body["error"]["code"] == "auth_failed"
    if method == "get" and "url=" not in path:
        assert getattr(requests, method)(tiny.url + path, headers=H, timeout=10).status_code == 200
        assert requests.get(tiny.url + path, headers={"X-Api-Key": "another-key"}, timeout=10).status_code == 200


def test_keys_are_compared_in_constant_time(monkeypatch):
    """Every key is compared, whichever matches (no early exit), on digests of equal length."""
    import hmac

    from alphacut.server.app import Frontdoor
    from alphacut.server.config import ServerConfig
    from alphacut.server.metrics import Metrics

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((len(a), len(b))) or real(a, b))
    door = Frontdoor(
        None, config=ServerConfig(), keys=[b"k1", b"a-much-longer-key", b"k3"], metrics=Metrics(), routes=frozenset()
    )
    for given in (b"k1", b"k3", b"nope"):
        calls.clear()
        err = door._auth_error({"method": "POST", "headers": [(b"x-api-key", given)]})
        assert (err is None) == (given != b"nope")
        assert calls == [(32, 32)] * 3


def test_cors_only_for_the_origins_given_and_never_with_credentials(request, tiny):
    pre = requests.options(
        tiny.url + "/v1.0/removebg",
        timeout=10,
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )  # a preflight carries no key
    assert pre.status_code == 200 and pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "access-control-allow-credentials" not in {k.lower() for k in pre.headers}
    r = requests.get(tiny.url + "/v1/models", headers={**H, "Origin": "https://app.example"}, timeout=10)
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Credits-Charged" in r.headers["Access-Control-Expose-Headers"]
    other = requests.get(tiny.url + "/v1/models", headers={**H, "Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers
    main = shared_server(request, "main", ["--models", "u2netp", "--max-upload-mb", "2"])  # no --cors
    r = requests.get(main.url + "/v1/models", headers={"Origin": "https://app.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in r.headers


# -- limits ----------------------------------------------------------------------------------------


def test_oversized_uploads_are_413_in_each_dialect(tiny):
    big = b"\xff\xd8" + b"0" * 2_000_000  # 2 MB, the limit is 1 MB (the body limit about 2.3 MB)
    huge = b"0" * 3_000_000
    r = requests.post(tiny.url + "/api/remove", files={"file": ("x.jpg", big)}, headers=H, timeout=30)
    assert "above the limit" in assert_clean_error(r, 413)["detail"]
    r = requests.post(tiny.url + "/v1.0/removebg", files={"image_file": ("x.jpg", big)}, headers=H, timeout=30)
    assert assert_clean_error(r, 413)["errors"][0]["code"] == "file_too_large"
    r = requests.post(tiny.url + "/v1/cutout", data=huge, headers={**H, "Content-Type": "image/jpeg"}, timeout=30)
    assert assert_clean_error(r, 413)["error"]["code"] == "file_too_large"  # refused from Content-Length

    def chunks():  # no Content-Length: counted while received
        for _ in range(30):
            yield b"0" * 100_000

    r = requests.post(tiny.url + "/v1/cutout", data=chunks(), headers={**H, "Content-Type": "image/jpeg"}, timeout=30)
    assert assert_clean_error(r, 413)["error"]["code"] == "file_too_large"
    b64 = base64.b64encode(big).decode()
    r = requests.post(tiny.url + "/v1.0/removebg", json={"image_file_b64": b64}, headers=H, timeout=30)
    assert assert_clean_error(r, 413)["errors"][0]["code"] == "file_too_large"
    assert requests.get(tiny.url + "/healthz", headers=H, timeout=10).status_code == 200


def test_decompression_bomb_and_too_many_pixels_refused_before_decoding(tiny):
    bomb = png_bomb(12_000)  # 144 MP in ~150 KB
    assert len(bomb) < 1_000_000
    t0 = time.monotonic()
    r = requests.post(tiny.url + "/v1/cutout", data=bomb, headers={**H, "Content-Type": "image/png"}, timeout=30)
    assert assert_clean_error(r, 413)["error"]["code"] == "resolution_too_high"
    assert time.monotonic() - t0 < 5  # refused from the header, never decoded
    r = requests.post(tiny.url + "/api/remove", files={"file": ("bomb.png", bomb)}, headers=H, timeout=30)
    assert "144,000,000 pixels" in assert_clean_error(r, 413)["detail"]
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1200, 1000)).save(buf, "PNG")  # 1.2 MP, above this server's 1 MP
    r = requests.post(
        tiny.url + "/v1.0/removebg", files={"image_file": ("big.png", buf.getvalue())}, headers=H, timeout=30
    )
    assert assert_clean_error(r, 413)["errors"][0]["code"] == "resolution_too_high"
    assert requests.get(tiny.url + "/healthz", headers=H, timeout=10).status_code == 200


# -- batching --------------------------------------------------------------------------------------


def test_concurrent_requests_are_batched_with_the_same_results(tiny):
    img = red_disk_png(120, 160)
    alone = requests.post(tiny.url + "/v1/cutout", data=img, headers={**H, "Content-Type": "image/png"}, timeout=30)
    assert alone.status_code == 200

    def one(_):
        return requests.post(tiny.url + "/v1/cutout", data=img, headers={**H, "Content-Type": "image/png"}, timeout=60)

    with ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(one, range(8)))
    assert all(r.status_code == 200 for r in rs)
    sizes = [int(r.headers["X-Batch-Size"]) for r in rs]
    assert max(sizes) > 1, sizes  # several images shared one network call
    assert all(r.content == alone.content for r in rs)  # batching changes nothing in the results
    text = requests.get(tiny.url + "/metrics", headers=H, timeout=10).text
    count = float(re.search(r'alphacut_batch_size_count\{model="tiny"\} ([\d.]+)', text).group(1))
    total = float(re.search(r'alphacut_batch_size_sum\{model="tiny"\} ([\d.]+)', text).group(1))
    assert total > count  # some batch held more than one image


def test_models_share_the_inference_threads_without_starving(tiny):
    """One inference thread, two models: requests for either are answered (a batcher waiting for
    its own model's images does not hold the thread)."""
    img = red_disk_png(120, 160)

    def one(model):
        return requests.post(
            tiny.url + "/v1/cutout",
            params={"model": model},
            data=img,
            headers={**H, "Content-Type": "image/png"},
            timeout=30,
        )

    for models in (["tiny1"] * 3, ["tiny"] * 3, ["tiny1"] * 3, ["tiny", "tiny1"] * 3):  # each model alone, then mixed
        with ThreadPoolExecutor(6) as ex:
            rs = list(ex.map(one, models))
        assert [r.status_code for r in rs] == [200] * len(models)
        assert [r.headers["X-Model"] for r in rs] == models
        assert all(r.content == rs[0].content for r in rs)  # the same graph: the same cutout
    models = requests.get(tiny.url + "/v1/models", headers=H, timeout=10).json()["models"]
    assert [(m["name"], m["max_network_batch"]) for m in models] == [("tiny", 64), ("tiny1", 1)]


# -- URL inputs ------------------------------------------------------------------------------------


def test_url_inputs_through_the_fetcher(tiny, images):
    img = red_disk_png(120, 160)
    base = f"http://127.0.0.1:{images}"
    posted = requests.post(tiny.url + "/api/remove", files={"file": ("d.png", img)}, headers=H, timeout=30)
    got = requests.get(tiny.url + "/api/remove", params={"url": base + "/disk.png"}, headers=H, timeout=30)
    assert got.status_code == 200 and got.content == posted.content
    hop = requests.get(tiny.url + "/api/remove", params={"url": base + "/hop"}, headers=H, timeout=30)
    assert hop.content == posted.content
    r = requests.post(
        tiny.url + "/v1.0/removebg",
        headers=H,
        timeout=30,
        data={"image_url": base + "/disk.png", "bg_image_url": base + "/bg.png", "size": "full", "format": "png"},
    )
    assert r.status_code == 200, r.text
    assert decode(r.content).shape == (120, 160, 4) and (decode(r.content)[:, :, 3] == 255).all()
    r = requests.post(tiny.url + "/v1.0/removebg", data={"image_url": base + "/missing.png"}, headers=H, timeout=30)
    err = assert_clean_error(r, 400)["errors"][0]
    assert err["code"] == "failed_image_download" and "404" in err["title"]


SSRF = [
    "http://127.0.0.1:{own}/healthz",
    "http://127.0.0.1:9/x.png",
    "http://10.0.0.1/a.png",
    "http://10.20.30.40:8080/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{own}/healthz",
    "http://[::ffff:127.0.0.1]:{own}/",
    "http://localhost:{own}/healthz",
    "http://0.0.0.0:{own}/",
    "http://192.168.1.1/",
    "http://127.0.0.1:{images}/to-loopback",
    "http://127.0.0.1:{images}/to-metadata",
    "file:///etc/passwd",
    "ftp://example.com/a.png",
]


@pytest.mark.parametrize("target", SSRF)
def test_ssrf_targets_are_refused(tiny, images, target):
    url = target.format(own=tiny.port, images=images)
    t0 = time.monotonic()
    r = requests.get(tiny.url + "/api/remove", params={"url": url}, headers=H, timeout=30)
    detail = assert_clean_error(r, 400)["detail"]
    assert re.search(r"loopback|private|link-local|not a public|unspecified|reserved|only http", detail), detail
    r = requests.post(tiny.url + "/v1.0/removebg", data={"image_url": url}, headers=H, timeout=30)
    assert assert_clean_error(r, 400)["errors"][0]["code"] == "invalid_image_url"
    r = requests.post(
        tiny.url + "/v1.0/removebg",
        files={"image_file": ("d.png", red_disk_png())},
        data={"bg_image_url": url},
        headers=H,
        timeout=30,
    )
    assert assert_clean_error(r, 400)["errors"][0]["code"] == "invalid_image_url"
    assert time.monotonic() - t0 < 10
    assert requests.get(tiny.url + "/healthz", headers=H, timeout=10).status_code == 200


def test_the_test_hook_cannot_be_reached_from_http_or_the_cli(request, images):
    """The endpoints hook is a ServerConfig field only: no CLI option sets it, and nothing a client
    sends does (here a server started by the CLI refuses the local image server)."""
    import argparse

    from alphacut.cli import build_parser, serve

    sub = argparse.ArgumentParser().add_subparsers()
    serve.register(sub)
    options = set(re.findall(r"--[a-z][a-z-]*", sub.choices["serve"].format_help()))
    assert "--allow-url" in options
    assert not [o for o in options if any(w in o for w in ("test", "endpoint", "private", "loopback"))], options
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--url-test-endpoints", f"127.0.0.1:{images}"])
    assert serve.config_from_args(parser.parse_args(["serve", "--allow-url"]))._url_test_endpoints == frozenset()
    srv = shared_server(request, "cli-allow-url", ["--models", "u2netp", "--allow-url"])
    url = f"http://127.0.0.1:{images}/disk.png"
    for extra in ({"_url_test_endpoints": f"127.0.0.1:{images}"}, {"test_endpoints": "1"}):
        r = requests.get(
            srv.url + "/api/remove",
            params={"url": url, **extra},
            headers={"X-Url-Test-Endpoints": f"127.0.0.1:{images}"},
            timeout=30,
        )
        assert "loopback" in assert_clean_error(r, 400)["detail"]


# -- capacity, timeouts, draining ------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_image():
    from PIL import Image

    with Image.open(shared("images", "rembg", "input", "animal-3.jpg")) as im:  # 1440 x 1079
        im = im.convert("RGB").resize((3600, 2697))  # ~10 MP: well over 0.3 s on any CPU
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        return buf.getvalue()


def test_full_queue_is_503_or_429_and_slow_requests_504(request, slow_image):
    srv = shared_server(
        request,
        "tight",
        ["--models", "u2netp", "--workers", "1", "--max-batch", "1", "--queue", "0", "--timeout", "0.3"],
    )
    img = slow_image

    def rembg_call(_):
        return requests.post(srv.url + "/api/remove", files={"file": ("a.jpg", img)}, timeout=60)

    def removebg_call(_):
        # size=full: remove.bg's default preview (0.25 MP) can finish within the 0.3 s timeout
        return requests.post(
            srv.url + "/v1.0/removebg", files={"image_file": ("a.jpg", img)}, data={"size": "full"}, timeout=60
        )

    for call, busy in ((rembg_call, 503), (removebg_call, 429)):
        for _attempt in range(3):  # a burst whose requests all arrive within the first one's 0.3 s
            with ThreadPoolExecutor(5) as ex:
                rs = list(ex.map(call, range(5)))
            statuses = sorted(r.status_code for r in rs)
            if 504 in statuses and busy in statuses:
                break
            time.sleep(3)
        assert 504 in statuses and busy in statuses, statuses
        for r in rs:
            if r.status_code == busy:
                assert int(r.headers["Retry-After"]) >= 1
                body = assert_clean_error(r, busy)
                if busy == 429:
                    assert body["errors"][0]["code"] == "rate_limit_exceeded"
                    assert "X-RateLimit-Reset" in r.headers
            elif r.status_code == 504:
                body = assert_clean_error(r, 504)
        time.sleep(2)  # the abandoned runs finish
    assert requests.get(srv.url + "/healthz", timeout=10).status_code == 200
    text = requests.get(srv.url + "/metrics", timeout=10).text
    assert re.search(r'alphacut_requests_total\{route="/api/remove",status="503"\} [1-9]', text)
    assert re.search(r'alphacut_requests_total\{route="/api/remove",status="504"\} [1-9]', text)


def test_sigterm_drains_requests_in_flight(tmp_path, slow_image):
    srv = ServerProcess(["--models", "u2netp", "--drain", "30"], tmp_path).wait_ready()
    try:
        with ThreadPoolExecutor(2) as ex:
            fut = ex.submit(
                requests.post,
                srv.url + "/v1/cutout",
                data=slow_image,
                headers={"Content-Type": "image/jpeg"},
                timeout=120,
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # wait until the request is being processed
                m = requests.get(srv.url + "/metrics", timeout=5).text
                if "alphacut_requests_in_flight 1.0" in m:
                    break
                time.sleep(0.02)
            srv.proc.send_signal(signal.SIGTERM)
            r = fut.result()
        assert r.status_code == 200 and decode(r.content).shape == (2697, 3600, 4)
        # uvicorn re-raises the signal once it has shut down, so the exit status says SIGTERM
        assert srv.proc.wait(60) in (0, -signal.SIGTERM)
        with pytest.raises(requests.ConnectionError):
            requests.get(srv.url + "/healthz", timeout=5)
    finally:
        srv.stop()
    log = srv.log()
    assert "status=200" in log and "Traceback" not in log
    assert log.index("status=200") < log.index("engine stopped (requests in flight at the end: 0)")
