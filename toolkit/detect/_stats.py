"""Vectorised counting and tail probabilities shared by the detectors.

Everything here works on whole ``(environments, minutes)`` arrays at once: sliding windows are
differences of cumulative sums, runs of flagged minutes come from one ``diff``, and tail
probabilities are computed only where a cheap screen says they can matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betainc

P_FLOOR = 1e-300
"""Smallest p-value reported; scores are ``-log10`` of it, so at most 300."""


def window_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Trailing sums over ``width`` minutes ending at (and including) each minute, along axis 1.

    Minutes before the start count as zeros, so the first ``width - 1`` columns sum what there is.
    """
    if width < 1:
        raise ValueError(f"window width must be >= 1, got {width}")
    if width == 1:
        return np.asarray(values, dtype=np.float64)
    values = np.asarray(values)
    # Whole counts sum exactly (and several times faster) as integers.
    exact = values.dtype.kind in "biu"
    total = np.cumsum(values, axis=1, dtype=np.int64 if exact else np.float64)
    if width >= total.shape[1]:
        return total.astype(np.float64, copy=False)
    out = np.empty_like(total)
    out[:, :width] = total[:, :width]
    np.subtract(total[:, width:], total[:, :-width], out=out[:, width:])
    return out.astype(np.float64, copy=False)


def overdispersed_sf(
    observed: np.ndarray, jobs: np.ndarray, rate: np.ndarray, phi: np.ndarray | float
) -> np.ndarray:
    """Upper tail ``P(X >= observed)`` of a quasi-binomial ``(jobs, rate)`` with dispersion ``phi``.

    Dedup decisions come in clumps (an auto-save burst folds several revisions at once), so a
    window's count varies ``phi`` times more than a binomial's, and ``phi`` is about the same
    for every window width (a compound process with bounded clump sizes). The test divides
    jobs and count by ``phi`` and evaluates the binomial tail through the regularised incomplete
    beta function, ``P(X >= d) = I_rate(d, n - d + 1)``, which is defined for the resulting
    non-integer counts. ``phi = 1`` is the exact binomial tail.

    Args:
        observed: counts ``d`` (clipped to ``[0, jobs]``).
        jobs: trials ``n``.
        rate: success probability under the baseline.
        phi: dispersion factor (>= 1), broadcastable.

    Returns:
        Array of p-values, 1 where nothing was observed.
    """
    observed, jobs, rate, phi = np.broadcast_arrays(
        np.asarray(observed, dtype=np.float64), np.asarray(jobs, dtype=np.float64),
        np.asarray(rate, dtype=np.float64), np.asarray(phi, dtype=np.float64),
    )
    out = np.ones(observed.shape)
    ok = (observed > 0) & (jobs > 0)
    if not ok.any():
        return out
    n = jobs[ok]
    d = np.minimum(observed[ok], n)
    scale = np.maximum(phi[ok], 1.0)
    n_eff, d_eff = n / scale, d / scale
    p = np.clip(rate[ok], 1e-12, 1.0 - 1e-12)
    out[ok] = np.maximum(betainc(d_eff, n_eff - d_eff + 1.0, p), P_FLOOR)
    return out


def screened_sf(
    observed: np.ndarray, jobs: np.ndarray, expected: np.ndarray, phi: np.ndarray | float,
    screen: np.ndarray,
) -> np.ndarray:
    """:func:`overdispersed_sf` at the ``screen`` cells only (1 elsewhere).

    The rate is ``expected / jobs``. Screening first (e.g. on the excess count) keeps the
    incomplete-beta evaluations to the handful of minutes that could be anomalous.
    """
    out = np.ones(observed.shape)
    if screen.any():
        n = jobs[screen]
        rate = expected[screen] / np.maximum(n, 1.0)
        phi_cells = np.broadcast_to(phi, observed.shape)[screen]
        out[screen] = overdispersed_sf(observed[screen], n, rate, phi_cells)
    return out


