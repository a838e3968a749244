"""The physical limit of a count test: how many jobs before a ratio shift can be told apart.

A test that pages when ``d`` of ``n`` jobs are lost, at a false-page probability ``alpha`` per
test against a baseline ratio ``p0``, needs ``d >= c``, with ``c`` the smallest count whose
upper tail under ``p0`` is below ``alpha``. A shift to ``shift * p0`` is then seen with
probability ``power`` only once ``n`` is large enough that ``P[Bin(n, shift * p0) >= c]``
reaches ``power``. Below that many jobs, no threshold keeps both the false-page rate and the
recall: the limit is the data's, not the detector's.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from toolkit.errors import BadInput

__all__ = ["Limit", "jobs_to_detect"]


@dataclass(frozen=True)
class Limit:
    """``jobs``: fewest jobs for the test to see the shift with ``power``; ``lost``: the
    lost-job count it then needs (``c``); ``expected_lost``: lost jobs the shift produces in
    that many jobs."""

    jobs: int
    lost: int
    expected_lost: float


def _critical(n: int, p0: float, alpha: float) -> int:
    """Smallest c with P[Bin(n, p0) >= c] < alpha."""
    return int(stats.binom.isf(alpha, n, p0)) + 1


def _power(n: int, p0: float, shift: float, alpha: float) -> float:
    c = _critical(n, p0, alpha)
    return float(stats.binom.sf(c - 1, n, min(1.0, shift * p0)))


def jobs_to_detect(
    p0: float, shift: float = 5.0, alpha: float = 1e-6, power: float = 0.5,
    max_jobs: int = 10_000_000,
) -> Limit:
    """The fewest jobs at which a ``shift``-fold rise of ratio ``p0`` is detected with
    probability ``power`` by a one-sided binomial test at level ``alpha``.

    Found by bisection inside the first doubling bracket that reaches ``power``: at the answer
    the power is reached and one job fewer it is not. (Power steps down a little each time the
    critical count steps up, so it can dip below ``power`` again a few jobs later.)

    Raises:
        BadInput: a ratio or probability out of range, or no answer below ``max_jobs``.
    """
    if not 0 < p0 < 1 or not shift > 1 or not 0 < alpha < 1 or not 0 < power < 1:
        raise BadInput(f"need 0 < p0 < 1, shift > 1, 0 < alpha, power < 1; got p0={p0}, "
                       f"shift={shift}, alpha={alpha}, power={power}")
    hi = 1
    while _power(hi, p0, shift, alpha) < power:
        hi *= 2
        if hi > max_jobs:
            raise BadInput(f"no detection below {max_jobs:,} jobs for p0={p0}")
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _power(mid, p0, shift, alpha) >= power:
            hi = mid
        else:
            lo = mid
    return Limit(hi, _critical(hi, p0, alpha), hi * shift * p0)
