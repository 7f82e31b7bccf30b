#!/usr/bin/env python3
"""A fuzz campaign over the decoder: files of every format Pillow writes here, mutated (bit flips,
byte runs overwritten, truncation, bytes inserted, header fields set to extremes), decoded by
``alphacut.image.decode_image`` in child processes.

    python tools/fuzz_decode.py 500                 # 500 mutations per format
    python tools/fuzz_decode.py 200 --seed 7 --formats PNG JPEG

Every outcome must be one of: decoded ((H, W, 3) uint8), ``DecodeError`` or ``ImageTooLargeError``
(alphacut's own errors). Anything else is a finding: another exception type escaping, a crash of
the child process, or a hang (``--timeout`` seconds). Prints the cases and outcomes per format,
then each finding with its format, seed and mutation; exit status 1 when there are findings.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

#: Pillow format name → save arguments (what Pillow can write without extra libraries).
FORMATS = {
    "PNG": {},
    "JPEG": {"quality": 85},
    "WEBP": {"quality": 80},
    "GIF": {},
    "BMP": {},
    "TIFF": {"compression": "tiff_lzw"},
    "ICO": {},
    "PPM": {},
    "TGA": {},
    "PCX": {},
    "SGI": {},
    "IM": {},
    "JPEG2000": {},
    "QOI": {},
    "DDS": {},
    "BLP": {},
    "AVIF": {},
    "SPIDER": {},
    "XBM": {},
    "DIB": {},
}


def seed_file(fmt: str) -> bytes:
    """A small image with edges and a gradient, in ``fmt``."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)
    rgb[12:36, 16:48] = (220, 40, 40)
    im = Image.fromarray(rgb)
    if fmt == "SPIDER":
        im = im.convert("F")
    elif fmt == "BLP":
        im = im.convert("P")
    elif fmt == "XBM":
        im = im.convert("1")
    buf = io.BytesIO()
    im.save(buf, fmt, **FORMATS[fmt])
    return buf.getvalue()


def mutate(data: bytes, rng: random.Random) -> tuple:
    """One mutation of ``data``: (description, bytes)."""
    b = bytearray(data)
    n = len(b)
    kind = rng.choice(["flip", "run", "truncate", "insert", "extreme", "flips"])
    if kind == "flip":
        i = rng.randrange(n)
        b[i] ^= 1 << rng.randrange(8)
        return f"flip byte {i}", bytes(b)
    if kind == "flips":
        for _ in range(rng.randint(2, 16)):
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        return "several bit flips", bytes(b)
    if kind == "run":
        i = rng.randrange(n)
        k = rng.randint(1, 64)
        b[i : i + k] = bytes(rng.randrange(256) for _ in range(min(k, n - i)))
        return f"overwrite {k} bytes at {i}", bytes(b)
    if kind == "truncate":
        i = rng.randrange(1, n)
        return f"truncate at {i}", bytes(b[:i])
    if kind == "insert":
        i = rng.randrange(n)
        k = rng.randint(1, 64)
        return f"insert {k} bytes at {i}", bytes(b[:i]) + bytes(rng.randrange(256) for _ in range(k)) + bytes(b[i:])
    # extreme: a 2- or 4-byte field in the first 64 bytes (sizes, lengths, counts) set to 0 or its maximum
    i = rng.randrange(min(n, 64))
    width = rng.choice([2, 4])
    value = rng.choice([0, 0xFF, 0x7F])
    b[i : i + width] = bytes([value]) * min(width, n - i)
    return f"field at {i} ({width} bytes) set to {value:#x}", bytes(b)


