"""Counting and tail probabilities: window sums, runs, the quasi-binomial tail, formatting."""

import numpy as np
import pytest
from scipy import stats

from toolkit.detect._stats import format_p, format_ratio, overdispersed_sf, runs, window_sum


def test_window_sum_is_a_trailing_sum_including_the_minute():
    """Each minute sums itself and the width-1 before it; the start sums what there is."""
    values = np.array([[1, 2, 3, 4, 5]])
    assert window_sum(values, 2).tolist() == [[1, 3, 5, 7, 9]]
    assert window_sum(values, 1).tolist() == [[1, 2, 3, 4, 5]]
    assert window_sum(values, 9).tolist() == [[1, 3, 6, 10, 15]]
    assert window_sum(np.array([[0.5, 0.25, 1.0]]), 2).tolist() == [[0.5, 0.75, 1.25]]


@pytest.mark.parametrize(("d", "n", "p"), [(3, 12, 0.001), (1, 1, 0.5), (10, 50, 0.1),
                                           (41, 52, 0.04)])
def test_without_overdispersion_the_tail_is_the_exact_binomial(d, n, p):
    """phi = 1 gives scipy's binomial P(X >= d)."""
    assert overdispersed_sf(d, n, p, 1.0) == pytest.approx(stats.binom.sf(d - 1, n, p),
                                                           rel=1e-9)


def test_overdispersion_divides_the_evidence():
    """phi = 2 scores 6 of 20 exactly like the binomial's 3 of 10."""
    assert overdispersed_sf(6, 20, 0.01, 2.0) == pytest.approx(stats.binom.sf(2, 10, 0.01))


def test_nothing_observed_is_p_one():
    """Zero counts or zero jobs are never evidence."""
    assert overdispersed_sf(np.array([0, 3]), np.array([5, 0]), 0.1, 1.0).tolist() == [1.0, 1.0]


@pytest.mark.parametrize(("mask", "gap", "expected"), [
    ([0, 1, 1, 0, 1], 0, [(0, 1, 2), (0, 4, 4)]),
    ([0, 1, 1, 0, 1], 1, [(0, 1, 4)]),
    ([1, 0, 0, 1, 0], 1, [(0, 0, 0), (0, 3, 3)]),
    ([0, 0, 0, 0, 0], 5, []),
    ([1, 1, 1, 1, 1], 0, [(0, 0, 4)]),
])
def test_runs_of_flagged_minutes(mask, gap, expected):
    """Runs are (row, first, last) with last inclusive; gaps up to merge_gap are bridged."""
    rows, first, last = runs(np.array([mask], dtype=bool), gap)
    assert list(zip(rows.tolist(), first.tolist(), last.tolist(), strict=True)) == expected


def test_runs_never_merge_across_environments():
    """A run ending one row and one starting the next row stay two runs."""
    rows, first, last = runs(np.array([[0, 0, 1], [1, 0, 0]], dtype=bool), 10)
    assert (rows.tolist(), first.tolist(), last.tolist()) == ([0, 1], [2, 0], [2, 0])


@pytest.mark.parametrize(("p", "text"), [(3e-12, "3e-12"), (0.0042, "0.0042"),
                                         (9.6e-5, "1e-4"), (1e-320, "<1e-300"), (0.5, "0.5")])
def test_format_p(p, text):
    """p-values print as one short token."""
    assert format_p(p) == text


@pytest.mark.parametrize(("ratio", "text"), [(0.04, "4%"), (0.002, "0.2%"), (0.25, "25%"),
                                             (0.00031, "0.031%"), (0.015, "1.5%")])
def test_format_ratio(ratio, text):
    """Dedup ratios print as percentages with sensible precision."""
    assert format_ratio(ratio) == text
