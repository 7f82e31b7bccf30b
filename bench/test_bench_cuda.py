"""GPU kernel benchmarks at 12 MP, side by side with the CPU op and the NumPy / OpenCV code a
user would write otherwise. Skipped (with the reason) where no CUDA device is present.

    python -m pytest bench/test_bench_cuda.py --benchmark-enable --benchmark-columns=median,iqr,ops -s

`cuda-dev` times a call on device arrays (kernel + output allocation + stream sync, no PCIe
transfer) and prints the achieved bandwidth against the H100 floor in csrc/ops/README.md;
`cuda-host` includes the host<->device copies; `cpu` is alphacut's CPU op; `numpy`/`cv2` the
usual alternatives.
"""

from __future__ import annotations

import numpy as np
import pytest

import alphacut
import alphacut.device
from alphacut import ops
from alphacut.ops import pack_rgba, preprocess

pytestmark = pytest.mark.skipif(
    not alphacut.device.is_available(), reason=f"no CUDA device: {alphacut.device.why_unavailable()}"
)

H100_BYTES_PER_S = 3.0e12
PIXELS = 3000 * 4000
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# Bytes each kernel must move at 12 MP (see csrc/ops/README.md).
BYTES = {
    "composite": PIXELS * (4 * 3 * 3 + 4),
    "premultiply": PIXELS * (4 * 3 * 2 + 4),
    "pack_rgba": PIXELS * (3 + 4 + 4),
    "preprocess_320": 320 * 320 * 3 * 4 + 640 * 4000 * 3,
    "preprocess_full": PIXELS * (3 + 3 * 4),
    # fused kernels, uint8 guide + float32 src: read I 3 + p 4, write (a, b) 16; read (a, b) 16 + I 3, write 4
    "guided_filter_rgb": PIXELS * 46,
    # full res: guide 3 x2 + out 4; 1 MP low res: g_low written 12, fused coefficients (read 12 + 4, (a, b)
    # 16 w+r, means written 16) 64, the means read by the apply kernel 16
    "upscale_alpha": PIXELS * 10 + 1000 * 1000 * (12 + 64 + 16),
    # solve_alpha: per CG iteration, ~316 B per unknown pixel (solve_alpha_cuda.cu header).
    "solve_alpha_iteration": 316,
}


@pytest.fixture(scope="module")
def inputs(photo_12mp):
    rgb, a8 = photo_12mp
    fg = rgb.astype(np.float32) / 255
    a = a8.astype(np.float32) / 255
    bg = np.ascontiguousarray(fg[::-1])
    dev = {k: alphacut.device.to_device(v) for k, v in {"rgb": rgb, "fg": fg, "a": a, "bg": bg}.items()}
    return {"rgb": rgb, "fg": fg, "a": a, "bg": bg, "dev": dev}


def _report(benchmark, key):
    med = benchmark.stats.stats.median
    floor = BYTES[key] / H100_BYTES_PER_S
    print(
        f"\n{key}: median {med * 1e3:.3f} ms, {BYTES[key] / med / 1e9:.0f} GB/s achieved; "
        f"H100 floor {floor * 1e3:.3f} ms ({BYTES[key] / 1e6:.0f} MB)"
    )


@pytest.mark.parametrize("impl", ["cuda-dev", "cuda-host", "cpu", "numpy"])
def test_composite(benchmark, inputs, impl):
    benchmark.group = "composite 12MP"
    i = inputs
    if impl == "cuda-dev":
        d = i["dev"]
        benchmark(ops.composite, d["fg"], d["a"], d["bg"], backend="cuda")
        _report(benchmark, "composite")
    elif impl == "numpy":
        a3 = i["a"][..., None]
        benchmark(lambda: a3 * i["fg"] + (1 - a3) * i["bg"])
    else:
        benchmark(ops.composite, i["fg"], i["a"], i["bg"], backend=impl.split("-")[0])


@pytest.mark.parametrize("impl", ["cuda-dev", "cuda-host", "cpu", "numpy"])
def test_premultiply(benchmark, inputs, impl):
    benchmark.group = "premultiply 12MP"
    i = inputs
    if impl == "cuda-dev":
        benchmark(ops.premultiply, i["dev"]["fg"], i["dev"]["a"], backend="cuda")
        _report(benchmark, "premultiply")
    elif impl == "numpy":
        benchmark(lambda: i["fg"] * i["a"][..., None])
    else:
        benchmark(ops.premultiply, i["fg"], i["a"], backend=impl.split("-")[0])


@pytest.mark.parametrize("impl", ["cuda-dev", "cuda-host", "cpu", "numpy"])
def test_pack_rgba(benchmark, inputs, impl):
    benchmark.group = "pack_rgba 12MP"
    i = inputs
    if impl == "cuda-dev":
        benchmark(pack_rgba, i["dev"]["rgb"], i["dev"]["a"], backend="cuda")
        _report(benchmark, "pack_rgba")
    elif impl == "numpy":
        benchmark(lambda: np.dstack([i["rgb"], (np.clip(i["a"], 0, 1) * 255 + 0.5).astype(np.uint8)]))
    else:
        benchmark(pack_rgba, i["rgb"], i["a"], backend=impl.split("-")[0])


