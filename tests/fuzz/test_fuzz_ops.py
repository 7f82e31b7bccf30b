"""Property-based fuzzing of every op on cpu and emu (bounded: about a minute on 2 cores).

Cases come from _strategies.py (shapes down to 0 and 1 x N, dtypes, memory layouts, values and
parameters at and past their limits) and run in a child interpreter (_worker.py), so a crash or
a hang is a failed example, not a lost session. Properties (_runner.check): no crash or hang;
only alphacut.InputError for what is refused; finite results; cpu and emu accept and refuse
alike, with the same shapes and dtypes, and values within each op's stated tolerance.
Deterministic (derandomize): a failure prints the case, which reproduces with
``python tests/fuzz/_cases.py '<case>'``. tools/fuzz_campaign.py runs the same for longer.
"""

import _runner
import _strategies
import pytest
from hypothesis import HealthCheck, given, settings

# Examples per op: the slow ops on emu (fibers at every barrier) get fewer, pack_rgba more (its
# offsets whose sum with the rectangle passes INT32_MAX, which once crashed the CPU op).
EXAMPLES = {"estimate_foreground": 150, "solve_alpha": 150, "pack_rgba": 400}
DEFAULT_EXAMPLES = 250


@pytest.fixture(scope="module")
def worker():
    w = _runner.Worker(timeout=60)
    yield w
    w.close()


@pytest.mark.parametrize("op", sorted(_strategies.OPS))
def test_op_properties(worker, op):
    backends = _runner.backends()

    @settings(
        max_examples=EXAMPLES.get(op, DEFAULT_EXAMPLES),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=_strategies.OPS[op])
    def holds(case):
        _, findings = _runner.check(case, worker.run(case, backends), backends)
        assert not findings, f"{case!r}\n" + "\n".join(findings)

    holds()
