"""``alphacut bench``: end-to-end and per-stage latency, throughput and peak memory at 1 MP, 4K and
12 MP on this machine, printed as a table with the machine it ran on; optionally JSON, a markdown
results file and a chart. See bench/README.md for how to read the figures."""

from __future__ import annotations

import shlex
import sys
from typing import Dict


def register(sub):
    p = sub.add_parser(
        "bench",
        help="measure latency, throughput and memory end to end on this machine",
        description="Measure the pipeline end to end and per stage (median, p90, p99), batch throughput and "
        "peak resident memory at each size, on the chosen backend. A GPU backend is refused where "
        "there is no GPU: no GPU figure is printed that was not measured on one.",
    )
    p.add_argument(
        "--backend",
        default="cpu",
        choices=("cpu", "cuda", "tensorrt"),
        help="where the network and the ops run (default: cpu)",
    )
    p.add_argument("--model", default="u2netp", help="model name or manifest (default: u2netp)")
    p.add_argument("--model-path", default=None, help="use this model file instead of the cache")
    p.add_argument("--mode", default="general", help="pipeline mode: general, product, portrait (default: general)")
    p.add_argument(
        "--sizes",
        default="1mp,4k,12mp",
        help="comma-separated: 1mp (1155x866), 4k (3840x2160), 12mp (4000x3000) or WxH (default: all three)",
    )
    p.add_argument("--repeat", type=int, default=10, help="timed runs per size (default: 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first (default: 2)")
    p.add_argument("--batch", type=int, default=4, help="images in the throughput run; 0 skips it (default: 4)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory probe (a subprocess per size)")
    p.add_argument(
        "--io",
        default="bytes",
        choices=("bytes", "array"),
        help="bytes: JPEG in, PNG out, decode and encode timed (default); array: RGB in, RGBA out",
    )
    p.add_argument(
        "--image",
        default=None,
        help="photo to make the inputs from (default: the shared data photo, else a procedural scene)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for alphacut's CPU ops and the network's intra-op pool (default: "
        "ALPHACUT_NUM_THREADS for the ops, ONNX Runtime's default for the network)",
    )
    p.add_argument(
        "--target",
        default="pipeline",
        choices=("pipeline", "calibration"),
        help="calibration: a target of known cost (100 MiB, 50 ms) to check the harness on this machine",
    )
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT.json", help="write the report as JSON")
    p.add_argument("--markdown", default=None, metavar="OUT.md", help="write the report as a markdown results file")
    p.add_argument(
        "--plot",
        default=None,
        metavar="OUT.png",
        help="draw per-stage stacked bars against the 1-second line (needs matplotlib)",
    )
    p.add_argument(
        "--from-json",
        default=None,
        metavar="IN.json",
        help="measure nothing: print, and write --markdown/--plot from a report written earlier",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..bench import BenchConfig, make_images, parse_sizes, render_markdown, render_text, run_benchmark, write_json
    from ..bench import plot as draw
    from ..bench.inputs import find_photo

    if args.plot:  # fail before measuring for minutes, not after
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            from ..errors import Error

            raise Error("--plot needs matplotlib: pip install matplotlib (or pip install 'alphacut[bench]')") from None
    if args.from_json:
        from ..bench import load_json

        rep = load_json(args.from_json)
        print(render_text(rep))
        _write_outputs(rep, args, draw, write_json, render_markdown)
        return 0
    sizes = parse_sizes(args.sizes)
    if args.threads is not None:
        from .. import set_num_threads

        set_num_threads(args.threads)
    kwargs: Dict[str, object]
    if args.target == "calibration":
        factory, kwargs = "alphacut.bench.harness:calibration_target", {"mb": 100.0, "ms": 50.0}
    else:
        from ..bench.adapter import FACTORY, check_backend

        check_backend(args.backend)
        factory = FACTORY
        kwargs = {
            "model": args.model,
            "backend": args.backend,
            "mode": args.mode,
            "io": args.io,
            "threads": args.threads,
        }
        if args.model_path:
            kwargs["model_path"] = args.model_path
    photo = find_photo(args.image)
    cfg = BenchConfig(
        repeat=args.repeat,
        warmup=args.warmup,
        batch=args.batch,
        memory=not args.no_memory,
        factory=factory,
        factory_kwargs=kwargs,
        photo=str(photo) if photo else None,
    )
    cfg.check()
    images = make_images(sizes, photo=photo)
    from ..bench.harness import load_factory

    target = load_factory(factory)(**kwargs)
    progress = None if args.quiet else (lambda s: print(f"  {s}", file=sys.stderr, flush=True))
    command = "alphacut bench " + " ".join(shlex.quote(a) for a in _argv_of(args))
    rep = run_benchmark(
        target,
        images,
        cfg,
        progress=progress,
        command=command.strip(),
        extra_config={"threads": args.threads, "io": args.io},
    )
    print(render_text(rep))
    _write_outputs(rep, args, draw, write_json, render_markdown)
    return 0


def _write_outputs(rep, args, draw, write_json, render_markdown) -> None:
    if args.json_out:
        write_json(rep, args.json_out)
        print(f"wrote {args.json_out}")
    if args.markdown:
        from pathlib import Path

        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(render_markdown(rep), encoding="utf-8")
        print(f"wrote {args.markdown}")
    if args.plot:
        draw(rep, args.plot)
        print(f"wrote {args.plot}")


def _argv_of(args):
    """The options that shape the figures, rebuilt from the parsed namespace: the exact command to rerun."""
    out = []
    for opt, dest in (
        ("--backend", "backend"),
        ("--model", "model"),
        ("--model-path", "model_path"),
        ("--mode", "mode"),
        ("--sizes", "sizes"),
        ("--repeat", "repeat"),
        ("--warmup", "warmup"),
        ("--batch", "batch"),
        ("--io", "io"),
        ("--image", "image"),
        ("--threads", "threads"),
        ("--target", "target"),
    ):
        v = getattr(args, dest)
        if v is not None:
            out += [opt, str(v)]
    if args.no_memory:
        out.append("--no-memory")
    return out
