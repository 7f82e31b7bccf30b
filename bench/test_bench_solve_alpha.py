"""solve_alpha at the pipeline's working size (~1 MP, long side 1200 px) on a real composite with a
realistic band, side by side with pymatting's closed-form matting (rembg's ``alpha_matting``
solver) on the same input.

The band comes from the u2netp probability as in bench/eval_matting.py (the ``general`` mode
trimap); the prior is that probability. Run:

    PYTHONPATH=python python -m pytest bench/test_bench_solve_alpha.py --benchmark-enable \\
        --benchmark-columns=median,min,max,rounds
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_matting as em  # noqa: E402

NAME = "lemur__on_leaves"
LONG_SIDE = 1200


@pytest.fixture(scope="module")
def working_input():
    """(rgb uint8 (H, W, 3), trimap uint8, prior float32) at ~1 MP, or skip without the data."""
    from PIL import Image

    src = em.COMPOSITES / "input" / f"{NAME}.jpg"
    if not src.exists() or not em.U2NETP.exists():
        pytest.skip(f"real data not present under {em.SHARED_DATA}")
    rgb = em.load_rgb(src)
    h, w = rgb.shape[:2]
    size = (LONG_SIDE, round(h * LONG_SIDE / w)) if w >= h else (round(w * LONG_SIDE / h), LONG_SIDE)
    rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
    p320 = em.U2Netp()(rgb)
    prob = em.resize_probability(p320, rgb.shape[:2])
    cfg = em.MODES["general"]
    tri = em.trimap_from_probability(prob, cfg["fg"], cfg["bg"], cfg["radius_frac"])
    return rgb, tri, prob


def _solve(rgb, tri, prob):
    from alphacut.ops import solve_alpha

    cfg = em.MODES["general"]
    return solve_alpha(
        rgb, tri, prior=prob, prior_weight=cfg["prior_weight"], prior_confidence=cfg["prior_confidence"], eps=cfg["eps"]
    )


@pytest.mark.benchmark(group="solve_alpha-1MP")
def test_alphacut_solve_alpha(benchmark, working_input):
    rgb, tri, prob = working_input
    benchmark.extra_info["unknown_px"] = int(((tri != 0) & (tri != 255)).sum())
    benchmark.extra_info["size"] = f"{rgb.shape[1]}x{rgb.shape[0]}"
    out = benchmark.pedantic(_solve, args=(rgb, tri, prob), rounds=7, warmup_rounds=1)
    assert out.shape == tri.shape


@pytest.mark.benchmark(group="solve_alpha-1MP")
def test_pymatting_estimate_alpha_cf(benchmark, working_input):
    from pymatting import estimate_alpha_cf

    rgb, tri, _ = working_input
    img, t = rgb / 255.0, tri / 255.0
    out = benchmark.pedantic(estimate_alpha_cf, args=(img, t), rounds=2, warmup_rounds=0)
    assert out.shape == tri.shape
