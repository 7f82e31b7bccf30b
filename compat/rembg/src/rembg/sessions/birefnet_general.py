"""rembg.sessions.birefnet_general on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BiRefNetSessionGeneral = _sessions["birefnet-general"]

__all__ = ["BiRefNetSessionGeneral"]
