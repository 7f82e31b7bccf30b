"""``alphacut cut``: cut out files, folders and globs.

    alphacut cut photo.jpg -o photo.png
    alphacut cut shots/ 'more/*.jpg' -o out/ --format webp --mode product
    alphacut cut --sample -o astronaut-cutout.png
    curl -s https://.../photo.jpg | alphacut cut - -o - --format webp > cutout.webp

One failing file is reported and the others go on; the exit code is 0 when every file
succeeded and 1 otherwise. Outputs are written atomically and never over an input. ``-`` is
stdin as the INPUT and stdout as ``-o`` (one image; the default output of stdin).

Short options take their value apart (``-o FILE``) and one option per dash: ``-om`` or ``-oout``
is refused rather than read as ``-o m`` (which once wrote a full cutout into a folder ``m/``).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..pipeline import BACKENDS
from ..runtime import RUNTIMES

if TYPE_CHECKING:
    pass

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".jfif")
_EXT = {"png": ".png", "webp": ".webp", "jpg": ".jpg", "mask": ".png"}


def register(sub) -> None:
    p = sub.add_parser(
        "cut",
        help="cut out the subject of images (files, folders, globs)",
        description="Cut out the subject of images. Several inputs go to a folder given by -o.",
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="image files, folders or glob patterns")
    p.add_argument(
        "-o",
        "--output",
        help="output file (one input) or folder (several inputs); default: <input stem>-cutout.<ext> beside each input",
    )
    p.add_argument("--model", default=None, help="model name (default u2netp; portrait mode prefers a person model)")
    p.add_argument("--model-path", default=None, help="use this model file instead of looking it up")
    p.add_argument("--mode", default="general", choices=("general", "product", "portrait"))
    p.add_argument(
        "--route",
        default="auto",
        choices=("auto", "on", "off"),
        help="run a person segmenter beside the model and use it where the model misses most of a "
        "person (auto: in general mode with the default model)",
    )
    p.add_argument(
        "--person-model-path",
        default=None,
        help="the person segmenter's file (default: mediapipe-selfie from the cache, fetched when missing)",
    )
    p.add_argument(
        "--format",
        dest="fmt",
        default=None,
        choices=("png", "webp", "jpg", "mask"),
        help="output format (default: from the -o extension, else png)",
    )
    p.add_argument(
        "--bg",
        default=None,
        help="background: a colour ('#ffffff', 'r,g,b') or an image file; jpg output is flattened on white by default",
    )
    p.add_argument("--only-mask", action="store_true", help="write the alpha mask only (same as --format mask)")
    p.add_argument("--compress-level", type=int, default=1, help="PNG zlib level 0..9 (default 1: fast)")
    p.add_argument("--quality", type=int, default=None, help="JPEG/WebP quality (default 95 / 90)")
    p.add_argument("--lossless", action="store_true", help="lossless WebP")
    p.add_argument("--no-refine", action="store_true", help="plain mask: skip the matting of the edge")
    p.add_argument("--no-foreground", action="store_true", help="skip the foreground colour estimation")
    p.add_argument("--rembg-compat", action="store_true", help="reproduce rembg's exact masks")
    p.add_argument(
        "--runtime",
        default="onnxruntime",
        choices=RUNTIMES,
        help="network runtime (default onnxruntime; onnxruntime-cuda = ONNX Runtime's CUDA provider)",
    )
    p.add_argument(
        "--backend",
        default=None,
        help="where the kernels after the network run: cpu (default), cuda (kept on the GPU), auto",
    )
    p.add_argument("--ops-backend", default=None, help=argparse.SUPPRESS)  # the old name of --backend
    p.add_argument(
        "--precision", default=None, choices=("fp32", "fp16"), help="default: fp16 for TensorRT, fp32 for ONNX Runtime"
    )
    p.add_argument("--sample", action="store_true", help="cut out a built-in sample image (no data needed)")
    p.add_argument("--timings", action="store_true", help="print per-stage timings (ms) for each file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
    _refuse_clustered_short_options(p)


_NUMBER = re.compile(r"^-\d+(\.\d*)?$")


def _refuse_clustered_short_options(parser: argparse.ArgumentParser) -> None:
    """argparse reads ``-om`` as ``-o m`` and ``-qo`` as ``-q -o``: a mistyped flag silently becomes
    an output path. Refuse any single-dash token longer than two characters that is not itself an
    option (negative numbers pass)."""
    parse = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):
        tokens = list(sys.argv[1:] if args is None else args)
        for t in tokens:
            if t == "--":
                break
            if (
                len(t) > 2
                and t[0] == "-"
                and t[1] != "-"
                and t not in parser._option_string_actions
                and not _NUMBER.match(t)
            ):
                hint = " (rembg's -om is --only-mask here)" if t.startswith("-om") else ""
                parser.error(
                    f"{t!r}: give each short option on its own and its value apart "
                    f"(-o FILE, -q -o FILE), or use the long form (--output=FILE){hint}"
                )
        return parse(args, namespace)

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------


def expand_inputs(specs: List[str]) -> Tuple[List[Path], List[Tuple[str, str]]]:
    """Files from paths, folders (their images, sorted, not recursive) and globs; and the
    (spec, reason) of specs that matched nothing."""
    files: List[Path] = []
    missing: List[Tuple[str, str]] = []
    seen = set()

    def add(p: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            files.append(p)

    for s in specs:
        p = Path(s)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_EXTS)
            if not found:
                missing.append((s, "the folder holds no images"))
            for q in found:
                add(q)
        elif p.is_file():
            add(p)
        elif glob.has_magic(s):
            found = sorted(Path(q) for q in glob.glob(s) if Path(q).is_file())
            if not found:
                missing.append((s, "the pattern matched no file"))
            for q in found:
                add(q)
        else:
            missing.append((s, "no such file or folder"))
    return files, missing


def _format_for(args, out: Optional[Path]) -> str:
    if args.only_mask:
        return "mask"
    if args.fmt:
        return args.fmt
    if out is not None:
        ext = out.suffix.lower()
        if ext in (".jpg", ".jpeg"):
            return "jpg"
        if ext == ".webp":
            return "webp"
    return "png"


def plan_outputs(files: List[Path], output: Optional[str], args) -> List[Tuple[Path, Optional[Path], str]]:
    """(input, output, format) per input; output None is stdout (``-o -``, one input only)."""
    from ..errors import InputError

    if output == "-":
        if len(files) != 1:
            raise InputError(f"-o - (stdout) takes one image, got {len(files)} inputs: give -o a folder")
        return [(files[0], None, _format_for(args, None))]
    plans: List[Tuple[Path, Optional[Path], str]] = []
    out = Path(output) if output else None
    # The output file itself when there is one input and the output names a file.
    single = out if out is not None and len(files) == 1 and not out.is_dir() and out.suffix != "" else None
    if out is not None and single is None:
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: several inputs need an output folder, and this is a file")
        out.mkdir(parents=True, exist_ok=True)
    names: Dict[Path, int] = {}
    for f in files:
        if single is not None:
            fmt = _format_for(args, single)
            plans.append((f, single, fmt))
            continue
        fmt = _format_for(args, None)
        folder = out if out is not None else f.parent
        dst = folder / f"{f.stem}-cutout{_EXT[fmt]}"
        n = names.get(dst, 0)
        names[dst] = n + 1
        if n:
            dst = folder / f"{f.stem}-cutout-{n}{_EXT[fmt]}"
        plans.append((f, dst, fmt))
    return plans


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.bar = None
        self.enabled = enabled and total > 1
        if self.enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="img", file=sys.stderr, leave=True)
            except ImportError:
                self.bar = None

    def update(self, name: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(name[-30:], refresh=False)
            self.bar.update(1)
        else:
            width = 30
            k = int(width * self.done / self.total)
            print(
                f"\r[{'#' * k}{'.' * (width - k)}] {self.done}/{self.total} {name[-30:]:30s}",
                end="" if self.done < self.total else "\n",
                file=sys.stderr,
                flush=True,
            )

    def write(self, msg: str) -> None:
        if self.bar is not None:
            self.bar.write(msg, file=sys.stderr)
        else:
            if self.enabled and self.done:
                print(file=sys.stderr)
            print(msg, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _background(args, shape):
    """The --bg value as a colour tuple or an (H, W, 3) uint8 image of ``shape``."""
    from ..image import decode_image, parse_color

    if args.bg is None:
        return None
    p = Path(args.bg)
    if p.is_file():
        from PIL import Image

        rgb = decode_image(p).rgb
        if rgb.shape[:2] != shape:
            rgb = __import__("numpy").asarray(Image.fromarray(rgb).resize((shape[1], shape[0]), Image.BILINEAR))
        return rgb
    return parse_color(args.bg)


def _route_note(info) -> str:
    """`` route: <model> (signals)`` for --timings, or nothing when the run did not route."""
    r = info.get("route")
    if not r:
        return ""
    sig = r.get("signals")
    if not sig:
        return f" route: {r['model']} ({r['reason']})"
    keys = ("iou", "general_in_person", "person_missed", "person_unsure")
    return f" route: {r['model']} (" + " ".join(f"{k}={sig[k]:.2f}" for k in keys if k in sig) + ")"


def _runtime_and_backend(args) -> Tuple[str, str]:
    """(runtime, backend) from --runtime/--backend, and from the previous release's spellings:
    --backend onnxruntime|tensorrt (now --runtime) and --ops-backend (now --backend)."""
    from ..errors import InputError

    runtime, backend = args.runtime, args.backend
    if backend in ("onnxruntime", "onnxruntime-cuda", "tensorrt"):
        print(f"alphacut: warning: --backend {backend} is deprecated: use --runtime {backend}", file=sys.stderr)
        runtime, backend = backend, None
    if args.ops_backend is not None:
        print(f"alphacut: warning: --ops-backend is deprecated: use --backend {args.ops_backend}", file=sys.stderr)
        backend = args.ops_backend
    backend = backend or "cpu"
    if backend not in BACKENDS:
        raise InputError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return runtime, backend


def _run(args) -> int:
    from .._files import write_atomic
    from ..errors import Error, InputError
    from ..image import encode
    from ..session import Session

    missing: List[Tuple[str, str]] = []
    jobs: List[Tuple[str, Any, Optional[Path], str]]  # (name, source, output or None for stdout, format)
    if args.sample:
        if args.inputs:
            raise InputError("--sample takes no INPUT")
        out = None if args.output == "-" else Path(args.output or "sample-cutout.png")
        from ..pipeline.sample import sample_image

        jobs = [("<sample>", sample_image(), out, _format_for(args, out))]
    elif "-" in args.inputs:
        if len(args.inputs) > 1:
            raise InputError("'-' (stdin) must be the only INPUT")
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("INPUT '-' reads an image from stdin, which is a terminal: pipe one in")
        data = sys.stdin.buffer.read()
        out = None if args.output in (None, "-") else Path(args.output)
        if out is not None and out.is_dir():
            out = out / f"stdin-cutout{_EXT[_format_for(args, None)]}"
        jobs = [("<stdin>", data, out, _format_for(args, out))]
    else:
        if not args.inputs:
            raise InputError("no INPUT given (files, folders or globs), or use --sample")
        files, missing = expand_inputs(args.inputs)
        for spec, why in missing:
            print(f"alphacut: error: {spec}: {why}", file=sys.stderr)
        plans = plan_outputs(files, args.output, args) if files else []
        jobs = [(str(f), f, dst, fmt) for f, dst, fmt in plans]
        if not jobs:
            return 1
    if not 0 <= args.compress_level <= 9:
        raise InputError(f"--compress-level must be 0..9, got {args.compress_level}")
    runtime, backend = _runtime_and_backend(args)
    session = Session(
        args.model,
        mode=args.mode,
        runtime=runtime,
        backend=backend,
        precision=args.precision,
        model_path=args.model_path,
        refine=not args.no_refine,
        foreground=not (args.no_foreground or args.only_mask),
        rembg_compat=args.rembg_compat,
        route={"auto": None, "on": True, "off": False}[args.route],
        person_model_path=args.person_model_path,
    )
    protect = [j[1] for j in jobs if isinstance(j[1], Path)]
    failed = 0 if args.sample else len(missing)
    bar = _Progress(len(jobs), not args.quiet)
    try:
        for name, src, dst, fmt in jobs:
            try:
                t0 = time.perf_counter()
                res = session.run(src, rgba=True, foreground=None if fmt != "mask" else False)
                rgba = res.rgba
                assert rgba is not None, "run(rgba=True) packs the cutout"
                bg = _background(args, rgba.shape[:2])
                t1 = time.perf_counter()
                data = encode(
                    rgba,
                    fmt,
                    compress_level=args.compress_level,
                    background=bg,
                    quality=args.quality,
                    lossless=args.lossless,
                )
                t2 = time.perf_counter()
                if dst is None:
                    sys.stdout.buffer.write(data)
                    sys.stdout.buffer.flush()
                else:
                    write_atomic(dst, data, protect=protect)
                t3 = time.perf_counter()
                if args.timings:
                    tm = dict(res.timings)
                    tm["encode"] = (t2 - t1) * 1000.0
                    tm["write"] = (t3 - t2) * 1000.0
                    parts = " ".join(f"{k}={v:.0f}" for k, v in tm.items())
                    bar.write(
                        f"{name} -> {dst or '<stdout>'}: {(t3 - t0) * 1000:.0f} ms ({parts}){_route_note(res.info)}"
                    )
            except Error as exc:
                failed += 1
                msg = str(exc)
                bar.write(f"alphacut: error: {msg if msg.startswith(name) else f'{name}: {msg}'}")
            except (OSError, MemoryError) as exc:
                failed += 1
                bar.write(f"alphacut: error: {name}: {type(exc).__name__}: {exc}")
            bar.update(name)
    finally:
        bar.close()
    total = len(jobs) + (0 if args.sample else len(missing))
    if total > 1 and not args.quiet:
        print(f"{total - failed}/{total} succeeded", file=sys.stderr)
    return 0 if failed == 0 else 1
