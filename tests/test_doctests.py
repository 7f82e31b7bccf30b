"""Every module of the package runs its docstring examples (the package under test: the source
tree in development, the installed one in CI). A module whose example is wrong fails here."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import alphacut


def _modules():
    names = ["alphacut"]
    for info in pkgutil.walk_packages(alphacut.__path__, "alphacut."):
        names.append(info.name)
    return sorted(n for n in names if not n.endswith("__main__"))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False, report=True
    )
    assert failed == 0, f"{failed} of {attempted} examples in {name} failed"
