"""The registry of detectors: names to classes, and running several on one rollup.

Detectors are small callables with one job each; the alert command, the report and the
evaluation pick them by name from here, so adding one is writing a class and decorating it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from toolkit.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.detect._base import Detector
    from toolkit.detect._grid import Columns, RollupGrid
    from toolkit.detect.events import Event

DETECTORS: dict[str, type[Detector]] = {}
"""Registry name -> detector class, in registration order."""

_D = TypeVar("_D", bound="type[Detector]")


def register(cls: _D) -> _D:
    """Class decorator: make a detector available under its ``name``."""
    if not cls.name:
        raise BadInput(f"{cls.__name__} has no name to register under")
    if cls.name in DETECTORS and DETECTORS[cls.name] is not cls:
        raise BadInput(f"a detector named {cls.name!r} is already registered")
    DETECTORS[cls.name] = cls
    return cls


def available_detectors() -> list[str]:
    """Registered detector names, in registration order."""
    return list(DETECTORS)


def make_detector(name: str, **params: Any) -> Detector:
    """A new, unfitted detector by registry name.

    Raises:
        BadInput: unknown name or bad parameters.
    """
    try:
        cls = DETECTORS[name]
    except KeyError:
        known = ", ".join(DETECTORS)
        raise BadInput(f"unknown detector {name!r} (known: {known})") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise BadInput(f"detector {name!r}: {exc}") from None


def fit_detectors(
    history: pd.DataFrame | Columns | RollupGrid,
    names: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Detector]:
    """Make and fit the named detectors (all registered ones by default) on one history."""
    from toolkit.detect._grid import to_grid

    names = list(names) if names is not None else available_detectors()
    params = params or {}
    detectors = [make_detector(n, **dict(params.get(n, {}))) for n in names]
    needed = sorted({c for d in detectors for c in d.requires})
    grid = to_grid(history, needed, who="fit")
    return [d.fit(grid) for d in detectors]


def run_detectors(
    detectors: Iterable[Detector],
    frame: pd.DataFrame | Columns | RollupGrid,
    since: object = None,
    until: object = None,
) -> list[Event]:
    """Every event of every fitted detector on one frame (converted once), in time order."""
    from toolkit.detect._grid import to_grid

    detectors = list(detectors)
    needed = sorted({c for d in detectors for c in d.requires})
    grid = to_grid(frame, needed, who="detect")
    events = [e for d in detectors for e in d.detect(grid, since=since, until=until)]
    return sorted(events, key=lambda e: (e.detected, e.environment, e.detector))
