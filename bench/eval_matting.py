"""Matte quality of the band solve in a pipeline-like setting, on the exact-GT composites.

For each image of ``../shared/data/images/composites``:

1. u2netp (``models/u2netp_320.onnx``, ONNX Runtime, CPU): RGB resized to 320×320 (bilinear),
   divided by its maximum (rembg's rule; = /255 for any image with a white-ish pixel), ImageNet
   mean/std, NCHW; the first output (d0, a probability) min-max normalised per image as rembg does.
2. The 320² probability resized (bilinear) to the working size: the image itself here (all
   composites are ≤ 960 px, under the pipeline's ~1200 px working size).
3. A trimap from the probability (:func:`trimap_from_probability`): sure foreground where
   p ≥ ``fg``, sure background where p ≤ ``bg``, both eroded by a disk of radius
   ``radius_frac`` × the long side (Euclidean distance transform, image border counts as inside).
4. ``alphacut.ops.solve_alpha`` with the probability as prior (weight ``prior_weight``).
5. SAD etc. against the GT with ``alphacut.metrics.matte_errors`` (whole image and GT band).

Side by side, per image: the plain bilinear mask; pymatting's ``estimate_alpha_cf`` on the same
trimap; and rembg's ``alpha_matting=True`` recipe re-done here (mask resized with LANCZOS, trimap
240/10 on the uint8 mask, 10×10 square erosion, ``estimate_alpha_cf``), which is what rembg 2.0.86
runs. Prints a markdown table.

Run: ``PYTHONPATH=python python bench/eval_matting.py [--no-pymatting] [--prior-weight 0.02] ...``
Importable: :func:`u2netp_probability`, :func:`trimap_from_probability`, :func:`evaluate`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))
COMPOSITES = SHARED_DATA / "images" / "composites"
U2NETP = SHARED_DATA / "models" / "u2netp_320.onnx"

#: Trimap and solve settings per pipeline mode, tuned with this script on the 10 composites.
#: ``general`` is the default. A narrow band that trusts the segmenter more (``product``) suits crisp
#: edges (GT05 toy: SAD 0.9 / 4.7 vs 1.0 / 5.0 in general mode); a wider band with a weaker prior
#: and two levels (``portrait``) suits hair (p3m_514ca06a on beach: 12.5 vs 13.3).
MODES: Dict[str, Dict[str, float]] = {
    "general": dict(fg=0.6, bg=0.4, radius_frac=0.006, prior_weight=0.1, prior_confidence=4.0, eps=1e-6, levels=1),
    "product": dict(fg=0.6, bg=0.4, radius_frac=0.003, prior_weight=0.3, prior_confidence=4.0, eps=1e-6, levels=1),
    "portrait": dict(fg=0.6, bg=0.4, radius_frac=0.009, prior_weight=0.03, prior_confidence=4.0, eps=1e-6, levels=2),
}


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_gray(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


class U2Netp:
    """u2netp at 320² on ONNX Runtime (CPU), one session reused."""

    def __init__(self, model: Path = U2NETP, threads: int = 0):
        import onnxruntime as ort

        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """(320, 320) float32 probability, min-max normalised to [0, 1]."""
        from PIL import Image

        x = np.asarray(Image.fromarray(rgb).resize((320, 320), Image.BILINEAR), dtype=np.float32)
        x = x / max(float(x.max()), 1e-6)
        x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
        d0 = self.session.run(None, {self.input_name: x.transpose(2, 0, 1)[None].astype(np.float32)})[0]
        p = d0[0, 0]
        lo, hi = float(p.min()), float(p.max())
        return ((p - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def resize_probability(p: np.ndarray, size, resample: str = "bilinear") -> np.ndarray:
    """Resize a float probability to ``size`` = (H, W) with PIL (float mode), clipped to [0, 1]."""
    from PIL import Image

    h, w = size
    mode = {"bilinear": Image.BILINEAR, "lanczos": Image.LANCZOS}[resample]
    out = np.asarray(Image.fromarray(p.astype(np.float32), mode="F").resize((w, h), mode))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def trimap_from_probability(
    prob: np.ndarray, fg: float = 0.95, bg: float = 0.05, radius_frac: float = 0.012, radius: Optional[float] = None
) -> np.ndarray:
    """uint8 trimap: 255 where ``prob >= fg`` eroded by a disk, 0 where ``prob <= bg`` eroded by a disk,
    128 elsewhere. The disk radius is ``radius`` px, else ``radius_frac`` × the long side (≥ 1 px)."""
    from scipy import ndimage

    r = float(radius) if radius is not None else max(1.0, radius_frac * max(prob.shape))
    tri = np.full(prob.shape, 128, np.uint8)
    # Erosion by a disk of radius r: keep pixels farther than r from the complement.
    tri[ndimage.distance_transform_edt(prob >= fg) > r] = 255
    tri[ndimage.distance_transform_edt(prob <= bg) > r] = 0
    return tri


def rembg_trimap(mask_u8: np.ndarray, fg: int = 240, bg: int = 10, erode: int = 10) -> np.ndarray:
    """The trimap rembg 2.0.86 builds for ``alpha_matting=True`` (its default thresholds)."""
    from scipy.ndimage import binary_erosion

    st = np.ones((erode, erode), dtype=np.int64)
    is_fg = binary_erosion(mask_u8 > fg, structure=st)
    is_bg = binary_erosion(mask_u8 < bg, structure=st, border_value=1)
    tri = np.full(mask_u8.shape, 128, np.uint8)
    tri[is_fg] = 255
    tri[is_bg] = 0
    return tri


@dataclass
class Row:
    name: str
    shape: tuple
    sad: Dict[str, float] = field(default_factory=dict)
    sad_band: Dict[str, float] = field(default_factory=dict)
    ms: Dict[str, float] = field(default_factory=dict)
    unknown: int = 0
    iterations: int = 0


def composite_names() -> List[str]:
    return sorted(p.stem for p in (COMPOSITES / "input").glob("*.jpg"))


def evaluate(
    names: Optional[List[str]] = None,
    *,
    mode: str = "general",
    pymatting: bool = True,
    overrides: Optional[Dict[str, float]] = None,
    net: Optional[U2Netp] = None,
    probabilities: Optional[Dict[str, np.ndarray]] = None,
    verbose: bool = False,
) -> List[Row]:
    """Run the pipeline-like evaluation; returns one :class:`Row` per image.

    ``probabilities`` may carry cached 320² network outputs by name (filled in when given empty)."""
    from alphacut.metrics import matte_errors, unknown_band
    from alphacut.ops import solve_alpha

    cfg = dict(MODES[mode])
    cfg.update(overrides or {})
    names = names or composite_names()
    net = net if net is not None or (probabilities and all(n in probabilities for n in names)) else U2Netp()
    rows = []
    for name in names:
        img = load_rgb(COMPOSITES / "input" / f"{name}.jpg")
        gt = load_gray(COMPOSITES / "alpha" / f"{name}.png")
        band = unknown_band(gt)
        if probabilities is not None and name in probabilities:
            p320 = probabilities[name]
        else:
            p320 = net(img)
            if probabilities is not None:
                probabilities[name] = p320
        row = Row(name, img.shape[:2])

        def score(key, alpha, ms=None, *, row=row, gt=gt, band=band):
            e = matte_errors(alpha, gt, band)
            row.sad[key], row.sad_band[key] = e["sad"], e["sad_band"]
            if ms is not None:
                row.ms[key] = ms

        prob = resize_probability(p320, img.shape[:2])
        score("bilinear", prob)
        t0 = time.perf_counter()
        tri = trimap_from_probability(prob, cfg["fg"], cfg["bg"], cfg["radius_frac"])
        t1 = time.perf_counter()
        alpha, info = solve_alpha(
            img,
            tri,
            prior=prob,
            prior_weight=cfg["prior_weight"],
            prior_confidence=cfg["prior_confidence"],
            eps=cfg["eps"],
            levels=int(cfg["levels"]),
            return_info=True,
        )
        t2 = time.perf_counter()
        score("alphacut", alpha, (t2 - t1) * 1000)
        row.ms["trimap"] = (t1 - t0) * 1000
        row.unknown, row.iterations = info["unknown"], info["iterations"]
        if pymatting:
            from pymatting import estimate_alpha_cf

            t0 = time.perf_counter()
            cf = np.clip(estimate_alpha_cf(img / 255.0, tri / 255.0), 0, 1)
            score("cf_same_trimap", cf, (time.perf_counter() - t0) * 1000)
            mask_u8 = (resize_probability(p320, img.shape[:2], "lanczos") * 255).astype(np.uint8)
            t0 = time.perf_counter()
            rt = rembg_trimap(mask_u8)
            cf = np.clip(estimate_alpha_cf(img / 255.0, rt / 255.0), 0, 1)
            score("rembg_alpha_matting", cf, (time.perf_counter() - t0) * 1000)
        if verbose:
            print(name, {k: round(v, 2) for k, v in row.sad.items()}, info, file=sys.stderr)
        rows.append(row)
    return rows


def markdown(rows: List[Row]) -> str:
    keys = [k for k in ("bilinear", "alphacut", "cf_same_trimap", "rembg_alpha_matting") if k in rows[0].sad]
    timed = [k for k in keys if k != "bilinear"]
    cols = ["image", "size", "unknown px", "CG it."] + [f"{k} SAD (band)" for k in keys] + [f"{k} ms" for k in timed]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [r.name, f"{r.shape[1]}×{r.shape[0]}", str(r.unknown), str(r.iterations)]
        cells += [f"{r.sad[k]:.1f} ({r.sad_band[k]:.1f})" for k in keys] + [f"{r.ms[k]:.0f}" for k in timed]
        lines.append("| " + " | ".join(cells) + " |")

    def mean(attr, k):
        return float(np.mean([getattr(r, attr)[k] for r in rows]))

    cells = [
        "**mean**",
        "",
        str(int(np.mean([r.unknown for r in rows]))),
        str(int(np.mean([r.iterations for r in rows]))),
    ]
    cells += [f"**{mean('sad', k):.1f}** ({mean('sad_band', k):.1f})" for k in keys]
    cells += [f"{mean('ms', k):.0f}" for k in timed]
    lines.append("| " + " | ".join(cells) + " |")
    cells = ["median", "", "", ""] + [f"{np.median([r.sad[k] for r in rows]):.1f}" for k in keys] + [""] * len(timed)
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", default="general", choices=sorted(MODES))
    ap.add_argument("--no-pymatting", action="store_true", help="skip the pymatting columns (slow)")
    for k in ("fg", "bg", "radius_frac", "prior_weight", "prior_confidence", "eps", "levels"):
        ap.add_argument("--" + k.replace("_", "-"), type=float, default=None)
    ap.add_argument("--images", nargs="*", default=None, help="composite base names (default: all)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if not U2NETP.exists() or not COMPOSITES.exists():
        print(f"shared data not found under {SHARED_DATA}", file=sys.stderr)
        return 2
    keys = ("fg", "bg", "radius_frac", "prior_weight", "prior_confidence", "eps", "levels")
    overrides = {k: getattr(a, k) for k in keys if getattr(a, k) is not None}
    rows = evaluate(a.images, mode=a.mode, pymatting=not a.no_pymatting, overrides=overrides, verbose=a.verbose)
    cfg = dict(MODES[a.mode], **overrides)
    print(f"mode {a.mode}: " + ", ".join(f"{k}={v:g}" for k, v in cfg.items()))
    print()
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
