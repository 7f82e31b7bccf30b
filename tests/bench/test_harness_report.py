import copy
import json
import re

import numpy as np
import pytest

import alphacut
from alphacut.bench import (
    SCHEMA,
    BenchConfig,
    load_json,
    measure,
    plot,
    render_markdown,
    render_text,
    results_table,
    run_benchmark,
    validate_report,
    write_json,
)
from alphacut.bench.harness import CalibrationTarget, Target, load_factory, ordered_stages
from alphacut.bench.inputs import procedural


class CountingTarget(Target):
    """Stage timings are a known sequence; counts calls to check warm-up and repeat handling."""

    name = "counting"

    def __init__(self):
        self.calls = 0
        self.prepared_with = None

    def prepare(self, image):
        self.prepared_with = image.shape
        return image.rgb.sum()

    def run(self, prepared):
        self.calls += 1
        return {"encode": 1.0 * self.calls, "decode": 2.0, "mystery": 0.5}


@pytest.fixture
def tiny():
    return procedural((24, 32), "tiny")


def _report(tiny, repeat=5, warmup=2, batch=3):
    t = CountingTarget()
    rep = run_benchmark(
        t,
        [tiny],
        BenchConfig(repeat=repeat, warmup=warmup, batch=batch, memory=False),
        command="alphacut bench --sizes 32x24",
    )
    return t, rep


def test_warmup_repeat_batch_call_counts(tiny):
    t, rep = _report(tiny, repeat=5, warmup=2, batch=3)
    assert t.calls == 2 + 5 + 3
    assert t.prepared_with == (24, 32)
    r = rep["results"][0]
    assert r["latency_ms"]["n"] == 5 and len(r["samples_ms"]) == 5
    # timed runs are calls 3..7: encode stage values 3,4,5,6,7
    assert r["stages_ms"]["encode"]["median"] == 5.0
    assert r["stages_ms"]["encode"]["min"] == 3.0 and r["stages_ms"]["encode"]["max"] == 7.0
    assert list(r["stages_ms"]) == ["decode", "encode", "mystery"]  # pipeline order, unknown last
    assert r["throughput"]["images"] == 3 and r["throughput"]["mode"] == "sequential"


def test_latency_measures_wall_time():
    rep = run_benchmark(
        CalibrationTarget(mb=0, ms=30), [procedural((8, 8))], BenchConfig(repeat=3, warmup=0, batch=2, memory=False)
    )
    r = rep["results"][0]
    assert 29 <= r["latency_ms"]["median"] < 200
    assert r["latency_ms"]["median"] >= r["stages_ms"]["sleep"]["median"] - 0.5
    assert 5 < r["throughput"]["images_per_s"] <= 1000 / 29


def test_report_schema_and_json_roundtrip(tiny, tmp_path):
    _, rep = _report(tiny)
    assert rep["schema"] == SCHEMA
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rep["created_utc"])
    assert rep["target"] == {"name": "counting", "backend": "cpu"}
    validate_report(rep)
    p = write_json(rep, tmp_path / "sub" / "r.json")
    assert load_json(p) == json.loads(json.dumps(rep))
    assert not [f for f in p.parent.iterdir() if f.name.startswith(".")]  # no temp file left


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda r: r.pop("machine"), "missing top-level key 'machine'"),
        (lambda r: r.__setitem__("results", []), "non-empty list"),
        (lambda r: r["results"][0]["latency_ms"].pop("p99"), "missing 'p99'"),
        (lambda r: r["results"][0]["latency_ms"].__setitem__("median", "fast"), "expected a number"),
        (lambda r: r["results"][0]["latency_ms"].__setitem__("p90", -1.0), "min <= median"),
        (lambda r: r["results"][0]["stages_ms"]["decode"].pop("n"), "stages_ms.decode: missing 'n'"),
        (lambda r: r["results"][0].__setitem__("throughput", {"images_per_s": 0}), "throughput"),
        (lambda r: r.__setitem__("schema", "other/9"), "schema"),
    ],
)
def test_validate_report_catches(tiny, breakage, message):
    _, rep = _report(tiny)
    bad = copy.deepcopy(rep)
    breakage(bad)
    with pytest.raises(alphacut.InputError, match=re.escape(message)):
        validate_report(bad)


