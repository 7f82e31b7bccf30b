"""rembg.sessions.birefnet_cod on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BiRefNetSessionCOD = _sessions["birefnet-cod"]

__all__ = ["BiRefNetSessionCOD"]
