"""rembg's dialect on the real server (u2netp, a subprocess on 127.0.0.1): a client written for
``rembg s`` (its form fields, its query parameters) gets what ``alphacut.remove`` gives for the
same bytes and options, and every bad value a 400 in rembg's ``{"detail": ...}`` shape."""

from __future__ import annotations

import json

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")

from server_harness import assert_clean_error, jpeg_bytes, shared, shared_server  # noqa: E402

import alphacut  # noqa: E402

MAIN = ["--models", "u2netp", "--max-upload-mb", "2"]


@pytest.fixture(scope="module")
def server(request):
    return shared_server(request, "main", MAIN)


@pytest.fixture(scope="module")
def photo():
    return jpeg_bytes(shared("images", "rembg", "input", "car-1.jpg"))


@pytest.fixture(scope="module")
def local_session(tmp_path_factory):
    """alphacut.remove's own session, in this process, on the same model file."""
    import os

    from server_harness import model_env

    env = model_env(tmp_path_factory.mktemp("local"))
    old = {k: os.environ.get(k) for k in ("REMBG_HOME", "ALPHACUT_HOME")}
    os.environ.update({k: env[k] for k in old})
    try:
        yield alphacut.Session("u2netp")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# (form fields, query parameters, alphacut.remove keywords)
CASES = [
    ({}, {}, {}),
    ({"a": "true"}, {}, {"alpha_matting": True}),
    (
        {"a": "1", "af": "200", "ab": "20", "ae": "4"},
        {},
        {
            "alpha_matting": True,
            "alpha_matting_foreground_threshold": 200,
            "alpha_matting_background_threshold": 20,
            "alpha_matting_erode_size": 4,
        },
    ),
    ({"om": "true"}, {}, {"only_mask": True}),
    ({"om": "on", "ppm": "yes"}, {}, {"only_mask": True, "post_process_mask": True}),
    ({"ppm": "true"}, {}, {"post_process_mask": True}),
    ({"dc": "true"}, {}, {"decontaminate": True}),
    ({"model": "u2netp"}, {"bgc": "255,0,0,255"}, {"bgcolor": (255, 0, 0, 255)}),
    ({}, {"extras": json.dumps({"putalpha": True})}, {"putalpha": True}),
]


@pytest.mark.parametrize("fields,query,kwargs", CASES, ids=[str(c[0] or c[1] or "defaults") for c in CASES])
def test_same_cutout_as_alphacut_remove(server, photo, local_session, fields, query, kwargs):
    r = requests.post(
        server.url + "/api/remove",
        files={"file": ("car.jpg", photo, "image/jpeg")},
        data=fields,
        params=query,
        timeout=120,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    expected = alphacut.remove(photo, session=local_session, **kwargs)
    assert r.content == expected  # byte for byte


def test_get_with_url_is_off_by_default(server):
    r = requests.get(server.url + "/api/remove", params={"url": "https://example.com/a.jpg"}, timeout=30)
    body = assert_clean_error(r, 400)
    assert "--allow-url" in body["detail"]


BAD = [
    ({"model": "u2net"}, {}, "not loaded on this server; loaded: u2netp"),
    ({"model": "definitely-not-a-model"}, {}, "not loaded"),
    ({"af": "300"}, {}, "af must be 0..255"),
    ({"ab": "-1"}, {}, "ab must be 0..255"),
    ({"ae": "-3"}, {}, "ae must be"),
    ({"af": "abc"}, {}, "af must be an integer"),
    ({"a": "maybe"}, {}, "a must be true or false"),
    ({"om": "2"}, {}, "om must be true or false"),
    ({"vm": "true"}, {}, "not supported"),
    ({}, {"bgc": "1,2"}, "bgc must be"),
    ({}, {"bgc": "red"}, "bgc must be"),
    ({}, {"bgc": "0,0,0,256"}, "bgc must be"),
    ({}, {"extras": "{not json"}, "extras must be a JSON object"),
    ({}, {"extras": "[1, 2]"}, "extras must be a JSON object"),
    ({}, {"extras": json.dumps({"model_path": "/etc/passwd"})}, "not accepted by this server"),
]


@pytest.mark.parametrize("fields,query,match", BAD, ids=[m for *_, m in BAD])
def test_malformed_values_are_400(server, photo, fields, query, match):
    r = requests.post(
        server.url + "/api/remove",
        files={"file": ("car.jpg", photo, "image/jpeg")},
        data=fields,
        params=query,
        timeout=60,
    )
    body = assert_clean_error(r, 400)
    assert match in body["detail"]


def test_bad_bodies(server, photo):
    url = server.url + "/api/remove"
    # corrupt image (a truncated JPEG), text as image, empty file
    for data, what in (
        (photo[: len(photo) // 3], "truncated"),
        (b"hello, I am not an image" * 10, "text"),
        (b"", "empty"),
    ):
        r = requests.post(url, files={"file": ("x.jpg", data, "image/jpeg")}, timeout=60)
        body = assert_clean_error(r, 400)
        assert "file" in body["detail"], (what, body)
    # no file field; not multipart at all
    assert "'file'" in assert_clean_error(requests.post(url, files={"other": ("x", photo)}, timeout=30), 400)["detail"]
    assert_clean_error(requests.post(url, json={"file": "x"}, timeout=30), 415)
    assert_clean_error(requests.post(url, data=photo, headers={"Content-Type": "image/jpeg"}, timeout=30), 415)
    # GET without url
    assert "'url'" in assert_clean_error(requests.get(url, timeout=30), 400)["detail"]
    assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
