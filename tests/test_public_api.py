"""The public names users rely on. Removing one by accident fails here; add new names on purpose."""

import alphacut
import alphacut.ops

TOP_LEVEL = {
    "Session", "new_session", "remove", "io", "ops", "config", "set_num_threads", "get_num_threads",
    "Error", "InputError", "DecodeError", "ModelError", "DownloadError", "BackendUnavailableError",
    "InternalError", "__version__",
}
OPS = {
    "available_backends", "composite", "dilate", "erode", "estimate_foreground", "get_num_threads",
    "guided_filter", "make_trimap", "pack_rgba", "premultiply", "preprocess", "preprocess_into",
    "resize", "set_num_threads", "solve_alpha", "unpremultiply", "upscale_alpha",
}


def test_top_level_names():
    missing = TOP_LEVEL - set(alphacut.__all__)
    assert not missing, f"removed from alphacut: {sorted(missing)}"
    for name in TOP_LEVEL:
        assert hasattr(alphacut, name), name


def test_ops_names():
    missing = OPS - set(alphacut.ops.__all__)
    assert not missing, f"removed from alphacut.ops: {sorted(missing)}"
    for name in OPS:
        assert callable(getattr(alphacut.ops, name)), name


def test_user_errors_share_one_root():
    for exc in (alphacut.InputError, alphacut.DecodeError, alphacut.ModelError, alphacut.DownloadError,
                alphacut.BackendUnavailableError):
        assert issubclass(exc, alphacut.Error)
    assert not issubclass(alphacut.InternalError, alphacut.Error)
