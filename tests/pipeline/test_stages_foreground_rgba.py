"""stages.foreground_rgba (the CPU pipeline's cutout) against stages.foreground then stages.pack."""

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

from alphacut import _core
from alphacut.pipeline import stages


def tiles_then_pack(rgb, alpha, tile=256, margin=32):
    """stages.foreground's cells and margins with estimate_foreground's dense F (banded from
    4,096 pixels, as the fused op), then pack: what the fused cutout computes cell by cell."""
    h, w = alpha.shape
    pieces = []
    for y0, y1, x0, x1 in stages.soft_tiles(alpha, tile):
        Y0, Y1, X0, X1 = max(0, y0 - margin), min(h, y1 + margin), max(0, x0 - margin), min(w, x1 + margin)
        f = _core.estimate_foreground_cpu(
            np.ascontiguousarray(rgb[Y0:Y1, X0:X1]), np.ascontiguousarray(alpha[Y0:Y1, X0:X1]), band_min_pixels=1 << 12
        )
        pieces.append(((y0, y1, x0, x1), np.ascontiguousarray(f[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0])))
    return stages.pack(rgb, alpha, pieces)


def test_fused_cutout_is_the_cells_then_pack():
    # A shared composite upscaled 2.5x (several soft grid cells, strips inside each): the same
    # cells with the same margins, each cell's colour written straight into the cutout. The
    # fused finest level sweeps the band's small gaps too and may contract to FMA: a colour off
    # by one level at most, on a few pixels; the alpha is the same.
    name = "lemur__on_leaves"
    img = Image.open(shared_path("images", "composites", "input", f"{name}.jpg")).convert("RGB")
    al = Image.open(shared_path("images", "composites", "alpha", f"{name}.png")).convert("L")
    size = (int(img.width * 2.5), int(img.height * 2.5))
    rgb = np.asarray(img.resize(size, Image.BICUBIC))
    alpha = (np.asarray(al.resize(size, Image.BICUBIC)) / np.float32(255)).astype(np.float32)
    assert len(stages.soft_tiles(alpha)) > 2
    fused = stages.foreground_rgba(rgb, alpha)
    before = tiles_then_pack(rgb, alpha)
    np.testing.assert_array_equal(fused[..., 3], before[..., 3])
    d = np.abs(fused.astype(int) - before)
    assert d.max() <= 1 and (d > 0).mean() < 1e-3, (d.max(), (d > 0).mean())
    # and the colour is the estimate's, not the image's, on the soft pixels
    soft = (fused[..., 3] > 0) & (fused[..., 3] < 255)
    assert (fused[..., :3][soft] != rgb[soft]).any(axis=1).mean() > 0.5


def test_no_soft_pixel_is_the_plain_cutout():
    rgb = np.full((300, 400, 3), 200, np.uint8)
    alpha = np.zeros((300, 400), np.float32)
    alpha[100:200, 100:300] = 1.0
    np.testing.assert_array_equal(stages.foreground_rgba(rgb, alpha), stages.pack(rgb, alpha))


def _upscaled_composite(name="lemur__on_leaves", scale=2.5):
    img = Image.open(shared_path("images", "composites", "input", f"{name}.jpg")).convert("RGB")
    al = Image.open(shared_path("images", "composites", "alpha", f"{name}.png")).convert("L")
    size = (int(img.width * scale), int(img.height * scale))
    rgb = np.asarray(img.resize(size, Image.BICUBIC))
    return rgb, (np.asarray(al.resize(size, Image.BICUBIC)) / np.float32(255)).astype(np.float32)


def test_cells_side_by_side_are_the_cells_one_after_the_other(monkeypatch):
    # The soft cells run on the ops' threads, each on its share; every cell writes only its own
    # window, so the cutout is the same bit for bit as one cell after the other on one thread.
    import threading

    from alphacut import ops

    rgb, alpha = _upscaled_composite()
    seen = []
    real = ops.estimate_foreground_rgba

    def spy(*a, **k):
        seen.append((threading.get_ident(), ops.get_num_threads()))
        return real(*a, **k)

    monkeypatch.setattr(ops, "estimate_foreground_rgba", spy)
    before = ops.get_num_threads()
    ops.set_num_threads(2)
    try:
        side = stages.foreground_rgba(rgb, alpha)
        threads_used = {t for t, _ in seen}
        limits = {n for _, n in seen}
        seen.clear()
        with ops.thread_limit(1):
            one = stages.foreground_rgba(rgb, alpha)
    finally:
        ops.set_num_threads(before)
    assert len(threads_used) == 2 and threading.get_ident() not in threads_used, threads_used
    assert limits == {1}, limits
    assert {t for t, _ in seen} == {threading.get_ident()}  # a limit of one: in order, here
    np.testing.assert_array_equal(side, one)


def test_side_by_side_keeps_order_and_raises():
    from alphacut import ops

    before = ops.get_num_threads()
    ops.set_num_threads(3)
    try:
        assert stages.side_by_side([lambda i=i: i * i for i in range(7)], [1, 9, 3, 7, 5, 2, 4]) == [
            0,
            1,
            4,
            9,
            16,
            25,
            36,
        ]
        done = []

        def bad():
            raise ValueError("cell 2")

        jobs = [lambda: done.append(0), bad, lambda: done.append(2)]
        with pytest.raises(ValueError, match="cell 2"):
            stages.side_by_side(jobs, [1, 1, 1])
        assert sorted(done) == [0, 2]  # the others still ran to the end before the error surfaced
    finally:
        ops.set_num_threads(before)


def test_session_cutout_with_the_packed_upscale_is_the_plain_one():
    # Above the working size the CPU pipeline packs the cutout inside the upscale; the result is
    # the same as packing the upscaled alpha afterwards and estimating the colour into it.
    from alphacut import Session

    rgb, _ = _upscaled_composite(scale=3.0)
    s = Session("u2netp", model_path=shared_path("models", "u2netp_320.onnx"))
    res = s.run(rgb)
    assert res.alpha.shape == rgb.shape[:2] and max(rgb.shape) > 2000
    assert res.rgba is not None and res.foreground is None
    np.testing.assert_array_equal(res.rgba, stages.foreground_rgba(rgb, res.alpha))
    packed = stages.upscale_packed(np.ascontiguousarray(res.alpha[::4, ::4]), rgb, s.pipeline.mode)
    np.testing.assert_array_equal(packed[1], stages.pack(rgb, packed[0]))
