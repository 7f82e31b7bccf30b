"""Placeholder until the `cut` command lands; replaced wholesale by its implementation."""

from ..errors import Error


def register(sub):
    p = sub.add_parser("cut", help="(not built yet)")
    p.set_defaults(func=_run)


def _run(args):
    raise Error("the 'cut' command is not built yet")
