"""rembg.sessions.u2net_human_seg on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

U2netHumanSegSession = _sessions["u2net_human_seg"]

__all__ = ["U2netHumanSegSession"]
