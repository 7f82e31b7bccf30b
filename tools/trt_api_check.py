#!/usr/bin/env python3
"""Check every TensorRT Python name alphacut's TensorRT code uses against the real bindings of
TensorRT 10.x and 11.x, without a GPU and without TensorRT's libraries.

The ``tensorrt-cu12-bindings`` / ``tensorrt-cu13-bindings`` wheels (about 1 MB each) hold the
pybind11 module ``tensorrt_bindings/tensorrt.so``. It links against ``libnvinfer``,
``libnvonnxparser`` and ``libnvinfer_plugin``, but importing it only needs a handful of their
symbols to resolve: this tool compiles empty stand-ins for those libraries (a C compiler is
needed), imports the real module with them, and reads its classes' attributes with ``dir()``.

Usage::

    tools/trt_api_check.py --download            # pip download the wheels into the cache
    tools/trt_api_check.py                       # check the sources against every cached wheel
    tools/trt_api_check.py --record tests/runtime/trt/fixtures/trt_api.json

What counts as a use (an AST walk over ``python/alphacut/runtime/trt/*.py``):

- ``trt.X.Y`` chains (the module is always imported as ``trt``);
- ``getattr(trt.X, "Y", default)``: an *optional* name, allowed to be missing in some versions
  (the code checks for it);
- methods and attributes of TensorRT objects held in variables named after their class, see
  :data:`RECEIVERS` (``builder.create_network``, ``engine.num_io_tensors``, ``self.context...``).

The recorded fixture (``--record``) is what the tests check the sources against, so adding a
name that a TensorRT version lacks to the runner fails a test.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / "python" / "alphacut" / "runtime" / "trt").glob("*.py"))
CACHE = Path(os.environ.get("ALPHACUT_TRT_WHEELS", Path.home() / ".cache" / "alphacut" / "trt-wheels"))
#: The wheels checked: the oldest and newest 10.x (CUDA 12) and the newest 11.x (CUDA 13).
WHEELS = ("tensorrt-cu12-bindings==10.0.1", "tensorrt-cu12-bindings==10.16.1.11", "tensorrt-cu13-bindings==11.4.0.106")

#: Variable (or attribute, or ``self._context()``) names -> the TensorRT class they hold.
RECEIVERS = {
    "builder": "Builder",
    "network": "INetworkDefinition",
    "parser": "OnnxParser",
    "cfg": "IBuilderConfig",
    "profile": "IOptimizationProfile",
    "runtime": "Runtime",
    "engine": "ICudaEngine",
    "context": "IExecutionContext",
    "_context": "IExecutionContext",
    "logger": "Logger",
}

# The symbols the bindings import from TensorRT's libraries (nm -D --undefined-only).
_STUB_C = r"""
void* createInferBuilder_INTERNAL(void* a, int b) { return 0; }
void* createInferRefitter_INTERNAL(void* a, void* b, int c) { return 0; }
void* createInferRuntime_INTERNAL(void* a, int b) { return 0; }
void* createNvOnnxParserRefitter_INTERNAL(void* a, void* b, int c) { return 0; }
void* createNvOnnxParser_INTERNAL(void* a, void* b, int c) { return 0; }
void* getBuilderPluginRegistry(int a) { return 0; }
int getNvOnnxParserVersion(void) { return 0; }
void* getPluginRegistry(void) { return 0; }
int initLibNvInferPlugins(void* a, const char* b) { return 1; }
int getInferLibVersion(void) { return 0; }
"""

Use = Tuple[str, bool, str]  # (dotted name below the module, optional, "file:line")


# ---- what the sources use ---------------------------------------------------------------------


def _chain(node: ast.AST) -> Optional[List[str]]:
    """``trt.A.B`` -> ["A", "B"]; None when the chain is not rooted at the name ``trt``."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "trt" and parts:
        return parts[::-1]
    return None


def _receiver(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return RECEIVERS.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return RECEIVERS.get(node.attr)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return RECEIVERS.get(node.func.attr)
    return None


def used_api(sources: Iterable[Path] = SOURCES, text: Optional[Dict[str, str]] = None) -> List[Use]:
    """The TensorRT names the sources use (``text``: {name: source} instead of files)."""
    items = dict(text) if text is not None else {str(p.relative_to(REPO)): p.read_text() for p in sources}
    out: Dict[Tuple[str, bool], str] = {}
    for fname, src in items.items():
        tree = ast.parse(src, fname)
        inner = set()  # attribute nodes that are part of a longer trt chain
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                inner.add(id(node.value))
        for node in ast.walk(tree):
            where = f"{fname}:{getattr(node, 'lineno', 0)}"
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) == 3
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                base = _chain(node.args[0])
                if base is not None:
                    out.setdefault((".".join(base + [node.args[1].value]), True), where)
            if isinstance(node, ast.Attribute) and id(node) not in inner:
                parts = _chain(node)
                if parts is not None:
                    out.setdefault((".".join(parts), False), where)
                    continue
                cls = _receiver(node.value)
                if cls is not None:
                    out.setdefault((f"{cls}.{node.attr}", False), where)
    return sorted((name, opt, where) for (name, opt), where in out.items())


