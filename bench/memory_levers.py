"""Peak resident memory of one cutout (JPEG in, RGBA out, refinement and foreground on) before and
after the memory levers, each in a fresh process, and the network's speed with and without ONNX
Runtime's memory pattern, alternating in one process.

The levers: ONNX Runtime's memory pattern off (``enable_mem_pattern``; on by default it plans one
block for a run's intermediates on the second run and keeps it beside the arena's chunks of the
first), and ``Session.run`` letting go of the previous result before it cuts the next (kept, its
full-size alpha, RGBA and foreground pieces add to the next run's peak). "before" puts both back
(the memory pattern on, the previous result held through the run), in the child process only.

    PYTHONPATH=python python bench/memory_levers.py --sizes 1mp,4k,12mp --repeat 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO.parent / "shared" / "data" / "models" / "u2netp_320.onnx"


def _child(size: str, variant: str, model: str) -> None:
    import onnxruntime as ort

    from alphacut import Session
    from alphacut.bench.inputs import find_photo, from_photo, parse_sizes
    from alphacut.bench.memory import PeakRSS

    if variant == "before":
        real = ort.InferenceSession

        def with_pattern(src, sess_options=None, **kw):
            if sess_options is not None:
                sess_options.enable_mem_pattern = True
            return real(src, sess_options=sess_options, **kw)

        ort.InferenceSession = with_pattern  # type: ignore[misc]
        run = Session.run

        def holding(self, *a, **k):  # the previous result kept through the run, as before
            prev = self.last_result
            res = run(self, *a, **k)
            del prev
            return res

        Session.run = holding  # type: ignore[method-assign]
    _, shape = parse_sizes(size)[0]
    photo = find_photo()
    jpeg = from_photo(photo, shape).jpeg(90)
    s = Session("u2netp", model_path=model)
    for _ in range(2):  # the second run is where the memory pattern's block appears
        s.run(jpeg)
    with PeakRSS() as m:
        res = s.run(jpeg)
    digest = hashlib.sha256(res.rgba.tobytes()).hexdigest()[:16]
    print(json.dumps({"size": size, "variant": variant, "rgba_sha256": digest, **m.result}))


def _network_speed(model: str, repeat: int) -> str:
    import numpy as np
    import onnxruntime as ort

    x = np.random.default_rng(0).random((1, 3, 320, 320), dtype=np.float32)
    sess = {}
    for on in (True, False):
        so = ort.SessionOptions()
        so.enable_mem_pattern = on
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        sess[on] = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    name = sess[True].get_inputs()[0].name
    t = {True: [], False: []}
    for i in range(2 * repeat + 4):
        for on in (True, False) if i % 2 else (False, True):
            t0 = time.perf_counter()
            sess[on].run(None, {name: x})
            if i >= 4:
                t[on].append(time.perf_counter() - t0)
    a, b = float(np.median(t[True])) * 1e3, float(np.median(t[False])) * 1e3
    same = all(np.array_equal(p, q) for p, q in zip(sess[True].run(None, {name: x}), sess[False].run(None, {name: x})))
    return (
        f"u2netp 320 px network: memory pattern on {a:.0f} ms, off {b:.0f} ms (median of {len(t[True])}), "
        f"ratio {a / b:.2f}x; outputs {'identical' if same else 'DIFFER'}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1mp,4k,12mp")
    ap.add_argument("--repeat", type=int, default=2, help="fresh processes per size and variant")
    ap.add_argument("--model-path", default=str(MODEL))
    ap.add_argument("--child", nargs=2, metavar=("SIZE", "VARIANT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.model_path)
        return 0
    env = {**os.environ, "PYTHONPATH": str(REPO / "python")}
    rows: List[str] = [
        "| size | before peak MiB | after peak MiB | before - after | RGBA before/after |",
        "|---|---|---|---|---|",
    ]
    for size in args.sizes.split(","):
        peaks: Dict[str, List[float]] = {"before": [], "after": []}
        digests = set()
        for _ in range(args.repeat):
            for variant in ("before", "after"):
                out = subprocess.run(
                    [sys.executable, __file__, "--model-path", args.model_path, "--child", size, variant],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                peaks[variant].append(r["peak_mb"])
                digests.add(r["rgba_sha256"])
        b, a = max(peaks["before"]), max(peaks["after"])
        same = "identical" if len(digests) == 1 else "DIFFER"
        rows.append(f"| {size} | {b:.0f} | {a:.0f} | {b - a:.0f} | {same} |")
        print(rows[-1], flush=True)
    print("\n".join(rows))
    print(_network_speed(args.model_path, 10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
