"""The ``rembg`` command (i, p, b, s, d, m): :mod:`alphacut.compat.rembg_cli`."""

import sys

from alphacut.compat.rembg_cli import build_parser
from alphacut.compat.rembg_cli import main as _main

__all__ = ["main", "build_parser"]


def main(argv=None) -> int:
    """Run the command; as a console script, exit with its status."""
    code = _main(argv)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
