"""Every TensorRT name alphacut's TensorRT code uses exists in the real Python bindings of
TensorRT 10.x and 11.x: the sources' AST against the API that ``tools/trt_api_check.py --record``
read from the bindings wheels (``fixtures/trt_api.json``, with the wheels it came from)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tools"))
import trt_api_check as tac  # noqa: E402

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "trt_api.json").read_text())
APIS = FIXTURE["api"]
LOADER = REPO / "python" / "alphacut" / "runtime" / "trt" / "loader.py"


def test_fixture_covers_10x_and_11x_from_the_wheels():
    assert {v.split(".")[0] for v in APIS} == {"10", "11"}
    for version, wheel in FIXTURE["wheels"].items():
        assert wheel.startswith("tensorrt_cu1") and f"-{version}-" in wheel
    assert FIXTURE["generated_by"] == "tools/trt_api_check.py --record"


def test_the_runner_uses_only_names_every_version_has():
    uses = tac.used_api()
    names = {n for n, _, _ in uses}
    # The walk sees the calls that matter (a sanity check of the checker itself).
    assert {"IExecutionContext.execute_async_v3", "IBuilderConfig.clear_flag", "BuilderFlag.TF32"} <= names
    assert ("BuilderFlag.FP16", True) in {(n, o) for n, o, _ in uses}  # looked up optionally
    assert tac.check(uses, APIS) == []


def test_a_removed_name_in_the_runner_is_reported():
    src = LOADER.read_text()
    removed = src.replace("cfg.clear_flag(trt.BuilderFlag.TF32)", "cfg.set_flag(trt.BuilderFlag.FP16)")
    assert removed != src
    problems = tac.check(tac.used_api(text={"loader.py": removed}), APIS)
    assert problems and all("11.4" in p and "BuilderFlag.FP16" in p for p in problems)
    runner = (LOADER.parent / "runner.py").read_text()
    old_api = runner.replace("engine.num_io_tensors", "engine.num_bindings")  # gone since 10.0
    assert old_api != runner
    problems = tac.check(tac.used_api(text={"runner.py": old_api}), APIS)
    assert len(problems) == len(APIS)
    fast16 = src.replace("builder.create_builder_config()", "builder.platform_has_fast_fp16")
    assert [p for p in tac.check(tac.used_api(text={"loader.py": fast16}), APIS) if "11." in p]
