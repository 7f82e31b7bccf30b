"""The ``rembg`` command of the drop-in (``compat/rembg``): rembg 2.0.86's commands and flags on
alphacut.

    rembg i [OPTIONS] [INPUT] [OUTPUT]        a file ("-": stdin / stdout)
    rembg p [OPTIONS] INPUT OUTPUT            a folder (recursive), --watch, --delete_input
    rembg b [OPTIONS] WIDTH HEIGHT            raw RGB24 frames on stdin (ffmpeg -f rawvideo -pix_fmt rgb24)
    rembg s [OPTIONS]                         the HTTP server (when alphacut provides one)
    rembg d [MODELS...]                       download models
    rembg m                                   nothing to migrate: alphacut reads rembg's folders in place

Options of i, p and b: ``-m`` model, ``-a`` alpha matting, ``-af``/``-ab``/``-ae`` its
thresholds and erosion, ``-om`` only the mask, ``-ppm`` post-process the mask, ``-dc``
decontaminate (i, p), ``-vm`` ViTMatte (refused: use ``-a``), ``-bgc R G B A``, ``-x JSON``
extra keywords for the session and ``remove`` (e.g. ``{"providers": ["CUDAExecutionProvider"]}``).

Where it differs from rembg, on purpose: outputs are written atomically and never over an input;
a file that fails is reported on stderr with its name and the exit code is 1; ``-x`` that is not
JSON is an error; ``p --delete_input`` deletes only inputs whose output this run wrote; ``p``
reports two inputs that map to one output name instead of silently skipping the second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import Error

PROG = "rembg"


class _UsageError(Exception):
    pass


def _version_line() -> str:
    from .. import __version__
    from .rembg import REMBG_VERSION

    return f"{PROG}, version {REMBG_VERSION} (alphacut {__version__})"


# ---------------------------------------------------------------------------------------------
# The parser: rembg's option spellings (single-dash multi-letter flags such as -om, -ppm, -bgc)
# ---------------------------------------------------------------------------------------------


def _parser_class(base=argparse.ArgumentParser):
    class Parser(base):
        def error(self, message):  # usage errors: exit 2 with the usage line, as click does
            self.print_usage(sys.stderr)
            self.exit(2, f"{self.prog}: error: {message}\n")

    return Parser


def _common(p: argparse.ArgumentParser, *, decontaminate: bool) -> None:
    from .rembg import REMBG_DEFAULT_MODEL, sessions_names

    p.add_argument(
        "-m",
        "--model",
        default=REMBG_DEFAULT_MODEL,
        choices=sessions_names,
        metavar="MODEL",
        help=f"model name (default {REMBG_DEFAULT_MODEL}; one of: {', '.join(sessions_names)})",
    )
    p.add_argument(
        "-a",
        "--alpha-matting",
        action="store_true",
        help="use alpha matting (alphacut's native band solve on rembg's trimap)",
    )
    p.add_argument(
        "-af", "--alpha-matting-foreground-threshold", type=int, default=240, help="trimap fg threshold (default 240)"
    )
    p.add_argument(
        "-ab", "--alpha-matting-background-threshold", type=int, default=10, help="trimap bg threshold (default 10)"
    )
    p.add_argument("-ae", "--alpha-matting-erode-size", type=int, default=10, help="erode size (default 10)")
    p.add_argument("-om", "--only-mask", action="store_true", help="output only the mask")
    p.add_argument("-ppm", "--post-process-mask", action="store_true", help="post process the mask")
    if decontaminate:
        p.add_argument(
            "-dc",
            "--decontaminate",
            action="store_true",
            help="remove the background color fringing left on soft edges",
        )
    p.add_argument("-vm", "--vitmatte", action="store_true", help="ViTMatte refinement (not supported: use -a)")
    p.add_argument(
        "-bgc",
        "--bgcolor",
        type=int,
        nargs=4,
        default=(0, 0, 0, 0),
        metavar=("R", "G", "B", "A"),
        help="background color (R G B A) to replace the removed background with",
    )
    p.add_argument("-x", "--extras", default=None, help="extra keywords as JSON, for the session and remove()")


def build_parser() -> argparse.ArgumentParser:
    P = _parser_class()
    parser = P(prog=PROG, description="rembg's command line on the alphacut engine.", allow_abbrev=False)
    parser.add_argument("--version", "-V", action="version", version=_version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=P)

    i = sub.add_parser(
        "i",
        help="for a file as input",
        allow_abbrev=False,
        description="Cut out one image: INPUT and OUTPUT are files, '-' for stdin / stdout.",
    )
    _common(i, decontaminate=True)
    interactive = sys.stdin is None or sys.stdin.isatty()
    i.add_argument("input", nargs="?", default=None if interactive else "-", metavar="INPUT")
    i.add_argument("output", nargs="?", default=None if interactive else "-", metavar="OUTPUT")
    i.set_defaults(func=_i_command)

    p = sub.add_parser(
        "p",
        help="for a folder as input",
        allow_abbrev=False,
        description="Cut out every image in INPUT (and its subfolders) into OUTPUT/<name>.png.",
    )
    _common(p, decontaminate=True)
    p.add_argument("-w", "--watch", action="store_true", help="watches a folder for changes")
    p.add_argument("-d", "--delete_input", action="store_true", help="delete input file after processing")
    p.add_argument(
        "--accept-usage-cost",
        action="store_true",
        help="proceed without confirming for models that bill per image (none here)",
    )
    p.add_argument("input", metavar="INPUT")
    p.add_argument("output", metavar="OUTPUT")
    p.set_defaults(func=_p_command)

    b = sub.add_parser(
        "b",
        help="for a byte stream as input",
        allow_abbrev=False,
        description="Cut out raw RGB24 frames of WIDTH x HEIGHT read from stdin "
        "(e.g. ffmpeg -i in.mp4 -f rawvideo -pix_fmt rgb24 -); PNGs to stdout or files.",
    )
    _common(b, decontaminate=False)
    b.add_argument(
        "-o",
        "--output_specifier",
        default=None,
        help="printf-style specifier for output filenames (e.g. 'output-%%d.png')",
    )
    b.add_argument("image_width", type=int, metavar="WIDTH")
    b.add_argument("image_height", type=int, metavar="HEIGHT")
    b.set_defaults(func=_b_command)

    s = sub.add_parser("s", help="for a http server", add_help=False, allow_abbrev=False)
    s.add_argument("--help", action="help", help="show this help message and exit")
    s.add_argument("-p", "--port", type=int, default=7000, help="port (default 7000)")
    s.add_argument("-h", "--host", default="0.0.0.0", help="host (default 0.0.0.0)")
    s.add_argument("-l", "--log_level", default="info", help="log level (default info)")
    s.add_argument("-t", "--threads", type=int, default=None, help="number of worker threads")
    s.add_argument("--no-ui", action="store_true", help="disable the web UI")
    s.set_defaults(func=_s_command)

    d = sub.add_parser("d", help="download models", allow_abbrev=False)
    d.add_argument("models", nargs="*", metavar="MODELS")
    d.set_defaults(func=_d_command)

    m = sub.add_parser(
        "m", help="migrate models from the legacy ~/.u2net directory (nothing to do here)", allow_abbrev=False
    )
    m.add_argument("--dry-run", action="store_true")
    m.add_argument("--delete-source", action="store_true")
    m.add_argument("--clean-orphans", action="store_true")
    m.set_defaults(func=_m_command)
    return parser


# ---------------------------------------------------------------------------------------------
# Shared by i, p and b
# ---------------------------------------------------------------------------------------------

_REMOVE_KEYS = (
    "alpha_matting",
    "alpha_matting_foreground_threshold",
    "alpha_matting_background_threshold",
    "alpha_matting_erode_size",
    "only_mask",
    "post_process_mask",
    "decontaminate",
    "vitmatte",
    "bgcolor",
)


def _options(args) -> Dict[str, Any]:
    """The keywords rembg's commands hand to ``new_session`` and ``remove``: the flags, then
    ``-x`` JSON on top."""
    kw: Dict[str, Any] = {k: getattr(args, k) for k in _REMOVE_KEYS if hasattr(args, k)}
    kw["bgcolor"] = tuple(kw["bgcolor"])
    if args.extras:
        try:
            extra = json.loads(args.extras)
        except ValueError as exc:
            raise _UsageError(f"-x/--extras must be a JSON object: {exc}") from None
        if not isinstance(extra, dict):
            raise _UsageError(f"-x/--extras must be a JSON object, got {args.extras!r}")
        kw.update(extra)
    if kw.get("vitmatte"):
        raise _UsageError("-vm/--vitmatte is not supported by the alphacut engine; use -a (alpha matting)")
    return kw


def _session(model: str, kw: Dict[str, Any]):
    from .rembg import rembg_new_session

    return rembg_new_session(model, **kw)


def _cut(data, session, kw: Dict[str, Any]):
    from .rembg import rembg_remove

    return rembg_remove(data, session=session, **kw)


def _describe(exc: BaseException) -> str:
    msg = str(exc) or type(exc).__name__
    if not isinstance(exc, Error):
        msg = f"{type(exc).__name__}: {msg}"
    return msg


def _stdout_binary():
    return sys.stdout.buffer


# ---------------------------------------------------------------------------------------------
# i: one file
# ---------------------------------------------------------------------------------------------


def _i_command(args) -> int:
    from .._files import write_atomic

    kw = _options(args)
    if args.input is None:
        raise _UsageError("missing argument INPUT (a file, or '-' for stdin)")
    if args.input == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise _UsageError("INPUT '-' reads the image from stdin, which is a terminal; pipe an image in")
        data = sys.stdin.buffer.read()
        src: Optional[Path] = None
    else:
        src = Path(args.input)
        if not src.is_file():
            raise _UsageError(f"Invalid value for 'INPUT': {args.input!r}: No such file")
        data = src.read_bytes()
    out = args.output
    if out is None:
        out = str(src.with_suffix(".out.png")) if src is not None and sys.stdout.isatty() else "-"
    session = _session(args.model, kw)
    try:
        result = _cut(data, session, kw)
    except Exception as exc:  # noqa: BLE001 - one line with the input's name, exit 1
        print(f"{PROG}: error: {args.input}: {_describe(exc)}", file=sys.stderr)
        return 1
    if out == "-":
        w = _stdout_binary()
        w.write(result)
        w.flush()
    else:
        write_atomic(Path(out), result, protect=[src] if src is not None else [])
    return 0


# ---------------------------------------------------------------------------------------------
# p: a folder
# ---------------------------------------------------------------------------------------------


_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x01\x00",
    b"8BPS",
)


def _is_image(path: Path) -> bool:
    """What rembg's ``filetype.guess`` decides: the file starts like an image (its magic bytes),
    whether or not it then decodes (a broken image is reported, not skipped)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    if head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return True
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"avis"):
        return True
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path):
            return True
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False


