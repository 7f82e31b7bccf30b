"""``alphacut cut`` on folders: recursion with the structure kept, naming, skipping existing outputs,
links and non-images reported, corrupt files of every kind not stopping the rest, the summary and
exit code, outputs (crop, shadow, background fit, ICC, AVIF, debug files), overlap, interrupts and
``--watch``."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image, ImageCms, features

from alphacut.cli import main


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    src = shared_path("models", "u2netp_320.onnx")
    d = tmp_path / "rembg_home" / "models" / "u2netp"
    d.mkdir(parents=True)
    (d / "u2netp.onnx").symlink_to(src)
    monkeypatch.setenv("REMBG_HOME", str(tmp_path / "rembg_home"))
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "alphacut_home"))
    monkeypatch.setenv("ALPHACUT_PERSON_MODEL", "none")  # u2netp alone: faster, and the same in subprocesses
    yield
    from alphacut.session import clear_sessions

    clear_sessions()


def _photo(folder: Path, name: str, size=(160, 120), **save) -> Path:
    src = shared_path("images", "rembg", "input", "car-1.jpg")
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    Image.open(src).convert("RGB").resize(size).save(p, **save)
    return p


def _corrupt_avif() -> bytes:
    rng = np.random.default_rng(0)
    b = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(b, "AVIF")
    data = b.getvalue()
    for pos in range(len(data)):
        x = bytearray(data)
        x[pos] ^= 0xFF
        try:
            with Image.open(io.BytesIO(bytes(x))) as im:
                im.load()
        except RuntimeError:
            return bytes(x)
        except Exception:  # noqa: BLE001
            pass
    pytest.skip("no corruption of an AVIF makes this Pillow raise RuntimeError")


def _corrupt_dds() -> bytes:
    b = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 255)).save(b, "DDS")
    d = bytearray(b.getvalue())
    struct.pack_into("<I", d, 80, 4)
    d[84:88] = b"ZZZZ"  # unknown FourCC: NotImplementedError in Pillow
    return bytes(d)


def _corrupt_blp() -> bytes:
    return b"BLP2" + struct.pack("<I", 1) + bytes([9, 0, 0, 0]) + struct.pack("<II", 8, 8) + bytes(128 + 1024)


def _tree(root: Path) -> dict:
    """6 good images (one in sub/, one in sub/deeper/), corrupt files of each kind sorted first,
    a text file, a symlink to an image and one to a folder."""
    good = {}
    for rel in ("a.jpg", "b.png", "c.jpg", "d.webp", "sub/e.jpg", "sub/deeper/f.png"):
        p = _photo(root / Path(rel).parent, Path(rel).name)
        good[rel] = p
    if features.check("avif"):
        (root / "0_bad.avif").write_bytes(_corrupt_avif())
    (root / "0_bad.dds").write_bytes(_corrupt_dds())
    (root / "0_bad.blp").write_bytes(_corrupt_blp())
    (root / "sub" / "0_bad.jpg").write_bytes(b"not a jpeg at all")
    (root / "notes.txt").write_text("not an image")
    (root / "link.jpg").symlink_to(good["a.jpg"])
    (root / "linkdir").symlink_to(root / "sub", target_is_directory=True)
    (root / ".hidden.jpg").write_bytes(b"editor temp")
    return good


def _files(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _no_partials(folder: Path):
    return [p for p in folder.rglob("*") if p.name.startswith(".tmp-")]


def test_folder_recursive_structure_failures_and_summary(tmp_path, capsys):
    inp, out = tmp_path / "in", tmp_path / "out"
    _tree(inp)
    rc = main(["cut", str(inp), "-o", str(out), "--route", "off"])
    assert rc == 1  # some inputs failed
    err = capsys.readouterr().err
    assert _files(out) == ["a.png", "b.png", "c.png", "d.png", "sub/deeper/f.png", "sub/e.png"]
    for rel in _files(out):
        with Image.open(out / rel) as im:
            assert im.mode == "RGBA" and im.size == (160, 120)
    bad = ["0_bad.dds", "0_bad.blp", "sub/0_bad.jpg"] + (["0_bad.avif"] if features.check("avif") else [])
    lines = err.splitlines()
    i = next(k for k, line in enumerate(lines) if " succeeded in " in line)
    assert lines[i].startswith(f"6/{6 + len(bad)} succeeded") and "images/s" in lines[i], lines[i]
    assert lines[i + 1] == "failed:"
    listed = lines[i + 2 :]
    for b in bad:
        assert sum(line.startswith(f"  {inp / b}: ") for line in listed) == 1, (b, listed)
    assert "Traceback" not in err
    assert f"{inp / 'link.jpg'}: a symbolic link" in err and f"{inp / 'linkdir'}: a symbolic link" in err
    assert f"{inp / 'notes.txt'}: not an image (.txt)" in err
    assert ".hidden" not in err
    assert "img/s" in err  # the progress bar's rate
    assert _no_partials(out) == []


def test_existing_outputs_skipped_unless_overwrite(tmp_path, capsys):
    inp, out = tmp_path / "in", tmp_path / "out"
    _photo(inp, "a.jpg")
    _photo(inp / "s", "b.jpg")
    assert main(["cut", str(inp), "-o", str(out), "-q", "--route", "off"]) == 0
    old = 1_000_000_000
    for p in out.rglob("*.png"):
        os.utime(p, (old, old))
    (out / "a.png").write_bytes(b"stale")  # would be replaced if it were not skipped
    capsys.readouterr()
    assert main(["cut", str(inp), "-o", str(out), "--route", "off"]) == 0
    assert "2 skipped: their outputs exist" in capsys.readouterr().err
    assert (out / "a.png").read_bytes() == b"stale" and (out / "s" / "b.png").stat().st_mtime == old
    assert main(["cut", str(inp), "-o", str(out), "-q", "--overwrite", "--route", "off"]) == 0
    assert Image.open(out / "a.png").mode == "RGBA" and (out / "s" / "b.png").stat().st_mtime > old


def test_beside_the_inputs_and_earlier_cutouts_not_recut(tmp_path, capsys):
    inp = tmp_path / "in"
    _photo(inp, "a.jpg")
    _photo(inp / "s", "b.png")
    assert main(["cut", str(inp), "-q", "--route", "off"]) == 0
    assert _files(inp) == ["a-cutout.png", "a.jpg", "s/b-cutout.png", "s/b.png"]
    capsys.readouterr()
    assert main(["cut", str(inp), "--route", "off"]) == 0  # the cutouts are not inputs; the outputs exist
    err = capsys.readouterr().err
    assert "an earlier cutout" in err and "2 skipped" in err
    assert _files(inp) == ["a-cutout.png", "a.jpg", "s/b-cutout.png", "s/b.png"]


def test_output_folder_inside_the_input_is_not_walked_and_same_folder_refused(tmp_path, capsys):
    inp = tmp_path / "in"
    _photo(inp, "a.jpg")
    assert main(["cut", str(inp), "-o", str(inp / "out"), "-q", "--route", "off"]) == 0
    assert main(["cut", str(inp), "-o", str(inp / "out"), "-q", "--route", "off", "--overwrite"]) == 0
    assert _files(inp) == ["a.jpg", "out/a.png"]
    assert main(["cut", str(inp), "-o", str(inp), "-q"]) == 1
    assert "is the input folder itself" in capsys.readouterr().err


def test_same_stem_gets_a_number(tmp_path):
    inp = tmp_path / "in"
    _photo(inp, "a.jpg")
    _photo(inp, "a.png")
    assert main(["cut", str(inp), "-o", str(tmp_path / "o"), "-q", "--route", "off"]) == 0
    assert _files(tmp_path / "o") == ["a-1.png", "a.png"]


def test_corrupt_background_image_is_one_clear_error(tmp_path, capsys):
    inp = tmp_path / "in"
    _photo(inp, "a.jpg")
    bg = tmp_path / "bg.dds"
    bg.write_bytes(_corrupt_dds())
    assert main(["cut", str(inp), "-o", str(tmp_path / "o"), "--bg", str(bg), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--bg" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() or _files(tmp_path / "o") == []


def test_overlapped_and_sequential_give_the_same_files(tmp_path):
    inp = tmp_path / "in"
    for i in range(5):
        _photo(inp, f"p{i}.jpg", size=(160 + 8 * i, 120))
    (inp / "p2_bad.jpg").write_bytes(b"broken")
    assert main(["cut", str(inp), "-o", str(tmp_path / "seq"), "-q", "--io-threads", "0", "--route", "off"]) == 1
    assert main(["cut", str(inp), "-o", str(tmp_path / "par"), "-q", "--io-threads", "3", "--route", "off"]) == 1
    names = _files(tmp_path / "seq")
    assert names == _files(tmp_path / "par") and len(names) == 5
    for n in names:
        assert (tmp_path / "seq" / n).read_bytes() == (tmp_path / "par" / n).read_bytes()


# ------------------------------------------------------------------------------------------------
# Outputs
# ------------------------------------------------------------------------------------------------


def _rgba(p: Path) -> np.ndarray:
    with Image.open(p) as im:
        return np.asarray(im.convert("RGBA"))


def test_crop_to_the_subject_box(tmp_path):
    p = _photo(tmp_path, "c.jpg", size=(240, 180))
    full = _rgba(Path(main(["cut", str(p), "-o", str(tmp_path / "full.png"), "-q"]) or tmp_path / "full.png"))
    ys, xs = np.nonzero(full[:, :, 3] > 0)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    assert (y1 - y0, x1 - x0) != full.shape[:2]  # there is something to crop
    assert main(["cut", str(p), "-o", str(tmp_path / "crop.png"), "-q", "--crop"]) == 0
    np.testing.assert_array_equal(_rgba(tmp_path / "crop.png"), full[y0:y1, x0:x1])
    assert main(["cut", str(p), "-o", str(tmp_path / "m.png"), "-q", "--crop", "--margin", "6"]) == 0
    m = _rgba(tmp_path / "m.png")
    assert m.shape[:2] == (y1 - y0 + 12, x1 - x0 + 12)
    ys2, xs2 = np.nonzero(m[:, :, 3] > 0)
    assert (ys2.min(), xs2.min()) == (6, 6)
    assert main(["cut", str(p), "-o", str(tmp_path / "pc.png"), "-q", "--crop", "--margin", "10%"]) == 0
    k = int(round(0.1 * max(y1 - y0, x1 - x0)))
    assert _rgba(tmp_path / "pc.png").shape[:2] == (y1 - y0 + 2 * k, x1 - x0 + 2 * k)
    assert main(["cut", str(p), "-o", str(tmp_path / "x.png"), "-q", "--margin", "5"]) == 1  # needs --crop


def test_shadow_adds_alpha_only_outside_the_subject(tmp_path):
    p = _photo(tmp_path, "s.jpg", size=(240, 180))
    assert main(["cut", str(p), "-o", str(tmp_path / "plain.png"), "-q", "--crop", "--margin", "15"]) == 0
    assert main(["cut", str(p), "-o", str(tmp_path / "sh.png"), "-q", "--crop", "--margin", "15", "--shadow"]) == 0
    plain, sh = _rgba(tmp_path / "plain.png"), _rgba(tmp_path / "sh.png")
    assert plain.shape == sh.shape
    assert (sh[:, :, 3] >= plain[:, :, 3]).all()
    opaque = plain[:, :, 3] == 255
    np.testing.assert_array_equal(sh[opaque], plain[opaque])
    grown = (sh[:, :, 3].astype(int) - plain[:, :, 3]) > 20
    assert grown.sum() > 100
    ys, xs = np.nonzero(grown)
    pys, pxs = np.nonzero(plain[:, :, 3] > 127)
    assert ys.mean() > pys.mean()  # the shadow falls below the subject


def test_background_image_fit_cover_and_contain(tmp_path):
    p = _photo(tmp_path, "b.jpg", size=(240, 180))
    bg = tmp_path / "tall.png"
    Image.new("RGB", (60, 200), (0, 0, 255)).save(bg)  # tall: contain leaves bars left and right
    assert main(["cut", str(p), "-o", str(tmp_path / "m.png"), "-q", "--only-mask"]) == 0
    mask = np.asarray(Image.open(tmp_path / "m.png"))
    assert main(["cut", str(p), "-o", str(tmp_path / "cover.png"), "-q", "--bg", str(bg)]) == 0
    cover = _rgba(tmp_path / "cover.png")
    assert (cover[:, :, 3] == 255).all() and (cover[mask == 0][:, :3] == [0, 0, 255]).all()
    assert main(["cut", str(p), "-o", str(tmp_path / "cont.png"), "-q", "--bg", str(bg), "--fit", "contain"]) == 0
    cont = _rgba(tmp_path / "cont.png")
    w = int(round(60 * 180 / 200))  # the background scaled to the height: 54 px wide, centred
    x0 = int(round((240 - w) / 2))
    band = np.zeros(mask.shape, bool)
    band[:, x0 : x0 + w] = True
    assert (cont[band & (mask == 0)][:, :3] == [0, 0, 255]).all() and (cont[band][:, 3] == 255).all()
    assert (cont[~band & (mask == 0)][:, 3] == 0).all()  # transparent bars where no subject


def test_icc_profile_carried_to_the_output(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + b"-from-the-camera"
    p = _photo(tmp_path, "i.jpg", icc_profile=icc)
    for fmt in ["png", "webp", "jpg"] + (["avif"] if features.check("avif") else []):
        out = tmp_path / f"o.{fmt}"
        assert main(["cut", str(p), "-o", str(out), "-q", "--format", fmt, "--route", "off"]) == 0
        with Image.open(out) as im:
            assert im.info.get("icc_profile") == icc, fmt
    q = _photo(tmp_path, "plain.jpg")
    assert main(["cut", str(q), "-o", str(tmp_path / "n.png"), "-q", "--route", "off"]) == 0
    assert "icc_profile" not in Image.open(tmp_path / "n.png").info


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
def test_avif_output(tmp_path):
    p = _photo(tmp_path, "v.jpg")
    assert main(["cut", str(p), "-o", str(tmp_path / "mask.png"), "-q", "--only-mask", "--route", "off"]) == 0
    assert main(["cut", str(p), "-o", str(tmp_path / "v.avif"), "-q", "--route", "off"]) == 0
    with Image.open(tmp_path / "v.avif") as im:
        assert im.format == "AVIF" and im.mode == "RGBA"
        a = np.asarray(im)[:, :, 3].astype(int)
    assert np.abs(a - np.asarray(Image.open(tmp_path / "mask.png"))).mean() < 3


def test_debug_folder(tmp_path):
    inp = tmp_path / "in"
    _photo(inp / "s", "d.jpg")
    dbg = tmp_path / "dbg"
    assert main(["cut", str(inp), "-o", str(tmp_path / "o"), "-q", "--debug", str(dbg), "--route", "off"]) == 0
    assert _files(dbg) == ["s/d.coarse.png", "s/d.timings.json", "s/d.trimap.png"]
    coarse = np.asarray(Image.open(dbg / "s" / "d.coarse.png"))
    assert coarse.shape == (320, 320) and coarse.max() > 200 and coarse.min() < 50  # u2netp's probability
    tri = np.asarray(Image.open(dbg / "s" / "d.trimap.png"))
    assert set(np.unique(tri)) <= {0, 128, 255} and len(np.unique(tri)) == 3
    doc = json.loads((dbg / "s" / "d.timings.json").read_text())
    assert doc["input"] == str(inp / "s" / "d.jpg") and doc["output"] == str(tmp_path / "o" / "s" / "d.png")
    for stage in ("decode", "segment", "trimap", "finish", "write"):
        assert doc["timings_ms"][stage] >= 0, stage


# ------------------------------------------------------------------------------------------------
# Interrupts and --watch, in a subprocess
# ------------------------------------------------------------------------------------------------


def _popen(args, tmp_path, stderr_path):
    import alphacut

    env = dict(os.environ, PYTHONPATH=str(Path(alphacut.__file__).resolve().parents[1]))
    return subprocess.Popen(
        [sys.executable, "-m", "alphacut", "cut", *args],
        stdout=subprocess.DEVNULL,
        stderr=open(stderr_path, "wb"),
        cwd=tmp_path,
        env=env,
    )


def _wait(cond, timeout=120.0, what=""):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _complete(p: Path) -> bool:
    try:
        with Image.open(p) as im:
            im.load()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_no_partial_files(tmp_path, sig):
    inp, out = tmp_path / "in", tmp_path / "out"
    for i in range(30):
        _photo(inp, f"p{i:02d}.jpg", size=(640, 480))
    proc = _popen([str(inp), "-o", str(out), "-q", "--route", "off"], tmp_path, tmp_path / "err.txt")
    try:
        _wait(lambda: out.is_dir() and any(out.glob("*.png")), what="a first output")
        proc.send_signal(sig)
        rc = proc.wait(60)
    finally:
        proc.kill()
    assert rc == 130, (tmp_path / "err.txt").read_text()
    written = list(out.glob("*"))
    assert 0 < len(written) < 30
    assert _no_partials(out) == []
    assert all(_complete(p) for p in written)
    assert "Traceback" not in (tmp_path / "err.txt").read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watch_serves_a_drop_folder(tmp_path, sig):
    inp, out = tmp_path / "inbox", tmp_path / "done"
    _photo(inp, "first.jpg")
    errp = tmp_path / "err.txt"
    args = [str(inp), "-o", str(out), "--watch", "--watch-interval", "0.1", "--settle", "1.0", "--route", "off"]
    proc = _popen(args, tmp_path, errp)
    try:
        _wait(lambda: b"watching" in errp.read_bytes(), what="the watcher to start")
        assert _files(out) == ["first.png"]
        # a file in a new subfolder written slowly in pieces (pauses longer than the scan interval),
        # then a new file written in one go
        _photo(tmp_path, "slow.jpg", size=(320, 240))
        data = (tmp_path / "slow.jpg").read_bytes()
        (inp / "sub").mkdir()
        piece = len(data) // 4 + 1
        with open(inp / "sub" / "slow.jpg", "wb") as f:
            for i in range(0, len(data), piece):
                f.write(data[i : i + piece])
                f.flush()
                time.sleep(0.4)
                assert not (out / "sub" / "slow.png").exists() and b"error" not in errp.read_bytes()
        _photo(tmp_path, "a.png")
        os.replace(tmp_path / "a.png", inp / "a.png")
        (inp / "readme.txt").write_text("not an image")
        _wait(lambda: (out / "a.png").exists() and (out / "sub" / "slow.png").exists(), what="the outputs")
        assert _complete(out / "a.png") and _complete(out / "sub" / "slow.png")
        assert Image.open(out / "sub" / "slow.png").size == (320, 240)
        # a changed file is cut again
        before = (out / "first.png").stat().st_mtime_ns
        _photo(inp, "first.jpg", size=(200, 100))
        _wait(lambda: (out / "first.png").stat().st_mtime_ns != before, what="the changed file")
        _wait(lambda: _complete(out / "first.png") and Image.open(out / "first.png").size == (200, 100))
        proc.send_signal(sig)
        rc = proc.wait(60)
    finally:
        proc.kill()
    err = errp.read_text()
    assert rc == 0, err
    assert "error" not in err, err  # the slow file was never read half-written
    assert "readme.txt: not an image" in err and "stopped watching" in err
    assert _files(out) == ["a.png", "first.png", "sub/slow.png"]
    assert _no_partials(out) == []


def test_watch_an_empty_folder(tmp_path):
    inp, out = tmp_path / "inbox", tmp_path / "done"
    inp.mkdir()
    errp = tmp_path / "err.txt"
    proc = _popen([str(inp), "-o", str(out), "--watch", "--watch-interval", "0.1", "--settle", "0.3"], tmp_path, errp)
    try:
        _wait(lambda: b"watching" in errp.read_bytes(), what="the watcher to start")
        _photo(inp, "x.jpg")
        _wait(lambda: (out / "x.png").exists(), what="the output")
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    finally:
        proc.kill()
    err = errp.read_text()
    assert rc == 0 and "error" not in err, err
    assert _complete(out / "x.png")


def test_watch_usage_errors(tmp_path, capsys):
    p = _photo(tmp_path, "w.jpg")
    assert main(["cut", str(p), "-o", str(tmp_path / "o"), "--watch"]) == 1
    assert "--watch serves folders" in capsys.readouterr().err
    assert main(["cut", str(tmp_path), "--watch"]) == 1
    assert "--watch needs -o" in capsys.readouterr().err
