"""Named faults: realistic defects that can be switched on and off at given times.

A fault changes one rule of one component. Components ask :class:`FaultSwitchboard` whether
a fault is on for an environment; the clock driver (simulator or live runner) flips the
switches at the times a :class:`FaultSchedule` gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from toolkit.errors import BadInput

ENV_BLIND_DEDUP = "env-blind-dedup"
LOST_FOLLOW_UP = "lost-follow-up"
SCHEMA_BLIND_DEDUP = "schema-blind-dedup"

FAULTS: dict[str, str] = {
    ENV_BLIND_DEDUP: (
        "The 7 May 2024 bug: the dedup key stops distinguishing environments, so while two "
        "environments hold jobs for the same entity and schema, one is discarded as a duplicate "
        "of the other."
    ),
    LOST_FOLLOW_UP: (
        "A trigger that arrives while a job for the same key is running is dropped instead of "
        "leaving a pending follow-up, so the running job's older version wins."
    ),
    SCHEMA_BLIND_DEDUP: (
        "The dedup key stops distinguishing schemas, so a job for one schema of an entity is "
        "discarded as a duplicate of a pending job for another schema of the same entity."
    ),
}


def check_fault_name(name: str) -> str:
    """Return ``name`` if it is a known fault, else raise :class:`BadInput` naming it."""
    if name not in FAULTS:
        known = ", ".join(sorted(FAULTS))
        raise BadInput(f"unknown fault {name!r} (known: {known})")
    return name


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """Fault ``name`` is on from ``start`` (inclusive) to ``end`` (exclusive), in epoch seconds.

    ``environments`` confines it to those environment ids; ``None`` means every environment.
    """

    name: str
    start: float
    end: float
    environments: frozenset[str] | None = None

    def __post_init__(self) -> None:
        check_fault_name(self.name)
        if not self.end > self.start:
            raise BadInput(f"fault {self.name!r}: end {self.end} is not after start {self.start}")


class FaultSchedule:
    """The windows of a run, turned into time-ordered switch events for a clock driver."""

    def __init__(self, windows: Iterable[FaultWindow] = ()) -> None:
        self.windows: tuple[FaultWindow, ...] = tuple(sorted(windows, key=lambda w: w.start))

    def switches(self) -> list[tuple[float, bool, FaultWindow]]:
        """``(time, on, window)`` in time order; at equal times, switch-offs come first."""
        events = [(w.start, True, w) for w in self.windows]
        events += [(w.end, False, w) for w in self.windows]
        events.sort(key=lambda e: (e[0], e[1]))
        return events

    def __iter__(self) -> Iterator[FaultWindow]:
        return iter(self.windows)

    def __len__(self) -> int:
        return len(self.windows)


class FaultSwitchboard:
    """Which faults are on right now, and for which environments.

    ``on`` is a plain dict so that the hot path can test ``if board.on:`` and skip every
    fault check in the common case where nothing is switched on.
    """

    def __init__(self) -> None:
        self.on: dict[str, frozenset[str] | None] = {}

    def switch(self, window: FaultWindow, on: bool) -> None:
        if on:
            self.on[window.name] = window.environments
        else:
            self.on.pop(window.name, None)

    def active(self, name: str, environment: str) -> bool:
        """Is fault ``name`` on for ``environment``?"""
        if name not in self.on:
            return False
        scope = self.on[name]
        return scope is None or environment in scope
