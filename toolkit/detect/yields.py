"""The yield detector: output missing beyond what queue pressure explains, as events.

The test itself (what "yield" means and why it separates wrongful discards from legitimate
surges) lives in :mod:`toolkit.detect.output`, because every detector uses it for its
``page``/``ticket`` hint.
"""

from __future__ import annotations

import numpy as np

from toolkit.detect._base import Detector, check_non_negative, check_positive, check_probability
from toolkit.detect._grid import RollupGrid
from toolkit.detect._stats import format_p, score_of
from toolkit.detect.baseline import Conditions
from toolkit.detect.events import Event
from toolkit.detect.output import OUTPUT_COLUMNS, OutputLoss
from toolkit.detect.registry import register


@register
class YieldCheck(Detector):
    """Output shortfall beyond what the environment's queue pressure explains.

    Fires at a minute when both the short and the long trailing window show more jobs leaving
    without output than the pressure-conditioned baseline expects (quasi-binomial upper tail
    below ``alpha``), the long window's excess beyond ``slack`` is at least ``min_excess``
    jobs, and it held at least ``min_jobs`` jobs. Every event is a ``page``: output is missing.
    Only quiet minutes count (see :mod:`toolkit.detect.output`): congestion is not loss.

    Args:
        short: short window, minutes.
        long: long window, minutes.
        alpha: significance for both windows.
        min_excess: fewest jobs lost beyond expectation (and slack) in the long window.
        min_jobs: fewest jobs offered in the long window.
        slack: jobs forgiven per window for work in flight at its edges.
        merge_gap: quiet minutes bridged inside one event.
        surge_backlog, congestion_backlog: minute classes, see :class:`Conditions`.
        prior_jobs: shrinkage of ratios towards the fleet, in jobs.
        quiet_hold: minutes after a surge or fleet congestion before minutes count again.
        max_step: most lost jobs one minute counts for (a clump is one burst).
    """

    name = "yield"
    requires = OUTPUT_COLUMNS

    def __init__(
        self, *, short: int = 30, long: int = 120, alpha: float = 1e-6, min_excess: float = 3.0,
        min_jobs: int = 5, slack: float = 2.0, merge_gap: int = 30, surge_backlog: int = 100,
        congestion_backlog: int = 10, prior_jobs: float = 500.0, quiet_hold: int = 60,
        max_step: float = 4.0,
    ) -> None:
        check_positive(short=short, long=long, min_excess=min_excess, prior_jobs=prior_jobs,
                       max_step=max_step)
        check_non_negative(min_jobs=min_jobs, slack=slack, merge_gap=merge_gap,
                           quiet_hold=quiet_hold)
        check_probability(alpha=alpha)
        self.short, self.long, self.alpha = short, long, alpha
        self.min_excess, self.min_jobs, self.slack = min_excess, min_jobs, slack
        self.merge_gap = merge_gap
        self.surge_backlog, self.congestion_backlog = surge_backlog, congestion_backlog
        self.prior_jobs, self.quiet_hold, self.max_step = prior_jobs, quiet_hold, max_step

    @property
    def lookback(self) -> int:
        return max(self.short, self.long) + self.quiet_hold

    def _fit(self, grid: RollupGrid) -> None:
        conditions = Conditions(self.surge_backlog, self.congestion_backlog)
        self.check_ = OutputLoss.fit(grid, conditions=conditions, width=self.long,
                                     alpha=self.alpha, min_excess=self.min_excess,
                                     slack=self.slack, prior_jobs=self.prior_jobs,
                                     quiet_hold=self.quiet_hold, max_step=self.max_step)

    def _detect(self, grid: RollupGrid) -> list[Event]:
        windows = self.check_.windows(grid, (self.short, self.long))
        short, long = windows[self.short], windows[self.long]
        screen = (long.excess >= self.min_excess) & (long.jobs >= self.min_jobs)
        worst = np.maximum(short.sf(screen), long.sf(screen))
        fire = screen & (worst < self.alpha)
        env = grid.environments

        def describe(row: int, peak: int, first: int, last: int) -> tuple[str, str]:
            counted, jobs, expected = long.at(row, peak)
            return (
                f"{env[row]}: {counted + self.slack:.0f} of {jobs:.0f} jobs left without output "
                f"(offered - processed - failed - backlog growth, at most {self.max_step:g} "
                f"a minute) in {self.long} quiet min vs "
                f"{expected:.1f} expected from its queue pressure "
                f"(p={format_p(float(worst[row, peak]))}): output lost",
                "page",
            )

        return self._events(grid, fire, score_of(worst), describe, self.merge_gap)
