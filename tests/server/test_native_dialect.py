"""alphacut's own routes on the real server (u2netp, a subprocess on 127.0.0.1): /v1/cutout with
every option, /v1/models, /healthz, /readyz, /metrics, the OpenAPI docs."""

from __future__ import annotations

import re

import numpy as np
import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")

from server_harness import assert_clean_error, decode, jpeg_bytes, shared, shared_server  # noqa: E402

import alphacut  # noqa: E402

MAIN = ["--models", "u2netp", "--max-upload-mb", "2"]


@pytest.fixture(scope="module")
def server(request):
    return shared_server(request, "main", MAIN)


@pytest.fixture(scope="module")
def photo():
    return jpeg_bytes(shared("images", "rembg", "input", "car-1.jpg"))


def cut(server, body, params=None, headers=None):
    h = {"Content-Type": "image/jpeg", **(headers or {})}
    return requests.post(server.url + "/v1/cutout", data=body, params=params, headers=h, timeout=120)


def test_cutout_raw_body_and_headers(server, photo):
    r = cut(server, photo)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = decode(r.content)
    assert img.shape == (360, 480, 4)
    assert (r.headers["X-Width"], r.headers["X-Height"], r.headers["X-Model"]) == ("480", "360", "u2netp")
    assert int(r.headers["X-Batch-Size"]) >= 1
    stages = dict(re.findall(r"(\w+);dur=([\d.]+)", r.headers["Server-Timing"]))
    assert list(stages)[0] == "decode" and {"segment", "matting", "foreground", "pack"} <= set(stages)
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-Id"])
    # the client's own request id comes back
    assert cut(server, photo, headers={"X-Request-Id": "job-42"}).headers["X-Request-Id"] == "job-42"


def test_cutout_multipart_and_octet_stream_give_the_same(server, photo):
    a = cut(server, photo).content
    b = requests.post(server.url + "/v1/cutout", files={"file": ("car.jpg", photo)}, timeout=120).content
    c = requests.post(server.url + "/v1/cutout", files={"image": ("car.jpg", photo)}, timeout=120).content
    d = cut(server, photo, headers={"Content-Type": "application/octet-stream"}).content
    assert a == b == c == d


def test_cutout_options(server, photo):
    png = decode(cut(server, photo).content)
    mask = cut(server, photo, {"format": "mask"})
    assert mask.headers["content-type"] == "image/png" and decode(mask.content).shape == (360, 480)
    jpg = cut(server, photo, {"format": "jpg"})
    assert jpg.headers["content-type"] == "image/jpeg" and decode(jpg.content).shape == (360, 480, 3)
    webp = cut(server, photo, {"format": "webp"})
    assert webp.headers["content-type"] == "image/webp"
    on_red = decode(cut(server, photo, {"bg": "#ff0000"}).content)
    assert (on_red[:, :, 3] == 255).all() and tuple(on_red[0, 0, :3]) == (255, 0, 0)
    plain = decode(cut(server, photo, {"refine": "false"}).content)
    assert plain.shape == png.shape and not np.array_equal(plain[:, :, 3], png[:, :, 3])
    product = cut(server, photo, {"mode": "product"})
    assert product.status_code == 200 and not np.array_equal(decode(product.content)[:, :, 3], png[:, :, 3])


def test_cutout_matches_the_session(server, photo, tmp_path, monkeypatch):
    """The server's cutout is the Session's cutout of the same bytes."""
    from server_harness import model_env

    env = model_env(tmp_path)
    monkeypatch.setenv("REMBG_HOME", env["REMBG_HOME"])
    monkeypatch.setenv("ALPHACUT_HOME", env["ALPHACUT_HOME"])
    rgba = alphacut.Session("u2netp").cutout(photo)
    np.testing.assert_array_equal(decode(cut(server, photo).content), rgba)


@pytest.mark.parametrize(
    "params,field",
    [
        ({"model": "nope"}, "model"),
        ({"mode": "fancy"}, "mode"),
        ({"format": "gif"}, "format"),
        ({"bg": "#12"}, "bg"),
        ({"refine": "perhaps"}, "refine"),
    ],
)
def test_cutout_bad_options(server, photo, params, field):
    err = assert_clean_error(cut(server, photo, params), 400)["error"]
    assert err["field"] == field and err["request_id"] and err["code"] in ("invalid_parameter", "unknown_model")


def test_cutout_bad_bodies(server, photo):
    for body in (b"", photo[:500], b"plain text, not an image" * 20):
        err = assert_clean_error(cut(server, body), 400)["error"]
        assert err["code"] in ("missing_source", "invalid_image")
    r = requests.post(server.url + "/v1/cutout", json={"image": "x"}, timeout=30)
    assert assert_clean_error(r, 415)["error"]["code"] == "unsupported_media_type"


def test_models_health_ready_docs(server):
    m = requests.get(server.url + "/v1/models", timeout=10).json()
    assert m["default"] == "u2netp" and m["models"][0]["name"] == "u2netp"
    assert m["models"][0]["max_network_batch"] == 1  # u2netp's batch dimension is fixed at 1
    assert requests.get(server.url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert requests.get(server.url + "/readyz", timeout=10).json()["status"] == "ready"
    spec = requests.get(server.url + "/openapi.json", timeout=10).json()
    assert {"/api/remove", "/v1.0/removebg", "/v1.0/account", "/v1/cutout", "/v1/models"} <= set(spec["paths"])
    assert requests.get(server.url + "/docs", timeout=10).status_code == 200
    nf = requests.get(server.url + "/no/such/route", timeout=10)
    assert assert_clean_error(nf, 404)["error"]["code"] == "not_found"
    assert (
        assert_clean_error(requests.get(server.url + "/v1.0/nothing", timeout=10), 404)["errors"][0]["code"]
        == "not_found"
    )
    assert "detail" in assert_clean_error(requests.delete(server.url + "/api/remove", timeout=10), 405)


def test_metrics(server, photo):
    assert cut(server, photo).status_code == 200
    assert cut(server, b"not an image").status_code == 400
    text = requests.get(server.url + "/metrics", timeout=10).text
    assert re.search(r'alphacut_requests_total\{route="/v1/cutout",status="200"\} [1-9]', text)
    assert re.search(r'alphacut_requests_total\{route="/v1/cutout",status="400"\} [1-9]', text)
    assert re.search(r'alphacut_errors_total\{code="invalid_image",route="/v1/cutout"\} [1-9]', text) or re.search(
        r'alphacut_errors_total\{route="/v1/cutout",code="invalid_image"\} [1-9]', text
    )
    for stage in ("decode", "segment", "pack"):
        assert re.search(rf'alphacut_stage_seconds_count\{{stage="{stage}"\}} [1-9]', text), stage
    assert re.search(r'alphacut_request_seconds_bucket\{le="[\d.]+",route="/v1/cutout"\}', text) or re.search(
        r'alphacut_request_seconds_bucket\{route="/v1/cutout",le="[\d.]+"\}', text
    )
    assert 'alphacut_queue_depth{model="u2netp"} 0.0' in text
    assert re.search(r'alphacut_batch_size_count\{model="u2netp"\} [1-9]', text)
    assert "alphacut_requests_in_flight 0.0" in text
