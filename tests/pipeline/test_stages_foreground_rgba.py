"""stages.foreground_rgba (the CPU pipeline's cutout) against stages.foreground then stages.pack."""

import numpy as np
from conftest import shared_path
from PIL import Image

from alphacut.pipeline import stages


def test_fused_cutout_is_the_tiles_then_pack():
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
    before = stages.pack(rgb, alpha, stages.foreground(rgb, alpha))
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
