"""The remove.bg API v1.0 dialect on the real server (u2netp, a subprocess on 127.0.0.1): bodies
(multipart, JSON, form), sources, every option, the response headers and JSON, errors in
remove.bg's shape, and two remove.bg client libraries from PyPI running their normal calls."""

from __future__ import annotations

import base64
import io
import zipfile

import numpy as np
import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("fastapi")

from server_harness import assert_clean_error, decode, jpeg_bytes, shared, shared_server  # noqa: E402

MAIN = ["--models", "u2netp", "--max-upload-mb", "2"]


@pytest.fixture(scope="module")
def server(request):
    return shared_server(request, "main", MAIN)


@pytest.fixture(scope="module")
def photo():
    return jpeg_bytes(shared("images", "rembg", "input", "car-1.jpg"))  # 480 x 360


@pytest.fixture(scope="module")
def big_photo():
    return jpeg_bytes(shared("images", "rembg", "input", "car-2.jpg"))  # 1000 x 667


def post(server, files=None, data=None, json=None, headers=None, timeout=120):
    return requests.post(
        server.url + "/v1.0/removebg", files=files, data=data, json=json, headers=headers, timeout=timeout
    )


def _fg_box(alpha):
    ys, xs = np.nonzero(alpha)
    return int(ys.min()), int(xs.min()), int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


