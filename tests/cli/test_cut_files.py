"""Which files ``alphacut cut`` takes and where their outputs go; the watcher's settling rule."""

from __future__ import annotations

import os
from pathlib import Path

from alphacut.cli.cut_files import Watcher, collect, plan


def _touch(p: Path, data: bytes = b"x") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_collect_walks_recursively_and_reports(tmp_path):
    root = tmp_path / "in"
    _touch(root / "b.JPG")
    _touch(root / "a.png")
    _touch(root / "z" / "y" / "c.webp")
    _touch(root / "notes.md")
    _touch(root / ".DS_Store")
    _touch(root / ".cache" / "d.png")
    _touch(root / "out" / "e.png")  # the output folder: left out
    (root / "ln.png").symlink_to(root / "a.png")
    found = collect([str(root)], exclude=[root / "out"])
    assert [str(s.rel) for s in found.sources] == ["a.png", "b.JPG", "z/y/c.webp"]
    assert sorted(Path(p).name for p, _ in found.skipped) == ["ln.png", "notes.md"]
    assert found.missing == []
    # a file named on the command line is taken as given; nothing at all is "missing"
    found = collect([str(root / "notes.md"), str(tmp_path / "nope"), str(root / "*.txt")])
    assert [s.path.name for s in found.sources] == ["notes.md"]
    assert [why for _, why in found.missing] == ["no such file or folder", "the pattern matched no file"]


def test_plan_names(tmp_path):
    root = tmp_path / "in"
    for rel in ("a.jpg", "a.png", "s/a.jpg"):
        _touch(root / rel)
    srcs = collect([str(root)]).sources
    fmt = lambda o: "webp"  # noqa: E731
    got = [str(p.dst.relative_to(tmp_path)) for p in plan(srcs, str(tmp_path / "o"), fmt, single_file=False)]
    assert got == ["o/a.webp", "o/a-1.webp", "o/s/a.webp"]
    got = [str(p.dst.relative_to(tmp_path)) for p in plan(srcs, None, fmt, single_file=False)]
    assert got == ["in/a-cutout.webp", "in/a-cutout-1.webp", "in/s/a-cutout.webp"]
    one = plan(srcs[:1], str(tmp_path / "x.png"), lambda o: "png", single_file=True)
    assert one[0].dst == tmp_path / "x.png" and one[0].named_by_user


def test_watcher_waits_for_a_file_to_settle_and_sees_changes_and_deletions(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    w = Watcher([root], settle=1.0)
    p = _touch(root / "a.png", b"12")
    assert w.poll(now=0.0)[0] == []  # first seen: wait
    assert w.poll(now=0.5)[0] == []  # unchanged, but not for long enough
    with open(p, "ab") as f:
        f.write(b"34")  # still being written
    assert w.poll(now=1.2)[0] == []  # changed: the clock starts again
    assert w.poll(now=2.0)[0] == []
    assert [s.rel for s in w.poll(now=2.3)[0]] == [Path("a.png")]
    assert w.poll(now=5.0)[0] == []  # handed out once
    st = p.stat()
    p.write_bytes(b"new content")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert w.poll(now=6.0)[0] == [] and len(w.poll(now=7.1)[0]) == 1  # changed: handed out again
    p.unlink()
    w.poll(now=8.0)
    _touch(p, b"new content")  # dropped again with the same size: new, not "seen before"
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert w.poll(now=9.0)[0] == [] and len(w.poll(now=10.1)[0]) == 1
    _touch(root / "r.txt")
    assert [why for _, why in w.poll(now=11.0)[1]] == ["not an image (.txt)"]
    assert w.poll(now=12.0)[1] == []  # reported once
