"""Cost of the emulation's shared-memory race check on the kernels that use shared memory.

    PYTHONPATH=python python tests/emu/_bench_racecheck.py

Runs each emulated op with the check on and off, interleaved, and prints the median time of
each and their ratio. Against a build without the check (no _emu_racecheck) it times the
default only, for comparing builds side by side.
"""

import statistics
import time

import numpy as np

from alphacut import _core, ops


def cases():
    rng = np.random.default_rng(0)
    h, w = 192, 256
    img = rng.random((h, w, 3), dtype=np.float32)
    yy, xx = np.mgrid[:h, :w]
    prob = (1 / (1 + np.exp(-((xx - w / 2) / 6.0 + np.sin(yy / 9.0))))).astype(np.float32)
    trimap = ops.make_trimap(prob, radius=4, backend="cpu")
    alpha = prob
    return {
        "make_trimap (morphology scans)": lambda: ops.make_trimap(prob, radius=6, backend="emu"),
        "guided_filter (dynamic shared)": lambda: ops.guided_filter(img, alpha, 4, 1e-3, backend="emu"),
        "estimate_foreground (block reductions)": lambda: ops.estimate_foreground(img, alpha, backend="emu"),
        "solve_alpha (CG grid sums)": lambda: ops.solve_alpha(img, trimap, max_iter=40, backend="emu"),
    }


def main():
    has_switch = hasattr(_core, "_emu_racecheck")
    modes = [True, False] if has_switch else [None]
    for name, fn in cases().items():
        times = {m: [] for m in modes}
        fn()
        for _ in range(5):
            for m in modes:
                if m is not None:
                    _core._emu_configure(racecheck=m)
                t0 = time.perf_counter()
                fn()
                times[m].append(time.perf_counter() - t0)
        if has_switch:
            on, off = statistics.median(times[True]), statistics.median(times[False])
            print(f"{name:42s} check on {on * 1e3:8.1f} ms  off {off * 1e3:8.1f} ms  on/off {on / off:5.2f}")
        else:
            print(f"{name:42s} default {statistics.median(times[None]) * 1e3:8.1f} ms")
    if has_switch:
        _core._emu_configure(racecheck=True)


if __name__ == "__main__":
    main()