def test_multipart_defaults_preview_png_and_headers(server, big_photo):
    r = post(server, files={"image_file": ("car.jpg", big_photo, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    img = decode(r.content)
    h, w = img.shape[:2]
    assert img.shape[2] == 4 and h * w <= 250_000 and abs(w / h - 1000 / 667) < 0.01  # preview: <= 0.25 MP
    assert (int(r.headers["X-Width"]), int(r.headers["X-Height"])) == (w, h)
    assert int(r.headers["X-Credits-Charged"]) == 0
    assert r.headers["X-Type"] == "other"
    top, left, fh, fw = _fg_box(img[:, :, 3])
    assert (
        int(r.headers["X-Foreground-Top"]),
        int(r.headers["X-Foreground-Left"]),
        int(r.headers["X-Foreground-Height"]),
        int(r.headers["X-Foreground-Width"]),
    ) == (top, left, fh, fw)


@pytest.mark.parametrize(
    "size,cap",
    [("full", None), ("auto", None), ("4k", None), ("medium", 1_500_000), ("small", 250_000), ("regular", 250_000)],
)
def test_sizes(server, big_photo, size, cap):
    r = post(server, files={"image_file": ("car.jpg", big_photo)}, data={"size": size})
    assert r.status_code == 200, r.text
    h, w = decode(r.content).shape[:2]
    assert (w, h) == (1000, 667) if cap is None or cap >= 667_000 else w * h <= cap


def test_json_and_form_bodies_with_base64(server, photo):
    b64 = base64.b64encode(photo).decode()
    a = post(server, json={"image_file_b64": b64, "size": "full", "format": "png"})
    b = post(server, data={"image_file_b64": b64, "size": "full", "format": "png"})
    c = post(server, json={"image_file_b64": "data:image/jpeg;base64," + b64, "size": "full", "format": "png"})
    d = post(server, files={"image_file": ("car.jpg", photo)}, data={"size": "full", "format": "png"})
    assert a.status_code == b.status_code == c.status_code == d.status_code == 200, (a.text, b.text)
    assert a.content == b.content == c.content == d.content


def test_accept_json(server, photo):
    r = post(
        server, files={"image_file": ("car.jpg", photo)}, data={"size": "full"}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()["data"]
    img = decode(base64.b64decode(data["result_b64"]))
    assert img.shape[:2] == (360, 480)
    top, left, fh, fw = _fg_box(img[:, :, 3])
    assert (data["foreground_top"], data["foreground_left"], data["foreground_height"], data["foreground_width"]) == (
        top,
        left,
        fh,
        fw,
    )


def test_formats_and_channels(server, photo):
    f = {"image_file": ("car.jpg", photo)}
    jpg = post(server, files=f, data={"format": "jpg", "size": "full"})
    assert jpg.headers["content-type"] == "image/jpeg" and decode(jpg.content).shape == (360, 480, 3)
    webp = post(server, files=f, data={"format": "webp", "size": "full"})
    assert webp.headers["content-type"] == "image/webp" and decode(webp.content).shape == (360, 480, 4)
    z = post(server, files=f, data={"format": "zip", "size": "full"})
    assert z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        assert sorted(zf.namelist()) == ["alpha.png", "color.jpg"]
        color, alpha = decode(zf.read("color.jpg")), decode(zf.read("alpha.png"))
    assert color.shape == (360, 480, 3) and alpha.shape == (360, 480)
    png = decode(post(server, files=f, data={"format": "png", "size": "full"}).content)
    np.testing.assert_array_equal(alpha, png[:, :, 3])
    mask = post(server, files=f, data={"channels": "alpha", "size": "full"})
    assert mask.headers["content-type"] == "image/png"
    np.testing.assert_array_equal(decode(mask.content), png[:, :, 3])


def test_backgrounds(server, photo):
    f = {"image_file": ("car.jpg", photo)}
    opaque = post(server, files=f, data={"bg_color": "81d4fa", "size": "full"})
    assert opaque.headers["content-type"] == "image/jpeg"  # format auto: nothing transparent left -> JPG
    named = decode(post(server, files=f, data={"bg_color": "green", "format": "png", "size": "full"}).content)
    assert (named[:, :, 3] == 255).all()
    corner = named[0, 0, :3]
    assert abs(int(corner[0]) - 0) <= 1 and abs(int(corner[1]) - 128) <= 1 and corner[2] <= 1  # CSS green
    semi = decode(post(server, files=f, data={"bg_color": "#ff000080", "size": "full"}).content)
    assert semi.shape[2] == 4 and semi[0, 0, 3] == 128  # 8-digit hex: a semi-transparent background
    bg = jpeg_bytes(shared("images", "rembg", "input", "animal-2.jpg"))
    on_image = post(
        server,
        files={"image_file": ("car.jpg", photo), "bg_image_file": ("bg.jpg", bg)},
        data={"size": "full", "format": "png"},
    )
    assert on_image.status_code == 200, on_image.text
    assert (decode(on_image.content)[:, :, 3] == 255).all()


def test_crop_margin_roi_scale_position(server, photo):
    f = {"image_file": ("car.jpg", photo)}
    full = decode(post(server, files=f, data={"size": "full", "format": "png"}).content)
    top, left, fh, fw = _fg_box(full[:, :, 3])
    crop = decode(post(server, files=f, data={"size": "full", "crop": "true"}).content)
    assert crop.shape[:2] == (fh, fw)
    margin = decode(post(server, files=f, data={"size": "full", "crop": "true", "crop_margin": "10px"}).content)
    assert margin.shape[:2] == (fh + 20, fw + 20) and (margin[:10, :, 3] == 0).all()
    margin2 = decode(post(server, files=f, data={"size": "full", "crop": "true", "crop_margin": "0 10%"}).content)
    assert margin2.shape[:2] == (fh, fw + 2 * round(0.1 * fw))
    roi = decode(post(server, files=f, data={"size": "full", "format": "png", "roi": "0% 0% 50% 100%"}).content)
    assert roi.shape[:2] == (360, 480) and (roi[:, 240:, 3] == 0).all() and roi[:, :240, 3].any()
    roi_px = decode(post(server, files=f, data={"size": "full", "format": "png", "roi": "0px 0px 240px 360px"}).content)
    np.testing.assert_array_equal(roi_px[:, :, 3], roi[:, :, 3])
    scaled = decode(post(server, files=f, data={"size": "full", "format": "png", "scale": "50%"}).content)
    t2, l2, h2, w2 = _fg_box(scaled[:, :, 3])
    assert abs(w2 - 0.5 * 480) <= 3 or abs(h2 - 0.5 * 360) <= 3  # the subject fills 50 % of the canvas
    assert abs((l2 + w2 / 2) - 240) <= 3 and abs((t2 + h2 / 2) - 180) <= 3  # centred (scale implies center)
    placed = decode(post(server, files=f, data={"size": "full", "format": "png", "position": "0% 100%"}).content)
    t3, l3, h3, w3 = _fg_box(placed[:, :, 3])
    assert l3 == 0 and t3 + h3 == 360 and (h3, w3) == (fh, fw)


@pytest.mark.parametrize(
    "type_,mode", [("person", "person"), ("product", "product"), ("car", "car"), ("animal", "animal")]
)
def test_types(server, photo, type_, mode):
    r = post(server, files={"image_file": ("car.jpg", photo)}, data={"type": type_})
    assert r.status_code == 200 and r.headers["X-Type"] == mode


def test_type_level_none_sends_no_type(server, photo):
    r = post(server, files={"image_file": ("car.jpg", photo)}, data={"type_level": "none"})
    assert r.status_code == 200 and "X-Type" not in r.headers


BAD = [
    ({}, "missing_source", 400),
    ({"image_file_b64": "aGVsbG8=", "image_url": "https://example.com/a.jpg"}, "multiple_sources", 400),
    ({"image_file_b64": "!!!not base64!!!"}, "invalid_image_file_b64", 400),
    ({"image_file_b64": base64.b64encode(b"text, not an image").decode()}, "invalid_image", 400),
    ({"image_url": "https://example.com/a.jpg"}, "url_input_disabled", 400),
]
OPTION_ERRORS = [
    ("size", "huge"),
    ("type", "spaceship"),
    ("type_level", "3"),
    ("format", "gif"),
    ("channels", "rgb"),
    ("bg_color", "notacolour"),
    ("roi", "0 0 10"),
    ("roi", "50% 0% 10% 100%"),
    ("crop", "perhaps"),
    ("crop_margin", "10 20 30"),
    ("crop_margin", "-5px"),
    ("scale", "5%"),
    ("position", "left"),
    ("add_shadow", "sometimes"),
]


@pytest.mark.parametrize("fields,code,status", BAD, ids=[c for _, c, _ in BAD])
def test_sources_and_bad_images(server, fields, code, status):
    err = assert_clean_error(post(server, data=fields), status)["errors"][0]
    assert err["code"] == code and err["title"] and err["detail"]


@pytest.mark.parametrize("name,value", OPTION_ERRORS, ids=[f"{n}={v}" for n, v in OPTION_ERRORS])
def test_bad_options(server, photo, name, value):
    r = post(server, files={"image_file": ("car.jpg", photo)}, data={name: value})
    err = assert_clean_error(r, 400)["errors"][0]
    assert err["code"] == f"invalid_{name}" and name in err["title"]


def test_both_sources_with_a_file_and_bad_bodies(server, photo):
    r = post(server, files={"image_file": ("car.jpg", photo)}, data={"image_url": "https://example.com/a.jpg"})
    assert assert_clean_error(r, 400)["errors"][0]["code"] == "multiple_sources"
    r = post(
        server, files={"image_file": ("car.jpg", photo), "bg_image_file": ("b.jpg", photo)}, data={"bg_color": "fff"}
    )
    assert assert_clean_error(r, 400)["errors"][0]["code"] == "multiple_bg_sources"
    r = requests.post(
        server.url + "/v1.0/removebg", data=b"{not json", headers={"Content-Type": "application/json"}, timeout=30
    )
    assert assert_clean_error(r, 400)["errors"][0]["code"] == "invalid_json"
    r = requests.post(server.url + "/v1.0/removebg", data=photo, headers={"Content-Type": "image/jpeg"}, timeout=30)
    assert assert_clean_error(r, 415)["errors"][0]["code"] == "unsupported_media_type"


def test_no_foreground_is_unknown_foreground():
    """remove.bg answers unknown_foreground when nothing is found; crop has nothing to crop to."""
    from alphacut.server.removebg import Options, compose
    from alphacut.server.service import ServiceError

    empty = np.zeros((20, 30, 4), np.uint8)
    with pytest.raises(ServiceError) as e:
        compose(empty, (0, 20, 0, 30), (20, 30), Options(crop=True), None)
    assert (e.value.status, e.value.code) == (400, "unknown_foreground")


def test_account(server):
    r = requests.get(server.url + "/v1.0/account", timeout=10)
    a = r.json()["data"]["attributes"]
    assert r.status_code == 200 and a["credits"]["unlimited"] is True
    assert isinstance(a["credits"]["total"], int) and a["credits"]["total"] >= 1_000_000
    assert a["api"]["sizes"] == "all"


# -- client libraries from PyPI, their endpoint constant pointed at the server ------------------------


def test_removebg_client_library(server, tmp_path, monkeypatch, photo):
    removebg_mod = pytest.importorskip("removebg.removebg")
    monkeypatch.setattr(removebg_mod, "API_ENDPOINT", server.url + "/v1.0/removebg")
    client = removebg_mod.RemoveBg("any-key", str(tmp_path / "removebg-errors.log"))
    src = tmp_path / "car.jpg"
    src.write_bytes(photo)
    client.remove_background_from_img_file(str(src))  # raises for an HTTP error
    out = decode((tmp_path / "car.jpg_no_bg.png").read_bytes())
    assert out.shape[2] == 4 and out[:, :, 3].any()
    monkeypatch.chdir(tmp_path)
    client.remove_background_from_base64_img(
        base64.b64encode(photo).decode(), size="regular", new_file_name="b64.png", bg_color="ff0000"
    )
    assert decode((tmp_path / "b64.png").read_bytes()).shape[:2] == (360, 480)
    with pytest.raises(requests.HTTPError) as e:  # its URL call: refused (no --allow-url); raise_for_status raises
        client.remove_background_from_img_url("https://example.com/a.jpg")
    assert e.value.response.json()["errors"][0]["title"]


def test_remove_bg_api_client_library(server, tmp_path, monkeypatch, photo):
    mod = pytest.importorskip("remove_bg_api")
    monkeypatch.setattr(mod, "API_URL", server.url + "/v1.0")
    client = mod.RemoveBg("any-key")  # calls GET /account and reads credits.total
    before = client.account.balance()
    assert before >= 1_000_000
    out = client.remove_bg_bytes(photo)  # format auto, type auto, size preview; parses X-Credits-Charged
    assert decode(out).shape[2] in (3, 4)
    src = tmp_path / "car.jpg"
    src.write_bytes(photo)
    path = client.remove_bg_file(str(src), out_path=str(tmp_path / "nbg.png"), raw=False)
    assert decode(open(path, "rb").read()).shape[:2] == (360, 480)
    client.remove_bg_base64(base64.b64encode(photo).decode())
    assert client.account.balance() == before  # nothing charged
    assert client.account.get_balance_dict()["total"] == before
    with pytest.raises(mod.Errors.ApiErrorCode400):
        client.remove_bg_url("https://example.com/a.jpg")
