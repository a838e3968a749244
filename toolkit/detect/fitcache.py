"""The hourly detector fit, kept in the store's ``detector_fits`` table as JSON.

``toolkit alert`` runs every minute from cron, each run a new process. The detectors are fitted
on the history ending at the whole hour (:mod:`toolkit.detect.window`), so one fit serves an
hour of runs: the first run of the hour fits and writes it, the next 59 read it. The table
belongs to the store's versioned schema; this module lives with the detectors because the store
must not know what a detector is (detect imports store, never the reverse).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from toolkit.detect.registry import make_detector
from toolkit.detect.serial import dump_detectors, load_detectors
from toolkit.errors import BadInput

if TYPE_CHECKING:
    from toolkit.detect._base import Detector
    from toolkit.store import Store

__all__ = ["KEEP", "StoreFitCache"]

KEEP = timedelta(hours=48)
"""Fits older than this (by their hour) are deleted when a new one is written."""


class StoreFitCache:
    """A :class:`toolkit.detect.window.FitCache` over a store's ``detector_fits`` table.

    A fit is used only if every detector's parameters equal the current defaults' (a fit made
    by another version or configuration is refitted, not trusted). On a read-only store
    ``put`` keeps the fit in this process only. The last fit read or written is also kept in
    memory, so a replay that alerts minute after minute decodes it once an hour.
    """

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self._memo: tuple[datetime, tuple[str, ...], list[Detector]] | None = None

    def attach(self, store: Store) -> StoreFitCache:
        """Read and write ``store`` from now on, keeping the fit memorised in this process (a
        replay opens the store afresh for every cron minute)."""
        self.store = store
        return self

    @staticmethod
    def _key(names: Sequence[str]) -> str:
        return ",".join(names)

    def get(self, hour: datetime, names: Sequence[str]) -> list[Detector] | None:
        if self._memo is not None and self._memo[:2] == (hour, tuple(names)):
            return self._memo[2]
        text = None if self.store is None else self.store.detector_fit(hour, self._key(names))
        if text is None:
            return None
        try:
            detectors = load_detectors(text)
        except BadInput:
            return None
        current = [make_detector(n).get_params() for n in names]
        if [d.name for d in detectors] != list(names) or \
                [d.get_params() for d in detectors] != current:
            return None
        self._memo = (hour, tuple(names), detectors)
        return detectors

    def put(self, hour: datetime, names: Sequence[str], detectors: list[Detector]) -> None:
        self._memo = (hour, tuple(names), detectors)
        if self.store is None or self.store.read_only:
            return
        self.store.put_detector_fit(hour, self._key(names), dump_detectors(detectors),
                                    forget_before=hour - KEEP)