# ---- what the bindings have -------------------------------------------------------------------

_DUMP = r"""
import json, sys
import tensorrt_bindings as trt
classes = json.loads(sys.argv[1])
api = {"<module>": sorted(n for n in dir(trt) if not n.startswith("_") or n == "__version__")}
for c in classes:
    obj = getattr(trt, c, None)
    if obj is not None:
        api[c] = sorted(n for n in dir(obj) if not n.startswith("_"))
print(json.dumps({"version": trt.__version__, "api": api}))
"""


def _stubs(major: str, where: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("a C compiler (cc) is needed to build the stand-in TensorRT libraries")
    src = where / "stub.c"
    src.write_text(_STUB_C)
    for lib in ("nvinfer", "nvonnxparser", "nvinfer_plugin"):
        subprocess.run([cc, "-shared", "-fPIC", "-o", str(where / f"lib{lib}.so.{major}"), str(src)], check=True)


def wheel_api(wheel: Path, classes: Iterable[str]) -> Tuple[str, Dict[str, List[str]]]:
    """(TensorRT version, {class or "<module>": its public names}) of one bindings wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        with zipfile.ZipFile(wheel) as z:
            z.extractall(t / "site")
        version = wheel.name.split("-")[1]
        _stubs(version.split(".")[0], t)
        env = dict(os.environ, LD_LIBRARY_PATH=str(t), PYTHONPATH=str(t / "site"))
        res = subprocess.run(
            [sys.executable, "-c", _DUMP, json.dumps(sorted(set(classes)))],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        if res.returncode != 0:
            raise SystemExit(f"cannot import the bindings of {wheel.name}:\n{res.stderr}")
        data = json.loads(res.stdout)
        return data["version"], data["api"]


def classes_of(uses: Iterable[Use]) -> List[str]:
    return sorted({name.split(".")[0] for name, _, _ in uses} | set(RECEIVERS.values()))


def has(api: Dict[str, List[str]], dotted: str) -> Optional[bool]:
    """True/False where the recorded API says; None when the class was not recorded."""
    parts = dotted.split(".")
    if len(parts) == 1:
        return parts[0] in api["<module>"]
    if parts[0] not in api:
        return None if parts[0] in api["<module>"] else False
    return parts[1] in api[parts[0]]


def check(uses: Iterable[Use], apis: Dict[str, Dict[str, List[str]]]) -> List[str]:
    """One line per problem: a required name missing from a version, or a class not recorded."""
    problems = []
    for name, optional, where in uses:
        for version, api in sorted(apis.items()):
            ok = has(api, name)
            if ok is None:
                problems.append(f"{where}: trt.{name}: class not recorded for TensorRT {version}; rerun --record")
            elif not ok and not optional:
                problems.append(f"{where}: trt.{name} does not exist in TensorRT {version}")
    return problems


def download(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for spec in WHEELS:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), spec], check=True
        )


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheels", type=Path, default=CACHE, help=f"folder of bindings wheels (default {CACHE})")
    ap.add_argument("--download", action="store_true", help=f"pip download {', '.join(WHEELS)} first")
    ap.add_argument("--record", type=Path, help="write the wheels' API for the used classes to this JSON fixture")
    args = ap.parse_args(argv)
    if args.download:
        download(args.wheels)
    wheels = sorted(args.wheels.glob("tensorrt_cu1*_bindings-*.whl"))
    if not wheels:
        print(f"no tensorrt bindings wheels in {args.wheels}; run with --download", file=sys.stderr)
        return 2
    uses = used_api()
    apis, files = {}, {}
    for w in wheels:
        version, api = wheel_api(w, classes_of(uses))
        apis[version], files[version] = api, w.name
    print(f"{'name':58} " + " ".join(f"{v:>11}" for v in sorted(apis)))
    for name, optional, _ in uses:
        marks = ["yes" if has(apis[v], name) else "NO" for v in sorted(apis)]
        print(f"trt.{name + (' (optional)' if optional else ''):54} " + " ".join(f"{m:>11}" for m in marks))
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(
            json.dumps(
                {"generated_by": "tools/trt_api_check.py --record", "wheels": files, "api": apis},
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
        print(f"recorded {len(apis)} versions in {args.record}")
    problems = check(uses, apis)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
