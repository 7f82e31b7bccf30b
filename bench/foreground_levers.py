"""The foreground stage's candidate levers against today's stage, on the shared composites (true
foreground and alpha), at their own size and upscaled (so the working resolution, ~1 MP, is really
below full resolution): the foreground error of each (tests/ops/test_estimate_foreground.py's
``fg_error``: alpha-weighted mean |F - F_gt| over 0 < alpha < 1, colours in [0, 1]) and its CPU
time, the variants alternating per image in one process.

- tiles: today's stage (``stages.foreground``: ``estimate_foreground`` at full resolution on the
  grid cells holding soft pixels).
- work+diff: F estimated at the working resolution, then ``F = I + up(F_w - I_w)`` (bilinear,
  pixel centres aligned) on the full-resolution soft tiles.
- work+solve: F and B estimated at the working resolution, upsampled, then per soft pixel the
  compositing equation solved exactly against the full-resolution image with the upsampled F, B as
  the neighbour term (the estimator's own 2x2 update, weight ``--weight``).
- big1: today's stage with one sweep instead of two on the large levels (``n_big_iterations=1``).
- tiles+pack, fused: the cutout's colour (8-bit) from today's stage then ``stages.pack``, and from
  ``stages.foreground_rgba`` (one whole-image estimate written straight into the cutout); their
  CPU times include the packing, so compare them with each other.

    PYTHONPATH=python python bench/foreground_levers.py --scales 1,3.5
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[1]
COMPOSITES = REPO.parent / "shared" / "data" / "images" / "composites"


def load(name: str, scale: float):
    from PIL import Image

    img = Image.open(COMPOSITES / "input" / f"{name}.jpg").convert("RGB")
    a = Image.open(COMPOSITES / "alpha" / f"{name}.png").convert("L")
    fg = Image.open(COMPOSITES / "foreground" / (name.split("__")[0] + ".jpg")).convert("RGB")
    if scale != 1:
        size = (int(img.width * scale), int(img.height * scale))
        img, a, fg = (x.resize(size, Image.BICUBIC) for x in (img, a, fg))
    return np.asarray(img), np.asarray(a), np.asarray(fg) / 255.0


def fg_error(f, fg_true, alpha_u8) -> float:
    a = alpha_u8 / 255.0
    m = (a > 0) & (a < 1)
    w = a[m][:, None]
    return float((w * np.abs(f[m] - fg_true[m])).sum() / (3 * w.sum()))


def _coords(n_full: int, n_w: int, lo: int, hi: int):
    s = (np.arange(lo, hi, dtype=np.float32) + 0.5) * np.float32(n_w / n_full) - 0.5
    np.clip(s, 0, n_w - 1, out=s)
    i0 = np.floor(s).astype(np.intp)
    return i0, np.minimum(i0 + 1, n_w - 1), (s - i0).astype(np.float32)


def working_res(img, alpha, img_w, alpha_w, *, mode: str, weight: float = 0.1):
    """Lever 1: the estimate at the working size, brought to full size on the soft tiles."""
    from alphacut import ops
    from alphacut.pipeline import stages

    f_w, b_w = ops.estimate_foreground(img_w, alpha_w, return_background=True)
    src = np.concatenate([f_w, b_w], axis=2) if mode == "solve" else f_w - img_w / np.float32(255)
    h, w = alpha_w.shape
    H, W = alpha.shape
    pieces = []
    for y0, y1, x0, x1 in stages.soft_tiles(alpha):
        iy0, iy1, wy = _coords(H, h, y0, y1)
        ix0, ix1, wx = _coords(W, w, x0, x1)
        r0 = int(iy0[0])
        sub = src[r0 : int(iy1[-1]) + 1]
        wxx = wx[None, :, None]
        xs = sub[:, ix0] * (1 - wxx) + sub[:, ix1] * wxx
        wyy = wy[:, None, None]
        up = xs[iy0 - r0] * (1 - wyy) + xs[iy1 - r0] * wyy
        i = img[y0:y1, x0:x1].astype(np.float32) / np.float32(255)
        if mode == "diff":
            f = i + up
        else:
            a = alpha[y0:y1, x0:x1][..., None]
            f0, b0 = up[..., :3], up[..., 3:]
            r = i - a * f0 - (1 - a) * b0
            f = f0 + a * r / (np.float32(weight) + a * a + (1 - a) * (1 - a))
        np.clip(f, 0, 1, out=f)
        pieces.append(((y0, y1, x0, x1), f))
    return pieces


VARIANTS = ["tiles", "work+diff", "work+solve", "big1", "tiles+pack", "fused"]


def run_variant(k: str, img, alpha, img_w, alpha_w, weight: float):
    from alphacut import ops
    from alphacut.pipeline import stages

    if k == "tiles+pack":  # the cutout as before: the soft cells' foreground, then pack
        return stages.pack(img, alpha, stages.foreground(img, alpha))
    if k == "fused":  # the cutout in one pass (stages.foreground_rgba)
        return stages.foreground_rgba(img, alpha)

    if k == "work+diff":
        return working_res(img, alpha, img_w, alpha_w, mode="diff")
    if k == "work+solve":
        return working_res(img, alpha, img_w, alpha_w, mode="solve", weight=weight)
    if k == "tiles":
        return stages.foreground(img, alpha)
    real = ops.estimate_foreground  # big1: one sweep on the large levels
    ops.estimate_foreground = functools.partial(real, n_big_iterations=1)  # type: ignore[assignment]
    try:
        return stages.foreground(img, alpha)
    finally:
        ops.estimate_foreground = real  # type: ignore[assignment]


def assemble(img, pieces):
    if isinstance(pieces, np.ndarray):  # a cutout: its colour (8-bit) is F
        return pieces[..., :3] / 255.0
    f = img / 255.0
    for (y0, y1, x0, x1), p in pieces:
        f[y0:y1, x0:x1] = p
    return f


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="1,3.5")
    ap.add_argument("--weight", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)

    from alphacut import ops
    from alphacut.pipeline import stages

    names = sorted(p.stem for p in (COMPOSITES / "input").glob("*.jpg"))
    print("| scale | variant | mean fg error | vs tiles | CPU s (all images) | speed vs tiles |")
    print("|---|---|---|---|---|---|")
    for scale in (float(s) for s in args.scales.split(",")):
        errs: Dict[str, List[float]] = {}
        cpu: Dict[str, float] = {}
        for name in names:
            img, a8, f_true = load(name, scale)
            alpha = a8.astype(np.float32) / np.float32(255)
            wh = stages.working_size(alpha.shape, 1_000_000)
            img_w = stages.working_image(img, wh)
            alpha_w = alpha if wh == alpha.shape else np.clip(ops.resize(alpha, wh, method="area"), 0, 1)
            for rep in range(args.repeat):
                order = VARIANTS if rep % 2 == 0 else VARIANTS[::-1]
                for k in order:
                    t0 = time.process_time()
                    pieces = run_variant(k, img, alpha, img_w, alpha_w, args.weight)
                    cpu[k] = cpu.get(k, 0.0) + time.process_time() - t0
                    if rep == 0:
                        errs.setdefault(k, []).append(fg_error(assemble(img, pieces), f_true, a8))
        e0, c0 = float(np.mean(errs["tiles"])), cpu["tiles"]
        for k in errs:
            e = float(np.mean(errs[k]))
            print(f"| {scale:g}x | {k} | {e:.5f} | {e / e0 - 1:+.1%} | {cpu[k]:.2f} | {c0 / cpu[k]:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
