"""``alphacut cut`` end to end in a temporary folder: files, folders, globs, formats, a failing
file among good ones, exit codes, atomic outputs that never overwrite an input, --sample."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

from alphacut.cli import main


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    src = shared_path("models", "u2netp_320.onnx")
    d = tmp_path / "rembg_home" / "models" / "u2netp"
    d.mkdir(parents=True)
    (d / "u2netp.onnx").symlink_to(src)
    monkeypatch.setenv("REMBG_HOME", str(tmp_path / "rembg_home"))
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "alphacut_home"))
    yield
    from alphacut.session import clear_sessions

    clear_sessions()


def _small_photo(tmp_path: Path, name: str, size=(160, 120)) -> Path:
    src = shared_path("images", "rembg", "input", "car-1.jpg")
    p = tmp_path / name
    Image.open(src).convert("RGB").resize(size).save(p)
    return p


def _png_header_claiming(w: int, h: int) -> bytes:
    import struct
    import zlib

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100))


def _leftovers(folder: Path):
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_batch_with_a_failing_file(tmp_path, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    good1 = _small_photo(inp, "a.jpg")
    good2 = _small_photo(inp, "b.png")
    bad = inp / "broken.jpg"
    bad.write_bytes(b"this is a text file, not a JPEG\n")
    empty = inp / "empty.png"
    empty.write_bytes(b"")
    truncated = inp / "truncated.jpg"
    truncated.write_bytes(good1.read_bytes()[:400])
    huge = inp / "huge.png"
    huge.write_bytes(_png_header_claiming(100_000, 100_000))
    out = tmp_path / "out"
    rc = main(
        [
            "cut",
            str(good1),
            str(bad),
            str(empty),
            str(truncated),
            str(huge),
            str(good2),
            str(tmp_path / "nope.jpg"),
            "-o",
            str(out),
            "-q",
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    for name in ("broken.jpg", "empty.png", "truncated.jpg", "huge.png", "nope.jpg"):
        assert sum(name in line for line in err.splitlines()) == 1, (name, err)
    assert "pixels" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    for p in out.iterdir():
        im = Image.open(p)
        assert im.mode == "RGBA" and im.size == (160, 120)
    assert _leftovers(out) == []
    assert bad.read_bytes() == b"this is a text file, not a JPEG\n"


def test_folder_and_glob_all_good_exit_zero(tmp_path, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    for n in ("x.jpg", "y.jpg"):
        _small_photo(inp, n)
    (inp / "notes.txt").write_text("not an image and not picked up from a folder")
    rc = main(["cut", str(inp), "-o", str(tmp_path / "o1"), "--format", "webp", "-q"])
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "o1").iterdir()) == ["x.webp", "y.webp"]
    assert Image.open(tmp_path / "o1" / "x.webp").format == "WEBP"
    rc = main(["cut", str(inp / "*.jpg"), "-o", str(tmp_path / "o2"), "--only-mask", "-q"])
    assert rc == 0
    m = Image.open(tmp_path / "o2" / "x.png")
    assert m.mode == "L"


def test_single_file_formats_and_background(tmp_path):
    p = _small_photo(tmp_path, "car.jpg")
    assert main(["cut", str(p), "-o", str(tmp_path / "car.jpg.out.jpg"), "-q"]) == 0
    j = Image.open(tmp_path / "car.jpg.out.jpg")
    assert j.format == "JPEG" and j.mode == "RGB"
    # flattened on white: where the mask is empty the JPEG is (near) white
    assert main(["cut", str(p), "-o", str(tmp_path / "m.png"), "--only-mask", "-q"]) == 0
    mask = np.asarray(Image.open(tmp_path / "m.png"))
    jp = np.asarray(j).astype(int)
    assert jp[mask == 0].mean() > 245
    # a coloured background and a background image
    assert main(["cut", str(p), "-o", str(tmp_path / "red.png"), "--bg", "#ff0000", "-q"]) == 0
    red = np.asarray(Image.open(tmp_path / "red.png"))
    assert (red[:, :, 3] == 255).all()
    assert (red[mask == 0][:, :3] == [255, 0, 0]).all()
    bgimg = tmp_path / "bg.png"
    Image.new("RGB", (40, 30), (0, 0, 255)).save(bgimg)
    assert main(["cut", str(p), "-o", str(tmp_path / "onbg.png"), "--bg", str(bgimg), "-q"]) == 0
    onbg = np.asarray(Image.open(tmp_path / "onbg.png"))
    assert (onbg[mask == 0][:, :3] == [0, 0, 255]).all()
    # default name beside the input, and PNG compression level
    assert main(["cut", str(p), "--compress-level", "9", "-q"]) == 0
    assert (tmp_path / "car-cutout.png").is_file()


def test_never_overwrites_an_input(tmp_path, capsys):
    p = _small_photo(tmp_path, "photo.png")
    before = p.read_bytes()
    rc = main(["cut", str(p), "-o", str(p), "-q"])
    assert rc == 1
    assert "input" in capsys.readouterr().err
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir() if not x.is_dir()) == ["photo.png"]


def test_usage_errors(tmp_path, capsys):
    assert main(["cut", "-q"]) == 1
    assert "no INPUT" in capsys.readouterr().err
    p = _small_photo(tmp_path, "z.jpg")
    assert main(["cut", str(p), "--compress-level", "12", "-q"]) == 1
    assert main(["cut", str(p), "--bg", "not-a-colour", "-o", str(tmp_path / "o.png"), "-q"]) == 1
    assert not (tmp_path / "o.png").exists()


def test_sample(tmp_path):
    out = tmp_path / "astronaut-cutout.png"
    assert main(["cut", "--sample", "-o", str(out), "-q"]) == 0
    im = Image.open(out)
    assert im.mode == "RGBA" and im.size == (640, 480)
    a = np.asarray(im)[:, :, 3]
    from alphacut.pipeline.sample import sample_image_and_alpha

    gt = sample_image_and_alpha()[1]
    iou = ((a > 127) & (gt > 0.5)).sum() / ((a > 127) | (gt > 0.5)).sum()
    assert iou > 0.97


def test_help_runs_as_a_program():
    import alphacut

    # The package the tests import: the source tree in development, the installed one in CI.
    env = dict(os.environ, PYTHONPATH=str(Path(alphacut.__file__).resolve().parents[1]))
    r = subprocess.run([sys.executable, "-m", "alphacut", "cut", "--help"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "--sample" in r.stdout and "--compress-level" in r.stdout


def test_gpu_backends_without_a_gpu_fail_clearly(tmp_path, capsys):
    """--backend cuda / --runtime onnxruntime-cuda where they cannot run: exit 1, the reason, no output."""
    from alphacut import device

    if device.is_available():
        pytest.skip("a CUDA device is present; tests/gpu covers the cuda path")
    p = _small_photo(tmp_path, "g.jpg")
    out = tmp_path / "g.png"
    assert main(["cut", str(p), "-o", str(out), "--backend", "cuda", "-q"]) == 1
    assert "backend='cuda' is not available" in capsys.readouterr().err
    assert not out.exists()
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert main(["cut", str(p), "-o", str(out), "--runtime", "onnxruntime-cuda", "-q"]) == 1
        assert "onnxruntime-gpu" in capsys.readouterr().err
        assert not out.exists()
    assert main(["cut", str(p), "-o", str(out), "--backend", "auto", "-q"]) == 0  # auto: cpu here
    assert Image.open(out).mode == "RGBA"


def test_old_backend_flags_still_work_with_a_warning(tmp_path, capsys):
    """The previous release's --backend onnxruntime (now --runtime) and --ops-backend (now
    --backend) still cut, and say what to write instead."""
    p = _small_photo(tmp_path, "d.jpg")
    out = tmp_path / "d.png"
    assert main(["cut", str(p), "-o", str(out), "--backend", "onnxruntime", "--ops-backend", "cpu", "-q"]) == 0
    err = capsys.readouterr().err
    assert "use --runtime onnxruntime" in err and "use --backend cpu" in err
    assert Image.open(out).mode == "RGBA"
    assert main(["cut", str(p), "-o", str(out), "--backend", "gpu", "-q"]) == 1
    assert "--backend must be one of" in capsys.readouterr().err


def test_timings_show_the_person_segmenter_and_the_route(tmp_path, capsys):
    """The default (general mode, default model) routes: --timings lists segment_person and route and
    says which model's probability made the matte, with its signals."""
    src = shared_path("images", "composites", "input", "p3m_p_514ca06a__on_GT26r.jpg")
    assert main(["cut", str(src), "-o", str(tmp_path / "o.png"), "--timings", "-q"]) == 0
    err = capsys.readouterr().err
    assert "segment_person=" in err and "route=" in err
    assert "route: mediapipe-selfie (iou=" in err and "person_missed=" in err
    assert main(["cut", str(src), "-o", str(tmp_path / "p.png"), "--timings", "-q", "--route", "off"]) == 0
    err = capsys.readouterr().err
    assert "segment_person" not in err and "route:" not in err


