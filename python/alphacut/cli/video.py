"""``alphacut video``: cut out the subject of every frame of a video.

    alphacut video clip.mp4 -o cutout.webm                  # VP9 with alpha
    alphacut video clip.mp4 -o cutout.mov                   # ProRes 4444 with alpha
    alphacut video clip.mp4 -o frames/                      # a PNG sequence (RGBA), audio in audio.mka
    alphacut video clip.mp4 -o green.mp4 --bg '#00b140'     # H.264 on a colour (or --bg image.jpg)

Frames are matted in batches, their alpha stabilised over time where the picture did not change
(``--no-stabilise`` turns it off), the audio copied. The flicker figure before and after the
stabiliser is printed at the end. The output appears complete or not at all. Needs PyAV:
``pip install "alphacut[video]"``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..pipeline import BACKENDS
from ..runtime import RUNTIMES

FORMAT_CHOICES = ("mp4", "mkv", "webm", "mov", "png")


def register(sub) -> None:
    p = sub.add_parser(
        "video",
        help="cut out the subject of a video (alpha video, PNG sequence, or a new background)",
        description="Cut out the subject of every frame of a video, with temporal stabilisation of the alpha. "
        'Needs PyAV: pip install "alphacut[video]".',
    )
    p.add_argument("input", metavar="INPUT", help="the video file")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output: .webm (VP9 + alpha), .mov (ProRes 4444 + alpha), .mp4/.mkv (H.264, on --bg), or a folder "
        "(PNG sequence)",
    )
    p.add_argument(
        "--format", dest="fmt", default=None, choices=FORMAT_CHOICES, help="output format (default: from -o)"
    )
    p.add_argument(
        "--bg",
        default=None,
        help="new background: a colour ('#ffffff', 'r,g,b') or an image file (default: keep the alpha where the "
        "format has one, else white)",
    )
    p.add_argument("--batch", type=int, default=4, help="frames per network call (default 4)")
    p.add_argument("--no-stabilise", action="store_true", help="use each frame's alpha as the network gives it")
    p.add_argument(
        "--strength", type=float, default=0.7, help="temporal stabilisation strength in [0, 1) (default 0.7)"
    )
    p.add_argument("--no-audio", action="store_true", help="drop the audio")
    p.add_argument("--crf", type=int, default=None, help="quality of H.264 / VP9 (lower is better; 18 / 24 by default)")
    p.add_argument("--model", default=None, help="model name (default u2netp)")
    p.add_argument("--model-path", default=None, help="use this model file instead of looking it up")
    p.add_argument("--mode", default="general", choices=("general", "product", "portrait"))
    p.add_argument(
        "--route",
        default="auto",
        choices=("auto", "on", "off"),
        help="run a person segmenter beside the model (as alphacut cut)",
    )
    p.add_argument("--person-model-path", default=None, help="the person segmenter's file")
    p.add_argument("--no-refine", action="store_true", help="plain mask: skip the matting of the edge")
    p.add_argument("--runtime", default="onnxruntime", choices=RUNTIMES, help="network runtime (default onnxruntime)")
    p.add_argument("--backend", default="cpu", choices=BACKENDS, help="where the kernels after the network run")
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16"))
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..errors import InputError
    from ..image import parse_color
    from ..session import Session
    from ..video import TemporalStabiliser, require_av
    from ..video.loop import process_video

    require_av()
    src = Path(args.input)
    if not src.is_file():
        raise InputError(f"{args.input}: no such file")
    out = Path(args.output)
    if out.exists() and os.path.realpath(out) == os.path.realpath(src):
        raise InputError(f"{args.output}: the output would overwrite the input")
    if args.batch < 1:
        raise InputError(f"--batch must be at least 1, got {args.batch}")
    if not 0.0 <= args.strength < 1.0:
        raise InputError(f"--strength must be in [0, 1), got {args.strength}")
    bg = None
    if args.bg is not None:
        bg = Path(args.bg) if Path(args.bg).is_file() else parse_color(args.bg)
    session = Session(
        args.model,
        mode=args.mode,
        runtime=args.runtime,
        backend=args.backend,
        precision=args.precision,
        model_path=args.model_path,
        refine=not args.no_refine,
        route={"auto": None, "on": True, "off": False}[args.route],
        person_model_path=args.person_model_path,
    )
    show = not args.quiet and sys.stderr.isatty()

    def progress(n: int) -> None:
        if show:
            print(f"\r{n} frames", end="", file=sys.stderr, flush=True)

    stabiliser = False if args.no_stabilise else TemporalStabiliser(args.strength)
    res = process_video(
        src,
        args.output,
        session,
        fmt=args.fmt,
        background=bg,
        batch=args.batch,
        stabilise=stabiliser,
        audio=not args.no_audio,
        crf=args.crf,
        progress=progress,
    )
    if show:
        print("", file=sys.stderr)
    what = "alpha" if res.alpha else "flattened"
    print(
        f"{args.input} -> {args.output}: {res.frames} frames in {res.seconds:.1f} s ({res.fps:.2f} frames/s), "
        f"{res.format} {what}, audio: {res.audio} (matting {res.timings['matte']:.1f} s, "
        f"stabiliser {res.timings['stabilise']:.1f} s)",
        file=sys.stderr,
    )
    if res.declared_frames and res.frames < res.declared_frames - max(1, res.declared_frames // 50):
        print(
            f"alphacut: warning: {args.input}: {res.frames} frames decoded of the {res.declared_frames} the file "
            "declares (a truncated or damaged file?)",
            file=sys.stderr,
        )
    if len(res.flicker) == 2:
        before, after = res.flicker
        drop = f" ({(1 - after / before) * 100:.0f} % less)" if before > 0 else ""
        print(
            f"flicker (mean |a_t - a_t-1| where the colour did not change, camera shift followed): "
            f"{before:.5f} before, {after:.5f} after stabilisation{drop}; pixel against pixel (true motion "
            f"counted too): {res.flicker_in_place[0]:.5f} before, {res.flicker_in_place[1]:.5f} after",
            file=sys.stderr,
        )
    elif res.flicker:
        print(f"flicker (mean |a_t - a_t-1| where the colour did not change): {res.flicker[0]:.5f}", file=sys.stderr)
    return 0
