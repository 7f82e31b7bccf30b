"""``alphacut video``: the command end to end on u2netp (a 4-frame clip), its one-line errors, and
the message when PyAV is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import media
import numpy as np
import pytest
import tiny_models as tm
from conftest import PACKAGE_DIR, shared_path

from alphacut.cli import main


def _clip(path, n=3):
    rgb, _ = tm.red_disk(96, 128, r=30)
    media.write_clip(path, [np.roll(rgb, 2 * i, axis=1) for i in range(n)], rate=12)


def test_video_to_webm_alpha_prints_the_flicker(tmp_path, u2netp_home, capsys):
    src = tmp_path / "in.mp4"
    _clip(src)
    out = tmp_path / "cut.webm"
    rc = main(["video", str(src), "-o", str(out), "--route", "off", "-q"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "3 frames" in err and "webm alpha" in err and "audio: re-encoded (aac → libopus)" in err
    assert "before" in err and "after stabilisation" in err and "pixel against pixel" in err
    assert "warning" not in err
    frames, info = media.read_video(out, decoder="libvpx-vp9")
    assert len(frames) == 3 and info["pix_fmt"] == "yuva420p" and info["audio_codec"] == "opus"
    a = frames[0][..., 3]
    assert a[48, 64] > 200 and a[5, 5] < 30  # the disk kept, the backdrop removed


def test_unreadable_video_exits_1_and_writes_nothing(tmp_path, u2netp_home, capsys):
    work = tmp_path / "work"
    work.mkdir()
    bad = work / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    rc = main(["video", str(bad), "-o", str(work / "o.mov"), "--route", "off"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith("alphacut: error:") and "not a readable video" in err
    assert len(err.splitlines()) == 1
    assert os.listdir(work) == ["bad.mp4"]


def test_output_over_the_input_is_refused(tmp_path, capsys):
    src = tmp_path / "in.mp4"
    _clip(src, n=2)
    before = src.read_bytes()
    assert main(["video", str(src), "-o", str(src)]) == 1
    assert "overwrite the input" in capsys.readouterr().err
    assert src.read_bytes() == before


def test_missing_pyav_is_one_line_naming_the_extra(tmp_path):
    """A fresh interpreter where ``import av`` fails."""
    shared_path("models", "u2netp_320.onnx")  # only to share the skip rule of the other tests
    code = (
        "import sys; sys.modules['av'] = None\n"
        "from alphacut.cli import main\n"
        "sys.exit(main(['video', 'in.mp4', '-o', 'out.webm']))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "alphacut[video]"' in lines[0], p.stderr
    assert not (tmp_path / "out.webm").exists()


def test_help_works_without_pyav():
    code = "import sys; sys.modules['av'] = None\nfrom alphacut.cli import main\nmain(['video', '--help'])\n"
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and "--bg" in p.stdout


@pytest.mark.parametrize("args,msg", [(["--batch", "0"], "--batch"), (["--strength", "1"], "--strength")])
def test_bad_options(tmp_path, capsys, args, msg):
    src = tmp_path / "in.mp4"
    _clip(src, n=2)
    assert main(["video", str(src), "-o", str(tmp_path / "o.webm"), *args]) == 1
    assert msg in capsys.readouterr().err


def test_truncated_video_is_cut_as_far_as_it_goes_with_a_warning(tmp_path, u2netp_home, capsys):
    """FFmpeg decodes a cut Matroska file up to the cut without an error: say so."""
    src = tmp_path / "full.mkv"
    rgb, _ = tm.red_disk(96, 128, r=30)
    media.write_clip(src, [np.roll(rgb, 2 * i, axis=1) for i in range(12)], rate=12, audio=None)
    cut = tmp_path / "cut.mkv"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    rc = main(["video", str(cut), "-o", str(tmp_path / "o.webm"), "--route", "off", "-q", "--no-stabilise"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "alphacut: warning:" in err and "of the 12 the file declares" in err, err