# ------------------------------------------------------------------------------------------------
# '-' for stdin / stdout, and no short option silently read as an output path
# ------------------------------------------------------------------------------------------------


def _cli(args, tmp_path, stdin=None):
    import alphacut

    env = dict(os.environ, PYTHONPATH=str(Path(alphacut.__file__).resolve().parents[1]))
    return subprocess.run(
        [sys.executable, "-m", "alphacut", "cut", *args],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )


def _assert_same_cutout(got, want):
    """Equal alpha, and equal colour where it shows (lossless WebP may change fully transparent colour)."""
    np.testing.assert_array_equal(got[:, :, 3], want[:, :, 3])
    shown = want[:, :, 3] > 0
    np.testing.assert_array_equal(got[shown], want[shown])


def test_stdin_and_stdout(tmp_path):
    from alphacut import Session

    p = _small_photo(tmp_path, "s.jpg")
    want = Session().run(np.asarray(Image.open(p).convert("RGB"))).rgba
    r = _cli(["-", "-q"], tmp_path, stdin=p.read_bytes())  # stdin in: stdout out by default
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(r.stdout))), want)
    r = _cli([str(p), "-o", "-", "--format", "webp", "--lossless", "-q"], tmp_path)
    assert r.returncode == 0, r.stderr
    im = Image.open(io.BytesIO(r.stdout))
    assert im.format == "WEBP"
    _assert_same_cutout(np.asarray(im), want)
    r = _cli(["-", "-o", "from-stdin.png", "-q"], tmp_path, stdin=p.read_bytes())
    assert r.returncode == 0 and r.stdout == b""
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "from-stdin.png")), want)
    assert not (tmp_path / "-").exists()
    # stdout takes one image; '-' is the only INPUT; garbage on stdin is an error with exit 1
    q = _small_photo(tmp_path, "t.jpg")
    r = _cli([str(p), str(q), "-o", "-", "-q"], tmp_path)
    assert r.returncode == 1 and b"stdout" in r.stderr and r.stdout == b""
    assert not (tmp_path / "-").exists()
    r = _cli(["-", str(p), "-q"], tmp_path, stdin=b"")
    assert r.returncode == 1 and b"only INPUT" in r.stderr
    r = _cli(["-", "-q"], tmp_path, stdin=b"not an image")
    assert r.returncode == 1 and r.stdout == b"" and b"<stdin>" in r.stderr


