"""rembg.sessions.birefnet_massive on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BiRefNetSessionMassive = _sessions["birefnet-massive"]

__all__ = ["BiRefNetSessionMassive"]
