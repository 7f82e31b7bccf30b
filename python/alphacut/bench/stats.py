"""Summary statistics of latency samples.

Percentiles use linear interpolation between closest ranks (NumPy's default ``"linear"`` method):
for sorted samples ``x[0..n-1]`` the q-th percentile sits at rank ``(n - 1) * q / 100``. With few
samples the tail figures are interpolations, not observations: ``p99`` of 10 runs is close to the
maximum. The summary says how many samples it rests on (``n``) so a reader can judge.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Sequence

from ..errors import InputError

#: keys of :func:`summarize`'s result, in display order
SUMMARY_KEYS = ("n", "median", "p90", "p99", "mean", "min", "max", "stdev")


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``samples`` by linear interpolation between ranks.

    Parameters
    ----------
    samples : sequence of float, at least one value, no NaN
    q : float in [0, 100]

    Returns
    -------
    float. Matches ``numpy.percentile(samples, q)`` (method ``"linear"``).

    Example
    -------
    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    xs = _clean(samples)
    if not 0.0 <= q <= 100.0:
        raise InputError(f"percentile q must be in [0, 100], got {q}")
    xs.sort()
    rank = (len(xs) - 1) * q / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(xs) - 1)
    frac = rank - lo
    return xs[lo] + (xs[hi] - xs[lo]) * frac


def _clean(samples: Iterable[float]) -> List[float]:
    xs = [float(x) for x in samples]
    if not xs:
        raise InputError("no samples to summarise: run at least one repeat")
    if any(math.isnan(x) or math.isinf(x) for x in xs):
        raise InputError("latency samples contain NaN or infinity")
    return xs


def summarize(samples: Sequence[float]) -> Dict[str, float]:
    """Median, p90, p99, mean, min, max and sample standard deviation of ``samples``.

    Parameters
    ----------
    samples : sequence of float (milliseconds, by convention), at least one

    Returns
    -------
    dict with the keys of :data:`SUMMARY_KEYS`; ``n`` is an int, ``stdev`` is 0 for one sample
    (Bessel-corrected otherwise, as ``statistics.stdev``).

    Example
    -------
    >>> summarize([3.0, 1.0, 2.0])["median"]
    2.0
    """
    xs = _clean(samples)
    n = len(xs)
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else 0.0
    return {
        "n": n,
        "median": percentile(xs, 50),
        "p90": percentile(xs, 90),
        "p99": percentile(xs, 99),
        "mean": mean,
        "min": min(xs),
        "max": max(xs),
        "stdev": math.sqrt(var),
    }


def ratio(a: float, b: float) -> float:
    """``a / b``, or NaN when ``b`` is zero or either is NaN (a ratio never raises)."""
    try:
        if b == 0 or math.isnan(a) or math.isnan(b):
            return float("nan")
    except TypeError:
        return float("nan")
    return a / b