def test_write_json_refuses_an_invalid_report(tmp_path):
    with pytest.raises(alphacut.InputError):
        write_json({"schema": SCHEMA}, tmp_path / "x.json")
    assert not list(tmp_path.iterdir())


def test_load_json_bad_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(alphacut.InputError, match="cannot read"):
        load_json(p)


def test_markdown_table_values(tiny):
    _, rep = _report(tiny)
    r = rep["results"][0]
    table = results_table(rep, markdown=True).splitlines()
    head = [c.strip() for c in table[0].strip("|").split("|")]
    row = [c.strip() for c in table[2].strip("|").split("|")]
    assert len(table) == 3 and table[1].count("---") == len(head)
    cell = dict(zip(head, row))
    assert cell["size"] == "tiny" and cell["pixels"] == "32x24"
    assert cell["median ms"] == f"{r['latency_ms']['median']:,.0f}"
    assert cell["encode ms"] == "5.0" and cell["decode ms"] == "2.0"
    assert cell["images/s"] == f"{r['throughput']['images_per_s']:,.2f}"
    assert cell["peak RSS MiB"] == "–"  # memory off: shown as missing, not as zero


def test_missing_stage_shows_a_dash():
    class Partial(Target):
        def __init__(self):
            self.i = 0

        def run(self, p):
            self.i += 1
            return {"segment": 1.0} if p.shape[0] == 8 else {"segment": 1.0, "encode": 2.0}

    rep = run_benchmark(
        Partial(),
        [procedural((8, 8), "a"), procedural((9, 9), "b")],
        BenchConfig(repeat=1, warmup=0, batch=0, memory=False),
    )
    rows = results_table(rep, markdown=True).splitlines()[2:]
    assert rows[0].rstrip(" |").endswith("–") and rows[1].rstrip(" |").endswith("2.0")
    assert rep["results"][0]["throughput"] is None


def test_text_and_markdown_renderings(tiny):
    _, rep = _report(tiny)
    txt = render_text(rep)
    assert "CPU:" in txt and "GPU:" in txt and "versions:" in txt and "numpy" in txt
    assert "procedural" in txt
    med = rep["results"][0]["latency_ms"]["median"]
    assert f"tiny: median {med:,.0f} ms ({med / 1000:.2f} x 1,000 ms, under)" in txt
    md = render_markdown(rep, title="t")
    assert md.startswith("# t") and "```bash\nalphacut bench --sizes 32x24\n```" in md
    assert "| size | pixels |" in md


def test_memory_in_harness(tiny):
    cfg = BenchConfig(
        repeat=1,
        warmup=0,
        batch=0,
        memory=True,
        factory="alphacut.bench.harness:calibration_target",
        factory_kwargs={"mb": 48},
    )
    r = measure(CalibrationTarget(48), tiny, cfg)
    assert 40 <= r["memory"]["delta_mb"] <= 90
    with pytest.raises(alphacut.InputError, match="factory"):
        measure(CalibrationTarget(1), tiny, BenchConfig(repeat=1, warmup=0, batch=0, memory=True))


@pytest.mark.parametrize("kw", [{"repeat": 0}, {"warmup": -1}, {"batch": -2}])
def test_bad_config(kw, tiny):
    with pytest.raises(alphacut.InputError):
        run_benchmark(CountingTarget(), [tiny], BenchConfig(memory=False, **kw))


def test_load_factory():
    assert load_factory("alphacut.bench.harness:calibration_target")(mb=1).mb == 1
    for bad in ("nocolon", "alphacut.nope:x", "alphacut.bench.harness:nope"):
        with pytest.raises(alphacut.InputError):
            load_factory(bad)


def test_ordered_stages():
    assert ordered_stages(["encode", "zz", "decode", "segment", "zz"]) == ["decode", "segment", "encode", "zz"]


def test_plot_stacks_stages(tiny, tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    _, rep = _report(tiny)
    p = plot(rep, tmp_path / "chart.png")
    with Image.open(p) as im:
        assert im.format == "PNG" and im.size[0] > 300
        px = np.asarray(im.convert("RGB"))
    assert (px.std(axis=(0, 1)) > 5).any()  # something was drawn


def test_plot_without_matplotlib_is_a_clear_error(tiny, tmp_path, monkeypatch):
    import sys

    _, rep = _report(tiny)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(alphacut.Error, match="pip install matplotlib"):
        plot(rep, tmp_path / "chart.png")
    assert not (tmp_path / "chart.png").exists()
