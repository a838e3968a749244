"""One ``toolkit alert`` run, in three steps so that the store is never held while waiting on
the network:

1. **decide** (store open): find, reconcile incidents, write state, transitions and the outbox
   in one transaction, read what is still undelivered; close the store;
2. **deliver** (store closed): POST to every destination, each under its own deadline;
3. **mark** (store reopened briefly): record what was delivered.

The whole run holds the alert lock (``flock``), which only other alert runs take: overlapping
cron runs queue instead of delivering the same payload twice, while readers such as
``toolkit audit`` and notebooks open the store whenever the alert is not in step 1 or 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from toolkit.alert import state as st
from toolkit.alert.deliver import Webhook, deliver
from toolkit.alert.findings import DEFECT_RULES, Finding
from toolkit.alert.incidents import Incident
from toolkit.alert.lock import exclusive
from toolkit.alert.payloads import alertmanager_alerts, notification, slack
from toolkit.alert.reconcile import Facts, Policy, Transition, reconcile
from toolkit.alert.sources import Observation
from toolkit.errors import ToolkitError

if TYPE_CHECKING:
    import duckdb

    from toolkit.alert.textfile import EnvironmentMetrics
    from toolkit.store import Store

__all__ = ["AlertRun", "FindingSource", "run_alert", "store_opener"]

FindingSource = Callable[["Store", datetime | None, datetime], "Observation | list[Finding]"]
"""``(store, previous run's time, now) -> what the store shows as of now`` (a bare list of
findings is taken to come with fresh data)."""

#: Alertmanager's ``endsAt`` for a firing alert: at least this far ahead, and three run
#: intervals, so that one missed run does not resolve it but a dead cron does.
MIN_ENDS_AFTER = timedelta(minutes=5)


@dataclass
class AlertRun:
    """What a run found and did."""

    now: datetime
    firing: list[Incident]
    notifications: list[dict[str, Any]]
    delivery_errors: dict[str, str] = field(default_factory=dict)
    delivered: int = 0
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.firing else 0


def _last_change(con: duckdb.DuckDBPyConnection, now: datetime) -> datetime | None:
    """The newest deployment (``engine.deployment`` job log record) at or before ``now``."""
    return con.execute("SELECT max(time) FROM logs WHERE event_name = 'engine.deployment' "
                       "AND time <= ?", [now]).fetchone()[0]


def _metrics(con: duckdb.DuckDBPyConnection, obs: Observation, now: datetime, wanted: bool
             ) -> list[EnvironmentMetrics]:
    """Count the wrongful discards not counted before, and when ``wanted`` put together the
    per-environment figures of the textfile."""
    counted = st.counters(con)
    rows = []
    for env, (tenant, times) in sorted(obs.discards.items()):
        old_tenant, total, until = counted.get(env, (tenant, 0, datetime.min))
        total += sum(1 for t in times if t >= until)
        counted[env] = (tenant or old_tenant, total, now)
        rows.append((env, tenant or old_tenant, total, now))
    st.add_counts(con, rows)
    if not wanted:
        return []
    from toolkit.alert.textfile import EnvironmentMetrics

    out = []
    for env in sorted(set(obs.environments) | set(counted)):
        tenant, ratio, newest = obs.environments.get(env, (None, None, None))
        c_tenant, total, _ = counted.get(env, (None, 0, now))
        out.append(EnvironmentMetrics(env, tenant or c_tenant, ratio, total, newest))
    return out


def _payloads(hook: Webhook, transitions: list[Transition], am: list[dict[str, Any]]
              ) -> list[Any]:
    if hook.format == "alertmanager":
        return [am] if am else []
    notes = [notification(t) for t in transitions]
    return [slack(n) for n in notes] if hook.format == "slack" else notes


def run_alert(
    connect: Callable[[], Store],
    source: FindingSource,
    *,
    now: datetime,
    lock_path: str,
    policy: Policy | None = None,
    webhooks: Sequence[Webhook] = (),
    dry_run: bool = False,
    textfile: str | None = None,
    lock_timeout: float = 50.0,
    reopen: Callable[[], Store] | None = None,
    generator_url: Callable[[str], str] | None = None,
) -> AlertRun:
    """Run once. ``connect`` opens a read-write connection to the store (with the spool
    folded in), called only once the run holds the lock; ``reopen`` opens it again to mark
    deliveries (default: ``connect``); ``now`` is naive UTC.

    With ``dry_run`` nothing is written or sent: the result says what would have been.
    """
    policy = policy or Policy()
    hooks = list({h.destination: h for h in webhooks}.values())
    with exclusive(lock_path, lock_timeout):
        store = connect()
        try:
            generator = generator_url or _file_url(store.path)
            run, pending, metrics = _decide(store, source, now, policy, hooks, dry_run,
                                            textfile is not None, generator)
        finally:
            store.close()
        if not dry_run and pending:
            _deliver_and_mark(hooks, pending, reopen or connect, now, run)
        if textfile and not dry_run:
            from toolkit.alert.textfile import write_textfile  # prometheus_client: only here

            write_textfile(textfile, metrics, _firing_rules(run.firing), now)
    return run


def _file_url(path: str) -> Callable[[str], str]:
    base = "file://" + quote(str(Path(path).resolve())) if path != ":memory:" else "toolkit:"
    return lambda incident: f"{base}#incident={quote(incident)}"


def _firing_rules(firing: list[Incident]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for incident in firing:
        for rule in {incident.rule} | {m.rule for m in incident.members.values()}:
            if out.get(rule) != "page":
                out[rule] = incident.severity
    return out


def _decide(
    store: Store, source: FindingSource, now: datetime, policy: Policy, hooks: list[Webhook],
    dry_run: bool, want_metrics: bool, generator: Callable[[str], str],
) -> tuple[AlertRun, dict[str, list[tuple[int, Any]]], list[EnvironmentMetrics]]:
    con = store.connection
    previous = con.execute("SELECT max(ran_at) FROM alert_runs WHERE ran_at < ?",
                           [now]).fetchone()[0]
    found = source(store, previous, now)
    obs = found if isinstance(found, Observation) else Observation(list(found), now)
    incidents = st.load_open(con)
    change = _last_change(con, now) if any(i.rule in DEFECT_RULES for i in incidents) else None
    outcome = reconcile(obs.findings, incidents, now, policy, Facts(obs.fresh, change),
                        st.watermarks(con))
    merged = {i.id: i for i in incidents} | {i.id: i for i in outcome.changed}
    firing = sorted((i for i in merged.values() if i.status == "firing"), key=lambda i: i.id)
    notes = [notification(t) for t in outcome.transitions]
    run = AlertRun(now, firing, notes, dry_run=dry_run)
    if dry_run:
        return run, {}, []
    ends_after = max(MIN_ENDS_AFTER, 3 * (now - previous)) if previous else MIN_ENDS_AFTER
    shown = firing + [i for i in outcome.changed if i.status == "resolved" and i.resolved_at == now]
    am = alertmanager_alerts(shown, outcome.transitions, now, ends_after, generator) if any(
        h.format == "alertmanager" for h in hooks) else []
    con.begin()
    try:
        st.save(con, outcome.changed)
        for t in outcome.transitions:
            st.record_transition(con, t)
        for hook in hooks:
            for payload in _payloads(hook, outcome.transitions, am):
                st.enqueue(con, now, hook.destination, payload)
        metrics = _metrics(con, obs, now, want_metrics)
        st.record_run(con, now, obs.newest_data_at, len(firing), len(notes))
        con.commit()
    except BaseException:
        con.rollback()
        raise
    pending = st.pending(con, [h.destination for h in hooks])
    return run, {d: items for d, items in pending.items() if items}, metrics


def _deliver_and_mark(hooks: list[Webhook], pending: dict[str, list[tuple[int, Any]]],
                      reopen: Callable[[], Store], now: datetime, run: AlertRun) -> None:
    delivery = deliver(hooks, pending)
    run.delivered = len(delivery.delivered)
    run.delivery_errors.update(delivery.errors)
    try:
        with reopen() as store:
            st.mark(store.connection, delivery.delivered, delivery.failed, now)
    except ToolkitError as exc:
        run.delivery_errors["store"] = (f"delivered but could not record it ({exc}); the next "
                                        "run may send those payloads again")


def store_opener(db: str, *, spool: str | None = None) -> Callable[[], Store]:
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
