"""Throughput and peak memory of ``alphacut video`` at 1 MP, a short clip and one 4x longer, each
in its own process (peak RSS from ``wait4``), side by side in one run.

    PYTHONPATH=python python bench/video_throughput.py --frames 8 --json bench/results/video.json

The clip: an exact-GT composite from ../shared/data resized to the frame size (1280x800 = 1.02 MP
by default), with 1-2 px camera shake, sensor noise and a 440 Hz audio track, as H.264. The
command run on it is printed; its own summary line (frames/s, flicker before and after) is
quoted. Throughput includes decoding, matting, stabilisation and encoding.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))


def make_clip(path: Path, n: int, size, rate: int = 25, seed: int = 0) -> None:
    import av
    from PIL import Image

    w, h = size
    src = SHARED / "images" / "composites" / "input" / "GT05__on_beach.jpg"
    with Image.open(src) as im:
        base = np.asarray(im.convert("RGB").resize((w + 8, h + 8), Image.Resampling.BICUBIC), np.float32)
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"crf": "18", "preset": "veryfast"}
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        for i in range(n):
            dy, dx = (int(x) for x in rng.integers(-2, 3, size=2))
            f = base[4 + dy : 4 + dy + h, 4 + dx : 4 + dx + w] + rng.normal(0, 3, (h, w, 3))
            vf = av.VideoFrame.from_ndarray(np.clip(np.rint(f), 0, 255).astype(np.uint8), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, rate)
            for p in v.encode(vf):
                out.mux(p)
        samples = int(n / rate * 48000)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
        for i in range(0, samples, 1024):
            af = av.AudioFrame.from_ndarray(tone[None, i : i + 1024], format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = 48000, i, Fraction(1, 48000)
            for p in a.encode(af):
                out.mux(p)
        for s in (a, v):
            for p in s.encode(None):
                out.mux(p)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=8, help="frames of the short clip (the long one has 4x)")
    ap.add_argument("--size", default="1280x800", help="WxH (default 1280x800, 1.02 MP)")
    ap.add_argument("--format", default="webm", choices=("webm", "mov", "mp4", "mkv"))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--model-path", default=str(SHARED / "models" / "u2netp_320.onnx"))
    ap.add_argument("--extra", default="--route off", help="more alphacut video options")
    ap.add_argument("--workdir", default="/tmp/alphacut-video-bench")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.lower().split("x"))
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(REPO / "python"))
    rows = []
    for n in (args.frames, 4 * args.frames):
        clip = work / f"clip_{n}.mp4"
        make_clip(clip, n, (w, h))
        out = work / f"out_{n}.{args.format}"
        cmd = [sys.executable, "-m", "alphacut", "video", str(clip), "-o", str(out), "-q", "--batch", str(args.batch)]
        cmd += ["--model-path", args.model_path] + args.extra.split()
        r = run_with_rss(cmd, env)
        if r["rc"] != 0:
            print("\n".join(r["stderr"]), file=sys.stderr)
            return 1
        m = re.search(r"\(([\d.]+) frames/s\)", " ".join(r["stderr"]))
        row = {
            "frames": n,
            "loop_frames_per_s": float(m.group(1)) if m else None,
            "megapixels": w * h / 1e6,
            "wall_s": round(r["wall_s"], 2),
            "frames_per_s": round(n / r["wall_s"], 3),
            "peak_rss_mb": round(r["max_rss_kb"] / 1024, 1),
            "summary": r["stderr"],
            "command": " ".join(cmd),
        }
        rows.append(row)
        print(
            f"{n:4d} frames {w}x{h}: {row['loop_frames_per_s']} frames/s in the loop, {row['frames_per_s']:.2f} "
            f"frames/s over the whole process ("
            f"{row['wall_s']:.1f} s wall), peak RSS {row['peak_rss_mb']:.0f} MB"
        )
        for line in r["stderr"]:
            print("     " + line)
    ratio = rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    print(f"peak RSS, {rows[1]['frames']} frames / {rows[0]['frames']} frames: {ratio:.2f}")
    if args.json:
        doc = {
            "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}",
            "rows": rows,
            "rss_ratio": round(ratio, 3),
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def run_with_rss(cmd, env) -> dict:
    """Run ``cmd``; its wall time, stderr lines, exit status and peak RSS (KB, from wait4)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    assert p.stderr is not None
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"rc": p.returncode, "wall_s": wall, "stderr": err.strip().splitlines(), "max_rss_kb": ru.ru_maxrss}


if __name__ == "__main__":
    sys.exit(main())
