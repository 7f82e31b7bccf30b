"""Shared fixtures: the real data in ../shared/data and the backends available in this build."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ALPHACUT_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not present: {p} (the ../shared/data folder beside the repo)")
    return p


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_gray(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def _op_backends() -> list:
    from alphacut.ops import available_backends

    params = []
    for b in ("cpu", "emu", "cuda"):
        if b in available_backends():
            params.append(pytest.param(b, marks=[pytest.mark.gpu] if b == "cuda" else []))
    return params


@pytest.fixture(params=_op_backends())
def backend(request) -> str:
    """Each op test runs once per backend this build has (cpu always; emu, cuda when present)."""
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
