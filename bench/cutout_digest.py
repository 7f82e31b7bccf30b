"""A digest of every cutout alphacut makes of the shared photos: run it at two commits and diff
the output to see whether a change altered a single pixel (a speed change should not).

For each photo under ``../shared/data/images/*/input`` and each ``--scales`` factor (the photo
resized with Pillow's bicubic filter, so that large sizes take the upscaling path), one
``Session.run`` (the default mode, u2netp from the shared file) and the SHA-256 of the RGBA
array's bytes, one line per cut: ``name scale HxW sha256``.

Run: ``PYTHONPATH=python python bench/cutout_digest.py [--scales 1,3] > digests.txt``
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
SHARED = REPO.parent / "shared" / "data"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="1,3", help="comma-separated resize factors (default 1,3)")
    ap.add_argument("--data", default=str(SHARED), help="the shared data folder")
    args = ap.parse_args(argv)
    from PIL import Image

    from alphacut import Session

    data = Path(args.data)
    model = data / "models" / "u2netp_320.onnx"
    photos = sorted(data.glob("images/*/input/*.jpg"))
    if not model.is_file() or not photos:
        print(f"no model or photos under {data}", file=sys.stderr)
        return 2
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    session = Session("u2netp", model_path=model)
    for p in photos:
        img = Image.open(p).convert("RGB")
        for s in scales:
            im = img if s == 1 else img.resize((round(img.width * s), round(img.height * s)), Image.BICUBIC)
            rgba = session.run(np.asarray(im)).rgba
            digest = hashlib.sha256(np.ascontiguousarray(rgba).tobytes()).hexdigest()
            print(f"{p.parent.parent.name}/{p.stem} {s:g} {rgba.shape[0]}x{rgba.shape[1]} {digest}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
