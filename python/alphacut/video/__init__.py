"""Video: ``alphacut video IN -o OUT`` and :func:`process_video` (PyAV, ``pip install "alphacut[video]"``).

Frames stream through decode → batch (:meth:`alphacut.Session.run_batch`) → matte → temporal
stabilisation (:class:`TemporalStabiliser`) → composite → encode, with bounded queues between
threads: memory does not grow with the video's length. The stabiliser and the flicker figure
need only NumPy; reading and writing need PyAV.
"""

from ._av import INSTALL_HINT, VideoDependencyError, require_av
from .stabilise import FlickerMeter, TemporalStabiliser, estimate_shift, shift_image

__all__ = [
    "INSTALL_HINT",
    "FlickerMeter",
    "TemporalStabiliser",
    "VideoDependencyError",
    "estimate_shift",
    "process_video",
    "require_av",
    "shift_image",
]


def __getattr__(name):
    if name in ("process_video", "VideoResult"):
        from . import loop

        return getattr(loop, name)
    raise AttributeError(name)
