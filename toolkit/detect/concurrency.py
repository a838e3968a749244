"""Environment-blind deduplication: dedup rises only while other environments have work too.

The bug keyed deduplication without the environment, so a job was discarded whenever another
environment held a pending job for the same entity and schema. Seen from one environment, its
dedup ratio rises in minutes that overlap with other environments' work and stays normal in
minutes it has the platform to itself. Seen from the fleet, it happens in several tenants at
once, because one deployment broke every tenant; a customer's legitimate burst happens in one.
"""

from __future__ import annotations

import numpy as np

from toolkit.detect._base import Detector, check_non_negative, check_positive, check_probability
from toolkit.detect._grid import RollupGrid
from toolkit.detect._stats import (
    Windowed,
    format_p,
    format_ratio,
    overdispersed_sf,
    score_of,
    window_sum,
    windowed,
)
from toolkit.detect.baseline import Baseline, Conditions
from toolkit.detect.events import Event
from toolkit.detect.output import OUTPUT_COLUMNS, OutputLoss
from toolkit.detect.registry import register


def _tenant_onehot(grid: RollupGrid) -> np.ndarray:
    names = sorted(set(grid.tenants))
    onehot = np.zeros((len(grid.tenants), len(names)), dtype=np.float32)
    for row, tenant in enumerate(grid.tenants):
        onehot[row, names.index(tenant)] = 1.0
    return onehot


