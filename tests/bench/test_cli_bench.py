import sys

import pytest

from alphacut.bench import load_json
from alphacut.cli import main


def test_calibration_run_end_to_end(tmp_path, capsys):
    out = tmp_path / "r.json"
    md = tmp_path / "r.md"
    rc = main(
        [
            "bench",
            "--target",
            "calibration",
            "--sizes",
            "64x48,32x24",
            "--repeat",
            "3",
            "--warmup",
            "1",
            "--batch",
            "2",
            "--json",
            str(out),
            "--markdown",
            str(md),
            "-q",
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "CPU:" in text and "median ms" in text and "64x48" in text and "32x24" in text
    rep = load_json(out)
    assert [r["size"] for r in rep["results"]] == ["64x48", "32x24"]
    assert rep["command"].startswith("alphacut bench --backend cpu") and "--repeat 3" in rep["command"]
    for r in rep["results"]:
        assert r["latency_ms"]["n"] == 3
        assert 45 <= r["latency_ms"]["median"] < 1000  # 50 ms sleep + 100 MiB
        assert 80 <= r["memory"]["delta_mb"] <= 160
    assert md.read_text().count("| 64x48 |") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sizes", "5mp"], "unknown size"),
        (["--repeat", "0"], "--repeat"),
        (["--image", "/nonexistent/x.jpg"], "no such file"),
    ],
)
def test_user_errors_exit_1_with_one_line(argv, message, capsys):
    rc = main(["bench", "--target", "calibration", "--sizes", "8x8", "--no-memory", "-q"] + argv)
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("alphacut: error:") and message in err and "Traceback" not in err


@pytest.mark.parametrize("backend", ["cuda", "tensorrt"])
def test_gpu_backend_without_gpu_is_refused_before_measuring(backend, capsys):
    from alphacut.bench.machine import gpus

    if gpus():
        pytest.skip(f"a GPU is present: --backend {backend} is legitimate here")
    rc = main(["bench", "--backend", backend, "--sizes", "8x8", "-q"])
    captured = capsys.readouterr()
    assert rc == 1 and "needs an NVIDIA GPU" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""  # no figure printed


def test_plot_without_matplotlib_fails_before_measuring(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    rc = main(
        ["bench", "--target", "calibration", "--sizes", "8x8", "--repeat", "1", "--plot", str(tmp_path / "p.png"), "-q"]
    )
    captured = capsys.readouterr()
    assert rc == 1 and "pip install matplotlib" in captured.err
    assert "median ms" not in captured.out  # nothing was measured


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = capsys.readouterr().out
    for opt in ("--backend", "--model", "--sizes", "--repeat", "--warmup", "--json", "--plot"):
        assert opt in out


def test_from_json_rerenders_without_measuring(tmp_path, capsys):
    src = tmp_path / "r.json"
    assert (
        main(
            [
                "bench",
                "--target",
                "calibration",
                "--sizes",
                "16x16",
                "--repeat",
                "2",
                "--warmup",
                "0",
                "--batch",
                "0",
                "--no-memory",
                "--json",
                str(src),
                "-q",
            ]
        )
        == 0
    )
    first = capsys.readouterr().out
    md = tmp_path / "again.md"
    assert main(["bench", "--from-json", str(src), "--markdown", str(md)]) == 0
    again = capsys.readouterr().out
    table = [ln for ln in first.splitlines() if ln.strip().startswith("16x16")]
    assert table and table[0] in again  # the same figures, printed again
    assert load_json(src)["command"] in md.read_text()


def test_from_json_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "alphacut-bench/1"}')
    assert main(["bench", "--from-json", str(bad)]) == 1
    assert "invalid benchmark report" in capsys.readouterr().err
