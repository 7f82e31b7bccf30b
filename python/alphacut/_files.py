"""File utilities shared by the package: atomic writes, an inter-process lock, file hashes.

Every file alphacut writes (cutouts, downloaded models, engine plans, their sidecars) goes through
:class:`AtomicFile`: the bytes go to a temporary file beside the destination, are fsynced, and the
file is renamed over the destination only when complete, so a reader never sees half a file and an
error leaves nothing behind. :func:`write_atomic` is the one-call form for bytes in memory.
:func:`file_lock` serialises processes that produce the same file (a model download, an engine
build); :func:`file_hash` digests a file without reading it whole.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator, Union

from .errors import InputError, ModelError

__all__ = ["AtomicFile", "write_atomic", "file_lock", "file_hash"]

PathLike = Union[str, "os.PathLike[str]"]

_CHUNK = 1 << 20
_TMP_PREFIX = ".tmp-"


def _read_umask() -> int:
    m = os.umask(0o022)
    os.umask(m)
    return m


_UMASK = _read_umask()  # read once at import: os.umask is process-wide and not thread-safe


# -- atomic writes ------------------------------------------------------------------------------
def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


class AtomicFile:
    """A file that appears at ``dest`` complete or not at all.

    Writes go to a temporary file ``.tmp-<name>.*`` in ``dest``'s folder; :meth:`commit` flushes,
    fsyncs, sets the permissions and renames it over ``dest`` (then fsyncs the folder, so the rename
    is durable too); :meth:`discard` removes it. As a context manager it commits when the block ends
    normally and discards when it raises.

    Parameters
    ----------
    dest : path-like
        The file to produce; it is replaced if it exists.
    protect : iterable of path-like, optional
        Files that must never be overwritten (the inputs): when ``dest`` is, or resolves to, one of
        them, :class:`InputError` is raised before anything is written.
    mode : int, default 0o644
        Permission bits before the process umask (read once at import). ``mkstemp`` makes 0600;
        a model or engine cache is shared like any download.
    make_parents : bool, default True
        Create ``dest``'s folder if needed; when False a missing folder is an :class:`InputError`.

    Examples
    --------
    >>> with AtomicFile(path) as out:  # doctest: +SKIP
    ...     for chunk in chunks:
    ...         out.write(chunk)
    """

    def __init__(
        self, dest: PathLike, *, protect: Iterable[PathLike] = (), mode: int = 0o644, make_parents: bool = True
    ):
        self.dest = Path(dest)
        for p in protect:
            p = Path(p)
            if self.dest.resolve() == p.resolve() or _same_file(self.dest, p):
                raise InputError(f"{self.dest}: refusing to write over an input file; choose another output name")
        folder = self.dest.parent
        if make_parents:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise InputError(f"{self.dest}: the folder {folder} does not exist")
        self.mode = mode
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX + self.dest.name + ".", dir=folder)
        self.tmp = Path(tmp)
        self.f = os.fdopen(fd, "wb")

    def write(self, data) -> int:
        """Append bytes (or any buffer) to the temporary file."""
        return self.f.write(data)

    def commit(self) -> None:
        """Make the written bytes the content of ``dest``; on failure nothing is left behind."""
        try:
            self.f.flush()
            os.fsync(self.f.fileno())
            self.f.close()
            os.chmod(self.tmp, self.mode & ~_UMASK)
            os.replace(self.tmp, self.dest)
        except BaseException:
            self.discard()
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable
            dfd = os.open(self.dest.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def discard(self) -> None:
        """Drop the temporary file; ``dest`` is left as it was."""
        if not self.f.closed:
            self.f.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def write_atomic(path: PathLike, data, *, protect: Iterable[PathLike] = ()) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync, then
    ``os.replace``. Nothing is left behind on error. Raises :class:`InputError` when ``path`` is
    (or resolves to) one of the ``protect`` paths — the inputs are never overwritten — or when its
    folder does not exist. The file gets the permissions ``open()`` would give it (0o666 less the
    umask)."""
    with AtomicFile(path, protect=protect, mode=0o666, make_parents=False) as out:
        out.write(data)
    return out.dest


# -- locking ------------------------------------------------------------------------------------
@contextlib.contextmanager
def file_lock(lock_path: Path, timeout: float = 600.0, poll: float = 0.1) -> Iterator[None]:
    """An exclusive ``fcntl.flock`` on ``lock_path`` (created if needed), released on exit.

    Raises :class:`ModelError` when the lock is not obtained within ``timeout`` seconds. On
    platforms without ``fcntl`` it is a no-op.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    raise ModelError(
                        f"timed out after {timeout:.0f} s waiting for the lock {lock_path}: another "
                        "process is fetching the same file. Wait for it, or delete the lock file if "
                        "no alphacut process is running."
                    ) from None
                time.sleep(poll)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# -- hashing ------------------------------------------------------------------------------------
def file_hash(path: PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"md5"`` or ``"sha256"``), read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()