@dataclass(frozen=True, eq=False)
class Windowed:
    """Trailing-window sums of one count against its baseline, per environment and minute."""

    observed: np.ndarray
    jobs: np.ndarray
    expected: np.ndarray
    phi: np.ndarray

    @property
    def excess(self) -> np.ndarray:
        return self.observed - self.expected

    def sf(self, screen: np.ndarray) -> np.ndarray:
        """Upper-tail p-values where ``screen`` holds and the count exceeds expectation."""
        return screened_sf(self.observed, self.jobs, self.expected, self.phi,
                           screen & (self.observed > self.expected))

    def at(self, row: int, col: int) -> tuple[float, float, float]:
        """``(observed, jobs, expected)`` of one cell, for explanations."""
        return (float(self.observed[row, col]), float(self.jobs[row, col]),
                float(self.expected[row, col]))


def _per_env(values: np.ndarray) -> bool:
    return values.ndim == 2 and values.shape[1] == 1


def windowed(
    observed: np.ndarray, jobs: np.ndarray, rate: np.ndarray, phi: np.ndarray, width: int,
) -> Windowed:
    """Window sums of a count, its jobs and its expectation, and the window's dispersion.

    A window mixing minutes of different classes has the variance-weighted mean of their
    dispersion factors: ``phi_w = sum(phi * v) / sum(v)`` with ``v = n p (1 - p)``. Where
    ``rate`` or ``phi`` is one column per environment (shape ``(environments, 1)``), the window
    sums it needs are skipped.
    """
    n = window_sum(jobs, width)
    expected = n * rate if _per_env(rate) else window_sum(jobs * rate, width)
    if _per_env(phi):
        phi_w = np.broadcast_to(np.maximum(phi, 1.0), n.shape)
    else:
        variance = jobs * rate * (1.0 - rate)
        v = window_sum(variance, width)
        variance *= phi
        weighted = window_sum(variance, width)
        phi_w = np.where(v > 1e-12, weighted / np.maximum(v, 1e-12), 1.0)
        np.maximum(phi_w, 1.0, out=phi_w)
    return Windowed(window_sum(observed, width), n, expected, phi_w)


def bucket_sums(values: np.ndarray, width: int) -> np.ndarray:
    """Sums over consecutive buckets of ``width`` minutes along axis 1 (last one may be short)."""
    return np.add.reduceat(values, np.arange(0, values.shape[1], width), axis=1)


def runs(mask: np.ndarray, merge_gap: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of ``True`` along axis 1, as ``(rows, first, last)`` with ``last`` inclusive.

    Runs of one row separated by at most ``merge_gap`` ``False`` columns become one run, so an
    anomaly that flickers does not page twice.
    """
    n_rows, n_cols = mask.shape
    padded = np.zeros((n_rows, n_cols + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)
    rows, first = np.nonzero(step == 1)
    _, after = np.nonzero(step == -1)
    last = after - 1
    if rows.size > 1 and merge_gap > 0:
        joins = (rows[1:] == rows[:-1]) & (first[1:] - last[:-1] - 1 <= merge_gap)
        head = np.concatenate(([True], ~joins))
        starts = np.flatnonzero(head)
        rows, first = rows[starts], first[starts]
        last = np.maximum.reduceat(last, starts)
    return rows, first, last


def format_p(p: float) -> str:
    """A p-value in one short token: ``3e-12``, ``0.004``, ``<1e-300``."""
    if p <= P_FLOOR:
        return "<1e-300"
    if p >= 0.001:
        return f"{p:.2g}"
    exponent = math.floor(math.log10(p))
    mantissa = round(p / 10**exponent)
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    return f"{mantissa}e{exponent}"


def format_ratio(ratio: float) -> str:
    """A dedup ratio as a percentage with sensible precision (``4%``, ``0.2%``, ``0.03%``)."""
    pct = 100.0 * ratio
    if pct >= 10 or pct == 0:
        return f"{pct:.0f}%"
    if pct >= 1:
        return f"{pct:.1f}%".replace(".0%", "%")
    return f"{pct:.2g}%"


def score_of(p: np.ndarray | float) -> np.ndarray:
    """``-log10 p``, the event score of a p-value (0 for p = 1, 300 at the floor)."""
    return -np.log10(np.maximum(p, P_FLOOR))
