"""Composition of observers, so ground truth and telemetry can watch the same run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from toolkit.engine.protocols import Observer

_EVENTS = (
    "ingested", "skipped", "deployed", "decided", "enqueued", "dequeued", "finished",
    "fault_switched",
)


class FanOut:
    """Forwards every event to each observer in order."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self.observers = tuple(observers)
        for name in _EVENTS:
            methods = tuple(getattr(o, name) for o in self.observers)
            setattr(self, name, _fan(methods))


def _fan(methods: tuple[Any, ...]) -> Any:
    if len(methods) == 1:
        return methods[0]

    def call(*args: Any) -> None:
        for method in methods:
            method(*args)

    return call


def combine(*observers: Observer | None) -> Observer | None:
    """One observer for all the given ones (``None`` entries are ignored)."""
    present = [o for o in observers if o is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return FanOut(present)  # type: ignore[return-value]
