"""Routing between u2netp and the MediaPipe selfie model, held to the exact GT of the shared images.

For every GT image (the 10 composites of ``../shared/data/images/composites``, GT05 and GT05 on
GT26r from ``alphamatting_gt05``) it runs ``Session.predict_alpha`` in general mode twice, with
the same model files: u2netp alone (``route=False``) and routed (``route=True``, the default of
``Session()``), and prints per image the SAD and band SAD (``alphacut.metrics.matte_errors``,
÷ 1000), the decision and its signals (``CutoutResult.info["route"]``).

Options:

``--designs``     the other designs measured before the per-image choice was kept: the person
                  model alone, and fusions per pixel (mean, confidence-weighted mean, union,
                  u2netp cut where the person model is sure of background). Each replaces the
                  probability fed to the same trimap → band solve → upscale.
``--robustness``  the decision on each GT image flipped, and scaled to 0.5× and 2×: does it hold?
``--unseen``      the decision on the rembg photos (no GT: for looking at, not for scoring).
``--latency N``   1 MP latency of ``Session.run`` (full cutout) with and without routing, N runs
                  each, interleaved in one process; medians and the per-stage medians.

Run: ``PYTHONPATH=python python bench/eval_route.py [--designs] [--robustness] [--unseen] [--latency 15]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))
MODELS = SHARED_DATA / "models"
U2NETP = MODELS / "u2netp_320.onnx"
PERSON = MODELS / "mediapipe_selfie_segmentation_256x256.onnx"


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_gray(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def gt_images() -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """(name, rgb, gt alpha) of every shared image with a true GT: composites, then GT05."""
    comp = SHARED_DATA / "images" / "composites"
    out = [
        (p.stem, load_rgb(p), load_gray(comp / "alpha" / f"{p.stem}.png"))
        for p in sorted((comp / "input").glob("*.jpg"))
    ]
    g = SHARED_DATA / "images" / "alphamatting_gt05"
    gt = load_gray(g / "alpha" / "GT05.jpg")
    out += [
        ("GT05", load_rgb(g / "input" / "GT05.jpg"), gt),
        ("GT05_on_GT26r", load_rgb(g / "composite" / "GT05_on_GT26r.jpg"), gt),
    ]
    return out


def sessions(**kw):
    from alphacut import Session

    alone = Session("u2netp", model_path=U2NETP, route=False, **kw)
    routed = Session("u2netp", model_path=U2NETP, route=True, person_model_path=PERSON, **kw)
    return alone, routed


def _means(rows, names, key):
    return float(np.mean([rows[n][key] for n in names]))


def table() -> str:
    from alphacut.metrics import matte_errors, unknown_band

    alone, routed = sessions(foreground=False)
    rows: Dict[str, Dict[str, float]] = {}
    lines = [
        "| image | u2netp SAD (band) | routed SAD (band) | routed ÷ u2netp | model used | iou | general_in_person "
        "| person_missed | person_unsure | person_coverage |",
        "|" + "---|" * 10,
    ]
    for name, rgb, gt in gt_images():
        band = unknown_band(gt)
        a = matte_errors(alone.predict_alpha(rgb), gt, band)
        res = routed.run(rgb, rgba=False)
        b = matte_errors(res.alpha, gt, band)
        r = res.info["route"]
        s = r["signals"]
        rows[name] = {"u": a["sad"], "ub": a["sad_band"], "r": b["sad"], "rb": b["sad_band"]}
        lines.append(
            f"| {name} | {a['sad']:.1f} ({a['sad_band']:.1f}) | {b['sad']:.1f} ({b['sad_band']:.1f}) | "
            f"{b['sad'] / max(a['sad'], 1e-9):.2f} | {r['model']} | {s['iou']:.3f} | "
            f"{s['general_in_person']:.3f} | {s['person_missed']:.3f} | {s['person_unsure']:.3f} | "
            f"{s['person_coverage']:.3f} |"
        )
    comp = [n for n in rows if not n.startswith("GT05") or "__" in n]
    lines.append(
        f"| **composites mean** | **{_means(rows, comp, 'u'):.1f}** ({_means(rows, comp, 'ub'):.1f}) | "
        f"**{_means(rows, comp, 'r'):.1f}** ({_means(rows, comp, 'rb'):.1f}) | | | | | | | |"
    )
    worst = max(rows[n]["r"] / rows[n]["u"] for n in rows)
    lines.append(f"\nWorst image ratio routed ÷ u2netp: {worst:.3f}.")
    return "\n".join(lines)


# -- the other designs ------------------------------------------------------------------------------
def _refine(rgb: np.ndarray, prob: np.ndarray, mode) -> np.ndarray:
    """The general pipeline after the network, fed ``prob`` (any grid): working size → trimap →
    band solve → guided upscaling (what ``Pipeline`` runs, without the network)."""
    from alphacut.pipeline import stages

    work = stages.working_size(rgb.shape[:2], mode.work_pixels)
    rgb_w = stages.working_image(rgb, work)
    img_w, prob_w = stages.to_working(rgb_w, np.ascontiguousarray(prob, np.float32), work)
    tri = stages.trimap(prob_w, mode)
    return np.asarray(stages.upscale(stages.solve_band(img_w, tri, prob_w, mode), rgb, mode), np.float32)


def _conf_weighted(u, m):
    wu, wm = np.abs(2 * u - 1) + 1e-3, np.abs(2 * m - 1) + 1e-3
    return (wu * u + wm * m) / (wu + wm)


def _cut_far_background(u, m, px=8):
    from scipy import ndimage

    far = ndimage.distance_transform_edt(m < 0.5) > px
    return np.where(far, np.minimum(u, m), u)


def designs() -> str:
    """Mean and per-image SAD of each design, fed the same two probabilities per image."""
    from alphacut.metrics import matte_errors, unknown_band
    from alphacut.pipeline import get_mode, stages
    from alphacut.pipeline.route import _on_grid, decide

    alone, routed = sessions()
    pm = routed.pipeline
    mode = get_mode("general")

    def choose(u, m):
        return decide(u, m).probability

    fusions: Dict[str, Callable] = {
        "u2netp alone": lambda u, m: u,
        "person model alone": lambda u, m: m,
        "per-image choice (kept)": choose,
        "mean everywhere": lambda u, m: (u + m) / 2,
        "confidence-weighted mean": _conf_weighted,
        "union (max)": np.maximum,
        "choice, else mean where they agree": lambda u, m: (
            m if decide(u, m).choice == "person" else ((u + m) / 2 if decide(u, m).signals["iou"] > 0.85 else u)
        ),
        "choice, else confidence-weighted where they agree": lambda u, m: (
            m
            if decide(u, m).choice == "person"
            else (_conf_weighted(u, m) if decide(u, m).signals["iou"] > 0.85 else u)
        ),
        "choice, else u2netp cut > 8 px outside the person": lambda u, m: (
            m
            if decide(u, m).choice == "person"
            else (_cut_far_background(u, m) if decide(u, m).signals["iou"] > 0.85 else u)
        ),
    }
    images = gt_images()
    probs = []
    for _, rgb, gt in images:
        work = stages.working_size(rgb.shape[:2], mode.work_pixels)
        rgb_w = stages.working_image(rgb, work)
        u = stages.segment(rgb_w, alone.runtime, alone.manifest)
        m = _on_grid(stages.segment(rgb_w, pm.person_runtime, pm.person_manifest), u.shape)
        probs.append((u, m, unknown_band(gt)))
    comp = [i for i, (n, _, _) in enumerate(images) if not n.startswith("GT05") or "__" in n]
    head = ["design", "composites SAD (band)", "GT05", "GT05_on_GT26r", "worst ÷ u2netp"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    per_image = {}
    for dn, f in fusions.items():
        sad, band = [], []
        for (_, rgb, gt), (u, m, b) in zip(images, probs):
            e = matte_errors(_refine(rgb, f(u, m), mode), gt, b)
            sad.append(e["sad"])
            band.append(e["sad_band"])
        per_image[dn] = sad
        base = per_image["u2netp alone"]
        worst = max(s / max(b0, 1e-9) for s, b0 in zip(sad, base))
        lines.append(
            f"| {dn} | {np.mean([sad[i] for i in comp]):.2f} ({np.mean([band[i] for i in comp]):.2f}) | "
            f"{sad[-2]:.2f} | {sad[-1]:.2f} | {worst:.2f} |"
        )
        print(dn, " ".join(f"{s:.1f}" for s in sad), file=sys.stderr, flush=True)
    lines.append("\nPer image (SAD), images in order: " + ", ".join(n for n, _, _ in images))
    for dn, sad in per_image.items():
        lines.append(f"- {dn}: " + " ".join(f"{s:.1f}" for s in sad))
    return "\n".join(lines)


def robustness() -> str:
    from PIL import Image

    _, routed = sessions(foreground=False)
    lines = [
        "| image | as is | flipped | 0.5× | 2× | person_missed (as is, flipped, 0.5×, 2×) |",
        "|---|---|---|---|---|---|",
    ]
    changed = 0
    for name, rgb, _ in gt_images():
        h, w = rgb.shape[:2]
        variants = [
            rgb,
            np.ascontiguousarray(rgb[:, ::-1]),
            np.asarray(Image.fromarray(rgb).resize((w // 2, h // 2), Image.BILINEAR)),
            np.asarray(Image.fromarray(rgb).resize((2 * w, 2 * h), Image.BICUBIC)),
        ]
        out = [routed.run(v, rgba=False, refine=False).info["route"] for v in variants]
        choices = [r["choice"] for r in out]
        changed += len(set(choices)) > 1
        lines.append(
            f"| {name} | "
            + " | ".join(choices)
            + " | "
            + ", ".join(f"{r['signals']['person_missed']:.3f}" for r in out)
            + " |"
        )
    lines.append(f"\nImages whose decision changed under a variant: {changed}.")
    return "\n".join(lines)


def unseen() -> str:
    _, routed = sessions(foreground=False)
    lines = [
        "| photo (no GT) | model used | iou | general_in_person | person_missed | person_unsure |",
        "|---|---|---|---|---|---|",
    ]
    for p in sorted((SHARED_DATA / "images" / "rembg" / "input").glob("*.jpg")):
        r = routed.run(load_rgb(p), rgba=False, refine=False).info["route"]
        s = r["signals"]
        lines.append(
            f"| {p.name} | {r['model']} | {s['iou']:.3f} | {s['general_in_person']:.3f} | "
            f"{s['person_missed']:.3f} | {s['person_unsure']:.3f} |"
        )
    return "\n".join(lines)


def latency(n: int) -> str:
    """1 MP: the rembg photo animal-3 (1440×1079) resized to 1155×866, as bench/compare_rembg.py."""
    from PIL import Image

    rgb = np.asarray(
        Image.fromarray(load_rgb(SHARED_DATA / "images" / "rembg" / "input" / "animal-3.jpg")).resize(
            (1155, 866), Image.BILINEAR
        )
    )
    alone, routed = sessions()
    for s in (alone, routed):
        s.run(rgb)
    t: Dict[str, List[float]] = {"alone": [], "routed": []}
    stages_ms: Dict[str, Dict[str, List[float]]] = {"alone": {}, "routed": {}}
    for _ in range(n):
        for key, s in (("alone", alone), ("routed", routed)):
            t0 = time.perf_counter()
            res = s.run(rgb)
            t[key].append((time.perf_counter() - t0) * 1000)
            for k, v in res.timings.items():
                stages_ms[key].setdefault(k, []).append(v)
    ma, mr = float(np.median(t["alone"])), float(np.median(t["routed"]))
    lines = [
        f"1 MP ({rgb.shape[1]}×{rgb.shape[0]}), Session.run (full cutout), {n} interleaved runs each, "
        f"os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at the end:",
        f"- u2netp alone: median {ma:.0f} ms (min {min(t['alone']):.0f})",
        f"- routed:       median {mr:.0f} ms (min {min(t['routed']):.0f})",
        f"- difference of medians: {mr - ma:+.0f} ms ({(mr - ma) / ma:+.1%}); of minima: "
        f"{min(t['routed']) - min(t['alone']):+.0f} ms",
        "- routed per-stage medians: " + ", ".join(f"{k} {np.median(v):.1f}" for k, v in stages_ms["routed"].items()),
        f"- routing stages alone (segment_person + route), median of their sums: "
        f"{np.median(np.add(stages_ms['routed']['segment_person'], stages_ms['routed']['route'])):.1f} ms "
        f"= {np.median(np.add(stages_ms['routed']['segment_person'], stages_ms['routed']['route'])) / ma:.1%} "
        "of the median without routing",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--designs", action="store_true")
    ap.add_argument("--robustness", action="store_true")
    ap.add_argument("--unseen", action="store_true")
    ap.add_argument("--latency", type=int, default=0, metavar="N")
    ap.add_argument("--no-table", action="store_true")
    a = ap.parse_args(argv)
    if not U2NETP.exists() or not PERSON.exists():
        print(f"shared data not found under {SHARED_DATA}", file=sys.stderr)
        return 2
    from alphacut.pipeline.route import rule_dict

    print("rule: " + ", ".join(f"{k}={v}" for k, v in rule_dict().items()))
    if not a.no_table:
        print("\n" + table())
    if a.designs:
        print("\n" + designs())
    if a.robustness:
        print("\n" + robustness())
    if a.unseen:
        print("\n" + unseen())
    if a.latency:
        print("\n" + latency(a.latency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