@pytest.mark.parametrize("impl", ["cuda-dev", "cuda-host", "cpu", "cv2"])
def test_preprocess_to_320(benchmark, inputs, impl):
    benchmark.group = "preprocess 12MP -> 320x320 fp32"
    i = inputs
    if impl == "cuda-dev":
        benchmark(preprocess, i["dev"]["rgb"], (320, 320), mean=MEAN, std=STD, backend="cuda")
        _report(benchmark, "preprocess_320")
    elif impl == "cv2":
        cv2 = pytest.importorskip("cv2")
        m, s = np.float32(MEAN), np.float32(STD)

        def run():
            x = cv2.resize(i["rgb"], (320, 320), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
            return ((x - m) / s).transpose(2, 0, 1)[None].copy()

        benchmark(run)
    else:
        benchmark(preprocess, i["rgb"], (320, 320), mean=MEAN, std=STD, backend=impl.split("-")[0])


@pytest.mark.parametrize("impl", ["cuda-dev", "cpu"])
def test_preprocess_full_size(benchmark, inputs, impl):
    benchmark.group = "preprocess 12MP -> 12MP fp32"
    i = inputs
    src = i["dev"]["rgb"] if impl == "cuda-dev" else i["rgb"]
    benchmark(preprocess, src, (3000, 4000), mean=MEAN, std=STD, backend=impl.split("-")[0])
    if impl == "cuda-dev":
        _report(benchmark, "preprocess_full")


@pytest.mark.parametrize("impl", ["cuda-dev", "cpu", "cv2"])
def test_guided_filter(benchmark, inputs, impl):
    benchmark.group = "guided_filter 12MP colour r=8 eps=1e-4"
    i = inputs
    if not hasattr(ops, "guided_filter") or not hasattr(alphacut._core, "guided_filter_cuda"):
        pytest.skip("guided_filter is not built")
    if impl == "cuda-dev":
        benchmark(alphacut._core.guided_filter_cuda, i["dev"]["rgb"], i["dev"]["a"], 8, 1e-4)
        _report(benchmark, "guided_filter_rgb")
    elif impl == "cv2":
        cv2 = pytest.importorskip("cv2")
        benchmark(cv2.ximgproc.guidedFilter, i["rgb"], i["a"], 8, 1e-4 * 255 * 255)
    else:
        benchmark(ops.guided_filter, i["rgb"], i["a"], 8, 1e-4, backend="cpu")


@pytest.mark.parametrize("impl", ["cuda-dev", "cpu"])
def test_upscale_alpha(benchmark, inputs, impl):
    benchmark.group = "upscale_alpha 1MP -> 12MP colour"
    i = inputs
    if not hasattr(alphacut._core, "upscale_alpha_cuda"):
        pytest.skip("upscale_alpha is not built")
    low = np.ascontiguousarray(i["a"][::3, ::4][:1000, :1000])
    if impl == "cuda-dev":
        benchmark(alphacut._core.upscale_alpha_cuda, alphacut.device.to_device(low), i["dev"]["rgb"], 2, 1e-4)
        _report(benchmark, "upscale_alpha")
    else:
        benchmark(ops.upscale_alpha, low, i["rgb"], 2, 1e-4, backend="cpu")


# --- estimate_foreground (section owned by the estimate_foreground kernel) ----------------------
# uint8 image, float32 alpha: ~59 B per pixel (csrc/ops/README.md). pymatting's
# estimate_foreground_ml at this size is in bench/test_bench_estimate_foreground.py.
BYTES["estimate_foreground"] = PIXELS * 59


@pytest.mark.parametrize("impl", ["cuda-dev", "cuda-host", "cpu"])
def test_estimate_foreground(benchmark, inputs, impl):
    benchmark.group = "estimate_foreground 12MP"
    i = inputs
    if not hasattr(alphacut._core, "estimate_foreground_cuda"):
        pytest.skip("estimate_foreground kernels are not built")
    if impl == "cuda-dev":
        benchmark(ops.estimate_foreground, i["dev"]["rgb"], i["dev"]["a"], backend="cuda")
        _report(benchmark, "estimate_foreground")
    else:
        benchmark(ops.estimate_foreground, i["rgb"], i["a"], backend=impl.split("-")[0])


# ---- solve_alpha (section owned by the solve_alpha kernel) -------------------------------------


@pytest.mark.parametrize("impl", ["cuda-dev", "cpu"])
def test_solve_alpha(benchmark, impl):
    """One solve on the real composite (lemur on leaves, 440 x 680, 35k unknown pixels, GT trimap),
    tol 1e-3 as the default; prints the time per CG iteration against the per-iteration floor."""
    from conftest import SHARED_DATA
    from PIL import Image

    benchmark.group = "solve_alpha 0.3 MP, 35k unknowns"
    if not hasattr(alphacut._core, "solve_alpha_cuda"):
        pytest.skip("solve_alpha is not built")
    root = SHARED_DATA / "images" / "composites"
    if not (root / "trimap" / "lemur__on_leaves.png").exists():
        pytest.skip(f"real data not present under {root}")
    with Image.open(root / "input" / "lemur__on_leaves.jpg") as im:
        img = np.asarray(im.convert("RGB"), np.float32) / 255
    with Image.open(root / "trimap" / "lemur__on_leaves.png") as im:
        tri = np.asarray(im.convert("L"))
    if impl == "cuda-dev":
        d_img, d_tri = alphacut.device.to_device(img), alphacut.device.to_device(tri)
        _, info = ops.solve_alpha(d_img, d_tri, return_info=True)
        benchmark(ops.solve_alpha, d_img, d_tri)
        med = benchmark.stats.stats.median
        per_it = BYTES["solve_alpha_iteration"] * info["unknown"]
        print(
            f"\nsolve_alpha: median {med * 1e3:.3f} ms for {info['iterations']} iterations, "
            f"{med / max(info['iterations'], 1) * 1e6:.1f} us per iteration; per-iteration floor "
            f"{per_it / H100_BYTES_PER_S * 1e6:.2f} us ({per_it / 1e6:.1f} MB)"
        )
    else:
        benchmark(ops.solve_alpha, img, tri, backend="cpu")
