"""rembg.sessions.birefnet_hrsod on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BiRefNetSessionHRSOD = _sessions["birefnet-hrsod"]

__all__ = ["BiRefNetSessionHRSOD"]
