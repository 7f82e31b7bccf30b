"""rembg.sessions: ``sessions`` (name → class), ``sessions_names``, ``sessions_class`` (the list
``new_session`` searches: append a class to serve a name of your own) and every session class."""

from alphacut.compat.rembg import (
    sessions,
    sessions_class,
    sessions_names,
    sessions_names_downloadable,
    sessions_names_no_credentials,
)

from .atlascloud import AtlasCloudSession
from .base import BaseSession
from .ben_custom import BenCustomSession
from .birefnet_cod import BiRefNetSessionCOD
from .birefnet_dis import BiRefNetSessionDIS
from .birefnet_general import BiRefNetSessionGeneral
from .birefnet_general_fp16 import BiRefNetSessionGeneralFP16
from .birefnet_general_lite import BiRefNetSessionGeneralLite
from .birefnet_hrsod import BiRefNetSessionHRSOD
from .birefnet_massive import BiRefNetSessionMassive
from .birefnet_portrait import BiRefNetSessionPortrait
from .bria_rmbg import BriaRmBgSession
from .dis_anime import DisSession
from .dis_custom import DisCustomSession
from .dis_general_use import DisSession as DisSessionGeneralUse
from .sam import SamSession
from .silueta import SiluetaSession
from .u2net import U2netSession
from .u2net_cloth_seg import Unet2ClothSession
from .u2net_custom import U2netCustomSession
from .u2net_human_seg import U2netHumanSegSession
from .u2netp import U2netpSession
from .withoutbg import WithoutBgSession

__all__ = [
    "BaseSession",
    "BiRefNetSessionGeneral",
    "BiRefNetSessionGeneralLite",
    "BiRefNetSessionGeneralFP16",
    "BiRefNetSessionPortrait",
    "BiRefNetSessionDIS",
    "BiRefNetSessionHRSOD",
    "BiRefNetSessionCOD",
    "BiRefNetSessionMassive",
    "DisSession",
    "DisCustomSession",
    "DisSessionGeneralUse",
    "SamSession",
    "SiluetaSession",
    "Unet2ClothSession",
    "U2netCustomSession",
    "U2netHumanSegSession",
    "U2netSession",
    "U2netpSession",
    "BriaRmBgSession",
    "BenCustomSession",
    "WithoutBgSession",
    "AtlasCloudSession",
    "sessions",
    "sessions_class",
    "sessions_names",
    "sessions_names_downloadable",
    "sessions_names_no_credentials",
]
