"""Tail test: is this window's dedup ratio too high for the environment's own baseline?"""

from __future__ import annotations

import numpy as np

from toolkit.detect._base import Detector, check_non_negative, check_positive, check_probability
from toolkit.detect._grid import RollupGrid
from toolkit.detect._stats import format_p, format_ratio, score_of, windowed
from toolkit.detect.baseline import Baseline, Conditions
from toolkit.detect.events import Event
from toolkit.detect.output import OUTPUT_COLUMNS, OutputLoss
from toolkit.detect.registry import register


@register
class DedupTailTest(Detector):
    """Upper-tail test of the dedup ratio over a short and a long window at once.

    At every minute, the trailing ``short`` and ``long`` windows count jobs offered ``n`` and
    deduplicated ``d``. Each is tested against the environment's own baseline ratio ``p0`` with
    an overdispersed binomial upper tail (design effect ``1 + (n - 1) rho``, ``rho`` fitted per
    window width). The minute fires when both p-values are below ``alpha``, the long window's
    excess ``d - n p0`` is at least ``min_excess`` jobs and it held at least ``min_jobs`` jobs:
    the short window makes it quick, the long one keeps a one-minute clump from firing, and the
    excess keeps an environment with three jobs from ever firing.

    ``p0`` comes from non-surge minutes of the history, but every minute is tested, so a bulk
    re-ingest that coalesces half its jobs fires too; the yield test over the event then says
    ``ticket`` (output normal for its queue pressure) rather than ``page``.

    Args:
        short: short window, minutes.
        long: long window, minutes.
        alpha: significance required in both windows.
        min_excess: fewest deduplicated jobs beyond the baseline in the long window.
        min_jobs: fewest jobs offered in the long window.
        merge_gap: quiet minutes bridged inside one event.
        page_alpha, page_excess, page_slack, page_step: the yield test over the event so far
            that makes it a ``page``: significance, fewest lost jobs beyond expectation,
            jobs forgiven for work in flight, most lost jobs one minute counts for (see
            :meth:`Detector._events`).
        surge_backlog, congestion_backlog: minute classes, see :class:`Conditions`.
        prior_jobs: shrinkage of ratios towards the fleet, in jobs.
    """

    name = "tail"
    requires = OUTPUT_COLUMNS

    def __init__(
        self, *, short: int = 10, long: int = 60, alpha: float = 1e-6, min_excess: float = 4.0,
        min_jobs: int = 5, merge_gap: int = 30, page_alpha: float = 1e-6,
        page_excess: float = 2.0, page_slack: float = 1.0, page_step: float = 3.0,
        surge_backlog: int = 100,
        congestion_backlog: int = 10, prior_jobs: float = 500.0,
    ) -> None:
        check_positive(short=short, long=long, min_excess=min_excess, prior_jobs=prior_jobs)
        check_non_negative(min_jobs=min_jobs, merge_gap=merge_gap)
        check_non_negative(page_slack=page_slack)
        check_positive(page_excess=page_excess, page_step=page_step)
        check_probability(alpha=alpha, page_alpha=page_alpha)
        self.short, self.long, self.alpha = short, long, alpha
        self.min_excess, self.min_jobs, self.merge_gap = min_excess, min_jobs, merge_gap
        self.page_alpha = page_alpha
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
        self.loss_ = OutputLoss.fit(grid, conditions=conditions, width=self.long,
                                    alpha=self.page_alpha, min_excess=self.page_excess,
                                    slack=self.page_slack,
                                    max_step=self.page_step,
                                    prior_jobs=self.prior_jobs)

    def _detect(self, grid: RollupGrid) -> list[Event]:
        base = self.baseline_
        rate = base.env_rates_for(grid)[:, None]
        phi = base.phi_for(grid)[:, :1]
        # A surge's own coalescing is legitimate (its backlog holds the duplicates' keys):
        # surge minutes count for nothing, as in the CUSUM and the yield test.
        calm = ~base.conditions.surge(grid)
        offered = np.where(calm, grid["offered"], 0)
        dedup = np.where(calm, grid["deduplicated"], 0)
        short = windowed(dedup, offered, rate, phi, self.short)
        long = windowed(dedup, offered, rate, phi, self.long)
        screen = (long.excess >= self.min_excess) & (long.jobs >= self.min_jobs)
        worst = np.maximum(short.sf(screen), long.sf(screen))
        fire = screen & (worst < self.alpha)
        tally = self.loss_.tally(grid)
        env = grid.environments

        def describe(row: int, peak: int, first: int, last: int) -> tuple[str, str]:
            d_s, n_s, _ = short.at(row, peak)
            d_l, n_l, _ = long.at(row, peak)
            loss = tally.span(row, first, last)
            text = (
                f"{env[row]}: {d_s:.0f} of {n_s:.0f} jobs deduplicated in {self.short} min "
                f"({d_l:.0f} of {n_l:.0f} in {self.long} min) vs {format_ratio(rate[row, 0])} "
                f"baseline (p={format_p(float(worst[row, peak]))}); {loss.describe()}"
            )
            return text, "page" if loss.is_loss else "ticket"

        return self._events(grid, fire, score_of(worst), describe, self.merge_gap, hints=tally)
