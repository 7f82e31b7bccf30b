"""rembg.sessions.birefnet_portrait on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BiRefNetSessionPortrait = _sessions["birefnet-portrait"]

__all__ = ["BiRefNetSessionPortrait"]
