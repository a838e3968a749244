"""The physical limit: fewest jobs before a ratio shift is distinguishable at a false-page
rate, checked against scipy's binomial directly."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from toolkit.errors import BadInput
from toolkit.evaluate.limits import jobs_to_detect


def power(n, c, p):
    return stats.binom.sf(c - 1, n, p)


@settings(max_examples=30, deadline=None)
@given(p0=st.floats(1e-4, 0.05), shift=st.floats(2.0, 20.0),
       alpha=st.sampled_from([1e-3, 1e-4, 1e-6]), want=st.sampled_from([0.5, 0.9]))
def test_limit_is_where_the_shift_first_becomes_visible(p0, shift, alpha, want):
    """At the answer the critical count's tail under p0 is below alpha (and one fewer is not),
    the shifted ratio reaches it with the asked power, and one job fewer does not."""
    limit = jobs_to_detect(p0, shift, alpha, want)
    n, c = limit.jobs, limit.lost
    assert stats.binom.sf(c - 1, n, p0) < alpha <= stats.binom.sf(c - 2, n, p0)
    assert power(n, c, min(1.0, shift * p0)) >= want
    prior_c = int(stats.binom.isf(alpha, n - 1, p0)) + 1
    assert power(n - 1, prior_c, min(1.0, shift * p0)) < want
    assert limit.expected_lost == pytest.approx(n * shift * p0)


def test_a_rarer_baseline_needs_more_jobs_but_as_many_losses():
    """Ten times rarer deduplication needs about ten times the jobs; the lost jobs needed for
    a 5x shift at 1e-6 stay around fifteen."""
    common, rare = jobs_to_detect(0.01), jobs_to_detect(0.001)
    assert 9 * common.jobs < rare.jobs < 11 * common.jobs
    assert 13 <= common.lost <= 16 and 13 <= rare.lost <= 16


def test_nonsense_is_refused():
    with pytest.raises(BadInput, match="shift > 1"):
        jobs_to_detect(0.01, shift=1.0)
