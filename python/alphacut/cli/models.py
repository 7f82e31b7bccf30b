"""``alphacut models list | fetch NAME [--force] | verify [NAME|PATH]``."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ModelError


def register(sub):
    p = sub.add_parser(
        "models",
        help="list, fetch and verify model files",
        description="List the known models, fetch one into the cache, or verify local files.",
    )
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")

    ls = msub.add_parser("list", help="known models, and where each is found locally")
    ls.add_argument("--kind", choices=("segmenter", "matting"), help="only this kind")
    ls.set_defaults(func=_list)

    fe = msub.add_parser("fetch", help="download a model into the cache (hash-checked)")
    fe.add_argument("name", help="model name, e.g. u2netp")
    fe.add_argument("--force", action="store_true", help="fetch again even when cached")
    fe.add_argument("--no-progress", action="store_true", help="no progress bar")
    fe.set_defaults(func=_fetch)

    ve = msub.add_parser("verify", help="check local model files against their manifests")
    ve.add_argument("target", nargs="?", help="a model name or a file path (default: every model found locally)")
    ve.set_defaults(func=_verify)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _where(m):
    from ..models import resolve_model

    try:
        return str(resolve_model(m, download=False))
    except ModelError:
        return None


def _list(args) -> int:
    from ..models import list_manifests

    for m in list_manifests(args.kind):
        where = _where(m)
        if where:
            state = where
        elif m.sources or m.wheel_mirror or m.converted_from:
            state = "not fetched"
        else:
            state = "bring your own file"
        flag = "" if m.pipeline_supported else " (not supported by the pipeline)"
        print(f"{m.name:28s} {m.kind:9s} {state}\n    {m.task}{flag}")
    return 0


def _fetch(args) -> int:
    from ..models import get_manifest, resolve_model

    m = get_manifest(args.name)
    path = resolve_model(m, progress=not args.no_progress, force=args.force)
    print(path)
    return 0


def _verify(args) -> int:
    from ..models import get_manifest, identify, list_manifests, validate_model_file, verify
    from ..models.zoo import _BY_NAME

    target = args.target
    if target is not None and target not in _BY_NAME:
        p = Path(target)
        if not p.is_file():
            raise ModelError(f"{target!r} is neither a known model name nor a file; see `alphacut models list`")
        m = identify(p)
        if m is None:
            from ..runtime.onnxruntime import OrtRuntime

            with OrtRuntime(p, threads=1) as r:
                n_in, n_out = len(r.input_metadata()), len(r.output_metadata())
            print(f"{p}: loads ({n_in} inputs, {n_out} outputs) but matches no known model's hash")
            return 0
        validate_model_file(p, m)
        algo_digest = m.hash
        assert algo_digest is not None, "identify() matches manifests by their hash"
        print(f"{p}: OK, {m.name} ({algo_digest[0]} matches)")
        return 0
    manifests = [get_manifest(target)] if target else list_manifests()
    bad = 0
    checked = 0
    for m in manifests:
        if target is None and _where(m) is None:
            continue
        checked += 1
        try:
            p = verify(m)
            print(f"{m.name}: OK {p}")
        except ModelError as exc:
            bad += 1
            print(f"{m.name}: FAILED {exc}", file=sys.stderr)
    if checked == 0:
        print("no model files found locally; fetch one with `alphacut models fetch u2netp`")
    if bad:
        raise ModelError(f"{bad} model file(s) failed verification")
    return 0
