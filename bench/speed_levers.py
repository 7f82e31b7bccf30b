"""Side by side, in one process and alternating: each speed lever of the CPU pipeline against the
code it replaced, on the benchmark's own inputs (the shared photo at 1 MP, 4K and 12 MP).

- decode: JPEG bytes through Pillow (``ALPHACUT_FAST_JPEG=0``) vs libjpeg-turbo directly
  (:mod:`alphacut.image.jpeg_fast`); the pixels are checked equal.
- foreground stage: the soft grid cells found with ``logical_or.reduceat`` over the rows (as
  before) vs the row-block view (:func:`alphacut.pipeline.stages.soft_tiles` now); the pieces
  compared.
- foreground + pack: the soft grid cells' foreground (``stages.foreground``) then ``stages.pack``
  vs the fused cutout (``stages.foreground_rgba``: one whole-image estimate, the finest level in
  strips around the soft edge, written straight into the RGBA); the largest colour difference.
- encode: the PNG encoder with zlib (``ALPHACUT_PNG_DEFLATE=zlib``) vs ISA-L; sizes.
- end to end: ``Session.run`` on the JPEG bytes then ``encode_png`` (refinement and foreground
  on), with all four levers off vs on; PNG sizes.

The alpha is the pipeline's own (u2netp, refinement on) for each size. Times are medians of
``--repeat`` alternating rounds, wall clock and process CPU time (all threads; steadier than wall
time on a shared machine). Prints a markdown table.

Run: ``PYTHONPATH=python python bench/speed_levers.py [--sizes 1mp,4k,12mp] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))


def _timed(fn: Callable[[], object]):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - w) * 1e3, (time.process_time() - c) * 1e3


def _with_env(name: str, value: str, fn: Callable[[], object]) -> Callable[[], object]:
    def run():
        old = os.environ.get(name)
        os.environ[name] = value
        try:
            return fn()
        finally:
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old

    return run


def _old_grid(stages, fn: Callable[[], object]) -> object:
    """Run ``fn`` with the soft grid computed as before (``logical_or.reduceat`` over the rows)."""
    new = stages._any_per_row_block
    stages._any_per_row_block = lambda m, t: np.logical_or.reduceat(m, np.arange(0, m.shape[0], t), axis=0)
    try:
        return fn()
    finally:
        stages._any_per_row_block = new


def _tiles_then_pack(stages, fn: Callable[[], object]) -> object:
    """Run ``fn`` with the cutout made as before: the soft cells' foreground, then pack."""
    new = stages.foreground_rgba
    stages.foreground_rgba = lambda rgb, alpha: stages.pack(rgb, alpha, stages.foreground(rgb, alpha))
    try:
        return fn()
    finally:
        stages.foreground_rgba = new


def _stack(pieces) -> np.ndarray:
    """The pieces' boxes and colours in one array, to compare two runs."""
    if not pieces:
        return np.zeros(0, np.float32)
    return np.concatenate([np.asarray(b, np.float32).ravel() for b, _ in pieces] + [f.ravel() for _, f in pieces])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1mp,4k,12mp")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--model-path", default=str(REPO.parent / "shared" / "data" / "models" / "u2netp_320.onnx"))
    args = ap.parse_args(argv)

    from PIL import Image

    import alphacut
    from alphacut.bench.inputs import find_photo, from_photo, parse_sizes
    from alphacut.image import decode_image, encode_png
    from alphacut.pipeline import stages

    photo = find_photo()
    if photo is None:
        print("the shared photo is not present (../shared/data)", file=sys.stderr)
        return 2
    session = alphacut.Session("u2netp", model_path=args.model_path)
    rows: List[str] = [
        "| size | lever | before ms (CPU ms) | after ms (CPU ms) | ratio wall | ratio CPU | check |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, shape in parse_sizes(args.sizes):
        rgb = from_photo(photo, shape).rgb
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=90)
        jpeg = buf.getvalue()
        alpha = session.run(rgb, rgba=False, foreground=False).alpha
        levers: Dict[str, tuple] = {
            "decode": (
                _with_env("ALPHACUT_FAST_JPEG", "0", lambda j=jpeg: decode_image(j).rgb),
                _with_env("ALPHACUT_FAST_JPEG", "1", lambda j=jpeg: decode_image(j).rgb),
            ),
            "foreground": (
                lambda i=rgb, a=alpha: _old_grid(stages, lambda: _stack(stages.foreground(i, a))),
                lambda i=rgb, a=alpha: _stack(stages.foreground(i, a)),
            ),
        }
        levers["foreground + pack"] = (
            lambda i=rgb, a=alpha: stages.pack(i, a, stages.foreground(i, a)),
            lambda i=rgb, a=alpha: stages.foreground_rgba(i, a),
        )
        rgba = stages.pack(rgb, alpha, stages.foreground(rgb, alpha))
        levers["encode"] = (
            _with_env("ALPHACUT_PNG_DEFLATE", "zlib", lambda c=rgba: encode_png(c)),
            _with_env("ALPHACUT_PNG_DEFLATE", "", lambda c=rgba: encode_png(c)),
        )

        def e2e(j=jpeg):  # JPEG bytes in, PNG bytes out, refinement and foreground on
            return encode_png(session.run(j).rgba)

        def e2e_before():
            env = {"ALPHACUT_FAST_JPEG": "0", "ALPHACUT_PNG_DEFLATE": "zlib"}
            old = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                return _old_grid(stages, lambda: _tiles_then_pack(stages, e2e))
            finally:
                for k, v in old.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

        levers["end to end"] = (e2e_before, e2e)
        for lever, (before, after) in levers.items():
            tb: List[tuple] = []
            ta: List[tuple] = []
            outs = [None, None]
            before()
            after()  # warm
            for _ in range(args.repeat):
                outs[0], w, c = _timed(before)
                tb.append((w, c))
                outs[1], w, c = _timed(after)
                ta.append((w, c))
            bw, bc = statistics.median(t[0] for t in tb), statistics.median(t[1] for t in tb)
            aw, ac = statistics.median(t[0] for t in ta), statistics.median(t[1] for t in ta)
            if lever in ("encode", "end to end"):
                check = f"{len(outs[0]) / 1e6:.2f} → {len(outs[1]) / 1e6:.2f} MB"
            elif lever == "foreground + pack":
                d = np.abs(np.asarray(outs[0], np.int16) - np.asarray(outs[1], np.int16))
                check = f"alpha {'identical' if not d[..., 3].any() else 'DIFFERENT'}, colour max diff {d.max()}"
            else:
                same = np.array_equal(np.asarray(outs[0]), np.asarray(outs[1]))
                check = "identical" if same else "DIFFERENT"
            rows.append(
                f"| {name} | {lever} | {bw:.0f} ({bc:.0f}) | {aw:.0f} ({ac:.0f}) | {bw / aw:.2f}x | {bc / ac:.2f}x | "
                f"{check} |"
            )
            print(rows[-1], flush=True)
    print()
    print(f"threads: ALPHACUT_NUM_THREADS={os.environ.get('ALPHACUT_NUM_THREADS', '')!r}; load {os.getloadavg()}")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
