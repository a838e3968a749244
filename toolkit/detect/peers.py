"""Peer comparison: is this environment's dedup ratio out of line with its peers right now?

A rise that every environment shares (a busy hour, a platform-wide slow-down) is the fleet's
business; a rise one environment has alone is its own. Each environment's ratio is measured as a
multiple of its own baseline, and the robust centre of those multiples (their median) is what
"now" means for the fleet.
"""

from __future__ import annotations

import numpy as np

from toolkit.detect._base import Detector, check_non_negative, check_positive, check_probability
from toolkit.detect._grid import RollupGrid
from toolkit.detect._stats import Windowed, format_p, score_of, screened_sf, window_sum
from toolkit.detect.baseline import Baseline, Conditions
from toolkit.detect.events import Event
from toolkit.detect.output import OUTPUT_COLUMNS, OutputLoss
from toolkit.detect.registry import register


def peer_factor(window: Windowed, min_jobs: float, min_peers: int) -> np.ndarray:
    """Median over environments of observed / expected, floored at 1, per minute.

    Only environments with at least ``min_jobs`` jobs in the window count (their expectation
    is then positive, ratios being floored); minutes with fewer than ``min_peers`` of them get
    NaN (no comparison possible). The median ignores the few environments that are far off
    either way, which is what makes it a fair "what everyone is doing now".
    """
    eligible = (window.jobs >= min_jobs) & (window.expected > 0)
    ratio = np.where(eligible, window.observed / np.where(eligible, window.expected, 1.0),
                     np.inf)
    ratio.sort(axis=0)  # ineligible cells (inf) sort last; the median is among the first k
    count = eligible.sum(axis=0)
    low = np.take_along_axis(ratio, (np.maximum(count - 1, 0) // 2)[None, :], axis=0)[0]
    high = np.take_along_axis(ratio, (count // 2)[None, :], axis=0)[0]
    centre = np.where(count >= min_peers, 0.5 * (low + high), np.nan)
    return np.maximum(centre, 1.0)


@register
class PeerComparison(Detector):
    """An environment's dedup ratio against its own baseline scaled by its peers' rise.

    In each window, an environment's expectation is ``n p0`` times the peer factor ``R`` (the
    median, over environments with at least ``min_jobs`` jobs, of observed over expected,
    floored at 1). The minute fires when both windows' quasi-binomial upper tails are below
    ``alpha`` and the long window's excess over ``n p0 R`` is at least ``min_excess``.

    Args:
        short: short window, minutes.
        long: long window, minutes.
        alpha: significance required in both windows.
        min_excess: fewest deduplications beyond the peer-scaled expectation (long window).
        min_jobs: fewest jobs for an environment to be tested or to count as a peer.
        min_peers: fewest peers for a comparison.
        merge_gap: quiet minutes bridged inside one event.
        page_alpha, page_excess, page_slack, page_step: the yield test over the event so far
            that makes it a ``page``: significance, fewest lost jobs beyond expectation,
            jobs forgiven for work in flight, most lost jobs one minute counts for (see
            :meth:`Detector._events`).
        surge_backlog, congestion_backlog: minute classes, see :class:`Conditions`.
        prior_jobs: shrinkage of ratios towards the fleet, in jobs.
    """

    name = "peers"
    requires = OUTPUT_COLUMNS

    def __init__(
        self, *, short: int = 10, long: int = 60, alpha: float = 1e-6, min_excess: float = 5.0,
        min_jobs: int = 5, min_peers: int = 3, merge_gap: int = 30, page_alpha: float = 1e-6,
        page_excess: float = 2.0, page_slack: float = 1.0, page_step: float = 3.0,
        surge_backlog: int = 100,
        congestion_backlog: int = 10, prior_jobs: float = 500.0,
    ) -> None:
        check_positive(short=short, long=long, min_excess=min_excess, prior_jobs=prior_jobs,
                       min_peers=min_peers)
        check_non_negative(min_jobs=min_jobs, merge_gap=merge_gap)
        check_non_negative(page_slack=page_slack)
        check_positive(page_excess=page_excess, page_step=page_step)
        check_probability(alpha=alpha, page_alpha=page_alpha)
        self.short, self.long, self.alpha = short, long, alpha
        self.min_excess, self.min_jobs, self.min_peers = min_excess, min_jobs, min_peers
        self.merge_gap, self.page_alpha = merge_gap, page_alpha
        self.page_excess, self.page_slack, self.page_step = page_excess, page_slack, page_step
        self.surge_backlog, self.congestion_backlog = surge_backlog, congestion_backlog
        self.prior_jobs = prior_jobs

    @property
    def lookback(self) -> int:
        return max(self.short, self.long)

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
        p0 = base.env_rates_for(grid)[:, None]
        phi = base.phi_for(grid)[:, :1]
        # A surge's own coalescing is legitimate (its backlog holds the duplicates' keys):
        # surge minutes count for nothing, as in the CUSUM and the yield test.
        calm = ~base.conditions.surge(grid)
        offered = np.where(calm, grid["offered"], 0)
        dedup = np.where(calm, grid["deduplicated"], 0)
        tested: dict[int, tuple[Windowed, np.ndarray]] = {}
        for width in (self.short, self.long):
            n = window_sum(offered, width)
            w = Windowed(window_sum(dedup, width), n, n * p0, np.broadcast_to(phi, n.shape))
            factor = peer_factor(w, self.min_jobs, self.min_peers)
            scaled = np.where(np.isnan(factor), np.inf, w.expected * factor[None, :])
            tested[width] = (Windowed(w.observed, n, np.minimum(scaled, n * 0.5), w.phi), factor)
        short, _ = tested[self.short]
        long, factor = tested[self.long]
        screen = (long.excess >= self.min_excess) & (long.jobs >= self.min_jobs)
        p_short = screened_sf(short.observed, short.jobs, short.expected, short.phi,
                              screen & (short.observed > short.expected))
        p_long = screened_sf(long.observed, long.jobs, long.expected, long.phi,
                             screen & (long.observed > long.expected))
        worst = np.maximum(p_short, p_long)
        fire = screen & (worst < self.alpha)
        tally = self.loss_.tally(grid)
        env = grid.environments

        def describe(row: int, peak: int, first: int, last: int) -> tuple[str, str]:
            d, n, _ = long.at(row, peak)
            own = d / max(n * float(p0[row, 0]), 1e-12)
            loss = tally.span(row, first, last)
            text = (
                f"{env[row]}: {d:.0f} of {n:.0f} jobs deduplicated in {self.long} min, "
                f"{own:.0f}x its baseline while its peers ran at {factor[peak]:.1f}x theirs "
                f"(p={format_p(float(worst[row, peak]))}); {loss.describe()}"
            )
            return text, "page" if loss.is_loss else "ticket"

        return self._events(grid, fire, score_of(worst), describe, self.merge_gap, hints=tally)
