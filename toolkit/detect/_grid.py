"""The ``env_minute`` rollup as dense environment x minute arrays.

Every detector counts over sliding windows of minutes. Doing that on a long DataFrame means a
group-by per window; on a dense ``(environments, minutes)`` array it is one cumulative sum. The
contract says a missing minute is a minute of zeros with the backlog carried forward, which is
exactly what the dense layout fills in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from toolkit.errors import BadInput
from toolkit.store.base import as_utc

if TYPE_CHECKING:
    import pandas as pd

#: A rollup read as one numpy array per column (``Store.rollup_columns``).
Columns = Mapping[str, np.ndarray]

COUNTERS = (
    "ingests", "skipped_unchanged", "offered", "deduplicated", "follow_ups", "processed",
    "failed", "retried",
)
"""Per-minute counters of ``env_minute`` (docs/contracts.md)."""

KEY_COLUMNS = ("minute", "environment")


@dataclass(frozen=True, eq=False)
class RollupGrid:
    """Dense per-environment per-minute arrays of one rollup frame.

    Attributes:
        environments: environment ids, sorted; row ``i`` of every array is ``environments[i]``.
        tenants: tenant id of each environment (the environment id when the frame had none).
        start: the first minute (``datetime64[m]``, UTC); column ``j`` is ``start + j`` minutes.
        counts: counter name -> ``int64`` array ``(environments, minutes)``, zeros where the
            frame had no row.
        backlog: jobs queued at the end of each minute, carried through missing minutes.
        active_envs: environments with jobs queued in each minute, shape ``(minutes,)``.
        present: whether the frame had a row for the environment and minute.
        columns: the columns the source frame had.
    """

    environments: tuple[str, ...]
    tenants: tuple[str, ...]
    start: np.datetime64
    counts: dict[str, np.ndarray]
    backlog: np.ndarray
    active_envs: np.ndarray
    present: np.ndarray
    columns: frozenset[str] = frozenset()
    cache: dict[object, np.ndarray] = field(default_factory=dict, repr=False)
    """Derived arrays shared by the detectors running on this grid (keyed by who made them)."""

    @property
    def shape(self) -> tuple[int, int]:
        return self.present.shape

    @property
    def minutes(self) -> int:
        return self.present.shape[1]

    def __getitem__(self, column: str) -> np.ndarray:
        try:
            return self.counts[column]
        except KeyError:
            raise BadInput(f"the grid holds no column {column!r} (not in the frame, or not "
                           f"among the columns asked of to_grid)") from None

    def time(self, index: int) -> datetime:
        """The minute at column ``index`` (naive UTC)."""
        return _EPOCH + timedelta(minutes=int(self.start.astype(np.int64)) + int(index))

    def times(self) -> pd.DatetimeIndex:
        """Every minute of the grid, in column order."""
        import pandas as pd

        return pd.date_range(self.time(0), periods=self.minutes, freq="min")

    def index_of(self, when: object) -> int:
        """Column of the minute holding ``when`` (may lie outside ``[0, minutes)``)."""
        return int(np.datetime64(as_utc(when, "time"), "m").astype(np.int64)
                   - self.start.astype(np.int64))

    def row(self, environment: str) -> int:
        """Row of ``environment``; :class:`BadInput` if the rollup does not hold it."""
        try:
            return self.environments.index(environment)
        except ValueError:
            raise BadInput(f"environment {environment!r} is not in the rollup") from None

    # -- derived arrays: computed once per grid, shared by every detector ---------------------
    @cached_property
    def queue(self) -> np.ndarray:
        """Own queue pressure: the larger backlog of the minute's two ends (start, end)."""
        before = np.empty_like(self.backlog)
        before[:, 0] = self.backlog[:, 0]
        before[:, 1:] = self.backlog[:, :-1]
        return np.maximum(before, self.backlog)

    @cached_property
    def backlog_change(self) -> np.ndarray:
        """Backlog at the end of the minute minus backlog at its start."""
        change = np.zeros_like(self.backlog)
        change[:, 1:] = np.diff(self.backlog, axis=1)
        return change

    @cached_property
    def active(self) -> np.ndarray:
        """The environment had work this minute: jobs offered or jobs queued."""
        offered = self.counts.get("offered")
        busy = self.queue > 0
        return busy if offered is None else busy | (offered > 0)

    @cached_property
    def fleet_load(self) -> np.ndarray:
        """Jobs offered by the whole fleet in each minute, ``(minutes,)``."""
        return self["offered"].sum(axis=0)

    @cached_property
    def others_queue(self) -> np.ndarray:
        """Jobs queued by every other environment: how congested the shared workers are."""
        return self.queue.sum(axis=0, keepdims=True) - self.queue

    @cached_property
    def siblings_active(self) -> np.ndarray:
        """Another environment of the same tenant had work this minute."""
        _, codes = _factorize(np.array(self.tenants, dtype=object))
        onehot = np.zeros((len(self.tenants), int(codes.max()) + 1), dtype=np.float32)
        onehot[np.arange(len(self.tenants)), codes] = 1.0
        active = self.active.astype(np.float32)
        per_tenant = onehot.T @ active
        return (onehot @ per_tenant - active) > 0.5

    @cached_property
    def others_active(self) -> np.ndarray:
        """Another environment (any tenant) had jobs queued this minute (from ``active_envs``)."""
        return (self.active_envs[None, :] - self.active.astype(np.int64)) > 0


