"""Detection, alerting and evaluation over a store: the glue the CLI and notebooks share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

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
    """Events in ``[since, until)`` from the one fit-then-detect function
    (:func:`toolkit.detect.window.detect`). Without ``since`` the first ``baseline`` of the
    store is the history."""
    from toolkit.detect.window import detect

    bounds = store.rollup_range()
    if bounds is None:
        raise BadInput(f"{store.path}: the store holds no rollup data yet")
    lo, hi = bounds
    since = since or lo + baseline
    until = until or hi
    if until <= since:
        raise BadInput(f"--until {until:%Y-%m-%dT%H:%M} is not after "
                       f"--since {since:%Y-%m-%dT%H:%M}")
    found = detect(store, since, until, history=baseline, environments=environments)
    if not found.history_minutes:
        raise BadInput(f"no rollup data in the {baseline.days} days before {since:%Y-%m-%dT%H:%M} "
                       "to fit the detectors on: choose a later --since")
    return found.events


def alert_connection(db: str, *, spool: str | None = None) -> Callable[[], Store]:
    """What ``toolkit alert`` opens once it holds its lock: the store, with a live run's
    spool folded in and the rollup brought up to date."""

    def connect() -> Store:
        from toolkit.store import Store, fold_spool

        store = Store.open(db)
        try:
            if spool:
                fold_spool(store, spool)
            store.refresh_rollup()
        except BaseException:
            store.close()
            raise
        return store

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
            found = set(audit(store, rules=["unjustified_drop"])
                        .wrongful_discards.job_id.astype(int))
        truth = {w.job_id for w in result.truth.wrongful}
        out[name] = {"truth": len(truth), "found": len(found & truth),
                     "false": len(found - truth), "missed": len(truth - found)}
    return out
