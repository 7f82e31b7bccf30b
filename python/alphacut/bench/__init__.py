"""Benchmark harness behind ``alphacut bench``: latency (median, p90, p99) end to end and per
stage, batch throughput and peak memory, at 1 MP, 4K and 12 MP, with the machine it ran on.

- :mod:`.stats`: summaries of samples; :mod:`.machine`: CPU, GPU, versions, load;
  :mod:`.inputs`: sizes and images; :mod:`.memory`: peak RSS in a subprocess;
  :mod:`.harness`: the measuring loop over a :class:`Target`; :mod:`.report`: JSON, tables, chart;
  :mod:`.adapter`: the pipeline as a target (the only pipeline-specific module).
"""

from __future__ import annotations

from .harness import BenchConfig, CalibrationTarget, Target, measure, run_benchmark
from .inputs import DEFAULT_SIZES, SIZES, BenchImage, make_images, parse_sizes
from .machine import machine_info
from .report import SCHEMA, load_json, plot, render_markdown, render_text, results_table, validate_report, write_json
from .stats import percentile, summarize

__all__ = [
    "BenchConfig",
    "BenchImage",
    "CalibrationTarget",
    "DEFAULT_SIZES",
    "SCHEMA",
    "SIZES",
    "Target",
    "load_json",
    "machine_info",
    "make_images",
    "measure",
    "parse_sizes",
    "percentile",
    "plot",
    "render_markdown",
    "render_text",
    "results_table",
    "run_benchmark",
    "summarize",
    "validate_report",
    "write_json",
]
