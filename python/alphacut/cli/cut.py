"""``alphacut cut``: cut out files, folders and globs, or serve a drop folder.

    alphacut cut photo.jpg -o photo.png
    alphacut cut shots/ 'more/*.jpg' -o out/ --format webp --mode product
    alphacut cut shots/ -o out/ --crop --margin 5% --shadow --bg studio.jpg --fit cover
    alphacut cut inbox/ -o done/ --watch
    alphacut cut --sample -o astronaut-cutout.png
    curl -s https://.../photo.jpg | alphacut cut - -o - --format webp > cutout.webp

Folders are read recursively and their structure is kept under ``-o OUT`` (``<stem>.<ext>``);
without ``-o`` each output goes beside its input as ``<stem>-cutout.<ext>``. Outputs that exist
are skipped unless ``--overwrite``. Symbolic links and files that are not images are reported
and skipped. Decoding, the network and encoding overlap across images. One failing file is
reported and the others go on; a summary lists the failures, and the exit code is 0 when every
file succeeded and 1 otherwise. Outputs are written atomically and never over an input: an
interrupted run leaves no partial file. ``-`` is stdin as the INPUT and stdout as ``-o`` (one
image; the default output of stdin).

Short options take their value apart (``-o FILE``) and one option per dash: ``-om`` or ``-oout``
is refused rather than read as ``-o m`` (which once wrote a full cutout into a folder ``m/``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from ..pipeline import BACKENDS
from ..runtime import RUNTIMES
from .cut_batch import Decoded, Job, Progress, Runner, json_safe
from .cut_files import EXT as _EXT
from .cut_files import IMAGE_EXTS, Source, Watcher, collect, plan

__all__ = ["register", "IMAGE_EXTS", "expand_inputs"]


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
        help="output file (one input) or folder (several inputs; folders keep their structure under it, "
        "outputs named <stem>.<ext>); default: <stem>-cutout.<ext> beside each input",
    )
    p.add_argument("--overwrite", action="store_true", help="replace outputs that exist (default: skip those inputs)")
    p.add_argument(
        "--watch",
        action="store_true",
        help="after the inputs, keep serving the INPUT folders: cut each new or changed image once it has been "
        "written completely; stop with Ctrl-C or SIGTERM (exit 0)",
    )
    p.add_argument("--watch-interval", type=float, default=0.5, help="seconds between scans of a watched folder")
    p.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="--watch: seconds a file's size and time must stay unchanged before it is read (default 1)",
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
        choices=("png", "webp", "avif", "jpg", "mask"),
        help="output format (default: from the -o extension, else png)",
    )
    p.add_argument(
        "--bg",
        default=None,
        help="background: a colour ('#ffffff', 'r,g,b') or an image file; jpg output is flattened on white by default",
    )
    p.add_argument("--fit", default="cover", choices=("cover", "contain", "stretch"), help="how a --bg image fits")
    p.add_argument("--crop", action="store_true", help="crop the output to the subject's box (pixels with alpha > 0)")
    p.add_argument(
        "--margin", default=None, help="--crop: room around the subject, pixels (20) or %% of its longer side (5%%)"
    )
    p.add_argument("--shadow", action="store_true", help="a soft drop shadow from the alpha under the subject")
    p.add_argument(
        "--debug",
        default=None,
        metavar="DIR",
        help="write the coarse mask, the trimap and per-stage timings (JSON) of each image under DIR",
    )
    p.add_argument(
        "--io-threads",
        type=int,
        default=2,
        help="threads decoding and threads encoding while the network runs (0: one image at a time)",
    )
    p.add_argument("--only-mask", action="store_true", help="write the alpha mask only (same as --format mask)")
    p.add_argument("--compress-level", type=int, default=1, help="PNG zlib level 0..9 (default 1: fast)")
    p.add_argument("--quality", type=int, default=None, help="JPEG/WebP/AVIF quality (default 95 / 90 / 80)")
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
    """Files from paths, folders (recursive) and globs; and the (spec, reason) of specs that
    matched nothing."""
    found = collect(specs)
    return [x.path for x in found.sources], found.missing


def _format_for(args, out: Optional[Path]) -> str:
    if args.only_mask:
        return "mask"
    if args.fmt:
        return args.fmt
    if out is not None:
        ext = out.suffix.lower()
        if ext in (".jpg", ".jpeg"):
            return "jpg"
        if ext in (".webp", ".avif"):
            return ext[1:]
    return "png"


def _background(args):
    """The --bg value: None, a colour tuple, or the decoded image (read once, before any input)."""
    from ..errors import Error, InputError
    from ..image import decode_image, parse_color

    if args.bg is None:
        return None
    p = Path(args.bg)
    if p.is_file():
        try:
            return decode_image(p).rgb
        except Error as exc:
            raise InputError(f"--bg: {exc}") from None
    if p.suffix.lower() in IMAGE_EXTS or "/" in args.bg:
        raise InputError(f"--bg: {args.bg}: no such image file")
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


def _check_options(args) -> None:
    from ..errors import InputError
    from ..image.effects import parse_margin

    if not 0 <= args.compress_level <= 9:
        raise InputError(f"--compress-level must be 0..9, got {args.compress_level}")
    if args.margin is not None and not args.crop:
        raise InputError("--margin is the room around the subject with --crop: add --crop")
    parse_margin(args.margin)
    if args.io_threads < 0:
        raise InputError(f"--io-threads must be >= 0, got {args.io_threads}")
    if _format_for(args, None) == "mask" and (args.shadow or args.bg is not None):
        raise InputError("--shadow and --bg make an image: they do not apply to the mask (--only-mask, --format mask)")
    if args.watch:
        if args.sample or not args.inputs or any(not Path(s).is_dir() for s in args.inputs):
            raise InputError("--watch serves folders: give one or more INPUT folders")
        if args.output in (None, "-"):
            raise InputError("--watch needs -o OUT, the folder the cutouts go to")
        if args.watch_interval <= 0 or args.settle < 0:
            raise InputError("--watch-interval must be > 0 and --settle >= 0")
    if args.output not in (None, "-"):
        out = Path(args.output).resolve()
        for s in args.inputs:
            if s != "-" and Path(s).is_dir() and Path(s).resolve() == out:
                raise InputError(
                    f"-o {args.output} is the input folder itself: give another folder, or no -o to write "
                    "<stem>-cutout files beside the inputs"
                )


class _Finisher:
    """The per-image work after the network, on a worker thread: crop, shadow, background, encode,
    write atomically, the debug files and the --timings line."""

    def __init__(self, args, bg, inputs: set) -> None:
        self.args = args
        self.bg = bg
        self.inputs = inputs  # the real paths of every input: never written over

    def __call__(self, job: Job, decoded: Decoded, res) -> Optional[str]:
        import time

        import numpy as np

        from .._files import write_atomic
        from ..errors import InputError
        from ..image import encode
        from ..image.effects import crop_to_subject, drop_shadow, fit_background, over

        args = self.args
        t1 = time.perf_counter()
        rgba = res.rgba
        assert rgba is not None, "run(rgba=True) packs the cutout"
        bg = self.bg
        if args.crop:
            rgba, _ = crop_to_subject(rgba, args.margin)
        if job.fmt != "mask":
            if args.shadow:
                rgba = drop_shadow(rgba)
            if isinstance(bg, np.ndarray):
                rgba = over(rgba, fit_background(bg, rgba.shape[:2], args.fit))
                bg = None
        data = encode(
            rgba,
            job.fmt,
            compress_level=args.compress_level,
            background=bg,
            quality=args.quality,
            lossless=args.lossless,
            icc_profile=decoded.icc,
        )
        t2 = time.perf_counter()
        if job.dst is None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            if os.path.realpath(job.dst) in self.inputs:
                raise InputError(f"{job.dst}: refusing to write over an input file; choose another output name")
            if job.make_parents:
                job.dst.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(job.dst, data, protect=[job.src] if isinstance(job.src, Path) else [])
        t3 = time.perf_counter()
        tm = dict(res.timings)
        tm["finish"] = (t2 - t1) * 1000.0
        tm["write"] = (t3 - t2) * 1000.0
        if args.debug:
            self._debug(job, res, tm)
        if args.timings:
            parts = " ".join(f"{k}={v:.0f}" for k, v in tm.items())
            return f"{job.name} -> {job.dst or '<stdout>'}: {sum(tm.values()):.0f} ms ({parts}){_route_note(res.info)}"
        if args.watch and not args.quiet:
            return f"{job.name} -> {job.dst}"
        return None

    def _debug(self, job: Job, res, tm) -> None:
        import json

        import numpy as np

        from .._files import write_atomic
        from ..image import encode_png

        base = Path(self.args.debug) / job.rel.parent
        base.mkdir(parents=True, exist_ok=True)
        stem = job.rel.stem
        if res.probability is not None:
            p = np.clip(np.asarray(res.probability, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
            write_atomic(base / f"{stem}.coarse.png", encode_png(p))
        if res.trimap is not None:
            write_atomic(base / f"{stem}.trimap.png", encode_png(np.ascontiguousarray(res.trimap, np.uint8)))
        doc = {
            "input": job.name,
            "output": str(job.dst) if job.dst else "<stdout>",
            "timings_ms": {k: round(float(v), 3) for k, v in tm.items()},
            "info": json_safe(dict(res.info)),
        }
        write_atomic(base / f"{stem}.timings.json", (json.dumps(doc, indent=1) + "\n").encode())


class _SignalsInterrupt:
    """SIGTERM raises KeyboardInterrupt in the main thread (as Ctrl-C does), so a stopped run
    unwinds through the atomic writes instead of dying between a temporary file and its rename."""

    def __enter__(self):
        import signal
        import threading

        self.old = None
        if threading.current_thread() is threading.main_thread():

            def handler(signum, frame):
                raise KeyboardInterrupt

            self.old = signal.signal(signal.SIGTERM, handler)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)


def _plan_jobs(args, sources: List[Source], single_file: bool, taken, force: bool) -> Tuple[List[Job], int]:
    """Jobs for ``sources``, and how many were skipped because their output exists."""
    jobs, existing = [], 0
    for pl in plan(sources, args.output, lambda o: _format_for(args, o), single_file=single_file, taken=taken):
        if pl.dst is not None and not (force or args.overwrite or pl.named_by_user) and pl.dst.exists():
            existing += 1
            continue
        jobs.append(
            Job(str(pl.source.path), pl.source.path, pl.dst, pl.fmt, pl.source.rel, make_parents=not pl.named_by_user)
        )
    return jobs, existing


def _max_batch(session) -> int:
    """Images per ``run_batch`` call: what one network call takes (1 for u2netp's fixed batch), at most 4."""
    from ..pipeline.pipeline import batch_limit

    pipe = session.pipeline
    try:
        return max(1, min(4, batch_limit(pipe.runtime, pipe.manifest.input.name)))
    except (AttributeError, TypeError, ValueError):  # a runtime that does not describe its inputs
        return 1


def _run(args) -> int:
    import time

    from ..errors import InputError
    from ..session import Session

    _check_options(args)
    missing: List[Tuple[str, str]] = []
    skipped: List[Tuple[str, str]] = []
    existing = 0
    taken: dict = {}
    sources: List[Source] = []
    exclude = [Path(p) for p in (args.output, args.debug) if p not in (None, "-")]
    jobs: List[Job]
    if args.sample:
        if args.inputs:
            raise InputError("--sample takes no INPUT")
        out = None if args.output == "-" else Path(args.output or "sample-cutout.png")
        from ..pipeline.sample import sample_image

        jobs = [Job("<sample>", sample_image(), out, _format_for(args, out), Path("sample"))]
    elif "-" in args.inputs:
        if len(args.inputs) > 1:
            raise InputError("'-' (stdin) must be the only INPUT")
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("INPUT '-' reads an image from stdin, which is a terminal: pipe one in")
        data = sys.stdin.buffer.read()
        out = None if args.output in (None, "-") else Path(args.output)
        if out is not None and out.is_dir():
            out = out / f"stdin-cutout{_EXT[_format_for(args, None)]}"
        jobs = [Job("<stdin>", data, out, _format_for(args, out), Path("stdin"))]
    else:
        if not args.inputs:
            raise InputError("no INPUT given (files, folders or globs), or use --sample")
        found = collect(args.inputs, exclude, beside=args.output is None)
        missing, skipped, sources = found.missing, found.skipped, found.sources
        if args.watch:  # an empty drop folder is served, not an error
            missing = [(spec, why) for spec, why in missing if not Path(spec).is_dir()]
        for spec, why in missing:
            print(f"alphacut: error: {spec}: {why}", file=sys.stderr)
        for path, why in skipped:
            print(f"alphacut: skipped: {path}: {why}", file=sys.stderr)
        single = len(sources) == 1 and not args.watch  # then -o x.png names the output file
        jobs, existing = _plan_jobs(args, sources, single, taken, force=False) if sources else ([], 0)
        if not jobs and not args.watch:
            if existing and not missing:
                if not args.quiet:
                    print(f"{existing} skipped: their outputs exist (--overwrite replaces them)", file=sys.stderr)
                return 0
            return 1
    bg = _background(args)
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
    inputs = {os.path.realpath(j.src) for j in jobs if isinstance(j.src, Path)}
    bar = Progress(None if args.watch else len(jobs), not args.quiet and not args.watch)
    runner = Runner(
        session, _Finisher(args, bg, inputs), io_threads=args.io_threads, max_batch=_max_batch(session), progress=bar
    )
    stopped = False
    with _SignalsInterrupt():
        try:
            if args.watch:
                watcher = Watcher([Path(s) for s in args.inputs], exclude, settle=args.settle)
                watcher.mark_done(s.path for s in sources)
            runner.run(jobs)
            if args.watch:
                bar.close()
                if not args.quiet:
                    print(f"alphacut: watching {', '.join(args.inputs)} (Ctrl-C or SIGTERM stops)", file=sys.stderr)
                while True:
                    time.sleep(args.watch_interval)
                    ready, new_skips = watcher.poll()
                    for path, why in new_skips:
                        print(f"alphacut: skipped: {path}: {why}", file=sys.stderr)
                    if ready:
                        more, _ = _plan_jobs(args, ready, False, taken, force=True)
                        inputs.update(os.path.realpath(j.src) for j in more)
                        runner.run(more)
        except KeyboardInterrupt:
            if not args.watch:
                raise
            stopped = True
        finally:
            runner.close()
            bar.close()
    t = runner.tally
    failed = len(t.failures) + (0 if args.sample else len(missing))
    total = t.done + failed
    if not args.quiet and (total > 1 or existing or skipped or args.watch):
        rate = t.done / t.seconds if t.seconds > 0 else 0.0
        line = f"{t.done}/{total} succeeded in {t.seconds:.1f} s ({rate:.2f} images/s)"
        if existing:
            line += f"; {existing} skipped: their outputs exist (--overwrite replaces them)"
        if skipped:
            line += f"; {len(skipped)} not cut (links, not images)"
        print(line, file=sys.stderr)
        if failed:
            print("failed:", file=sys.stderr)
            for spec, why in missing:
                print(f"  {spec}: {why}", file=sys.stderr)
            for _, msg in t.failures:
                print(f"  {msg}", file=sys.stderr)
    if stopped:
        if not args.quiet:
            print("alphacut: stopped watching", file=sys.stderr)
        return 0
    return 0 if failed == 0 else 1
