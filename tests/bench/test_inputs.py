import numpy as np
import pytest
from PIL import Image

import alphacut
from alphacut.bench import inputs
from alphacut.bench.inputs import SIZES, from_photo, make_images, parse_sizes, procedural


def test_named_sizes_are_what_the_docs_say():
    assert SIZES["4k"] == (2160, 3840)
    assert SIZES["12mp"] == (3000, 4000)
    h, w = SIZES["1mp"]
    assert abs(h * w - 1_000_000) < 2000 and abs(w / h - 4 / 3) < 0.01


def test_parse_sizes():
    assert parse_sizes("1mp, 4K ,12mp") == [("1mp", SIZES["1mp"]), ("4k", SIZES["4k"]), ("12mp", SIZES["12mp"])]
    assert parse_sizes("640x480,640X480") == [("640x480", (480, 640))]
    assert parse_sizes(["12mp"]) == [("12mp", (3000, 4000))]


@pytest.mark.parametrize("bad", ["", "5mp", "0x10", "10x", "x", "30000x10", ",,"])
def test_parse_sizes_rejects(bad):
    with pytest.raises(alphacut.InputError):
        parse_sizes(bad)


def test_procedural_is_deterministic_and_has_a_subject():
    a = procedural((120, 160))
    b = procedural((120, 160))
    assert a.rgb.shape == (120, 160, 3) and a.rgb.dtype == np.uint8
    np.testing.assert_array_equal(a.rgb, b.rgb)
    centre = a.rgb[60:75, 70:90].astype(float).mean(axis=(0, 1))
    corner = a.rgb[:10, :10].astype(float).mean(axis=(0, 1))
    assert np.abs(centre - corner).max() > 40  # the subject differs from the background
    assert "procedural" in a.source


def test_from_photo_crops_to_aspect_and_resizes(tmp_path):
    # a 400x100 photo: left half red, right half blue; a 1:1 target keeps the centre 100x100
    arr = np.zeros((100, 400, 3), np.uint8)
    arr[:, :200, 0] = 255
    arr[:, 200:, 2] = 255
    arr[:, 150:250, 1] = 255  # the centre band is green-tinted
    p = tmp_path / "wide.png"
    Image.fromarray(arr).save(p)
    im = from_photo(p, (50, 50), "sq")
    assert im.rgb.shape == (50, 50, 3)
    assert im.rgb[:, 5:45, 1].min() > 200  # all green: only the centre band survived the crop
    assert im.megapixels == pytest.approx(0.0025)
    assert "wide.png (400x100)" in im.source


def test_jpeg_bytes_roundtrip():
    im = procedural((64, 96))
    data = im.jpeg()
    assert data[:2] == b"\xff\xd8" and im.jpeg() is data  # cached
    import io

    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert np.abs(back - im.rgb.astype(int)).mean() < 3


def test_make_images_falls_back_to_procedural(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHACUT_SHARED_DATA", str(tmp_path / "missing"))
    monkeypatch.setattr(inputs, "shared_data_dir", lambda: None)
    ims = make_images(parse_sizes("32x24"))
    assert ims[0].rgb.shape == (24, 32, 3) and "procedural" in ims[0].source
    with pytest.raises(alphacut.InputError, match="no photo"):
        make_images(parse_sizes("32x24"), allow_procedural=False)


def test_missing_explicit_photo(tmp_path):
    with pytest.raises(alphacut.InputError, match="no such file"):
        make_images(parse_sizes("32x24"), photo=tmp_path / "nope.jpg")


def test_real_photo_is_used_when_present(monkeypatch):
    from conftest import SHARED_DATA, shared_path

    shared_path("images", "rembg", "input", "animal-3.jpg")
    monkeypatch.setenv("ALPHACUT_SHARED_DATA", str(SHARED_DATA))  # an installed package has no ../shared
    im = make_images(parse_sizes("1mp"))[0]
    assert im.rgb.shape == (866, 1155, 3) and im.source.startswith("photo animal-3.jpg")
    assert im.rgb.std() > 20  # a real, textured photo
