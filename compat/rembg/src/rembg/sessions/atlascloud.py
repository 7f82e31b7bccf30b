"""rembg.sessions.atlascloud on alphacut."""

from alphacut.compat.rembg import sessions as _sessions

AtlasCloudSession = _sessions["atlascloud"]

__all__ = ["AtlasCloudSession"]
