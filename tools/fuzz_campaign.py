#!/usr/bin/env python3
"""A longer fuzz campaign over alphacut.ops: the strategies and properties of tests/fuzz, many
more cases, and every finding collected instead of stopping at the first.

    python tools/fuzz_campaign.py 500                                   # 500 cases per op
    python tools/fuzz_campaign.py 200 --ops solve_alpha resize --seed 7
    python tools/fuzz_campaign.py 100 --python /other/build/python      # fuzz another build

Prints, per op, the cases tried and how they came out (ok: accepted on every backend; refused:
alphacut.InputError on every backend; finding: a property broken) and then each finding with the
case that reproduces it (python tests/fuzz/_cases.py '<case>'). Exit status 1 when there are
findings. Cases run in a child interpreter (crashes and hangs are findings); the random seed is
printed, so a campaign can be rerun exactly.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fuzz"))

import _runner
import _strategies
from hypothesis import HealthCheck, given, seed, settings


def kind(finding: str) -> str:
    """The kind of a finding, without its numbers: crash, hang, raised <type>, not finite,
    backends disagree, shapes differ, values differ."""
    first = finding.splitlines()[0]
    if first.startswith(("crash", "hang")):
        return first.split(":")[0] + (": " + first.split(":")[1].strip() if ":" in first else "")
    if ": raised " in first:
        return "raised " + first.split(": raised ")[1].split(":")[0]
    for k in (
        "is not finite",
        "backends disagree",
        "shapes or dtypes differ",
        "values differ",
        "outside [0, 1]",
        "iterations differ",
        "unknown / windows differ",
        "ulp",
    ):
        if k in first:
            return k
    return first[:60]


def _run_op(op: str, cases: int, rng_seed: int, worker, backends, counts: Counter, findings: dict) -> None:
    @seed(rng_seed)
    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=["generate"],
        print_blob=False,
    )
    @given(case=_strategies.OPS[op])
    def run(case):
        category, found = _runner.check(case, worker.run(case, backends), backends)
        counts[category] += 1
        for f in found:
            key = (op, f.splitlines()[0][:160])
            findings[key].append(case if len(findings[key]) < 3 else None)  # counted; three kept

    run()


def campaign(ops, cases: int, rng_seed: int, timeout: float, out=sys.stdout):
    backends = _runner.backends()
    worker = _runner.Worker(timeout=timeout)
    counts: dict = defaultdict(Counter)
    findings: dict = defaultdict(list)  # (op, first line of the finding) -> cases
    print(f"backends {backends}, {cases} cases per op, seed {rng_seed}, {timeout:g} s per case", file=out)
    try:
        for op in ops:
            t0 = time.monotonic()
            _run_op(op, cases, rng_seed, worker, backends, counts[op], findings)
            c = counts[op]
            print(
                f"{op:28s} {sum(c.values()):6d} cases: ok {c['ok']:6d}, refused {c['input_error']:6d}, "
                f"finding {c['finding'] + c['crash'] + c['hang']:4d} ({time.monotonic() - t0:6.1f} s)",
                file=out,
                flush=True,
            )
    finally:
        worker.close()
    total = Counter()
    for c in counts.values():
        total.update(c)
    print(
        f"{'all ops':28s} {sum(total.values()):6d} cases: ok {total['ok']:6d}, refused {total['input_error']:6d}, "
        f"finding {total['finding'] + total['crash'] + total['hang']:4d}; worker started {worker.started} times",
        file=out,
    )
    if findings:
        kinds: dict = defaultdict(Counter)
        for (op, what), cs in findings.items():
            kinds[op][kind(what)] += len(cs)
        print("\nfindings by op and kind (cases):", file=out)
        for op in sorted(kinds):
            print(f"  {op:28s} " + ", ".join(f"{k}: {n}" for k, n in kinds[op].most_common()), file=out)
        print(f"\n{len(findings)} distinct findings:", file=out)
        for (op, what), cs in sorted(findings.items()):
            kept = [c for c in cs if c is not None]
            print(f"- {op}: {what} ({len(cs)} cases); e.g. {kept[0]!r}", file=out)
    else:
        print("\nno findings", file=out)
    return findings


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cases", type=int, help="cases per op")
    p.add_argument("--ops", nargs="+", choices=sorted(_strategies.OPS), default=sorted(_strategies.OPS))
    p.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per case before it counts as a hang")
    p.add_argument("--python", help="the python/ directory of the alphacut to fuzz (default: this tree's)")
    a = p.parse_args(argv)
    if a.python:
        _runner.PYTHON_DIR = str(Path(a.python).resolve())
    s = a.seed if a.seed is not None else random.randrange(2**32)
    return 1 if campaign(a.ops, a.cases, s, a.timeout) else 0


if __name__ == "__main__":
    sys.exit(main())
