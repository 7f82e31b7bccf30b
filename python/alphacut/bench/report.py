"""Reports: the JSON schema, its check, the tables printed and written, and the chart.

JSON layout (``schema`` = ``"alphacut-bench/1"``)::

    {
      "schema": "alphacut-bench/1", "created_utc": "2026-01-01T12:00:00Z", "command": "alphacut bench ...",
      "machine": {"cpu": ..., "cpu_cores": ..., "gpus": [...], "versions": {...}, "load_average": [...], ...},
      "target": {"name": ..., "backend": ..., ...},           # what was measured, as it describes itself
      "config": {"repeat": 10, "warmup": 2, "batch": 4, "memory": true, "sizes": [...], ...},
      "results": [{
          "size": "12mp", "height": 3000, "width": 4000, "megapixels": 12.0, "input": "photo ...",
          "latency_ms": {"n", "median", "p90", "p99", "mean", "min", "max", "stdev"},
          "samples_ms": [...],
          "stages_ms": {"decode": {...same keys...}, ...},
          "throughput": {"images", "seconds", "images_per_s", "mode"
                         [, "sequential_images_per_s", "speedup"]} | null,
          "memory": {"rss_before_mb", "peak_mb", "delta_mb", "method", ...} | null
      }, ...]
    }
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List

from ..errors import Error, InputError
from .harness import ordered_stages
from .machine import describe
from .stats import SUMMARY_KEYS

SCHEMA = "alphacut-bench/1"
_TOP = ("schema", "created_utc", "command", "machine", "target", "config", "results")
#: A report as JSON decodes it (the layout above; :func:`validate_report` checks it).
Report = Dict[str, Any]

_RESULT = ("size", "height", "width", "megapixels", "input", "latency_ms", "stages_ms", "throughput", "memory")


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _check_summary(s, where: str, problems: List[str]) -> None:
    if not isinstance(s, dict):
        problems.append(f"{where}: expected an object, got {type(s).__name__}")
        return
    for k in SUMMARY_KEYS:
        if k not in s:
            problems.append(f"{where}: missing {k!r}")
        elif not isinstance(s[k], (int, float)) or isinstance(s[k], bool):
            problems.append(f"{where}.{k}: expected a number, got {s[k]!r}")
    if all(isinstance(s.get(k), (int, float)) for k in ("min", "median", "p90", "p99", "max")):
        if not s["min"] <= s["median"] <= s["p90"] <= s["p99"] <= s["max"]:
            problems.append(f"{where}: expected min <= median <= p90 <= p99 <= max")


def validate_report(rep) -> None:
    """Raise :class:`~alphacut.InputError` listing every way ``rep`` departs from the schema."""
    problems: List[str] = []
    if not isinstance(rep, dict):
        raise InputError(f"a report must be a JSON object, got {type(rep).__name__}")
    for k in _TOP:
        if k not in rep:
            problems.append(f"missing top-level key {k!r}")
    if rep.get("schema") not in (None, SCHEMA):
        problems.append(f"schema is {rep.get('schema')!r}, expected {SCHEMA!r}")
    if "machine" in rep and not isinstance(rep["machine"], dict):
        problems.append("machine: expected an object")
    results = rep.get("results")
    if not isinstance(results, list) or not results:
        problems.append("results: expected a non-empty list")
        results = []
    for i, r in enumerate(results):
        where = f"results[{i}]"
        if not isinstance(r, dict):
            problems.append(f"{where}: expected an object")
            continue
        for k in _RESULT:
            if k not in r:
                problems.append(f"{where}: missing {k!r}")
        if "latency_ms" in r:
            _check_summary(r["latency_ms"], f"{where}.latency_ms", problems)
        for st, s in (r.get("stages_ms") or {}).items():
            _check_summary(s, f"{where}.stages_ms.{st}", problems)
        tp = r.get("throughput")
        if tp is not None and not (
            isinstance(tp, dict) and isinstance(tp.get("images_per_s"), (int, float)) and tp["images_per_s"] > 0
        ):
            problems.append(f"{where}.throughput: expected null or an object with images_per_s > 0")
        mem = r.get("memory")
        if mem is not None and not (isinstance(mem, dict) and isinstance(mem.get("peak_mb"), (int, float))):
            problems.append(f"{where}.memory: expected null or an object with peak_mb")
    if problems:
        raise InputError("invalid benchmark report: " + "; ".join(problems))


def write_json(rep: Report, path) -> Path:
    """Validate and write atomically (temp file in the same folder, then rename)."""
    validate_report(rep)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(rep, f, indent=2, sort_keys=False, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_json(path) -> Report:
    """Read and validate a report written by :func:`write_json`."""
    try:
        with open(path, encoding="utf-8") as f:
            rep = json.load(f)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read benchmark report {path}: {exc}") from None
    validate_report(rep)
    return rep


def _fmt(v, nd: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:,.{nd}f}"


def stage_names(rep: Report) -> List[str]:
    names: List[str] = []
    for r in rep["results"]:
        names.extend(r.get("stages_ms") or {})
    return ordered_stages(names)


def results_table(rep: Report, markdown: bool = True) -> str:
    """One row per size: latency median / p90 / p99, images/s, peak RSS, and each stage's median.

    All times in milliseconds. A stage a run did not report shows "–".
    """
    stages = stage_names(rep)
    head = ["size", "pixels", "median ms", "p90 ms", "p99 ms", "images/s", "peak RSS MiB", "+run MiB"]
    head += [f"{s} ms" for s in stages]
    rows = []
    for r in rep["results"]:
        lat = r["latency_ms"]
        tp = r.get("throughput") or {}
        mem = r.get("memory") or {}
        row = [
            r["size"],
            f"{r['width']}x{r['height']}",
            _fmt(lat["median"]),
            _fmt(lat["p90"]),
            _fmt(lat["p99"]),
            _fmt(tp.get("images_per_s"), 2),
            _fmt(mem.get("peak_mb")),
            _fmt(mem.get("delta_mb")),
        ]
        st = r.get("stages_ms") or {}
        row += [_fmt(st[s]["median"], 1) if s in st else "–" for s in stages]
        rows.append(row)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*row) for row in rows])


def budget_lines(rep: Report, budget_ms: float = 1000.0) -> List[str]:
    """One line per size: the median and p99 against the budget (the sub-second proof)."""
    out = []
    for r in rep["results"]:
        lat = r["latency_ms"]
        verdict = "under" if lat["median"] < budget_ms else "over"
        out.append(
            f"{r['size']}: median {lat['median']:,.0f} ms "
            f"({lat['median'] / budget_ms:.2f} x {budget_ms:,.0f} ms, {verdict}), p99 {lat['p99']:,.0f} ms"
        )
    return out


def render_text(rep: Report) -> str:
    """What ``alphacut bench`` prints: the machine, what was measured, the table."""
    t = rep.get("target") or {}
    c = rep.get("config") or {}
    lines = describe(rep["machine"])
    lines.append("target: " + ", ".join(f"{k}={v}" for k, v in t.items()))
    lines.append(
        f"runs: {c.get('repeat')} timed after {c.get('warmup')} warm-up; "
        f"throughput over {c.get('batch')} images; times in ms"
    )
    inputs = sorted({r["input"] for r in rep["results"]})
    lines += [f"input: {s}" for s in inputs]
    lines.append("")
    lines.append(results_table(rep, markdown=False))
    lines.append("")
    lines += budget_lines(rep)
    for r in rep["results"]:
        tp = r.get("throughput") or {}
        if tp.get("sequential_images_per_s"):
            lines.append(
                f"{r['size']}: throughput {tp['images_per_s']:.2f} images/s batched ({tp['mode']}), "
                f"{tp['sequential_images_per_s']:.2f} one after the other: {tp['speedup']:.2f}x"
            )
    mem = [r.get("memory") for r in rep["results"] if r.get("memory")]
    if mem:
        lines.append(
            f"memory: {mem[0].get('method')}; peak = resident set high-water mark of one run in a "
            "fresh process, +run = peak minus what was resident before it"
        )
    return "\n".join(lines)


def render_markdown(rep: Report, title: str = "alphacut bench") -> str:
    """A results file for ``bench/results/``: command, date, machine, table, notes."""
    t = rep.get("target") or {}
    c = rep.get("config") or {}
    out = [
        f"# {title}",
        "",
        f"Measured {rep.get('created_utc')} with:",
        "",
        "```bash",
        str(rep.get("command")),
        "```",
        "",
        "Machine:",
        "",
    ]
    out += [f"- {ln}" for ln in describe(rep["machine"])]
    out += [
        "",
        "Target: " + ", ".join(f"`{k}={v}`" for k, v in t.items()),
        "",
        f"{c.get('repeat')} timed runs after {c.get('warmup')} warm-up runs per size; latency of the whole "
        f"call (median, p90, p99 in ms); stage columns are stage medians in ms; throughput over "
        f"{c.get('batch')} images.",
        "",
    ]
    inputs = sorted({r["input"] for r in rep["results"]})
    out += [f"Input: {s}" for s in inputs] + [""]
    out.append(results_table(rep, markdown=True))
    out += [""] + [f"- {ln}" for ln in budget_lines(rep)]
    mem = [r.get("memory") for r in rep["results"] if r.get("memory")]
    if mem:
        out += [
            "",
            f"Memory: {mem[0].get('method')}, in a fresh process per size; peak RSS of one run, "
            "+run = peak minus the resident set before the run. GPU memory is not included.",
        ]
    out.append("")
    return "\n".join(out)


def plot(rep: Report, path, budget_ms: float = 1000.0) -> Path:
    """Stacked bars of the stage medians per size against the ``budget_ms`` line, as PNG.

    The part of the median latency not covered by the reported stages is drawn as "other".
    Needs matplotlib (``pip install matplotlib``, or the ``bench`` extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise Error("--plot needs matplotlib: pip install matplotlib (or pip install 'alphacut[bench]')") from None

    results = rep["results"]
    stages = stage_names(rep)
    labels = [f"{r['size']}\n{r['width']}x{r['height']}" for r in results]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(results) + 3), 4.5))
    bottoms = [0.0] * len(results)
    # distinct colours, none of them grey: grey is kept for "other"
    # ListedColormaps: their .colors (Colormap, the declared type, has none)
    tab10: Any = plt.get_cmap("tab10")
    dark2: Any = plt.get_cmap("Dark2")
    tab = [c for i, c in enumerate(tab10.colors) if i != 7] + list(dark2.colors)
    for i, s in enumerate(stages + ["other"]):
        vals = []
        for r in results:
            st = r.get("stages_ms") or {}
            if s == "other":
                covered = sum(v["median"] for v in st.values())
                vals.append(max(0.0, r["latency_ms"]["median"] - covered))
            else:
                vals.append(st[s]["median"] if s in st else 0.0)
        if any(v > 0 for v in vals):
            ax.bar(labels, vals, bottom=bottoms, label=s, color="0.75" if s == "other" else tab[i % len(tab)])
            bottoms = [b + v for b, v in zip(bottoms, vals)]
    for x, r in enumerate(results):
        ax.text(x, bottoms[x], f"{r['latency_ms']['median']:.0f} ms", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, max(max(bottoms, default=0.0), budget_ms) * 1.12)  # room for the labels
    ax.axhline(budget_ms, color="crimson", linestyle="--", linewidth=1.2, label=f"{budget_ms:.0f} ms")
    t = rep.get("target") or {}
    title = f"alphacut {t.get('model', '')} on {t.get('backend', '')}: median latency per stage"
    ax.set_title(title.replace("  ", " "))
    ax.set_ylabel("ms")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
