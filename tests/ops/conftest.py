"""Op tests run once per backend (tests/conftest.py's `backend` fixture). Not every op has a
CUDA kernel yet: an op without a native entry point for the backend is skipped with the
reason, as the CPU-only build skips emu and cuda, instead of failing on BackendUnavailableError."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from alphacut import _core

# The op tests import helpers with `from conftest import ...`; with this file present that name
# resolves here, so the helpers of tests/conftest.py are re-exported (its fixtures stay there).
_spec = importlib.util.spec_from_file_location("alphacut_tests_conftest", Path(__file__).parents[1] / "conftest.py")
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)
for _name, _value in vars(_root).items():
    _is_fixture = type(_value).__name__ == "FixtureFunctionDefinition" or hasattr(_value, "_pytestfixturefunction")
    if not _name.startswith("_") and not _is_fixture and _name not in globals():
        globals()[_name] = _value

# Test modules whose native entry points are not named after the module.
_OPS_OF_MODULE = {
    "morphology": ("dilate", "erode"),
    "composite": ("composite", "premultiply", "unpremultiply"),
    "guided_filter": ("guided_filter",),
    "preprocess_op": ("preprocess",),  # tests/pipeline/test_preprocess.py holds the stage tests
}


@pytest.fixture(autouse=True)
def _skip_ops_without_backend(request):
    if "backend" not in request.fixturenames:
        return
    backend = request.getfixturevalue("backend")
    if backend == "cpu":
        return
    module = request.module.__name__.rsplit(".", 1)[-1]
    name = module[len("test_"):] if module.startswith("test_") else module
    ops = _OPS_OF_MODULE.get(name, (name,))
    known = [op for op in ops if hasattr(_core, f"{op}_cpu")]
    missing = [op for op in known if not hasattr(_core, f"{op}_{backend}")]
    if missing:
        pytest.skip(f"{', '.join(missing)} has no {backend} kernel in this build (CPU only for now)")