class _Folder:
    """rembg's ``p``: each image ``INPUT/**/name.ext`` → ``OUTPUT/name.png``, skipped when that
    output exists."""

    def __init__(self, args, session, kw) -> None:
        self.args, self.session, self.kw = args, session, kw
        self.src = Path(args.input)
        self.dst = Path(args.output)
        self.written: Dict[Path, Path] = {}  # output → the input it came from, this run
        self.failed = 0
        self.done = 0

    def process(self, f: Path, *, announce: bool) -> None:
        from .._files import write_atomic

        if f.is_dir() or not f.exists() or not _is_image(f):
            return
        out = (self.dst / f.name).with_suffix(".png")
        prior = self.written.get(out)
        if prior is not None and prior != f:
            print(
                f"{PROG}: skipped {f}: its output {out} was already written from {prior} in this run", file=sys.stderr
            )
            return
        wrote = False
        if not out.exists() or prior == f:
            try:
                data = f.read_bytes()
                result = _cut(data, self.session, dict(self.kw))
                out.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(out, result, protect=[f])
            except Exception as exc:  # noqa: BLE001 - report the file, go on with the others
                self.failed += 1
                print(f"{PROG}: error: {f}: {_describe(exc)}", file=sys.stderr)
                return
            self.written[out] = f
            self.done += 1
            wrote = True
            if announce:
                print(f"processed: {f.absolute()} -> {out.absolute()}", flush=True)
        if self.args.delete_input and wrote:
            try:
                f.unlink()
            except OSError as exc:
                print(f"{PROG}: error: cannot delete {f}: {exc}", file=sys.stderr)