@pytest.mark.parametrize("argv", [["-om"], ["-oout.png"], ["-qo", "out.png"], ["-om", "-q"]])
def test_clustered_short_options_are_refused(tmp_path, monkeypatch, capsys, argv):
    """``-om`` (rembg's --only-mask) was parsed as ``-o m`` and wrote a full cutout into a folder
    ``m/`` with exit 0: such tokens are now a usage error, and nothing is written."""
    p = _small_photo(tmp_path, "c.jpg")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["cut", str(p), *argv])
    assert e.value.code == 2
    assert "give each short option on its own" in capsys.readouterr().err
    assert sorted(x.name for x in tmp_path.iterdir() if x.name not in ("rembg_home", "alphacut_home")) == ["c.jpg"]
    # the spelled-out forms work; a negative number still reaches the value check
    assert main(["cut", str(p), "-o", "m.png", "-q"]) == 0 and (tmp_path / "m.png").is_file()
    assert main(["cut", str(p), "--output=n.png", "-q"]) == 0 and (tmp_path / "n.png").is_file()
    assert main(["cut", str(p), "--compress-level", "-1", "-q"]) == 1


# ------------------------------------------------------------------------------------------------
# Each option changes the output the way it says (breaking one turns a test red)
# ------------------------------------------------------------------------------------------------


