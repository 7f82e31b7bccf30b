"""Which files ``alphacut cut`` reads and where it writes them, and the drop-folder watcher.

- :func:`collect`: files from paths, folders (recursively) and globs. Inside folders, symbolic
  links and files that are not images are reported and skipped, hidden files and folders (a name
  starting with ".") are passed over silently, and the output and debug folders are left out.
- :func:`plan`: the output of each file: inside ``-o OUT`` the folder structure is kept and the
  name is ``<stem>.<ext>``; beside the input it is ``<stem>-cutout.<ext>``; two inputs that would
  share a name get ``-1``, ``-2``, ... Existing outputs that alphacut named are skipped unless
  ``--overwrite`` (a file named by ``-o FILE`` is replaced).
- :class:`Watcher`: the new and changed image files under the watched folders, each handed out
  once its size and modification time have stayed the same for ``settle`` seconds (written
  completely before it is read).
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

IMAGE_EXTS = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".apng",
    ".webp",
    ".avif",
    ".bmp",
    ".dib",
    ".tif",
    ".tiff",
    ".gif",
    ".qoi",
    ".tga",
    ".dds",
    ".blp",
    ".ico",
    ".jp2",
    ".j2k",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
    ".psd",
    ".pcx",
    ".sgi",
)
EXT = {"png": ".png", "webp": ".webp", "avif": ".avif", "jpg": ".jpg", "mask": ".png"}
CUTOUT_SUFFIX = "-cutout"


@dataclass
class Source:
    """One input file. ``rel``: its path under the folder it was found in (its name otherwise)."""

    path: Path
    rel: Path


@dataclass
class Found:
    sources: List[Source] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # (path, why): symlinks, not images
    missing: List[Tuple[str, str]] = field(default_factory=list)  # (spec, why): matched nothing


def is_image_name(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTS


def _inside(p: Path, folders: Sequence[Path]) -> bool:
    rp = os.path.realpath(p)
    return any(rp == f or rp.startswith(f + os.sep) for f in (os.path.realpath(x) for x in folders))


def walk_folder(root: Path, exclude: Sequence[Path] = (), beside: bool = False):
    """Yield ("file", path) and ("skip", path, why) for everything under ``root``, sorted, recursively."""
    excl = [os.path.realpath(x) for x in exclude]

    def rec(d: Path):
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            yield ("skip", d, f"cannot list the folder ({exc.strerror or exc})")
            return
        for e in entries:
            p = Path(e.path)
            if e.name.startswith("."):
                continue  # hidden: .DS_Store, editors' and copiers' temporary files, alphacut's own .tmp-*
            if e.is_symlink():
                yield ("skip", p, "a symbolic link (not followed)")
                continue
            if e.is_dir(follow_symlinks=False):
                if os.path.realpath(p) in excl:
                    continue
                yield from rec(p)
                continue
            if not e.is_file(follow_symlinks=False):
                yield ("skip", p, "not a regular file")
            elif not is_image_name(p):
                yield ("skip", p, f"not an image ({p.suffix or 'no extension'})")
            elif beside and p.stem.endswith(CUTOUT_SUFFIX):
                yield ("skip", p, "an earlier cutout (its name ends in -cutout)")
            else:
                yield ("file", p)

    yield from rec(root)


def collect(specs: Iterable[str], exclude: Sequence[Path] = (), beside: bool = False) -> Found:
    """Files from paths (taken as given), folders (recursive) and glob patterns."""
    found = Found()
    seen: Set[str] = set()

    def add(p: Path, rel: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            found.sources.append(Source(p, rel))

    for s in specs:
        p = Path(s)
        if p.is_dir():
            n = 0
            for item in walk_folder(p, exclude, beside):
                if item[0] == "file":
                    add(item[1], item[1].relative_to(p))
                    n += 1
                else:
                    found.skipped.append((str(item[1]), item[2]))
            if n == 0:
                found.missing.append((s, "the folder holds no images"))
        elif p.is_file():
            add(p, Path(p.name))
        elif glob.has_magic(s):
            matched = sorted(Path(q) for q in glob.glob(s) if Path(q).is_file())
            if not matched:
                found.missing.append((s, "the pattern matched no file"))
            for q in matched:
                if is_image_name(q):
                    add(q, Path(q.name))
                else:
                    found.skipped.append((str(q), f"not an image ({q.suffix or 'no extension'})"))
        else:
            found.missing.append((s, "no such file or folder"))
    return found


@dataclass
class Planned:
    source: Source
    dst: Optional[Path]  # None: stdout
    fmt: str
    named_by_user: bool = False  # -o FILE: replaced when it exists


def plan(
    sources: Sequence[Source],
    output: Optional[str],
    fmt_for,
    *,
    single_file: bool,
    taken: Optional[Dict[Path, Path]] = None,
) -> List[Planned]:
    """The output of each source. ``fmt_for(path or None)`` gives the format; ``single_file``: the
    only input was named as a file (so ``-o x.png`` names the output file). ``taken`` (output →
    input) carries the names already given across calls (the watcher's)."""
    from ..errors import InputError

    if output == "-":
        if len(sources) != 1:
            raise InputError(f"-o - (stdout) takes one image, got {len(sources)} inputs: give -o a folder")
        return [Planned(sources[0], None, fmt_for(None))]
    out = Path(output) if output else None
    if out is not None and single_file and len(sources) == 1 and not out.is_dir() and out.suffix != "":
        return [Planned(sources[0], out, fmt_for(out), named_by_user=True)]
    if out is not None:
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: several inputs need an output folder, and this is a file")
        out.mkdir(parents=True, exist_ok=True)
    fmt = fmt_for(None)
    ext = EXT[fmt]
    taken = {} if taken is None else taken
    plans = []
    for s in sources:
        if out is not None:
            folder, stem = out / s.rel.parent, s.rel.stem
        else:
            folder, stem = s.path.parent, s.path.stem + CUTOUT_SUFFIX
        dst = folder / f"{stem}{ext}"
        n = 0
        while dst in taken and taken[dst] != s.path:
            n += 1
            dst = folder / f"{stem}-{n}{ext}"
        taken[dst] = s.path
        plans.append(Planned(s, dst, fmt))
    return plans


def signature(p: Path) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(p, follow_symlinks=False)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class Watcher:
    """New and changed image files under ``roots``, each once it has settled.

    ``done`` holds the signature (size, mtime) each file had when it was last handed out; a file
    is handed out again when its signature changes. A file is *settled* when its signature has
    not changed for ``settle`` seconds: one still being written keeps changing and waits."""

    def __init__(self, roots: Sequence[Path], exclude: Sequence[Path] = (), settle: float = 1.0) -> None:
        self.roots = list(roots)
        self.exclude = list(exclude)
        self.settle = float(settle)
        self.done: Dict[Path, Tuple[int, int]] = {}
        self.seen: Dict[Path, Tuple[Tuple[int, int], float]] = {}  # signature and when it was first seen
        self.reported: Set[Tuple[str, str]] = set()

    def mark_done(self, paths: Iterable[Path]) -> None:
        for p in paths:
            sig = signature(p)
            if sig is not None:
                self.done[p] = sig

    def poll(self, now: Optional[float] = None) -> Tuple[List[Source], List[Tuple[str, str]]]:
        """(sources ready now, (path, why) skipped and not reported before)."""
        now = time.monotonic() if now is None else now
        ready: List[Source] = []
        skipped: List[Tuple[str, str]] = []
        present: Set[Path] = set()
        for root in self.roots:
            for item in walk_folder(root, self.exclude):
                if item[0] != "file":
                    key = (str(item[1]), item[2])
                    if key not in self.reported:
                        self.reported.add(key)
                        skipped.append(key)
                    continue
                p = item[1]
                present.add(p)
                sig = signature(p)
                if sig is None or self.done.get(p) == sig:
                    continue
                prev = self.seen.get(p)
                if prev is None or prev[0] != sig:
                    self.seen[p] = (sig, now)  # new or still changing: wait for it to settle
                    if self.settle > 0:
                        continue
                elif now - prev[1] < self.settle:
                    continue
                self.done[p] = sig
                self.seen.pop(p, None)
                ready.append(Source(p, p.relative_to(root)))
        for p in list(self.done):
            if p not in present:
                del self.done[p]  # deleted: a file dropped again under that name is new
        return ready, skipped
