"""rembg.sessions.ben_custom on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

BenCustomSession = _sessions["ben_custom"]

__all__ = ["BenCustomSession"]
