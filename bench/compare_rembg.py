#!/usr/bin/env python
"""alphacut side by side with rembg 2.0.86, in one process, on the same u2netp file.

Latency (end to end: encoded image bytes in, PNG bytes out, as both ``remove()`` take them) and
matte quality (SAD, MSE, gradient error; whole image and unknown band, :func:`alphacut.metrics.matte_errors`)
on the exact-GT sets of the shared data (``composites/``, ``alphamatting_gt05/``), for each pair:

==========================  ==============================================  =========================
row                         rembg                                           alphacut
==========================  ==============================================  =========================
plain                       ``remove(data, session=s)``                     ``remove(data, session=s)``
post_process_mask           ``post_process_mask=True``                      the same keyword
decontaminate               ``decontaminate=True`` (2.0.86 has it)          the same keyword, if taken
alpha_matting               ``alpha_matting=True`` (closed-form + ML fg)    the same keyword
==========================  ==============================================  =========================

plus ``alphacut session``: ``Session.run`` (the whole pipeline, alphacut's default cutout: band
matting, guided upscaling, foreground colour) and the same PNG encode, which rembg has no single
counterpart to (its nearest is ``alpha_matting``).

Then latency at 1 MP and 12 MP (a photo resized, as ``alphacut bench`` makes it) for the same rows;
rows that take minutes in rembg at large sizes are skipped above ``--slow-max-mp`` and the table
says so. Runs are interleaved (repeat r of every method before repeat r+1) so that load drifting on a
shared machine hits both tools alike; compare ratios from one run, not absolute times.

rembg never downloads here: ``U2NET_HOME`` and ``REMBG_HOME`` point at a temporary folder holding
a symlink ``models/u2netp/u2netp.onnx`` to the shared file after its md5 is checked against the hash
rembg pins, and rembg's downloader is replaced by one that raises.

Usage (see bench/README.md)::

    python bench/compare_rembg.py --repeat 3 --out bench/results/compare_rembg.md --json /tmp/cmp.json
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
try:  # an installed alphacut, or PYTHONPATH=python after tools/dev_build.sh
    import alphacut  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPO / "python"))

U2NETP_MD5 = "8e83ca70e441ab06c318d82300c84806"  # what rembg pins for u2netp.onnx
ROWS = ("plain", "post_process_mask", "decontaminate", "alpha_matting")
ROW_KEYWORDS = {
    "plain": {},
    "post_process_mask": {"post_process_mask": True},
    "decontaminate": {"decontaminate": True},
    "alpha_matting": {"alpha_matting": True},
}
#: rows whose rembg cost grows so fast with size (closed-form solve, ML foreground) that they are
#: skipped above --slow-max-mp unless asked for
SLOW_ROWS = ("decontaminate", "alpha_matting")
QUALITY_KEYS = ("sad", "mse", "grad", "sad_band", "mse_band", "grad_band")


def shared_data() -> Path:
    env = os.environ.get("ALPHACUT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- rembg, pinned to the shared model file --------------------------------------------------------


def rembg_home_with(model: Path, home: Path) -> Path:
    """Lay out ``home`` the way rembg 2.0.86 looks for u2netp, pointing at ``model``, and set
    ``U2NET_HOME``/``REMBG_HOME`` to it (``U2NET_HOME`` wins in rembg when set). Returns the path
    rembg will load."""
    from alphacut.errors import ModelError

    if not model.is_file():
        raise ModelError(f"u2netp model not found at {model}: pass --model-path")
    got = md5_of(model)
    if got != U2NETP_MD5:
        raise ModelError(f"{model} has md5 {got}, not the {U2NETP_MD5} rembg pins for u2netp.onnx")
    dest = home / "models" / "u2netp" / "u2netp.onnx"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists():
        dest.symlink_to(model.resolve())
    os.environ["U2NET_HOME"] = str(home)
    os.environ["REMBG_HOME"] = str(home)
    return dest


def rembg_session(expected: Path):
    """``rembg.new_session("u2netp")`` that provably loads ``expected`` and cannot download."""
    import pooch
    import rembg
    from rembg.sessions.u2netp import U2netpSession

    def _no_download(*a, **k):
        raise RuntimeError("rembg tried to download a model during the comparison; the local copy was not found")

    pooch.retrieve = _no_download  # rembg calls pooch.retrieve only when the file is missing
    path = Path(U2netpSession.download_models())
    if path.resolve() != expected.resolve():
        raise RuntimeError(f"rembg resolved u2netp to {path}, not {expected}")
    return rembg.new_session("u2netp")


def rembg_remover(session, **keywords):
    from rembg import remove

    return lambda data: remove(data, session=session, **keywords)


# -- data --------------------------------------------------------------------------------------------


def gt_images(root: Path, sets: List[str]) -> List[Tuple[str, Path, Path]]:
    """(name, input path, GT alpha path) for the exact-GT sets."""
    out = []
    if "composites" in sets:
        d = root / "images" / "composites"
        for p in sorted((d / "input").glob("*.jpg")):
            a = d / "alpha" / (p.stem + ".png")
            if a.exists():
                out.append((p.stem, p, a))
    if "alphamatting_gt05" in sets:
        d = root / "images" / "alphamatting_gt05"
        gt = d / "alpha" / "GT05.jpg"
        for p in (d / "input" / "GT05.jpg", d / "composite" / "GT05_on_GT26r.jpg"):
            if p.exists() and gt.exists():
                out.append((f"gt05/{p.stem}", p, gt))
    return out


def decode_alpha(out) -> np.ndarray:
    """The alpha channel of a cutout returned as PNG bytes, a PIL image or an array."""
    from PIL import Image

    if isinstance(out, (bytes, bytearray)):
        out = Image.open(io.BytesIO(out))
    if isinstance(out, Image.Image):
        out = np.asarray(out.convert("RGBA"))
    out = np.asarray(out)
    if out.ndim == 2:
        return out
    if out.shape[2] != 4:
        raise ValueError(f"expected an RGBA cutout, got shape {out.shape}")
    return out[:, :, 3]


def load_gray(p: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(p) as im:
        return np.asarray(im.convert("L"))


# -- measuring ---------------------------------------------------------------------------------------


def interleaved(methods: Dict[str, Callable], data: bytes, repeat: int, warmup: int):
    """Time every method on ``data``: warm-up, then ``repeat`` rounds of all methods in turn.
    Returns ({method: [ms, ...]}, {method: last output})."""
    import gc

    outs = {}
    for name, fn in methods.items():
        for _ in range(warmup):
            outs[name] = fn(data)
    times: Dict[str, List[float]] = {m: [] for m in methods}
    for r in range(repeat):
        order = list(methods) if r % 2 == 0 else list(reversed(methods))  # alternate who goes first
        for name in order:
            gc.collect()
            t0 = time.perf_counter()
            outs[name] = methods[name](data)
            times[name].append((time.perf_counter() - t0) * 1e3)
    return times, outs


def build_methods(rows, ac_session, rb_session, include_alphacut=True):
    methods: Dict[str, Callable] = {}
    missing: Dict[str, str] = {}
    for row in rows:
        kw = ROW_KEYWORDS[row]
        methods[f"rembg {row}"] = rembg_remover(rb_session, **kw)
        if include_alphacut:
            from alphacut.bench.adapter import alphacut_remover

            fn = alphacut_remover(ac_session, **kw)
            if fn is None:
                missing[f"alphacut {row}"] = f"alphacut.remove takes no {', '.join(kw)} keyword"
            else:
                methods[f"alphacut {row}"] = fn
    if include_alphacut:
        from alphacut.bench.adapter import alphacut_full_cutout

        methods["alphacut session"] = alphacut_full_cutout(ac_session)
    return methods, missing


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-path", default=None, help="u2netp.onnx (default: shared data models/u2netp_320.onnx)")
    ap.add_argument("--sets", default="composites,alphamatting_gt05", help="exact-GT sets to use")
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comparison rows (default: {','.join(ROWS)})")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N GT images (0 = all)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per image and method (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs per image and method first (default 1)")
    ap.add_argument("--latency-sizes", default="1mp,12mp", help="extra latency-only sizes ('' for none)")
    ap.add_argument(
        "--slow-max-mp",
        type=float,
        default=2.0,
        help=f"skip {', '.join(SLOW_ROWS)} at sizes above this many megapixels (default 2)",
    )
    ap.add_argument("--out", default=None, help="markdown results file (e.g. bench/results/compare_rembg.md)")
    ap.add_argument("--json", dest="json_out", default=None, help="raw figures as JSON")
    ap.add_argument("--rembg-only", action="store_true", help="measure rembg alone (alphacut's pipeline absent)")
    args = ap.parse_args(argv)

    from alphacut.errors import Error

    try:
        return _run(args, argv)
    except Error as exc:
        print(f"compare_rembg: error: {exc}", file=sys.stderr)
        return 1


def _run(args, argv) -> int:
    from alphacut.bench.inputs import find_photo, make_images, parse_sizes
    from alphacut.bench.machine import machine_info
    from alphacut.bench.stats import ratio, summarize
    from alphacut.errors import InputError
    from alphacut.metrics import matte_errors

    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    bad = [r for r in rows if r not in ROWS]
    if bad or not rows:
        raise InputError(f"--rows: unknown {bad}; choose from {', '.join(ROWS)}")
    if args.repeat < 1 or args.warmup < 0:
        raise InputError("--repeat must be >= 1 and --warmup >= 0")
    root = shared_data()
    model = Path(args.model_path) if args.model_path else root / "models" / "u2netp_320.onnx"
    images = gt_images(root, [s.strip() for s in args.sets.split(",")])
    if args.limit:
        images = images[: args.limit]
    if not images:
        raise InputError(f"no exact-GT images under {root}/images: set ALPHACUT_SHARED_DATA")
    command = "python bench/compare_rembg.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    machine = machine_info()
    say = lambda s: print(f"  {s}", file=sys.stderr, flush=True)  # noqa: E731

    with tempfile.TemporaryDirectory(prefix="rembg-home-") as home:
        expected = rembg_home_with(model, Path(home))
        rb = rembg_session(expected)
        ac = None
        if not args.rembg_only:
            from alphacut.bench.adapter import alphacut_session

            ac = alphacut_session("u2netp", str(model))
        methods, missing = build_methods(rows, ac, rb, include_alphacut=not args.rembg_only)

        # 1. quality and latency on the exact-GT images
        per_image: Dict[str, Dict[str, Dict[str, float]]] = {}
        lat_gt: Dict[str, List[float]] = {m: [] for m in methods}
        for name, src, gt_path in images:
            say(f"{name}: {len(methods)} methods x {args.repeat}")
            data = src.read_bytes()
            gt = load_gray(gt_path)
            times, outs = interleaved(methods, data, args.repeat, args.warmup)
            per_image[name] = {}
            for m in methods:
                lat_gt[m].append(float(np.median(times[m])))
                alpha = decode_alpha(outs[m])
                if alpha.shape != gt.shape:
                    raise InputError(f"{m} returned {alpha.shape} for {name}, GT is {gt.shape}")
                errs = matte_errors(alpha, gt)
                errs["ms"] = lat_gt[m][-1]
                per_image[name][m] = errs

        # 2. latency at benchmark sizes
        lat_sizes: Dict[str, Dict[str, Optional[Dict[str, float]]]] = {}
        sizes = parse_sizes(args.latency_sizes) if args.latency_sizes.strip() else []
        photo = find_photo(None)
        for im in make_images(sizes, photo=photo):
            data = im.jpeg()
            chosen = {
                m: f
                for m, f in methods.items()
                if not (im.megapixels > args.slow_max_mp and m.split(" ", 1)[1] in SLOW_ROWS)
            }
            say(f"{im.name}: {len(chosen)} methods x {args.repeat}")
            times, _ = interleaved(chosen, data, args.repeat, args.warmup)
            lat_sizes[im.name] = {m: (summarize(times[m]) if m in times else None) for m in methods}
            lat_sizes[im.name]["_input"] = im.source  # type: ignore[assignment]

    res = {
        "command": command,
        "machine": machine,
        "model": str(model),
        "model_md5": U2NETP_MD5,
        "rows": rows,
        "methods": list(methods),
        "missing": missing,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "images": [n for n, _, _ in images],
        "per_image": per_image,
        "latency_gt_ms": {m: summarize(v) for m, v in lat_gt.items()},
        "latency_sizes": lat_sizes,
        "slow_max_mp": args.slow_max_mp,
    }
    md = render(res, ratio)
    print(md)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(md, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json_out:
        import json

        Path(args.json_out).write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    return 0


def _f(v, nd=1):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return f"{v:,.{nd}f}"


def render(res, ratio) -> str:
    from alphacut.bench.machine import describe

    methods, rows = res["methods"], res["rows"]
    out = [
        "# alphacut vs rembg 2.0.86 (u2netp)",
        "",
        "Produced by:",
        "",
        "```bash",
        res["command"],
        "```",
        "",
        "Machine:",
        "",
    ] + [f"- {ln}" for ln in describe(res["machine"])]
    out += [
        "",
        f"Model: `{res['model']}` (md5 {res['model_md5']}, the file rembg pins), the same file for both "
        "tools, loaded once per tool. End to end = encoded image bytes in, PNG bytes out, through each "
        f"library's `remove()`. {res['repeat']} timed runs after {res['warmup']} warm-up per image and "
        "method, interleaved. Ratios are rembg ÷ alphacut from this one run (> 1: alphacut is faster).",
        "",
    ]
    if res["missing"]:
        out += [f"- n/a: {m}: {why}" for m, why in res["missing"].items()] + [""]

    def pair_table(get, title, unit="ms"):
        lines = [f"| row | rembg {unit} | alphacut {unit} | rembg ÷ alphacut |", "|---|---|---|---|"]
        for row in rows:
            r = get(f"rembg {row}")
            a = get(f"alphacut {row}")
            lines.append(f"| {row} | {_f(r, 0)} | {_f(a, 0)} | {_f(ratio(r, a) if r and a else None, 2)} |")
        a = get("alphacut session")
        if a is not None:
            lines.append(f"| session (alphacut's full pipeline; no rembg counterpart) | – | {_f(a, 0)} | – |")
        return [title, ""] + lines + [""]

    n = len(res["images"])
    lat = res["latency_gt_ms"]
    out += pair_table(
        lambda m: lat[m]["median"] if m in lat else None,
        f"## Latency on the {n} exact-GT images (≤ 960 px; median over images of each image's median)",
    )
    for size, d in res["latency_sizes"].items():
        out += pair_table(lambda m, d=d: (d.get(m) or {}).get("median"), f"## Latency at {size} (median of runs)")
        out += [f"Input: {d['_input']}."]
        skipped = [m for m in methods if d.get(m) is None]
        if skipped:
            out += [f"Skipped at this size (above --slow-max-mp {res['slow_max_mp']}): {', '.join(skipped)}."]
        out += [""]

    out += [
        f"## Quality on the {n} exact-GT images (mean over images; lower is better)",
        "",
        "SAD and gradient error ÷ 1000, MSE × 1000 (alphacut.metrics.matte_errors; band = unknown band "
        "of the GT, disk radius 15). `decontaminate` changes colours only, so its alpha figures equal "
        "`plain` by construction.",
        "",
        "| method | " + " | ".join(QUALITY_KEYS) + " | median SAD |",
        "|---|" + "---|" * (len(QUALITY_KEYS) + 1),
    ]
    for m in methods:
        vals = [[res["per_image"][i][m][k] for i in res["images"]] for k in QUALITY_KEYS]
        sads = [res["per_image"][i][m]["sad"] for i in res["images"]]
        out.append(
            f"| {m} | " + " | ".join(_f(float(np.mean(v)), 2) for v in vals) + f" | {_f(float(np.median(sads)), 2)} |"
        )
    out += ["", "## SAD per image", "", "| image | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for i in res["images"]:
        out.append(f"| {i} | " + " | ".join(_f(res["per_image"][i][m]["sad"], 2) for m in methods) + " |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
