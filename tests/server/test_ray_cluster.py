"""alphacut on a real local Ray Serve cluster (CPU, 2 replicas of u2netp on this machine's cores),
checked against the single-process server (:func:`alphacut.server.create_app` in this process, the
same model, threads and inputs): 32 concurrent requests over rembg's and remove.bg's routes all 200
with the same images; dialect errors the same; batches formed by ``@serve.batch`` with the
configured size; ``/readyz`` and ``/metrics`` naming each replica's engine; and one replica's
process killed mid-run: every request a retrying client resends ends in success, the client only
ever seeing 503/504 (429 in remove.bg's dialect) on the way, and Ray starts a new replica.

One cluster for the module; it is shut down even when a test fails."""

from __future__ import annotations

import collections
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

if sys.version_info < (3, 10):
    pytest.skip("Ray supports Python >= 3.10 (the ray extra is not installed below it)", allow_module_level=True)

# Part of the test install (the `test` extra): a missing ray is a failure here, not a skip.
import ray
import requests
from ray import serve
from server_harness import PACKAGE_DIR, decode, free_port, jpeg_bytes, shared

from alphacut.server import ServerConfig
from alphacut.server import ray as acray

PHOTOS = [
    ("images", "rembg", "input", "car-2.jpg"),
    ("images", "rembg", "input", "animal-1.jpg"),
    ("images", "rembg", "input", "girl-2.jpg"),
    ("images", "composites", "input", "lemur__on_leaves.jpg"),
]
MAX_BATCH = 4


def _config(model: str, **kw) -> ServerConfig:
    base = dict(
        models=("u2netp",),
        model_paths={"u2netp": model},
        max_batch=MAX_BATCH,
        batch_wait_ms=50,
        queue=32,
        timeout_s=30,
    )
    base.update(kw)
    return ServerConfig(**base)


@pytest.fixture(scope="module")
def photos():
    return [jpeg_bytes(shared(*p), max_side=320) for p in PHOTOS]


@pytest.fixture(scope="module")
def model():
    return str(shared("models", "u2netp_320.onnx"))


