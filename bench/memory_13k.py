"""Peak memory of one 13000 × 13000 cut (169 MP: what a 1 KB decompression bomb's header can
declare), above a warmed-up session, against :func:`alphacut.pipeline.memory.estimate_bytes`.

    PYTHONPATH=python python bench/memory_13k.py [--model-path ../shared/data/models/u2netp_320.onnx]

Needs about 4 GB of free memory and half a minute on two cores. Linux only (VmHWM, clear_refs).
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

import alphacut
from alphacut.bench.memory import read_status
from alphacut.pipeline.memory import estimate_bytes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-path", default=None, help="u2netp's file (default: looked up / downloaded)")
    p.add_argument("--side", type=int, default=13000)
    a = p.parse_args()
    h = w = a.side
    blocks = np.random.default_rng(0).integers(0, 256, (h // 64 + 1, w // 64 + 1, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(blocks).resize((w, h), Image.BILINEAR).save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    del buf, blocks
    s = alphacut.Session("u2netp", max_pixels=h * w, model_path=a.model_path)
    s.run(np.zeros((64, 64, 3), np.uint8))
    base = read_status()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # the peak (VmHWM) starts again from the current RSS
    t0 = time.perf_counter()
    s.run(data)
    dt = time.perf_counter() - t0
    peak = (read_status()["VmHWM"] - base) * 2**20  # MiB to bytes
    print(
        f"{w}x{h} JPEG of {len(data) / 1e6:.1f} MB: cut in {dt:.1f} s, peak +{peak / 2**30:.2f} GiB above a "
        f"warmed-up session; estimate {estimate_bytes(h, w) / 2**30:.2f} GiB"
    )


if __name__ == "__main__":
    main()
