"""The ``alphacut`` command. Subcommands live in their own modules, each with ``register(sub)``
adding its parser and setting ``func``. User errors (:class:`alphacut.Error`) print one line and
exit 1; anything else is a bug and shows its traceback."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, Optional

_COMMANDS = ("cut", "models", "bench", "serve", "video", "engines", "info")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="alphacut", description="Background removal with native post-processing.")
    parser.add_argument("--version", action="version", version=f"alphacut {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    from ..errors import Error

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Error as exc:
        print(f"alphacut: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("alphacut: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def heap_default(argv: List[str]) -> str:
    """The heap setting a command gets when ``ALPHACUT_HEAP`` is unset: ``retain`` for the
    commands that cut images on the main thread (cut, bench, video, ...), ``system`` for
    ``serve``, which cuts on worker threads where keeping freed memory gained no time and held more
    of it (bench/results/cutout_12mp.md)."""
    command = next((a for a in argv if not a.startswith("-")), "")
    return "system" if command == "serve" else "retain"


def run() -> None:
    """The ``alphacut`` command's entry point: :func:`main` in a process of its own. The command
    owns that process, so freed memory stays in the heap for the next image (:mod:`alphacut.heap`),
    here and in the processes it starts (the memory probe, workers), unless ``ALPHACUT_HEAP=system``
    (or the command is ``serve``: :func:`heap_default`)."""
    from .. import heap
    from ..errors import Error

    try:
        os.environ["ALPHACUT_HEAP"] = heap.setting(heap_default(sys.argv[1:]))
    except Error as exc:
        print(f"alphacut: error: {exc}", file=sys.stderr)
        sys.exit(1)
    heap.apply_setting()
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
