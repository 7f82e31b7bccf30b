import math
import statistics

import numpy as np
import pytest

import alphacut
from alphacut.bench.stats import SUMMARY_KEYS, percentile, ratio, summarize


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101])
@pytest.mark.parametrize("q", [0, 10, 50, 90, 99, 100])
def test_percentile_matches_numpy(rng, n, q):
    xs = rng.lognormal(3.0, 0.7, n).tolist()
    assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)), rel=1e-12, abs=1e-12)


def test_summarize_against_numpy_and_statistics(rng):
    xs = rng.gamma(2.0, 40.0, 57).tolist()
    s = summarize(xs)
    assert tuple(s) == SUMMARY_KEYS
    assert s["n"] == 57
    assert s["median"] == pytest.approx(float(np.median(xs)), rel=1e-12)
    assert s["p90"] == pytest.approx(float(np.percentile(xs, 90)), rel=1e-12)
    assert s["p99"] == pytest.approx(float(np.percentile(xs, 99)), rel=1e-12)
    assert s["mean"] == pytest.approx(statistics.fmean(xs), rel=1e-12)
    assert s["stdev"] == pytest.approx(statistics.stdev(xs), rel=1e-9)
    assert s["min"] == min(xs) and s["max"] == max(xs)
    assert s["min"] <= s["median"] <= s["p90"] <= s["p99"] <= s["max"]


def test_summarize_is_order_independent_and_does_not_mutate():
    xs = [5.0, 1.0, 4.0, 2.0, 3.0]
    before = list(xs)
    assert summarize(xs)["median"] == 3.0
    assert xs == before
    assert summarize(list(reversed(xs))) == summarize(xs)


def test_single_sample():
    s = summarize([12.5])
    assert s["median"] == s["p90"] == s["p99"] == s["min"] == s["max"] == 12.5
    assert s["stdev"] == 0.0 and s["n"] == 1


def test_hand_computed_percentiles():
    # ranks (n-1)*q: p90 of 0..10 is 9, p99 is 9.9
    xs = [float(i) for i in range(11)]
    assert percentile(xs, 90) == pytest.approx(9.0)
    assert percentile(xs, 99) == pytest.approx(9.9)
    assert percentile([1.0, 3.0], 50) == 2.0


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_bad_samples_raise_input_error(bad):
    with pytest.raises(alphacut.InputError):
        summarize(bad)


@pytest.mark.parametrize("q", [-1, 100.5])
def test_bad_q(q):
    with pytest.raises(alphacut.InputError, match="percentile"):
        percentile([1.0, 2.0], q)


def test_ratio():
    assert ratio(3.0, 1.5) == 2.0
    assert math.isnan(ratio(1.0, 0.0))
    assert math.isnan(ratio(float("nan"), 1.0))
