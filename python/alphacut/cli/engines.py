"""``alphacut engines build | list | clear | check``: TensorRT engines and their FP16 accuracy.

- ``build --model NAME [--precision fp16|fp32] [--max-batch N]``: build (or find) the engine in
  the cache, as the TensorRT runtime would; needs TensorRT and a GPU.
- ``list`` / ``clear``: the engine cache (``~/.cache/alphacut/engines``, ``ALPHACUT_HOME``).
- ``check --model NAME --precision fp16``: the FP16 ONNX a strongly typed engine is built from,
  run by ONNX Runtime on the CPU against the FP32 model on sample images: mask IoU (probability
  >= 0.5) and mean absolute difference of the probability; exit 1 when an image's IoU is below
  ``--min-iou`` (0.99) or its mean difference above ``--max-mean-diff`` (0.01). No GPU needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from ..errors import BackendUnavailableError, InputError, ModelError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def register(sub):
    p = sub.add_parser(
        "engines",
        help="build, list, clear and check TensorRT engines",
        description="TensorRT engines: build one into the cache, list or clear the cache, or check FP16 accuracy.",
    )
    esub = p.add_subparsers(dest="engines_command", metavar="ACTION")

    b = esub.add_parser("build", help="build the TensorRT engine of a model into the cache (needs TensorRT + GPU)")
    b.add_argument("--model", required=True, help="a model name (alphacut models list) or an ONNX file of one")
    b.add_argument("--precision", choices=("fp16", "fp32"), help="default: the model's build spec (fp16)")
    b.add_argument("--max-batch", type=int, help="the largest batch of the optimisation profiles")
    b.add_argument("--cache", type=Path, help="engine cache folder (default ~/.cache/alphacut/engines)")
    b.set_defaults(func=_build)

    ls = esub.add_parser("list", help="the engines in the cache")
    ls.add_argument("--cache", type=Path, help="engine cache folder")
    ls.add_argument("--json", action="store_true", help="JSON instead of a table")
    ls.set_defaults(func=_list)

    cl = esub.add_parser("clear", help="delete every engine in the cache")
    cl.add_argument("--cache", type=Path, help="engine cache folder")
    cl.set_defaults(func=_clear)

    ck = esub.add_parser("check", help="FP16 against FP32 on ONNX Runtime (CPU): mask IoU and mean difference")
    ck.add_argument("--model", required=True, help="a model name or an ONNX file of one")
    ck.add_argument("--precision", choices=("fp16",), default="fp16", help="the precision checked (fp16)")
    ck.add_argument("--images", nargs="+", type=Path, help="image files or folders (default: the built-in sample)")
    ck.add_argument("--min-iou", type=float, default=0.99, help="fail below this mask IoU (default 0.99)")
    ck.add_argument("--max-mean-diff", type=float, default=0.01, help="fail above this mean |diff| (default 0.01)")
    ck.add_argument("--threads", type=int, help="ONNX Runtime threads")
    ck.add_argument("--json", type=Path, help="also write the per-image figures to this JSON file")
    ck.set_defaults(func=_check)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _model(spec: str):
    """(manifest, ONNX path) for a model name or a file of a known model."""
    from ..models import get_manifest, identify, resolve_model
    from ..models.zoo import _BY_NAME

    if spec in _BY_NAME:
        m = get_manifest(spec)
        return m, resolve_model(m, download=True)
    p = Path(spec)
    if not p.is_file():
        raise ModelError(f"{spec!r} is neither a known model name nor a file; see `alphacut models list`")
    found = identify(p)
    if found is None:
        raise ModelError(f"{p} matches no known model's hash: its manifest (input, output) is unknown")
    return found, p


def _cache(args):
    from ..runtime.trt.cache import EngineCache, engine_cache_dir

    return EngineCache(args.cache or engine_cache_dir())


def _build(args) -> int:
    from ..runtime import tensorrt_unavailable_reason
    from ..runtime.trt.loader import CachedEngine
    from ..runtime.trt.spec import load_build_spec

    reason = tensorrt_unavailable_reason()
    if reason is not None:
        raise BackendUnavailableError(f"cannot build TensorRT engines here: {reason}")
    m, path = _model(args.model)
    spec = load_build_spec(m, args.precision)
    if args.max_batch is not None:
        spec = spec.with_max_batch(args.max_batch)
    cached = CachedEngine(path, m, spec=spec, cache=_cache(args))
    cached.deserialize()
    assert cached.key is not None
    side = cached.cache.sidecar(cached.key) or {}
    print(
        f"{m.name}: {spec.precision} engine, max batch {spec.max_batch}, TensorRT {side.get('tensorrt')}, "
        f"{side.get('gpu')} (sm {side.get('compute_capability')}): {cached.cache.path(cached.key)}"
    )
    return 0


def _list(args) -> int:
    cache = _cache(args)
    ents = cache.entries()
    if args.json:
        print(json.dumps(ents, indent=2, sort_keys=True))
        return 0
    if not ents:
        print(f"no engines in {cache.root}")
        return 0
    print(f"{len(ents)} engine(s) in {cache.root}")
    for e in ents:
        print(
            f"{e['key']}  {e.get('model', '?'):22s} {e.get('precision', '?'):5s} TensorRT {e.get('tensorrt', '?'):12s} "
            f"{e.get('gpu', '?')} (sm {e.get('compute_capability', '?')})  {e['bytes'] / 2**20:.1f} MiB  "
            f"{e.get('built_at', '')}"
        )
    return 0


def _clear(args) -> int:
    cache = _cache(args)
    n = cache.clear()
    print(f"deleted {n} engine(s) from {cache.root}")
    return 0


def _images(paths: Optional[List[Path]]) -> List[Tuple[str, np.ndarray]]:
    from ..image import decode_image
    from ..pipeline.sample import sample_image

    if not paths:
        return [("sample", sample_image())]
    files: List[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES))
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"{p}: no such image file or folder")
    if not files:
        raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(map(str, paths))}")
    out = []
    for f in files:
        out.append((str(f), decode_image(f.read_bytes()).rgb))
    return out


def check_fp16(manifest, path, images: List[Tuple[str, np.ndarray]], threads: Optional[int] = None) -> List[dict]:
    """Per image: mask IoU (probability >= 0.5) and mean / max |diff| of the probability between
    the FP32 model and its FP16 conversion for TensorRT, both on ONNX Runtime (CPU)."""
    from ..pipeline.network import preprocess, read_probability
    from ..runtime.fp16 import convert_for_tensorrt
    from ..runtime.onnxruntime import OrtRuntime

    spec = manifest.input
    rows = []
    with (
        OrtRuntime(path, threads=threads) as r32,
        OrtRuntime(convert_for_tensorrt(path), threads=threads, optimization="none") as r16,
    ):
        name = spec.name or r32.input_names[0]
        for label, rgb in images:
            if rgb.ndim == 3 and rgb.shape[2] == 4:
                rgb = np.ascontiguousarray(rgb[..., :3])
            x = preprocess(rgb, spec)
            p32 = read_probability(r32.infer({name: x}), manifest.output, spec.layout, r32.output_names)
            p16 = read_probability(r16.infer({name: x}), manifest.output, spec.layout, r16.output_names)
            m32, m16 = p32 >= 0.5, p16 >= 0.5
            union = int(np.count_nonzero(m32 | m16))
            iou = 1.0 if union == 0 else float(np.count_nonzero(m32 & m16)) / union
            d = np.abs(p32.astype(np.float64) - p16.astype(np.float64))
            rows.append({"image": label, "iou": iou, "mean_diff": float(d.mean()), "max_diff": float(d.max())})
    return rows


def _check(args) -> int:
    m, path = _model(args.model)
    images = _images(args.images)
    rows = check_fp16(m, path, images, threads=args.threads)
    bad = [r for r in rows if r["iou"] < args.min_iou or r["mean_diff"] > args.max_mean_diff]
    print(f"{m.name} ({path}): FP16 ONNX (for TensorRT) vs FP32, ONNX Runtime CPU, {len(rows)} image(s)")
    print(f"{'image':60s} {'IoU':>8s} {'mean|d|':>9s} {'max|d|':>8s}")
    for r in rows:
        flag = "  FAIL" if r in bad else ""
        print(f"{Path(r['image']).name:60s} {r['iou']:8.5f} {r['mean_diff']:9.6f} {r['max_diff']:8.4f}{flag}")
    ious = [r["iou"] for r in rows]
    means = [r["mean_diff"] for r in rows]
    print(f"{'worst':60s} {min(ious):8.5f} {max(means):9.6f} {max(r['max_diff'] for r in rows):8.4f}")
    if args.json:
        args.json.write_text(json.dumps({"model": m.name, "file": str(path), "images": rows}, indent=2) + "\n")
    if bad:
        print(
            f"alphacut: error: {len(bad)} image(s) below IoU {args.min_iou} or above mean difference "
            f"{args.max_mean_diff}",
            file=sys.stderr,
        )
        return 1
    return 0
