"""Compatibility layers: the APIs other background removers expose, on top of alphacut."""
