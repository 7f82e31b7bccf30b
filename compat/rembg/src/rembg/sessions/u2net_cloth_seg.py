"""rembg.sessions.u2net_cloth_seg on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

Unet2ClothSession = _sessions["u2net_cloth_seg"]

__all__ = ["Unet2ClothSession"]