_EPOCH = datetime(1970, 1, 1)


def _frame_columns(frame: pd.DataFrame, wanted: set[str]) -> dict[str, np.ndarray]:
    """The ``wanted`` columns of a DataFrame as numpy arrays, times as naive UTC, each checked
    as the grid needs it (whole numbers, no gaps)."""
    import pandas as pd

    columns: dict[str, np.ndarray] = {}
    for name in frame.columns:
        if name not in wanted:
            continue
        column = frame[name]
        if name == "minute":
            try:
                if isinstance(column.dtype, pd.DatetimeTZDtype):
                    column = column.dt.tz_convert("UTC").dt.tz_localize(None)
                elif not pd.api.types.is_datetime64_dtype(column.dtype):
                    column = pd.to_datetime(column, utc=True).dt.tz_localize(None)
            except (TypeError, ValueError) as exc:
                raise BadInput(f"column 'minute' does not hold times: {exc}") from None
            if column.isna().any():
                raise BadInput("column 'minute' has missing values")
        elif name in _INTEGER_COLUMNS:
            if not pd.api.types.is_numeric_dtype(column.dtype) or \
                    pd.api.types.is_bool_dtype(column):
                raise BadInput(f"column {name!r} must hold whole numbers, not {column.dtype}")
            if column.isna().any():
                raise BadInput(f"column {name!r} has missing values")
            columns[str(name)] = column.to_numpy(dtype=np.int64)
            continue
        columns[str(name)] = column.to_numpy()
    return columns


_INTEGER_COLUMNS = frozenset((*COUNTERS, "backlog", "active_envs"))


def _minutes(column: np.ndarray) -> np.ndarray:
    """Whole minutes since the epoch (UTC) of a ``datetime64`` column."""
    if np.ma.is_masked(column):
        raise BadInput("column 'minute' has missing values")
    column = np.ma.getdata(column)
    if not np.issubdtype(column.dtype, np.datetime64):
        raise BadInput(f"column 'minute' does not hold times, but {column.dtype}")
    return column.astype("datetime64[m]").astype(np.int64)


def _integers(columns: Columns, name: str) -> np.ndarray:
    column = columns[name]
    if np.ma.is_masked(column):
        raise BadInput(f"column {name!r} has missing values")
    column = np.ma.getdata(column)
    if column.dtype.kind not in "iuf":
        raise BadInput(f"column {name!r} must hold whole numbers, not {column.dtype}")
    if column.dtype.kind == "f" and np.isnan(column).any():
        raise BadInput(f"column {name!r} has missing values")
    values = column.astype(np.int64, copy=False)
    if values.size and values.min() < 0:
        raise BadInput(f"column {name!r} has negative values")
    return values