def _run_cut(tmp_path, name, *opts):
    p = tmp_path / "opt.jpg"
    if not p.exists():
        _small_photo(tmp_path, "opt.jpg", size=(240, 180))
    out = tmp_path / name
    assert main(["cut", str(p), "-o", str(out), "-q", *opts]) == 0
    return out


def _reference(tmp_path, **session_kw):
    from alphacut import Session

    if not (tmp_path / "opt.jpg").exists():
        _small_photo(tmp_path, "opt.jpg", size=(240, 180))
    rgb = np.asarray(Image.open(tmp_path / "opt.jpg").convert("RGB"))
    return Session(**session_kw).run(rgb).rgba


def test_mode_and_no_refine_reach_the_session(tmp_path):
    general = np.asarray(Image.open(_run_cut(tmp_path, "general.png")))
    product = np.asarray(Image.open(_run_cut(tmp_path, "product.png", "--mode", "product")))
    plain = np.asarray(Image.open(_run_cut(tmp_path, "plain.png", "--no-refine")))
    np.testing.assert_array_equal(general, _reference(tmp_path))
    np.testing.assert_array_equal(product, _reference(tmp_path, mode="product"))
    np.testing.assert_array_equal(plain, _reference(tmp_path, refine=False))
    assert not np.array_equal(general[:, :, 3], product[:, :, 3])
    assert not np.array_equal(general[:, :, 3], plain[:, :, 3])


def test_encoder_options_reach_the_encoder(tmp_path):
    from alphacut.image import encode

    rgba = _reference(tmp_path)
    q30 = _run_cut(tmp_path, "q30.jpg", "--quality", "30").read_bytes()
    q95 = _run_cut(tmp_path, "q95.jpg").read_bytes()
    assert q30 == encode(rgba, "jpg", quality=30) and q95 == encode(rgba, "jpg")
    assert len(q30) < len(q95)
    lossless = _run_cut(tmp_path, "l.webp", "--lossless")
    lossy = _run_cut(tmp_path, "y.webp", "--quality", "50")
    _assert_same_cutout(np.asarray(Image.open(lossless)), rgba)
    shown = rgba[:, :, 3] > 0
    assert not np.array_equal(np.asarray(Image.open(lossy))[:, :, :3][shown], rgba[:, :, :3][shown])
    assert lossy.read_bytes() == encode(rgba, "webp", quality=50)
    c0 = _run_cut(tmp_path, "c0.png", "--compress-level", "0").read_bytes()
    c9 = _run_cut(tmp_path, "c9.png", "--compress-level", "9").read_bytes()
    assert c0 == encode(rgba, "png", compress_level=0) and c9 == encode(rgba, "png", compress_level=9)
    assert len(c9) < len(c0)
    for f in (c0, c9):
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(f))), rgba)