@register
class ConcurrencySignature(Detector):
    """Dedup ratio above the *overlap* baseline while the *solo* baseline holds.

    The baseline keeps four ratios per environment: minutes with and without another active
    environment (``overlap``: of the same tenant, which shares entity ids, or of the fleet),
    each idle or busy (own queue, or shared workers congested). Counting only overlapping
    minutes (surges left out), a minute fires on the environment's own evidence when both
    windows are significant (``alpha``), the long window's excess is at least ``min_excess``
    and the solo minutes of the last ``solo_lookback`` minutes are *not* elevated
    (``solo_alpha``): a rise everywhere is not this signature.

    It also fires on *corroborated* evidence: when environments of at least ``min_tenants``
    tenants show a weak signature at once (1-minute or short window below ``weak_alpha``) and
    the fleet's pooled overlapping minutes are significant (``fleet_alpha``, excess at least
    ``min_excess``), every weakly-signalling environment with an excess of at least
    ``corroborated_excess`` in the long window fires. Pooling is what makes the first minutes
    of a platform-wide fault visible before any one environment has five extra discards.

    Severity: ``page`` only when the yield test shows output lost in quiet minutes; otherwise
    ``ticket``. Many tenants' dedup ratios rising together is what a fleet-wide bug looks like,
    and also what a legitimate mass re-ingest into every environment looks like (every queue
    waits at once): the ratio alone cannot tell them apart, lost output can.

    Args:
        short: short window, minutes.
        long: long window, minutes.
        alpha: significance of an environment's own evidence (both windows).
        min_excess: fewest excess deduplications (own evidence, and the fleet's pooled).
        min_jobs: fewest overlapping jobs in the long window (no environment with fewer fires).
        solo_lookback: minutes of solo history checked for a rise everywhere.
        solo_alpha: solo minutes this significant mean "not concurrency-specific".
        weak_alpha: significance of a weak, corroborating signature.
        min_tenants: tenants that must signal at once for corroboration.
        fleet_alpha: significance of the fleet's pooled test.
        corroborated_excess: fewest excess deduplications of a corroborated environment.
        overlap: ``"tenant"`` or ``"fleet"``, see :class:`Conditions`.
        merge_gap: quiet minutes bridged inside one event.
        page_alpha, page_excess, page_slack, page_step: the yield test over the event so far
            that makes it a ``page``: significance, fewest lost jobs beyond expectation,
            jobs forgiven for work in flight, most lost jobs one minute counts for (see
            :meth:`Detector._events`).
        surge_backlog, congestion_backlog: minute classes, see :class:`Conditions`.
        prior_jobs: shrinkage of ratios towards the fleet, in jobs.
    """

    name = "concurrency"
    requires = (*OUTPUT_COLUMNS, "tenant", "active_envs")

    def __init__(
        self, *, short: int = 10, long: int = 60, alpha: float = 1e-6, min_excess: float = 5.0,
        min_jobs: int = 5, solo_lookback: int = 360, solo_alpha: float = 1e-3,
        weak_alpha: float = 1e-3, min_tenants: int = 2, fleet_alpha: float = 1e-5,
        corroborated_excess: float = 2.0, overlap: str = "tenant",
        merge_gap: int = 30,
        page_alpha: float = 1e-6, page_excess: float = 2.0,
        page_slack: float = 1.0, page_step: float = 3.0,
        surge_backlog: int = 100, congestion_backlog: int = 10,
        prior_jobs: float = 500.0,
    ) -> None:
        check_positive(short=short, long=long, min_excess=min_excess, prior_jobs=prior_jobs,
                       solo_lookback=solo_lookback, min_tenants=min_tenants,
                       corroborated_excess=corroborated_excess)
        check_non_negative(min_jobs=min_jobs, merge_gap=merge_gap)
        check_non_negative(page_slack=page_slack)
        check_positive(page_excess=page_excess, page_step=page_step)
        check_probability(alpha=alpha, solo_alpha=solo_alpha, weak_alpha=weak_alpha,
                          fleet_alpha=fleet_alpha, page_alpha=page_alpha)
        self.short, self.long, self.alpha = short, long, alpha
        self.min_excess, self.min_jobs = min_excess, min_jobs
        self.solo_lookback, self.solo_alpha = solo_lookback, solo_alpha
        self.weak_alpha, self.min_tenants, self.fleet_alpha = weak_alpha, min_tenants, fleet_alpha
        self.corroborated_excess, self.overlap = corroborated_excess, overlap
        self.merge_gap, self.page_alpha = merge_gap, page_alpha
        self.page_excess, self.page_slack, self.page_step = page_excess, page_slack, page_step
        self.surge_backlog, self.congestion_backlog = surge_backlog, congestion_backlog
        self.prior_jobs = prior_jobs
        self._conditions()

    def _conditions(self) -> Conditions:
        return Conditions(self.surge_backlog, self.congestion_backlog, self.overlap)

    @property
    def lookback(self) -> int:
        return max(self.short, self.long, self.solo_lookback)

    def _fit(self, grid: RollupGrid) -> None:
        conditions = self._conditions()
        self.baseline_ = Baseline.fit(grid, model="concurrency", conditions=conditions,
                                      prior_jobs=self.prior_jobs)
        self.loss_ = OutputLoss.fit(grid, conditions=conditions, alpha=self.page_alpha,
                                    min_excess=self.page_excess, slack=self.page_slack,
                                    max_step=self.page_step,
                                    prior_jobs=self.prior_jobs)
        self.fleet_phi_ = self._fleet_dispersion(grid)

    def _overlap_terms(self, grid: RollupGrid) -> tuple[np.ndarray, ...]:
        """Overlapping-minute counts and their baseline: ``(d, n, rate, phi, solo, klass)``."""
        base = self.baseline_
        klass = base.conditions.classes(grid, "concurrency")
        rate, phi = base.minute_terms(grid, klass)
        split = base.conditions.pressure_classes
        over = klass >= split
        d = np.where(over, grid["deduplicated"], 0)
        n = np.where(over, grid["offered"], 0)
        solo = (klass >= 0) & (klass < split)
        return d, n, rate, phi, solo, klass

    def _fleet_dispersion(self, grid: RollupGrid, prior_variance: float = 5.0) -> np.ndarray:
        """Dispersion of the fleet's pooled overlapping count, per load level.

        Near capacity every environment's jobs wait at once, so legitimate coalescing rises
        in many tenants together; pooled counts then vary far more than the sum of independent
        environments would. Estimated from 1-minute fleet sums of the history.
        """
        d, n, rate, phi, _, _ = self._overlap_terms(grid)
        expected = n * rate
        variance = expected * (1.0 - rate)
        level = self.baseline_.conditions.load_level(grid)
        levels = len(self.baseline_.conditions.load_edges or ()) + 1
        square = np.bincount(level, (d.sum(axis=0) - expected.sum(axis=0)) ** 2, levels)
        var = np.bincount(level, variance.sum(axis=0), levels)
        mix = np.bincount(level, (phi * variance).sum(axis=0), levels)
        mixed = np.where(var > 0, mix / np.maximum(var, 1e-12), 1.0)
        pooled = (square + prior_variance * mixed) / (var + prior_variance)
        return np.maximum(np.maximum(pooled, mixed), 1.0)

    def _detect(self, grid: RollupGrid) -> list[Event]:
        d_ov, n_ov, rate, phi, solo, _ = self._overlap_terms(grid)
        offered, dedup = grid["offered"], grid["deduplicated"]
        variance = n_ov * rate * (1.0 - rate)
        level = self.baseline_.conditions.load_level(grid)
        fleet_phi = self.fleet_phi_[np.minimum(level, len(self.fleet_phi_) - 1)][None, :]
        one = windowed(d_ov, n_ov, rate, phi, 1)
        short = windowed(d_ov, n_ov, rate, phi, self.short)
        long = windowed(d_ov, n_ov, rate, phi, self.long)
        alone = windowed(np.where(solo, dedup, 0), np.where(solo, offered, 0), rate, phi,
                         self.solo_lookback)
        solo_ok = alone.sf(alone.excess > 0) >= self.solo_alpha
        enough = long.jobs >= self.min_jobs

        screen = (long.excess >= self.min_excess) & enough & solo_ok
        own = np.maximum(short.sf(screen), long.sf(screen))
        strong = screen & (own < self.alpha)

        weak_p = np.minimum(one.sf(enough & solo_ok & (one.excess >= 1)),
                            short.sf(enough & solo_ok & (short.excess >= 1)))
        weak = weak_p < self.weak_alpha
        onehot = _tenant_onehot(grid)
        tenants = ((onehot.T @ weak.astype(np.float32)) > 0.5).sum(axis=0)
        fleet_p = np.minimum(
            self._fleet_p(one, solo_ok, variance, fleet_phi, 1),
            self._fleet_p(short, solo_ok, variance, fleet_phi, self.short),
        )
        corroborated = (tenants >= self.min_tenants) & (fleet_p < self.fleet_alpha)
        attributed = weak & corroborated[None, :] & (long.excess >= self.corroborated_excess)

        fire = strong | attributed
        score = np.maximum(np.where(strong, score_of(own), 0.0),
                           np.where(attributed, score_of(fleet_p)[None, :], 0.0))
        tally = self.loss_.tally(grid)
        env = grid.environments
        who = "its tenant's other environments" if self.overlap == "tenant" else \
            "other environments"

        def describe(row: int, peak: int, first: int, last: int) -> tuple[str, str]:
            d, n, e = long.at(row, peak)
            ds, ns, _ = alone.at(row, peak)
            loss = tally.span(row, first, last)
            corroborated_here = bool(attributed[row, first:last + 1].any())
            n_ten = int(tenants[first:last + 1].max())
            base_rate = e / n if n else 0.0
            p = own[row, peak] if strong[row, peak] else fleet_p[peak]
            text = (
                f"{env[row]}: dedup rises only while {who} are active: {d:.0f} of {n:.0f} "
                f"jobs ({format_ratio(d / n if n else 0.0)}) deduplicated in overlapping "
                f"minutes of the last {self.long} min vs {format_ratio(base_rate)} baseline "
                f"(p={format_p(float(p))}); solo minutes normal ({ds:.0f} of {ns:.0f} in "
                f"{self.solo_lookback} min)"
            )
            if corroborated_here:
                text += (f"; {n_ten} tenants at once: consistent with deduplication keyed "
                         f"without the environment")
            else:
                text += ": consistent with deduplication keyed without the environment"
            text += f"; {loss.describe()}"
            return text, "page" if loss.is_loss else "ticket"

        return self._events(grid, fire, score, describe, self.merge_gap, hints=tally)

    def _fleet_p(
        self, window: Windowed, solo_ok: np.ndarray, variance: np.ndarray,
        fleet_phi: np.ndarray, width: int,
    ) -> np.ndarray:
        """Pooled test of every environment whose solo minutes are normal, per minute, with
        the fleet's own dispersion for the load levels in the window."""
        observed = np.where(solo_ok, window.observed, 0.0).sum(axis=0)
        jobs = np.where(solo_ok, window.jobs, 0.0).sum(axis=0)
        expected = np.where(solo_ok, window.expected, 0.0).sum(axis=0)
        v = np.where(solo_ok, window_sum(variance, width), 0.0).sum(axis=0)
        pv = np.where(solo_ok, window_sum(fleet_phi * variance, width), 0.0).sum(axis=0)
        phi = np.where(v > 1e-12, pv / np.maximum(v, 1e-12), 1.0)
        out = np.ones(observed.shape)
        screen = observed - expected >= self.min_excess
        if screen.any():
            out[screen] = overdispersed_sf(observed[screen], jobs[screen],
                                           expected[screen] / np.maximum(jobs[screen], 1.0),
                                           np.maximum(phi[screen], 1.0))
        return out
