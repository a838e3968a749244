"""The yield test: is output missing, beyond what the environment's own queue pressure explains?

Every job offered in a minute either leaves with output (``processed``), is given up
(``failed``), is still queued (``backlog`` grew), or left without output. So the jobs that left
without output in a window are

    shortfall = offered - processed - failed - (backlog_end - backlog_start)

computed from output and queue counters only, never from the dedup counter. A legitimate
coalesce leaves without output too (its survivor carries its version), and so does a wrongful
discard: per job the two look the same. What separates them is *where they can happen*: a
legitimate coalesce needs a pending job with the same key in the same environment's queue, so
it comes with queue pressure (the environment's own backlog, or shared workers congested by
others); a wrongful discard (7 May: the survivor sat in another environment's queue) happens
just as well while the environment's own queue is empty. The yield check therefore compares the
shortfall with what the environment's pressure-conditioned baseline expects,

    expected = sum over minutes of offered * ratio[environment, pressure class],

with the pressure class the fleet's load level and the environment's idle/busy queue (see
:mod:`toolkit.detect.baseline`), leaving out surge minutes where coalescing is heavy and
erratic. Jobs in flight at a minute's end are moved to the minute that finishes them
(:func:`settled`), and up to ``slack`` more are forgiven per window for work in flight longer
than that.

Congestion is not loss. With ``quiet_only`` (the default) only *quiet* minutes count: the
environment's own queue empty at both ends and the other environments' queues together at most
``congestion_backlog`` jobs. While jobs wait, for the environment's own backlog or behind a
congested fleet (a mass re-ingest, a schema deployed everywhere, a slow processor), every new
job of a pending key coalesces legitimately, and how many do depends on how much of the
catalogue is pending, which the rollup does not say: a small environment whose whole catalogue
waits behind a fleet-wide re-ingest coalesces 90% of its editors' jobs, every one processed in
the end. Those minutes say nothing about loss either way, so they are left out. A wrongful
discard needs no waiting of its own (7 May: the survivor sat in another environment's queue),
so it shows in quiet minutes, where legitimate coalescing is rare (0.05-0.2% of jobs).

A minute is quiet only ``quiet_hold`` minutes after the environment's last surge and the
fleet's last congestion: a fleet that has just drained runs near its capacity, and bursts
still wait inside minutes whose queues are empty at both ends (a slow processor day shows it:
6 of 12 jobs coalesced in one such minute, every one processed in the end).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import bdtrc

from toolkit.detect._grid import RollupGrid
from toolkit.detect._stats import Windowed, format_p, overdispersed_sf, window_sum, windowed
from toolkit.detect.baseline import Baseline, Conditions

OUTPUT_COLUMNS = ("offered", "deduplicated", "processed", "failed", "backlog")


def shortfall(grid: RollupGrid, rows: list[int] | None = None) -> np.ndarray:
    """Jobs that left without output, per environment and minute (may be negative by a few)."""
    pick = slice(None) if rows is None else rows
    return (grid["offered"][pick] - grid["processed"][pick] - grid["failed"][pick]
            - grid.backlog_change[pick])


def settled(missing: np.ndarray) -> np.ndarray:
    """The shortfall with the jobs in flight at each minute's end moved to the minute that
    finished them.

    A job taken by a worker late in minute ``t`` has left the queue but is processed in
    ``t + 1``: the raw shortfall counts it missing at ``t`` and returns it at ``t + 1``, so a
    window ending at ``t`` over-counts by every job in flight (several at once on a slow
    processor day). Here up to the jobs the next minute finished beyond its own are taken
    off ``t`` and added back to ``t + 1``: window sums change only at their edges, by exactly
    the jobs in flight there. The newest minute has no next one yet, so its shortfall waits
    a minute (it counts from the next run on).
    """
    used = in_flight(missing, newest=True)
    out = missing - used
    out[:, 1:] += used[:, :-1]
    return out


def in_flight(missing: np.ndarray, *, newest: bool = False) -> np.ndarray:
    """Jobs in flight at each minute's end, as far as the next minute shows them: up to the
    jobs it finished beyond its own (with ``newest``, all of the newest minute's shortfall)."""
    nxt = np.zeros_like(missing)
    nxt[:, :-1] = np.maximum(-missing[:, 1:], 0)
    if newest:
        nxt[:, -1] = np.maximum(missing[:, -1], 0)
    return np.minimum(nxt, np.maximum(missing, 0))


def _fleet_in_flight(grid: RollupGrid) -> tuple[np.ndarray, np.ndarray]:
    """The fleet's jobs in flight at minute ends and its jobs offered, per minute, over
    minutes when no queue held anything (``(1, minutes)`` each; cached on the grid)."""
    key = ("fleet_in_flight",)
    if key not in grid.cache:
        calm = grid.queue.sum(axis=0) == 0
        used = in_flight(shortfall(grid)).sum(axis=0)
        grid.cache[key] = (np.where(calm, used, 0)[None, :].astype(np.float64),
                           np.where(calm, grid["offered"].sum(axis=0), 0)[None, :]
                           .astype(np.float64))
    return grid.cache[key]


@dataclass(frozen=True)
class LossEvidence:
    """The yield test over one span of one environment."""

    lost: float
    expected: float
    jobs: float
    p: float
    peak_backlog: int
    is_loss: bool

    def describe(self) -> str:
        if self.is_loss:
            excess = self.lost - self.expected
            return (f"output lost: {excess:.0f} jobs left without output beyond what its queue "
                    f"pressure explains (p={format_p(self.p)})")
        if self.peak_backlog > 0:
            return (f"output normal for its queue pressure (own backlog up to "
                    f"{self.peak_backlog:,}): likely a legitimate surge")
        return "output normal for its queue pressure"


class LossTally:
    """Span tests of one grid's environments; each row's cumulative sums are computed on
    first use, so a detector pays only for the environments it raised events on."""

    def __init__(self, check: OutputLoss, grid: RollupGrid) -> None:
        self.check = check
        self.grid = grid
        self._rows: dict[int, dict[str, np.ndarray]] = {}

    def _cum(self, row: int) -> dict[str, np.ndarray]:
        if row not in self._rows:
            lost, jobs, rate, phi = self.check.arrays(self.grid, rows=[row])
            expected = jobs * rate
            variance = expected * (1.0 - rate)
            terms = {"lost": lost, "jobs": jobs, "expected": expected, "variance": variance,
                     "phi_v": phi * variance}
            self._rows[row] = {k: np.concatenate(([0.0], np.cumsum(v[0], dtype=np.float64)))
                               for k, v in terms.items()}
        return self._rows[row]

    def _sums(self, row: int, first: int, ends: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(lost, jobs, expected, phi)`` over minutes ``first - width + 1 .. end`` for each
        of ``ends``."""
        lo, hi = max(0, first - self.check.width + 1), np.asarray(ends) + 1
        cum = self._cum(row)
        lost, jobs, expected, variance, weighted = (
            cum[k][hi] - cum[k][lo] for k in ("lost", "jobs", "expected", "variance", "phi_v"))
        phi = np.where(variance > 1e-12, weighted / np.maximum(variance, 1e-12), 1.0)
        return lost, jobs, expected, phi

    def _p(self, counted: np.ndarray, jobs: np.ndarray, expected: np.ndarray,
           phi: np.ndarray) -> np.ndarray:
        """The span tests' p-values, evaluated only where the excess screen passes."""
        p = np.ones(counted.shape)
        screen = (counted > expected) & (counted - expected >= self.check.min_excess)
        if screen.any():
            p[screen] = overdispersed_sf(counted[screen], jobs[screen],
                                         expected[screen] / np.maximum(jobs[screen], 1.0),
                                         phi[screen])
        return p

    def span(self, row: int, first: int, last: int) -> LossEvidence:
        """The yield test over minutes ``first - width + 1 .. last`` of environment ``row``."""
        lost, jobs, expected, phi = (float(x[0]) for x in
                                     self._sums(row, first, np.array([last])))
        counted = max(lost - self.check.slack, 0.0)
        p = float(self._p(np.array([counted]), np.array([jobs]), np.array([expected]),
                          np.array([phi]))[0])
        is_loss = p < self.check.alpha and counted - expected >= self.check.min_excess
        lo, hi = max(0, first - self.check.width + 1), last + 1
        peak = int(self.grid.queue[row, lo:hi].max()) if hi > lo else 0
        return LossEvidence(lost, expected, jobs, p, peak, bool(is_loss))

    def first_loss(self, row: int, first: int, ends: np.ndarray) -> int | None:
        """The first of ``ends`` (ascending minute indices) at which the span from ``first``
        shows a loss, or ``None``.

        This is when a live run first sees the loss: a run at minute ``now`` sees an event
        only up to its newest flagged minute, so its span test is this one at the last of
        ``ends`` before ``now``. Deciding a hint here, rather than over the event's whole
        span, keeps the hint free of data from after the minute it is raised.
        """
        ends = np.asarray(ends, dtype=np.int64)
        if ends.size == 0:
            return None
        lost, jobs, expected, phi = self._sums(row, first, ends)
        counted = np.maximum(lost - self.check.slack, 0.0)
        hit = np.flatnonzero(self._p(counted, jobs, expected, phi) < self.check.alpha)
        return int(ends[hit[0]]) if hit.size else None


@dataclass(frozen=True, eq=False)
class OutputLoss:
    """A fitted yield test, used by every detector to hint ``page`` (loss) or ``ticket``.

    Attributes:
        baseline: the pressure-conditioned baseline (classes idle, busy).
        width: minutes before an event's first minute that its span test also counts.
        alpha: significance below which the span shows a loss.
        min_excess: fewest jobs lost beyond expectation (after ``slack``).
        slack: jobs forgiven for work in flight at the span's edges.
        quiet_only: count only quiet minutes (own queue empty, fleet not congested).
        quiet_hold: minutes after a surge or fleet congestion before a minute is quiet again.
        max_step: most lost jobs one minute counts for.
        in_flight_share: the history's share of jobs still in flight at a minute's end, over
            minutes when no queue held anything (about 2% at 1.2 s a job).
        slow_window: minutes over which the fleet's share is compared with the history's.
        slow_alpha: significance at which it is higher: jobs take longer than usual, so they
            wait inside minutes and coalesce legitimately; those minutes are not quiet.
    """

    baseline: Baseline
    width: int = 60
    alpha: float = 1e-6
    min_excess: float = 5.0
    slack: float = 4.0
    quiet_only: bool = True
    quiet_hold: int = 60
    max_step: float = 4.0
    in_flight_share: float = 0.02
    slow_window: int = 360
    slow_alpha: float = 1e-3

    @classmethod
    def fit(
        cls, grid: RollupGrid, *, conditions: Conditions, width: int = 60,
        alpha: float = 1e-6, min_excess: float = 5.0, slack: float = 4.0,
        prior_jobs: float = 500.0, quiet_only: bool = True, quiet_hold: int = 60,
        max_step: float = 4.0,
    ) -> OutputLoss:
        baseline = Baseline.fit(grid, model="pressure", conditions=conditions,
                                prior_jobs=prior_jobs)
        used, offered = _fleet_in_flight(grid)
        share = float(used.sum() / offered.sum()) if offered.sum() > 0 else 0.02
        return cls(baseline, width, alpha, min_excess, slack, quiet_only, quiet_hold, max_step,
                   min(max(share, 1e-3), 0.5))

    def slow(self, grid: RollupGrid) -> np.ndarray:
        """Minutes when the fleet's jobs took longer than the history's, ``(minutes,)``:
        more of them still in flight at minute ends over the last ``slow_window`` minutes
        (binomial upper tail below ``slow_alpha``, and at least twice the history's share)."""
        key = ("slow", self.in_flight_share, self.slow_window, self.slow_alpha)
        if key not in grid.cache:
            used, offered = _fleet_in_flight(grid)
            u = window_sum(used, self.slow_window)[0]
            n = window_sum(offered, self.slow_window)[0]
            high = (u > 2 * self.in_flight_share * n) & (u >= 3)
            p = np.ones_like(u)
            if high.any():
                # P(X >= u) for X ~ Binomial(n, share); scipy.special, not scipy.stats,
                # whose import alone costs a cron run a third of a second.
                p[high] = bdtrc((u[high] - 1).astype(np.int64), n[high].astype(np.int64),
                                self.in_flight_share)
            grid.cache[key] = high & (p < self.slow_alpha)
        return grid.cache[key]

    def arrays(
        self, grid: RollupGrid, rows: list[int] | None = None
    ) -> tuple[np.ndarray, ...]:
        """Per-minute ``(lost, jobs, rate, phi)`` with the counts of surge minutes (and, with
        ``quiet_only``, of every minute where jobs waited) zeroed (of ``rows`` only, when
        given)."""
        klass = self.baseline.conditions.classes(grid, "pressure")
        rate, phi = self.baseline.minute_terms(grid, klass, rows)
        pick = slice(None) if rows is None else rows
        usable = klass[pick] >= 0
        if self.quiet_only:
            usable &= klass[pick] % 2 == 0  # pressure classes: 2 * load level + busy
            if self.quiet_hold:
                heavy = (klass[pick] < 0) | \
                    (grid.others_queue[pick] > self.baseline.conditions.congestion_backlog) | \
                    self.slow(grid)[None, :]
                usable &= ~(window_sum(heavy, self.quiet_hold + 1) > 0)
        jobs = np.where(usable, grid["offered"][pick], 0)
        missing = settled(shortfall(grid)[pick] if rows is None else shortfall(grid, rows))
        # One minute's clump counts as at most ``max_step`` jobs: a burst waiting inside one
        # quiet minute coalesces several at once; loss of work recurs minute after minute.
        lost = np.where(usable, np.minimum(missing, self.max_step), 0)
        return lost, jobs, rate, phi

    def windows(self, grid: RollupGrid, widths: tuple[int, ...]) -> dict[int, Windowed]:
        """The yield counts over trailing windows, ``slack`` already taken off the lost jobs."""
        lost, jobs, rate, phi = self.arrays(grid)
        out = {}
        for width in widths:
            w = windowed(lost, jobs, rate, phi, width)
            out[width] = replace(w, observed=np.maximum(w.observed - self.slack, 0.0))
        return out

    def tally(self, grid: RollupGrid) -> LossTally:
        """Span tests over ``grid`` (computed per environment on first use)."""
        return LossTally(self, grid)
