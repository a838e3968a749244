"""Detection, alerting and evaluation over a store: the glue the CLI and notebooks share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb

from toolkit.errors import BadInput

if TYPE_CHECKING:
    from toolkit.detect import Event
    from toolkit.store import Store


def detect_in_store(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    environments: Iterable[str] | None = None,
    baseline: timedelta = timedelta(days=3),
) -> list[Event]:
    """Fit every detector on ``baseline`` of history before ``since`` and detect in
    ``[since, until)``. Without ``since`` the first ``baseline`` of the store is the history."""
    from toolkit.detect import available_detectors, fit_detectors, make_detector, run_detectors

    lo, hi = store.connection.execute("SELECT min(minute), max(minute) FROM env_minute"
                                      ).fetchone()
    if lo is None:
        raise BadInput(f"{store.path}: the store holds no rollup data yet")
    since = since or lo + baseline
    until = until or hi + timedelta(minutes=1)
    if until <= since:
        raise BadInput(f"--until {until:%Y-%m-%dT%H:%M} is not after "
                       f"--since {since:%Y-%m-%dT%H:%M}")
    history = store.rollup(since - baseline, since)
    if history.empty:
        raise BadInput(f"no rollup data in the {baseline.days} days before {since:%Y-%m-%dT%H:%M} "
                       "to fit the detectors on: choose a later --since")
    lookback = max(make_detector(n).lookback for n in available_detectors())
    frame = store.rollup(since - timedelta(minutes=lookback), until)
    if frame.empty:
        return []
    events = run_detectors(fit_detectors(history), frame, since=since, until=until)
    wanted = set(environments or ())
    return [e for e in events if not wanted or e.environment in wanted]


def alert_connection(
    db: str, *, spool: str | None = None
) -> Callable[[], duckdb.DuckDBPyConnection]:
    """What ``toolkit alert`` opens once it holds its lock: the store, with a live run's
    spool folded in and the rollup brought up to date."""

    def connect() -> duckdb.DuckDBPyConnection:
        from toolkit.store import Store, fold_spool

        store = Store.open(db)
        if spool:
            fold_spool(store, spool)
        store.refresh_rollup()
        return store.connection

    return connect


def evaluate_audit(scenarios: Iterable[str], *, seed: int = 7, days: int | None = None
                   ) -> dict[str, Any]:
    """Record each scenario with full telemetry into a store in memory, audit it, and compare
    the wrongful discards found with the simulator's ground truth (by job id)."""
    from toolkit.detect.audit import audit
    from toolkit.runs import record_into
    from toolkit.store import Store

    out: dict[str, Any] = {}
    for name in scenarios:
        with Store.open(":memory:") as store:
            result = record_into(store, name, seed=seed, days=days)
            found = set(audit(store.connection, rules=["unjustified_drop"])
                        .wrongful_discards.job_id.astype(int))
        truth = {w.job_id for w in result.truth.wrongful}
        out[name] = {"truth": len(truth), "found": len(found & truth),
                     "false": len(found - truth), "missed": len(truth - found)}
    return out