def _decode_batch(cases: list) -> list:
    """In a child: decode each case, classifying the outcome."""
    import warnings

    import numpy as np

    from alphacut.image import ImageTooLargeError, decode_image
    from alphacut.image.decode import DecodeError

    warnings.simplefilter("ignore")
    out = []
    for key, data in cases:
        try:
            d = decode_image(data, max_pixels=50_000_000)
            ok = d.rgb.dtype == np.uint8 and d.rgb.ndim == 3 and d.rgb.shape[2] == 3
            out.append((key, "decoded" if ok else f"bad result {d.rgb.shape} {d.rgb.dtype}"))
        except ImageTooLargeError:
            out.append((key, "ImageTooLargeError"))
        except DecodeError:
            out.append((key, "DecodeError"))
        except MemoryError:
            out.append((key, "MemoryError"))
        except BaseException as exc:  # noqa: BLE001 - what the campaign is looking for
            out.append((key, f"raised {type(exc).__name__}: {str(exc)[:120]}"))
    return out


ALLOWED = {"decoded", "DecodeError", "ImageTooLargeError"}


def campaign(per_format: int, rng_seed: int, formats, timeout: float, batch: int = 25):
    rng = random.Random(rng_seed)
    seeds, cases = {}, []
    for fmt in formats:
        try:
            seeds[fmt] = seed_file(fmt)
        except Exception as exc:  # noqa: BLE001 - a format this Pillow cannot write
            print(f"{fmt}: not written by this Pillow ({type(exc).__name__}); skipped")
            continue
        cases.append(((fmt, "unmutated"), seeds[fmt]))
        for _ in range(per_format):
            desc, data = mutate(seeds[fmt], rng)
            cases.append(((fmt, desc), data))
    outcomes: dict = defaultdict(Counter)
    findings = []

    def record(results):
        for (fmt, desc), outcome in results:
            outcomes[fmt][outcome if outcome in ALLOWED else "finding"] += 1
            if outcome not in ALLOWED:
                findings.append((fmt, desc, outcome))

    def run(pool_cases, single=False):
        """Run chunks of cases; a chunk that crashes or hangs its child ends the pool and is
        returned (to be replayed case by case); None when every chunk was recorded."""
        pool = ProcessPoolExecutor(max_workers=2)
        try:
            futs = [(c, pool.submit(_decode_batch, c)) for c in pool_cases]
            for chunk, fut in futs:
                try:
                    record(fut.result(timeout=timeout * len(chunk)))
                except (BrokenProcessPool, TimeoutError) as exc:
                    if not single:
                        return chunk
                    what = "hang" if isinstance(exc, TimeoutError) else "crash of the child process"
                    record([(chunk[0][0], what)])
            return None
        finally:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    chunks = [cases[i : i + batch] for i in range(0, len(cases), batch)]
    while chunks:
        bad = run(chunks)
        if bad is None:
            break
        # a chunk broke its pool: replay its cases one by one, then carry on after it
        # the chunks before it were recorded; it is replayed case by case, those after it run again
        after = chunks.index(bad) + 1
        for key_data in bad:
            run([[key_data]], single=True)
        chunks = chunks[after:]
    return seeds, outcomes, findings


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cases", type=int, help="mutations per format")
    p.add_argument("--formats", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    p.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per case before it counts as a hang")
    a = p.parse_args(argv)
    rng_seed = a.seed if a.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed {rng_seed}, {a.cases} mutations per format")
    t0 = time.time()
    seeds, outcomes, findings = campaign(a.cases, rng_seed, a.formats, a.timeout)
    total = Counter()
    print(f"{'format':10} {'bytes':>7} {'cases':>6} {'decoded':>8} {'DecodeError':>12} {'TooLarge':>9} {'findings':>9}")
    for fmt in seeds:
        c = outcomes[fmt]
        total.update(c)
        print(
            f"{fmt:10} {len(seeds[fmt]):7d} {sum(c.values()):6d} {c['decoded']:8d} {c['DecodeError']:12d} "
            f"{c['ImageTooLargeError']:9d} {c['finding']:9d}"
        )
    print(
        f"{'all':10} {'':7} {sum(total.values()):6d} {total['decoded']:8d} {total['DecodeError']:12d} "
        f"{total['ImageTooLargeError']:9d} {total['finding']:9d}   ({time.time() - t0:.0f} s)"
    )
    for fmt, desc, outcome in findings:
        print(f"FINDING {fmt} [{desc}] (seed {rng_seed}): {outcome}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
