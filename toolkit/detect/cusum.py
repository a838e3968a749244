"""Binomial CUSUM: small, persistent rises of the dedup ratio, found late rather than never.

A window test needs its excess inside one window; a small environment never has five extra
deduplications in an hour. A CUSUM accumulates evidence for as long as the shift lasts, so it
finds the same shift after a day instead of never, and the last time its statistic was zero
before it crossed the threshold estimates when the change began.
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.detect._base import Detector, check_non_negative, check_positive, check_probability
from toolkit.detect._grid import RollupGrid
from toolkit.detect._stats import format_ratio
from toolkit.detect.baseline import Baseline, Conditions
from toolkit.detect.events import Event
from toolkit.detect.output import OUTPUT_COLUMNS, LossTally, OutputLoss
from toolkit.detect.registry import register
from toolkit.errors import BadInput

CHUNK = 1440
"""Minutes scanned per step after an alarm (the statistic carries over between steps)."""


def cusum_alarms(
    steps: np.ndarray, threshold: float, excess: np.ndarray, min_excess: float,
) -> tuple[list[int], list[int], list[float]]:
    """Alarm minutes of a one-sided CUSUM that restarts from zero after every alarm.

    ``S_t = max(0, S_{t-1} + steps_t)``; an alarm is the first minute with ``S_t >= threshold``
    whose segment (since the last zero) also has ``excess >= min_excess``. Within a chunk the
    recursion is the closed form ``S_t = C_t - min(0, min_{s<=t} C_s)`` with ``C`` the running
    sum, so the only loop is over alarms (and over day-long chunks), never over minutes.

    Args:
        steps: per-minute log-likelihood-ratio increments, one environment.
        threshold: decision interval ``h``.
        excess: cumulative excess count, length ``len(steps) + 1`` (``excess[0] = 0``), so a
            segment ``[a, t]`` has excess ``excess[t + 1] - excess[a]``.
        min_excess: fewest excess deduplications a segment needs to alarm.

    Returns:
        ``(alarms, segment_starts, statistics)``: alarm minutes, the first minute after the
        last zero before each alarm (the change-start estimate), and ``S`` at each alarm.
    """
    alarms: list[int] = []
    starts: list[int] = []
    values: list[float] = []
    total = len(steps)
    pos, carried, seg0 = 0, 0.0, 0
    while pos < total:
        stop = min(pos + CHUNK, total)
        run = carried + np.cumsum(steps[pos:stop])
        floor = np.minimum.accumulate(np.minimum(run, 0.0))
        stat = run - floor
        idx = np.arange(stop - pos)
        zero = np.maximum.accumulate(np.where(stat <= 0.0, idx, -1))
        seg = np.where(zero >= 0, pos + zero + 1, seg0)
        t_abs = pos + idx
        seg_excess = excess[t_abs + 1] - excess[np.minimum(seg, t_abs)]
        hit = np.flatnonzero((stat >= threshold) & (seg_excess >= min_excess))
        if hit.size == 0:
            carried = float(stat[-1])
            seg0 = int(seg[-1])
            pos = stop
            continue
        k = int(hit[0])
        alarms.append(pos + k)
        starts.append(int(min(seg[k], pos + k)))
        values.append(float(stat[k]))
        pos, carried, seg0 = pos + k + 1, 0.0, pos + k + 1
    return alarms, starts, values


@register
class BinomialCusum(Detector):
    """Per-environment binomial CUSUM on deduplications, with restarts after each alarm.

    Each minute adds the log-likelihood ratio of "ratio is ``p1``" against "ratio is ``p0``",
    ``z = d ln(p1/p0) + (n - d) ln((1 - p1)/(1 - p0))``, divided by the environment's
    dispersion factor (quasi-likelihood) and capped at ``max_step`` deduplications' worth, so a
    single clump cannot alarm alone. ``p0`` is the environment's baseline and
    ``p1 = min(0.5, max(shift * p0, p0 + min_shift))``. Surge minutes add nothing. An alarm needs
    ``S >= threshold`` and at least ``min_excess`` deduplications beyond ``p0`` since the last
    zero; alarms with no return to zero between them form one event, which starts at the
    estimated change (the minute after the last zero before the first alarm).

    Args:
        shift: the ratio multiple the CUSUM is tuned to detect.
        min_shift: smallest absolute shift of the ratio tuned for.
        threshold: decision interval ``h`` (natural-log likelihood ratio).
        max_step: cap on one minute's increment, in deduplications' worth.
        min_excess: fewest excess deduplications since the last zero.
        merge_gap: alarms whose segments are at most this many minutes apart form one event.
        page_alpha, page_excess, page_slack, page_step: the yield test over the event so far
            that makes it a ``page``: significance, fewest lost jobs beyond expectation,
            jobs forgiven for work in flight, most lost jobs one minute counts for (see
            :meth:`Detector._events`).
        lookback_minutes: history ``detect`` is given in incremental use.
        surge_backlog, congestion_backlog: minute classes, see :class:`Conditions`.
        prior_jobs: shrinkage of ratios towards the fleet, in jobs.
    """

    name = "cusum"
    requires = OUTPUT_COLUMNS

    def __init__(
        self, *, shift: float = 4.0, min_shift: float = 0.002, threshold: float = 10.0,
        max_step: float = 3.0, min_excess: float = 5.0, merge_gap: int = 30,
        page_alpha: float = 1e-6, page_excess: float = 5.0,
        page_slack: float = 4.0, page_step: float = 4.0,
        lookback_minutes: int = 1440, surge_backlog: int = 100,
        congestion_backlog: int = 10, prior_jobs: float = 500.0,
    ) -> None:
        check_positive(threshold=threshold, max_step=max_step, min_excess=min_excess,
                       lookback_minutes=lookback_minutes, prior_jobs=prior_jobs)
        check_non_negative(min_shift=min_shift, merge_gap=merge_gap)
        check_non_negative(page_slack=page_slack)
        check_positive(page_excess=page_excess, page_step=page_step)
        check_probability(page_alpha=page_alpha)
        if shift <= 1:
            raise BadInput(f"shift must be > 1, got {shift!r}")
        self.shift, self.min_shift, self.threshold = shift, min_shift, threshold
        self.max_step, self.min_excess, self.merge_gap = max_step, min_excess, merge_gap
        self.page_alpha, self.lookback_minutes = page_alpha, lookback_minutes
        self.page_excess, self.page_slack, self.page_step = page_excess, page_slack, page_step
        self.surge_backlog, self.congestion_backlog = surge_backlog, congestion_backlog
        self.prior_jobs = prior_jobs

    @property
    def lookback(self) -> int:
        return self.lookback_minutes

    def _fit(self, grid: RollupGrid) -> None:
        conditions = Conditions(self.surge_backlog, self.congestion_backlog)
        self.baseline_ = Baseline.fit(grid, model="overall", conditions=conditions,
                                      prior_jobs=self.prior_jobs)
        self.loss_ = OutputLoss.fit(grid, conditions=conditions, alpha=self.page_alpha,
                                    min_excess=self.page_excess, slack=self.page_slack,
                                    max_step=self.page_step,
                                    prior_jobs=self.prior_jobs)

    def _detect(self, grid: RollupGrid) -> list[Event]:
        base = self.baseline_
        p0 = base.env_rates_for(grid)
        p1 = np.minimum(0.5, np.maximum(self.shift * p0, p0 + self.min_shift))
        phi = base.phi_for(grid)[:, 0]
        up = np.log(p1 / p0)
        down = np.log((1.0 - p1) / (1.0 - p0))
        usable = ~base.conditions.surge(grid)
        n = np.where(usable, grid["offered"], 0).astype(np.float64)
        d = np.where(usable, grid["deduplicated"], 0).astype(np.float64)
        steps = (d * up[:, None] + (n - d) * down[:, None]) / phi[:, None]
        steps = np.minimum(steps, (self.max_step * up)[:, None])
        excess = np.zeros((n.shape[0], n.shape[1] + 1))
        np.cumsum(d - n * p0[:, None], axis=1, out=excess[:, 1:])
        # Rows whose statistic never reaches the threshold need no alarm scan at all.
        run = np.cumsum(steps, axis=1)
        peak = (run - np.minimum(np.minimum.accumulate(run, axis=1), 0.0)).max(axis=1)
        tally = self.loss_.tally(grid)
        events = []
        for row in np.flatnonzero(peak >= self.threshold).tolist():
            alarms, starts, values = cusum_alarms(steps[row], self.threshold, excess[row],
                                                  self.min_excess)
            for chain in _chains(alarms, starts, self.merge_gap):
                events += self._chain_events(grid, row, chain, alarms, starts, values, n, d,
                                             p0[row], tally)
        return events

    def _chain_events(
        self, grid: RollupGrid, row: int, chain: list[int], alarms: list[int],
        starts: list[int], values: list[float], n: np.ndarray, d: np.ndarray, p0: float,
        tally: LossTally,
    ) -> list[Event]:
        """One chain of alarms as events: a ``ticket``, and from the first alarm at which the
        yield test since the change's start shows a loss, a ``page`` (as a live run, which
        sees the alarms up to now only, decides it)."""
        begin = starts[chain[0]]
        at = np.array([alarms[i] for i in chain])
        turn = tally.first_loss(row, begin, at)
        if turn is None:
            return [self._event(grid, row, chain, alarms, values, begin, n, d, p0, tally)]
        earlier = [i for i in chain if alarms[i] < turn]
        later = [i for i in chain if alarms[i] >= turn]
        paged = self._event(grid, row, later, alarms, values, begin, n, d, p0, tally, turn,
                            start=turn if earlier else begin)
        if not earlier:
            return [paged]
        return [self._event(grid, row, earlier, alarms, values, begin, n, d, p0, tally), paged]

    def _event(
        self, grid: RollupGrid, row: int, chain: list[int], alarms: list[int],
        values: list[float], begin: int, n: np.ndarray, d: np.ndarray, p0: float,
        tally: LossTally, turn: int | None = None, start: int | None = None,
    ) -> Event:
        first, last = alarms[chain[0]], alarms[chain[-1]]
        jobs = float(n[row, begin:last + 1].sum())
        dedup = float(d[row, begin:last + 1].sum())
        loss = tally.span(row, begin, last)
        if turn is not None and not loss.is_loss:
            loss = tally.span(row, begin, turn)  # the evidence the page was raised on
        since = grid.time(begin).strftime("%Y-%m-%d %H:%M")
        stat = max(values[i] for i in chain)
        text = (
            f"{grid.environments[row]}: dedup ratio shifted up since {since} (CUSUM "
            f"{stat:.1f} >= {self.threshold:g}): {dedup:.0f} of {jobs:.0f} jobs deduplicated "
            f"vs {jobs * p0:.1f} expected at its {format_ratio(p0)} baseline; {loss.describe()}"
        )
        return Event(
            environment=grid.environments[row], start=grid.time(begin if start is None else start),
            end=grid.time(last), score=round(min(stat / math.log(10.0), 300.0), 2),
            detector=self.name, explanation=text,
            severity="page" if turn is not None else "ticket", detected_at=grid.time(first),
        )


def _chains(alarms: list[int], starts: list[int], merge_gap: int) -> list[list[int]]:
    """Group alarm indices: an alarm joins the previous one's event when its segment began
    within ``merge_gap`` minutes after that alarm (the statistic never rested at zero long)."""
    chains: list[list[int]] = []
    for i, start in enumerate(starts):
        if chains and start - alarms[chains[-1][-1]] - 1 <= merge_gap:
            chains[-1].append(i)
        else:
            chains.append([i])
    return chains
