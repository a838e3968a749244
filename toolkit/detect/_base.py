"""The detector shape every detector shares (ADTK's, without the dependency).

Public ``fit`` / ``detect`` validate the input and convert it once to a dense grid; a subclass
implements only ``_fit(grid)`` and ``_detect(grid)``. Fitted state lives in attributes whose
names end in ``_``, so "is it fitted?" is a question about attributes, not a flag to forget.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from toolkit.detect._grid import Columns, RollupGrid, to_grid
from toolkit.detect._stats import runs
from toolkit.detect.events import Event
from toolkit.errors import BadInput, ToolkitError
from toolkit.store.base import optional_utc

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.detect.output import LossTally

Describe = Callable[[int, int, int, int], tuple[str, str]]
"""``(row, peak, first, last) -> (explanation, severity)`` for one run of flagged minutes."""


class NotFittedError(ToolkitError):
    """A detector was asked to detect before ``fit`` gave it a baseline."""


class Detector(ABC):
    """Base of every detector: validated ``fit`` and ``detect`` over ``env_minute`` rollups.

    Subclasses set ``name`` (the registry key), ``requires`` (columns besides ``minute`` and
    ``environment``), take their parameters as keyword arguments of ``__init__`` stored under
    the same names, and implement ``_fit`` and ``_detect``.
    """

    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ("offered", "deduplicated")

    # -- the public, validating API ---------------------------------------------------------
    def fit(self, history: pd.DataFrame | Columns | RollupGrid) -> Self:
        """Learn the baseline from history rows of ``env_minute``; returns ``self``.

        Raises:
            BadInput: missing columns, no rows, malformed values.
        """
        self._fit(to_grid(history, self.requires, who=f"{self.name}.fit"))
        return self

    def detect(
        self,
        frame: pd.DataFrame | Columns | RollupGrid,
        since: object = None,
        until: object = None,
    ) -> list[Event]:
        """Events in ``frame`` in detection order, those overlapping ``[since, until]`` only
        when given.

        The whole frame is used for the windows, so to look at the newest minutes only, pass
        the last :attr:`lookback` minutes of rows and ``since`` = the newest minute.

        Raises:
            NotFittedError: ``fit`` was not called.
            BadInput: missing columns, no rows, malformed values.
        """
        if not self.fitted:
            raise NotFittedError(f"detector {self.name!r} is not fitted: call fit(history) first")
        grid = to_grid(frame, self.requires, who=self.name)
        events = self._detect(grid)
        lo, hi = optional_utc(since, "since"), optional_utc(until, "until")
        kept = [e for e in events
                if (lo is None or e.end >= lo) and (hi is None or e.start <= hi)]
        return sorted(kept, key=lambda e: (e.detected, e.environment))

    __call__ = detect

    def fit_detect(self, frame: pd.DataFrame | Columns | RollupGrid) -> list[Event]:
        """Fit on ``frame`` and detect in it (a quick look; in-sample, so optimistic)."""
        grid = to_grid(frame, self.requires, who=self.name)
        return self.fit(grid).detect(grid)

    @property
    def fitted(self) -> bool:
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    @property
    def lookback(self) -> int:
        """Minutes of history ``detect`` needs before the newest minute to judge it."""
        return 60

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- what a subclass implements ----------------------------------------------------------
    @abstractmethod
    def _fit(self, grid: RollupGrid) -> None:
        """Set the fitted attributes (names ending in ``_``) from a history grid."""

    @abstractmethod
    def _detect(self, grid: RollupGrid) -> list[Event]:
        """Every event in the grid."""

    # -- helpers for subclasses ----------------------------------------------------------------
    def _events(
        self,
        grid: RollupGrid,
        fire: np.ndarray,
        score: np.ndarray,
        describe: Describe,
        merge_gap: int,
        starts: np.ndarray | None = None,
        hints: LossTally | None = None,
    ) -> list[Event]:
        """Turn flagged minutes into events, one per run (runs closer than ``merge_gap`` merge).

        With ``hints``, a run's ``page`` hint is decided as a live run decides it, from data up
        to the minute it is raised: the first flagged minute at which the yield test over the
        run so far shows a loss. A run that turns to a loss part-way is two events, a
        ``ticket`` up to that minute and a ``page`` detected at it (a live run sees the first,
        then both); a page hint, once raised, stays.

        Args:
            fire: ``(environments, minutes)`` booleans.
            score: evidence per minute; an event's score is its peak.
            describe: explanation and severity of a run (``first``, ``last``: the span its
                yield test covers).
            merge_gap: the most quiet minutes inside one event.
            starts: optional column of the estimated start for each flagged minute.
            hints: the yield test over spans, to decide each run's hint as it goes.
        """
        rows, first, last = runs(fire, merge_gap)
        out = []
        for r, a, b in zip(rows.tolist(), first.tolist(), last.tolist(), strict=True):
            begin = a if starts is None else min(a, int(starts[r, a]))
            parts: list[tuple[int, int, int | None]] = [(a, b, None)]
            if hints is not None:
                ends = a + np.flatnonzero(fire[r, a:b + 1])
                turn = hints.first_loss(r, a, ends)
                if turn == a:
                    parts = [(a, b, turn)]
                elif turn is not None:
                    parts = [(a, int(ends[ends < turn][-1]), None), (turn, b, turn)]
            for lo, hi, turned in parts:
                peak = lo + int(np.argmax(np.where(fire[r, lo:hi + 1], score[r, lo:hi + 1],
                                                   -np.inf)))
                text, severity = describe(r, peak, a, hi)
                if turned is not None and severity != "page":
                    # Lost output seen up to ``turned`` but not over the whole run: the hint
                    # raised then stands, with the evidence it was raised on.
                    text, severity = describe(r, peak, a, turned)
                out.append(Event(
                    environment=grid.environments[r], start=grid.time(begin if lo == a else lo),
                    end=grid.time(hi), score=round(float(min(score[r, peak], 300.0)), 2),
                    detector=self.name, explanation=text, severity=severity,
                    detected_at=grid.time(lo),
                ))
        return out


def check_positive(**values: float) -> None:
    """Raise :class:`BadInput` for the first value that is not > 0 (constructor checks)."""
    for name, value in values.items():
        if not value > 0:
            raise BadInput(f"{name} must be > 0, got {value!r}")


def check_non_negative(**values: float) -> None:
    """Raise :class:`BadInput` for the first value that is < 0."""
    for name, value in values.items():
        if value < 0:
            raise BadInput(f"{name} must be >= 0, got {value!r}")


def check_probability(**values: float) -> None:
    """Raise :class:`BadInput` for the first value outside (0, 1)."""
    for name, value in values.items():
        if not 0 < value < 1:
            raise BadInput(f"{name} must be between 0 and 1 (exclusive), got {value!r}")