def _factorize(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Sorted distinct values and each row's index among them. A dict pass, because
    ``np.unique`` sorts every row's string (nine times slower on a rollup of 50 environments)
    and pandas is not on the cron path."""
    index: dict[str, int] = {}
    first = np.fromiter((index.setdefault(str(v), len(index)) for v in np.ma.getdata(values)),
                        dtype=np.int64, count=len(values))
    names = sorted(index)
    order = np.empty(len(names), dtype=np.int64)
    order[[index[name] for name in names]] = np.arange(len(names))
    return names, order[first]


def check_columns(frame: pd.DataFrame | Columns, required: Iterable[str], who: str) -> None:
    """Raise :class:`BadInput` naming what ``who`` needs when ``frame`` (a DataFrame, or
    columns as numpy arrays) lacks columns or rows."""
    names = getattr(frame, "columns", None)
    if names is None:
        if not isinstance(frame, Mapping):
            raise BadInput(f"{who} needs an env_minute DataFrame, got {type(frame).__name__}")
        names = frame.keys()
    required = tuple(dict.fromkeys((*KEY_COLUMNS, *required)))
    missing = [c for c in required if c not in names]
    if missing:
        raise BadInput(
            f"{who}: the env_minute frame lacks column(s) {', '.join(missing)} "
            f"(needs {', '.join(required)}; see docs/contracts.md)"
        )
    if len(frame[KEY_COLUMNS[0]]) == 0:
        raise BadInput(f"{who}: the env_minute frame is empty; there is nothing to work on")


def to_grid(
    frame: pd.DataFrame | Columns | RollupGrid,
    required: Iterable[str] = ("offered", "deduplicated"),
    who: str = "detector",
) -> RollupGrid:
    """Validate an ``env_minute`` frame and lay it out as a :class:`RollupGrid`.

    A grid passes through unchanged (after checking it carries ``required``), so a caller running
    several detectors on one frame converts once.

    Args:
        frame: rows of ``env_minute`` (docs/contracts.md), in any order, as a DataFrame or as
            one numpy array per column (``Store.rollup_columns``: no pandas needed), or a grid.
        required: columns the caller needs besides ``minute`` and ``environment``.
        who: named in error messages.

    Raises:
        BadInput: missing columns, no rows, non-numeric or negative counts, duplicated
            (minute, environment) rows.
    """
    required = tuple(required)
    if isinstance(frame, RollupGrid):
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise BadInput(f"{who}: the rollup lacks column(s) {', '.join(missing)}")
        return frame
    check_columns(frame, required, who)
    names = frozenset(map(str, frame.columns if hasattr(frame, "columns") else frame.keys()))
    # Only what the caller needs: converting and checking a column is most of the cost.
    wanted = {c for c in COUNTERS if c in (*required, "offered", "deduplicated")}
    wanted |= {*KEY_COLUMNS, "tenant", "backlog", "active_envs"}
    columns: Columns = (_frame_columns(frame, wanted) if hasattr(frame, "columns")
                        else {k: v for k, v in frame.items() if k in wanted})
    minutes = _minutes(columns["minute"])
    envs, codes = _factorize(columns["environment"])
    first = int(minutes.min())
    width = int(minutes.max()) - first + 1
    n_env = len(envs)
    flat = codes.astype(np.int64) * width + (minutes - first)
    seen = np.bincount(flat, minlength=n_env * width)
    if seen.max() > 1:
        at = int(np.argmax(seen))
        raise BadInput(
            f"{who}: the env_minute frame has more than one row for environment "
            f"{str(envs[at // width])!r} at minute {np.datetime64(first + at % width, 'm')}"
        )
    present = (seen > 0).reshape(n_env, width)
    counts: dict[str, np.ndarray] = {}
    for name in COUNTERS:
        if name in columns and name in wanted:
            dense = np.zeros(n_env * width, dtype=np.int64)
            dense[flat] = _integers(columns, name)
            counts[name] = dense.reshape(n_env, width)
    backlog = np.zeros((n_env, width), dtype=np.int64)
    if "backlog" in columns:
        raw = np.zeros(n_env * width, dtype=np.int64)
        raw[flat] = _integers(columns, "backlog")
        backlog = raw.reshape(n_env, width)
        if not present.all():  # carry the gauge through missing minutes
            last = np.where(present, np.arange(width)[None, :], -1)
            np.maximum.accumulate(last, axis=1, out=last)
            backlog = np.where(last >= 0,
                               np.take_along_axis(backlog, np.maximum(last, 0), axis=1), 0)
    active_envs = np.zeros(width, dtype=np.int64)
    if "active_envs" in columns:
        active_envs[minutes - first] = _integers(columns, "active_envs")
    if "tenant" in columns:
        where = np.full(n_env, len(codes), dtype=np.int64)
        np.minimum.at(where, codes, np.arange(len(codes)))
        tenant = columns["tenant"]
        missing = np.ma.getmaskarray(tenant)[where]
        tenants = tuple(str(None) if gone else str(t)
                        for t, gone in zip(np.ma.getdata(tenant)[where], missing, strict=True))
    else:
        tenants = tuple(str(e) for e in envs)
    return RollupGrid(
        environments=tuple(str(e) for e in envs), tenants=tenants,
        start=np.datetime64(first, "m"), counts=counts, backlog=backlog,
        active_envs=active_envs, present=present, columns=names,
    )
