"""rembg.sessions.birefnet_dis on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BiRefNetSessionDIS = _sessions["birefnet-dis"]

__all__ = ["BiRefNetSessionDIS"]
