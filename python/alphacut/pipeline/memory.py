"""How much memory a cut needs, known from the image's size before a pixel is decoded.

A compressed file says little about the memory it costs: a 1,170-byte JPEG can declare
13000 × 13000 pixels, and cutting it out (decode, working image, band, full-resolution α,
foreground colour, RGBA) takes gigabytes at its peak. So the size in the header is checked
twice before decoding: against a pixel limit (``Session(max_pixels=)``, 100 MP by default; the
server's ``--max-pixels``, 25 MP) and against the memory that is really there
(:func:`check_memory`: the estimate below against :func:`available_bytes`, or the server's own
budget shared by the requests in flight).

The estimate is an upper bound fitted to measured peaks of ``Session.run`` on encoded input with
the default settings (refine, foreground, RGBA out), u2netp, on the CPU: peak resident memory above
a warmed-up session, from 1 MP to 64 MP, on photos and on noise (all band): at most 49 MiB at
1 MP, 234 MiB at 12 MP, 496 MiB at 64 MP (noise); 2.8 GiB at 169 MP (``bench/memory_13k.py``). A warm-up at any size allocates the network's
buffers (its input size is fixed, and ONNX Runtime reuses its arena's chunks: its memory pattern is
off, see :mod:`alphacut.runtime.onnxruntime`), so they are not part of a cut's peak.
``tests/pipeline/test_memory_limits.py`` measures it again and fails if the bound is crossed.
"""

from __future__ import annotations

from typing import Optional

from ..image import ImageTooLargeError

__all__ = ["BASE_BYTES", "BYTES_PER_PIXEL", "available_bytes", "check_memory", "estimate_bytes"]

#: Working memory of a cut that does not grow with the image (the working image and its band at
#: the working resolution, allocator slack; the network's buffers are the warmed-up session's).
BASE_BYTES = 64 << 20
#: Bytes per full-resolution pixel: decoded RGB (3), α and its upscaling buffers (float), the
#: foreground colour, the RGBA result (4), and the band's share of the image (an image of noise,
#: all band, measured 24).
BYTES_PER_PIXEL = 32


def estimate_bytes(height: int, width: int, *, base: bool = True) -> int:
    """Peak memory (bytes) above a loaded session that cutting an ``height`` × ``width`` image
    needs, an upper bound (see the module docstring). ``base=False``: the part that grows with the
    image only (what each of several cuts in one process adds).

    >>> round(estimate_bytes(3000, 4000) / 2**20)
    430
    """
    return (BASE_BYTES if base else 0) + BYTES_PER_PIXEL * int(height) * int(width)


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path) as fh:
            raw = fh.read().strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() else None


def available_bytes() -> Optional[int]:
    """Memory this process can still take: the smaller of the system's available memory
    (``MemAvailable``) and what the cgroup's limit leaves (``memory.max − memory.current``, cgroup
    v2, as in a container); None where neither can be read."""
    found = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    limit = _read_int("/sys/fs/cgroup/memory.max")  # "max" (no limit) reads as None
    used = _read_int("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:
        found.append(max(0, limit - used))
    return min(found) if found else None


def check_memory(
    height: int, width: int, what: str = "image", *, available: Optional[int] = None, budget: str = ""
) -> int:
    """Refuse (:class:`~alphacut.image.ImageTooLargeError`) an image whose cut would need more
    memory than ``available`` bytes (default :func:`available_bytes`; nothing is refused when that
    cannot be read). Returns the estimate. ``budget`` names the limit in the message."""
    need = estimate_bytes(height, width)
    if available is None:
        available = available_bytes()
    if available is not None and need > available:
        where = budget or "memory available to this process"
        raise ImageTooLargeError(
            f"{what}: a {width}x{height} image needs about {need / 2**20:,.0f} MiB to cut out, "
            f"above the {available / 2**20:,.0f} MiB of {where}; downscale it first"
        )
    return need
