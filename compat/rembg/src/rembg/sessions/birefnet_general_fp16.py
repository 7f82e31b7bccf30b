"""rembg.sessions.birefnet_general_fp16 on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BiRefNetSessionGeneralFP16 = _sessions["birefnet-general-fp16"]

__all__ = ["BiRefNetSessionGeneralFP16"]
