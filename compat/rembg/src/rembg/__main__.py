"""``python -m rembg``: the rembg command."""

import sys

from .cli import main

sys.exit(main())