def _p_command(args) -> int:
    src = Path(args.input)
    if not src.is_dir():
        raise _UsageError(f"Invalid value for 'INPUT': Directory {args.input!r} does not exist.")
    dst = Path(args.output)
    if dst.exists() and not dst.is_dir():
        raise _UsageError(f"Invalid value for 'OUTPUT': {args.output!r} is a file.")
    kw = _options(args)
    session = _session(args.model, kw)
    job = _Folder(args, session, kw)
    inputs = sorted(q for q in src.glob("**/*") if not q.is_dir())
    dst_abs = dst.resolve()
    inputs = [q for q in inputs if dst_abs not in q.resolve().parents]  # never the outputs themselves
    listed = {q: _signature(q) for q in inputs}
    bar = None
    if not args.watch and inputs:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(inputs), unit="file", file=sys.stderr, disable=not sys.stderr.isatty())
        except ImportError:
            bar = None
    for f in inputs:
        job.process(f, announce=args.watch)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if args.watch:
        _watch(src, job, listed)
    if job.failed:
        print(f"{PROG}: {job.failed} file(s) failed, {job.done} written", file=sys.stderr)
    return 1 if job.failed else 0


def _signature(q: Path) -> Optional[Tuple[int, int]]:
    try:
        st = q.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _watch(folder: Path, job: _Folder, listed: Dict[Path, Optional[Tuple[int, int]]], poll: float = 0.5) -> None:
    """rembg's ``--watch``: files created or changed in the folder (not its subfolders) after the
    first pass listed them (``listed``) are cut out once their size and time have stopped
    changing; a file named ``stop.txt`` ends the watch (and is removed). Polls the folder: no
    watchdog needed."""
    seen: Dict[Path, Optional[Tuple[int, int]]] = dict(listed)
    pending: Dict[Path, Tuple[int, int]] = {}
    print(f"watching {folder} (create {folder / 'stop.txt'} to stop)", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(poll)
            stop = folder / "stop.txt"
            if stop.exists():
                stop.unlink()
                return
            for q in sorted(folder.iterdir()):
                if not q.is_file():
                    continue
                sig = _signature(q)
                if sig is None or seen.get(q) == sig:
                    continue
                if pending.get(q) == sig:  # unchanged since the last look: complete
                    pending.pop(q)
                    seen[q] = sig
                    job.process(q, announce=True)
                else:
                    pending[q] = sig
    except KeyboardInterrupt:
        return


# ---------------------------------------------------------------------------------------------
# b: raw RGB24 frames on stdin
# ---------------------------------------------------------------------------------------------


def _read_exactly(stream, n: int) -> bytes:
    parts: List[bytes] = []
    got = 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _b_command(args) -> int:
    from PIL import Image

    from .._files import write_atomic

    w, h = args.image_width, args.image_height
    if w <= 0 or h <= 0:
        raise _UsageError(f"WIDTH and HEIGHT must be positive, got {w} x {h}")
    spec = args.output_specifier
    if spec is not None:
        try:
            spec % 0
        except (TypeError, ValueError):
            raise _UsageError(
                f"-o/--output_specifier needs one printf integer field such as %d, got {spec!r}"
            ) from None
        Path(os.path.abspath(os.path.expanduser(spec % 0))).parent.mkdir(parents=True, exist_ok=True)
    if sys.stdin is None or sys.stdin.isatty():
        raise _UsageError(
            "b reads raw RGB24 frames from stdin, which is a terminal; pipe them in "
            "(ffmpeg -i in.mp4 -f rawvideo -pix_fmt rgb24 - | rembg b W H ...)"
        )
    kw = _options(args)
    session = _session(args.model, kw)
    frame = w * h * 3
    stream = sys.stdin.buffer
    out = _stdout_binary()
    idx = 0
    while True:
        data = _read_exactly(stream, frame)
        if len(data) < frame:
            if data:
                print(
                    f"{PROG}: warning: {len(data)} trailing bytes are not a whole {w}x{h} RGB24 frame "
                    f"({frame} bytes); ignored after {idx} frame(s)",
                    file=sys.stderr,
                )
            break
        img = Image.frombytes("RGB", (w, h), data)
        try:
            result = _cut(img, session, dict(kw, force_return_bytes=True))
        except Exception as exc:  # noqa: BLE001 - a frame that fails ends the stream with the reason
            print(f"{PROG}: error: frame {idx}: {_describe(exc)}", file=sys.stderr)
            return 1
        if spec is not None:
            write_atomic(Path(os.path.expanduser(spec % idx)), result)
        else:
            out.write(result)
            out.flush()
        idx += 1
    return 0


# ---------------------------------------------------------------------------------------------
# s, d, m
# ---------------------------------------------------------------------------------------------


def _s_command(args) -> int:
    """The HTTP server: alphacut's, when ``alphacut.server`` provides ``serve_rembg``."""
    from .. import server

    serve = getattr(server, "serve_rembg", None)
    if serve is None:
        print(
            f"{PROG} s: the HTTP server is not part of this alphacut release yet (alphacut.server has no "
            "serve_rembg). Use the Python API (rembg.remove) or the i / p / b commands meanwhile.",
            file=sys.stderr,
        )
        return 1
    return int(
        serve(host=args.host, port=args.port, log_level=args.log_level, threads=args.threads, no_ui=args.no_ui) or 0
    )


def _d_command(args) -> int:
    from .rembg import download_models

    download_models(tuple(args.models))
    return 0


def _m_command(args) -> int:
    print(
        f"{PROG} m: nothing to migrate: alphacut reads models in place from the legacy ~/.u2net "
        "($U2NET_HOME) and from ~/.rembg ($REMBG_HOME)."
    )
    return 0


# ---------------------------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Optional[Callable] = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        return int(func(args) or 0)
    except _UsageError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (Error, ValueError, OSError) as exc:
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def run() -> None:  # console-script entry point
    sys.exit(main())
