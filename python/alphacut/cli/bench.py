"""Placeholder until the `bench` command lands; replaced wholesale by its implementation."""

from ..errors import Error


def register(sub):
    p = sub.add_parser("bench", help="(not built yet)")
    p.set_defaults(func=_run)


def _run(args):
    raise Error("the 'bench' command is not built yet")
