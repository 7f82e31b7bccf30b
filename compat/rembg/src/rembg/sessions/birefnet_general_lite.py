"""rembg.sessions.birefnet_general_lite on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BiRefNetSessionGeneralLite = _sessions["birefnet-general-lite"]

__all__ = ["BiRefNetSessionGeneralLite"]
