"""rembg.bg: ``remove`` and the helpers frontends import from it, on alphacut."""

import numpy as np

from alphacut.compat.rembg import (
    ReturnType,
    alpha_matting_cutout,
    apply_background_color,
    decontaminate_cutout,
    download_models,
    fix_image_orientation,
    get_concat_v,
    get_concat_v_multi,
    naive_cutout,
    post_process,
    putalpha_cutout,
)
from alphacut.compat.rembg import rembg_remove as remove

from .session_factory import new_session
from .sessions import sessions, sessions_names, sessions_names_downloadable
from .sessions.base import BaseSession

#: rembg's structuring element of ``post_process`` (skimage's ``disk(1)``).
kernel = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=np.uint8)

__all__ = [
    "BaseSession",
    "ReturnType",
    "alpha_matting_cutout",
    "apply_background_color",
    "decontaminate_cutout",
    "download_models",
    "fix_image_orientation",
    "get_concat_v",
    "get_concat_v_multi",
    "kernel",
    "naive_cutout",
    "new_session",
    "post_process",
    "putalpha_cutout",
    "remove",
    "sessions",
    "sessions_names",
    "sessions_names_downloadable",
]
