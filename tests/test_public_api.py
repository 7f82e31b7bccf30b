"""The public names users rely on. Removing one by accident fails here; add new names on purpose."""

import pytest

import alphacut
import alphacut.image
import alphacut.ops

TOP_LEVEL = {
    "Session",
    "new_session",
    "remove",
    "image",
    "ops",
    "config",
    "set_num_threads",
    "get_num_threads",
    "Error",
    "InputError",
    "DecodeError",
    "ModelError",
    "DownloadError",
    "BackendUnavailableError",
    "InternalError",
    "__version__",
}
OPS = {
    "available_backends",
    "composite",
    "dilate",
    "erode",
    "estimate_foreground",
    "get_num_threads",
    "guided_filter",
    "make_trimap",
    "pack_rgba",
    "premultiply",
    "preprocess",
    "preprocess_into",
    "resize",
    "set_num_threads",
    "solve_alpha",
    "unpremultiply",
    "upscale_alpha",
}
IMAGE = {
    "DecodedImage",
    "ImageTooLargeError",
    "decode_image",
    "encode",
    "encode_png",
    "encode_webp",
    "encode_jpeg",
    "encode_mask",
    "flatten",
    "parse_color",
    "write_atomic",
    "FORMATS",
}
SERVER = {"ServerConfig", "create_app"}


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
    for exc in (
        alphacut.InputError,
        alphacut.DecodeError,
        alphacut.ModelError,
        alphacut.DownloadError,
        alphacut.BackendUnavailableError,
    ):
        assert issubclass(exc, alphacut.Error)
    assert not issubclass(alphacut.InternalError, alphacut.Error)


def test_image_names():
    missing = IMAGE - set(alphacut.image.__all__)
    assert not missing, f"removed from alphacut.image: {sorted(missing)}"
    for name in IMAGE:
        assert hasattr(alphacut.image, name), name


def test_io_is_a_deprecated_alias_of_image():
    """alphacut.io was renamed alphacut.image; the old name works for one release, with a warning."""
    with pytest.warns(DeprecationWarning, match="alphacut.image"):
        old = alphacut.io
    assert old is alphacut.image
    with pytest.warns(DeprecationWarning, match="alphacut.io is deprecated"):
        from alphacut import io as aio
    assert aio.decode_image is alphacut.image.decode_image
    assert aio.write_atomic is alphacut.image.write_atomic
    assert "io" not in alphacut.__all__
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = alphacut.nonexistent


def test_server_names():
    import alphacut.server

    missing = SERVER - set(alphacut.server.__all__)
    assert not missing, f"removed from alphacut.server: {sorted(missing)}"
    assert callable(alphacut.server.create_app) and alphacut.server.ServerConfig().port == 7000