@pytest.fixture(scope="module")
def cluster(model):
    """Ray on 2 CPUs, Serve's proxy on a free port, 2 replicas of half a CPU each (one network
    thread each); the proxies load alphacut's middleware. Yields the base URL."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", acray.PROXY_CALLBACK_ENV)}
    os.environ["PYTHONPATH"] = os.pathsep.join([PACKAGE_DIR, saved["PYTHONPATH"] or ""]).rstrip(os.pathsep)
    os.environ[acray.PROXY_CALLBACK_ENV] = acray.PROXY_CALLBACK
    port = free_port()
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        cfg = _config(model, runtime="auto", backend="auto")
        serve.run(
            acray.build(cfg, acray.RayOptions(replicas=2, cpus_per_replica=0.5)),
            name=acray.APP_NAME,
            route_prefix="/",
        )
        yield f"http://127.0.0.1:{port}"
    finally:
        try:
            if ray.is_initialized():
                serve.shutdown()
        finally:
            ray.shutdown()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture(scope="module")
def reference(model, photos):
    """The single-process server's answers (this process, the same model, one network thread as
    each replica has), per route and photo."""
    from starlette.testclient import TestClient

    from alphacut.server import create_app

    out = {}
    with TestClient(create_app(_config(model, threads=1))) as c:
        for i, data in enumerate(photos):
            out["rembg", i] = _rembg(c.post, "", data)
            out["removebg", i] = _removebg(c.post, "", data)
        out["errors"] = [(m, path, kw, getattr(c, m)(path, **kw)) for m, path, kw in ERRORS]
        out["models"] = c.get("/v1/models").json()
    return out


# Answers other than success, in each dialect: they must be the single-process server's.
ERRORS = [
    ("post", "/v1.0/removebg", {"data": {"size": "full"}}),  # remove.bg: missing_source
    ("post", "/v1.0/removebg", {"files": {"image_file": ("x.jpg", b"not an image", "image/jpeg")}}),
    ("post", "/api/remove", {"data": {"model": "u2net"}, "files": {"file": ("x", b"not an image")}}),
    ("post", "/api/remove", {"files": {"file": ("x.png", b"\x89PNG broken", "image/png")}}),
    ("post", "/v1/cutout?mode=sideways", {"content": b"x", "headers": {"Content-Type": "image/png"}}),
    ("post", "/v1/cutout", {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
    ("get", "/v1/nothing-here", {}),
]


def _rembg(post, url, data, **kw):
    return post(url + "/api/remove", files={"file": ("p.jpg", data, "image/jpeg")}, data={"model": "u2netp"}, **kw)


def _removebg(post, url, data, **kw):
    return post(
        url + "/v1.0/removebg",
        files={"image_file": ("p.jpg", data, "image/jpeg")},
        data={"size": "full", "format": "png"},
        **kw,
    )


def _jobs(n):
    """n requests alternating between the two dialects and over the photos."""
    return [("rembg" if k % 2 == 0 else "removebg", (k // 2) % len(PHOTOS)) for k in range(n)]


def _send(url, photos, route, i, timeout=60):
    fn = _rembg if route == "rembg" else _removebg
    return fn(requests.post, url, photos[i], timeout=timeout)


def _replica_pids(url, want=2, tries=60):
    pids = set()
    for _ in range(tries):
        pids.add(int(requests.get(url + "/readyz", timeout=10).json()["replica"]["pid"]))
        if len(pids) >= want:
            break
    return pids


def test_two_replicas_answer_32_concurrent_requests_like_the_single_process_server(cluster, photos, reference):
    jobs = _jobs(32)
    with ThreadPoolExecutor(32) as ex:
        answers = list(ex.map(lambda j: _send(cluster, photos, *j), jobs))
    assert [r.status_code for r in answers] == [200] * 32, [r.text[:200] for r in answers if r.status_code != 200]
    for (route, i), r in zip(jobs, answers):
        ref = reference[route, i]
        assert r.headers["content-type"] == ref.headers["content-type"] == "image/png"
        got, want = decode(r.content), decode(ref.content)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert (got == want).all(), f"{route} photo {i}: {int((got != want).sum())} values differ"
        if route == "removebg":
            for h in ("X-Width", "X-Height", "X-Type", "X-Foreground-Top", "X-Foreground-Width"):
                assert r.headers[h] == ref.headers[h], h
    status = serve.status().applications[acray.APP_NAME].deployments[acray.DEPLOYMENT_NAME]
    assert status.replica_states.get("RUNNING") == 2
    assert len(_replica_pids(cluster)) == 2


def test_same_routes_and_dialect_errors(cluster, reference):
    for method, path, kw, ref in reference["errors"]:
        kw = dict(kw)
        if "content" in kw:
            kw["data"] = kw.pop("content")
        r = getattr(requests, method)(cluster + path, timeout=30, **kw)
        assert r.status_code == ref.status_code, (path, r.status_code, r.text[:300])
        body, want = r.json(), ref.json()
        for b in (body, want):  # the request id differs from one request to the next
            if isinstance(b.get("error"), dict):
                b["error"].pop("request_id", None)
        assert body == want, path
    assert requests.get(cluster + "/v1/models", timeout=30).json() == reference["models"]
    assert requests.get(cluster + "/v1.0/account", timeout=30).json()["data"]["attributes"]["credits"]["total"] > 0
    paths = set(requests.get(cluster + "/openapi.json", timeout=30).json()["paths"])
    assert {"/api/remove", "/v1.0/removebg", "/v1.0/account", "/v1/cutout", "/v1/models", "/readyz"} <= paths


def _batch_histograms(url):
    """Per replica, (batches, batches of one image, batches of at most MAX_BATCH) from the
    ``alphacut_batch_size`` histogram of its /metrics (the batches @serve.batch formed)."""
    out = {}
    for _ in range(60):
        text = requests.get(url + "/metrics", timeout=10).text
        rid = re.search(r'alphacut_engine\{[^}]*replica="([^"]*)"', text).group(1)

        def value(pattern, text=text):
            m = re.search(pattern, text)
            return float(m.group(1)) if m else 0.0

        out[rid] = (
            value(r'alphacut_batch_size_count\{model="u2netp"\} (\S+)'),
            value(r'alphacut_batch_size_bucket\{le="1\.0",model="u2netp"\} (\S+)'),
            value(rf'alphacut_batch_size_bucket\{{le="{MAX_BATCH}\.0",model="u2netp"\}} (\S+)'),
        )
        if len(out) == 2:
            break
    return out


def test_serve_batch_forms_batches_of_the_configured_size(cluster, photos):
    """16 requests at once on 2 replicas: @serve.batch hands the engine several images at a time
    (u2netp's network takes one image per call, so X-Batch-Size stays 1; the batches formed are
    in /metrics), never more than max_batch."""
    with ThreadPoolExecutor(16) as ex:
        answers = list(
            ex.map(
                lambda k: requests.post(
                    cluster + "/v1/cutout?format=mask",
                    data=photos[k % len(photos)],
                    headers={"Content-Type": "image/jpeg"},
                    timeout=60,
                ),
                range(16),
            )
        )
    assert all(r.status_code == 200 for r in answers), [r.text[:200] for r in answers]
    hist = _batch_histograms(cluster)
    assert len(hist) == 2, hist
    batches = sum(h[0] for h in hist.values())
    assert batches > 0
    assert sum(h[0] - h[1] for h in hist.values()) > 0, f"no batch of more than one image: {hist}"
    assert all(h[2] == h[0] for h in hist.values()), f"a batch above max_batch={MAX_BATCH}: {hist}"


def test_readyz_and_metrics_name_each_replicas_engine(cluster):
    seen = {}
    for _ in range(60):
        body = requests.get(cluster + "/readyz", timeout=10).json()
        assert body["status"] == "ready"
        assert body["engines"] == {"u2netp": {"runtime": "onnxruntime", "backend": "cpu"}}
        assert body["replica"]["gpus"] == ""
        seen[body["replica"]["id"]] = body["replica"]
        if len(seen) == 2:
            break
    assert len(seen) == 2
    text = requests.get(cluster + "/metrics", timeout=10).text
    lines = [ln for ln in text.splitlines() if ln.startswith("alphacut_engine{")]
    assert len(lines) == 1, lines
    assert 'runtime="onnxruntime"' in lines[0] and 'backend="cpu"' in lines[0] and 'model="u2netp"' in lines[0]
    assert any(f'replica="{rid}"' in lines[0] for rid in seen)


def test_killed_replica_loses_no_request_a_retrying_client_resends(cluster, photos, reference):
    pids = _replica_pids(cluster)
    assert len(pids) == 2
    victim = min(pids)
    seen = collections.defaultdict(list)
    done = []
    some_done = threading.Event()

    def client(k, route, i):
        try:
            return _client(k, route, i)
        finally:
            done.append(k)
            if len(done) >= 4:
                some_done.set()

    def _client(k, route, i):
        for _ in range(20):
            try:
                r = _send(cluster, photos, route, i, timeout=60)
            except requests.RequestException as exc:  # a hang ends here (60 s) and fails the test below
                seen[k].append(type(exc).__name__)
                continue
            seen[k].append(r.status_code)
            if r.status_code == 200:
                return r
            if r.status_code not in (503, 504, 429):
                return r
            time.sleep(float(r.headers.get("Retry-After", "1")) if r.status_code != 504 else 0.5)
        return None

    jobs = _jobs(32)
    t0 = time.monotonic()
    with ThreadPoolExecutor(32) as ex:
        futs = [ex.submit(client, k, *j) for k, j in enumerate(jobs)]
        # Mid-run: a few answers are back, most requests are in the replicas or queued for them.
        assert some_done.wait(120)
        assert len(done) < len(jobs)
        os.kill(victim, signal.SIGKILL)
        answers = [f.result() for f in futs]
    allowed = {200, 503, 504}
    for k, (route, i) in enumerate(jobs):
        statuses = seen[k]
        ok = allowed | ({429} if route == "removebg" else set())
        assert set(statuses) <= ok, (route, statuses)
        assert answers[k] is not None and answers[k].status_code == 200, (route, statuses)
        assert (decode(answers[k].content) == decode(reference[route, i].content)).all()
    retried = sum(len(s) > 1 for s in seen.values())
    assert retried >= 1, "the kill hit no request in flight: the test proved nothing"
    # Ray brings the replica back: a new process answers beside the survivor.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = serve.status().applications[acray.APP_NAME].deployments[acray.DEPLOYMENT_NAME]
        if status.replica_states.get("RUNNING") == 2:
            break
        time.sleep(1)
    assert status.replica_states.get("RUNNING") == 2, status.replica_states
    after = _replica_pids(cluster)
    assert len(after) == 2 and victim not in after, (pids, after)
    print(f"kill: {retried} of 32 requests were retried; all 200 after {time.monotonic() - t0:.1f} s")
