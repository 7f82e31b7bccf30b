"""rembg's ``new_session(model_name="bria-rmbg", *args, sess_opts=None, **kwargs)``."""

from alphacut.compat.rembg import rembg_new_session as new_session

__all__ = ["new_session"]
