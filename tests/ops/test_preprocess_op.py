import numpy as np
import pytest
from conftest import load_rgb, shared_path

import alphacut
from alphacut.ops import preprocess, preprocess_into

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def ref_bilinear(img: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """Independent float64 bilinear resize with aligned pixel centres, clamped at the edges."""
    h, w = img.shape[:2]
    src = img.astype(np.float64)

    def taps(n_out, n_in):
        s = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        s = np.clip(s, 0, n_in - 1)
        i0 = np.floor(s).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, s - i0

    y0, y1, wy = taps(oh, h)
    x0, x1, wx = taps(ow, w)
    wx = wx[None, :, None]
    top = src[y0][:, x0] * (1 - wx) + src[y0][:, x1] * wx
    bot = src[y1][:, x0] * (1 - wx) + src[y1][:, x1] * wx
    return top * (1 - wy[:, None, None]) + bot * wy[:, None, None]


def ref_preprocess(img, oh, ow, scale, mean, std, bgr=False):
    r = ref_bilinear(img[..., :3], oh, ow)
    if bgr:
        r = r[..., ::-1]
    out = (r * scale - np.asarray(mean)) / np.asarray(std)
    return out.transpose(2, 0, 1)[None]


@pytest.mark.parametrize("size", [(8, 13), (40, 70), (17, 33), (1, 1), (3, 100)])
def test_matches_numpy_reference(backend, rng, size):
    img = rng.integers(0, 256, (17, 33, 3), dtype=np.uint8)
    out = preprocess(img, size, mean=IMAGENET_MEAN, std=IMAGENET_STD, backend=backend)
    assert out.shape == (1, 3) + size and out.dtype == np.float32
    ref = ref_preprocess(img, *size, 1 / 255, IMAGENET_MEAN, IMAGENET_STD)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=2e-5)


def test_matches_opencv_resize(backend, rng):
    cv2 = pytest.importorskip("cv2")
    img = rng.integers(0, 256, (61, 47, 3), dtype=np.uint8)
    for size in [(20, 30), (128, 96)]:
        out = preprocess(img, size, scale=1.0, backend=backend)
        ref = cv2.resize(img.astype(np.float32), size[::-1], interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(out[0].transpose(1, 2, 0), ref, atol=2e-3)


def test_bgr_rgba_and_scale(backend, rng):
    img = rng.integers(0, 256, (9, 12, 4), dtype=np.uint8)
    mean = (102.890434, 111.25247, 126.91212)  # SINet: ((x - mean) / std) / 255, BGR
    std = np.array((62.93292, 62.82138, 66.355705)) * 255
    out = preprocess(img, (5, 7), scale=1.0, mean=mean, std=std, channel_order="bgr", backend=backend)
    ref = ref_preprocess(img, 5, 7, 1.0, mean, std, bgr=True)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scale", [1e-7, 3e-6, 1 / 255, 1.0, 256.0])
def test_float16_rounds_like_numpy(backend, scale):
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)[..., None].repeat(3, axis=2)
    f32 = preprocess(img, (16, 16), scale=scale, backend=backend)
    f16 = preprocess(img, (16, 16), scale=scale, dtype="float16", backend=backend)
    assert f16.dtype == np.float16
    # Same float32 values, converted with round-to-nearest-even (256 * 255 = 65280 is near the top).
    np.testing.assert_array_equal(f16.view(np.uint16), f32.astype(np.float16).view(np.uint16))
    assert np.isfinite(f16).all()


def test_float16_range_is_checked(backend):
    # 300 * 255 would overflow float16 (65504) to inf: the parameters are refused instead.
    img = np.full((4, 4, 3), 255, np.uint8)
    with pytest.raises(alphacut.InputError, match="float16"):
        preprocess(img, (2, 2), scale=300.0, dtype="float16", backend=backend)
    assert np.isfinite(preprocess(img, (2, 2), scale=300.0, backend=backend)).all()  # float32 holds it


def test_into_buffers(backend, rng):
    img = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)
    for dt in (np.float32, np.float16):
        buf = np.full((1, 3, 12, 8), np.nan, dt)
        got = preprocess_into(buf, img, mean=0.5, std=0.25, backend=backend)
        assert got is buf
        np.testing.assert_array_equal(buf, preprocess(img, (12, 8), mean=0.5, std=0.25, dtype=dt, backend=backend))


def test_real_photo_u2netp_style(backend):
    img = load_rgb(shared_path("images", "alphamatting_gt05", "input", "GT05.jpg"))
    scale = 1.0 / float(img.max())  # u2netp: x / max(x), then ImageNet mean/std
    out = preprocess(img, (320, 320), scale=scale, mean=IMAGENET_MEAN, std=IMAGENET_STD, backend=backend)
    ref = ref_preprocess(img, 320, 320, scale, IMAGENET_MEAN, IMAGENET_STD)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=3e-5)


@pytest.mark.parametrize(
    "image, kwargs, match",
    [
        (np.zeros((0, 4, 3), np.uint8), {}, "empty"),
        (np.zeros((4, 4, 2), np.uint8), {}, "channels"),
        (np.zeros((4, 4, 3), np.float32), {}, "dtype"),
        (np.zeros((4, 4, 3), np.uint8), {"std": 0.0}, "std"),
        (np.zeros((4, 4, 3), np.uint8), {"mean": (np.nan, 0, 0)}, "mean"),
        (np.zeros((4, 4, 3), np.uint8), {"size": (0, 5)}, "size"),
        (np.zeros((4, 4, 3), np.uint8), {"channel_order": "rbg"}, "channel_order"),
        (np.zeros((4, 4, 3), np.uint8), {"dtype": "int8"}, "dtype"),
    ],
)
def test_bad_input(backend, image, kwargs, match):
    kwargs = dict(kwargs)
    size = kwargs.pop("size", (2, 2))
    with pytest.raises(alphacut.InputError, match=match):
        preprocess(image, size, backend=backend, **kwargs)
