"""rembg.sessions.silueta on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

SiluetaSession = _sessions["silueta"]

__all__ = ["SiluetaSession"]
