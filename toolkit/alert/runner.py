"""One ``toolkit alert`` run, in three steps so that the store is never held while waiting on
the network:

1. **decide** (store open): find, reconcile incidents, keep state, transitions and the outbox
   all or nothing (``Store.record_alert_run``), read what is still undelivered; close the
   store;
2. **deliver** (store closed): POST to every destination, each under its own deadline;
3. **mark** (store reopened briefly): record what was delivered.

The whole run holds the alert lock (``flock``), which only other alert runs take: overlapping
cron runs queue instead of delivering the same payload twice, while readers such as
``toolkit audit`` and notebooks open the store whenever the alert is not in step 1 or 3. On
ClickHouse the lock is also what makes the run the state's only writer (docs/scale.md).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from toolkit.alert import state as st
from toolkit.alert.deliver import Webhook, deliver
from toolkit.alert.findings import DEFECT_RULES, Finding
from toolkit.alert.incidents import Incident
from toolkit.alert.lock import exclusive
from toolkit.alert.payloads import alertmanager_alerts, notification, slack
from toolkit.alert.reconcile import Facts, Policy, Transition, reconcile
from toolkit.alert.sources import Observation
from toolkit.errors import BadInput, ToolkitError
from toolkit.store import is_clickhouse

if TYPE_CHECKING:
    from toolkit.alert.textfile import EnvironmentMetrics
    from toolkit.store import Store

__all__ = ["AlertRun", "FindingSource", "lock_path", "run_alert", "store_opener"]

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


def _metrics(store: Store, obs: Observation, now: datetime, wanted: bool
             ) -> tuple[st.Counts, list[EnvironmentMetrics]]:
    """Count the wrongful discards not counted before (the counters that moved), and when
    ``wanted`` put together the per-environment figures of the textfile."""
    counted = st.counts(store)
    moved: st.Counts = {}
    for env, (tenant, times) in sorted(obs.discards.items()):
        old_tenant, total, until = counted.get(env, (tenant, 0, datetime.min))
        total += sum(1 for t in times if t >= until)
        counted[env] = moved[env] = (tenant or old_tenant, total, now)
    if not wanted:
        return moved, []
    from toolkit.alert.textfile import EnvironmentMetrics

    out = []
    for env in sorted(set(obs.environments) | set(counted)):
        tenant, ratio, newest = obs.environments.get(env, (None, None, None))
        c_tenant, total, _ = counted.get(env, (None, 0, now))
        out.append(EnvironmentMetrics(env, tenant or c_tenant, ratio, total, newest))
    return moved, out


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
    if is_clickhouse(path):  # the address, without user or password
        parts = urlsplit(path)
        host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or ""
        base = parts._replace(netloc=host).geturl() if parts.netloc else path
    elif path == ":memory:":
        base = "toolkit:"
    else:
        base = "file://" + quote(str(Path(path).resolve()))
    return lambda incident: f"{base}#incident={quote(incident)}"


def lock_path(db: str) -> str:
    """The alert's lock for the store at ``db``: beside a DuckDB file or a ``chdb:`` path;
    for a ClickHouse server, a file per server and database in the system's temporary
    directory of the cron host (docs/scale.md: one cron host runs the alert)."""
    if not is_clickhouse(db):
        return f"{db}.alert.lock"
    if db.startswith("chdb:"):
        return db[len("chdb:"):].partition("?")[0].rstrip("/") + ".alert.lock"
    parts = urlsplit(db)
    name = f"{parts.hostname}-{parts.port or 'default'}-{parts.path.strip('/')}"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return str(Path(tempfile.gettempdir()) / f"toolkit-alert-{safe}.lock")


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
    previous = store.alert_last_run(now)
    found = source(store, previous, now)
    obs = found if isinstance(found, Observation) else Observation(list(found), now)
    incidents = st.load_open(store)
    change = store.last_deployment(now) if any(i.rule in DEFECT_RULES for i in incidents) \
        else None
    outcome = reconcile(obs.findings, incidents, now, policy, Facts(obs.fresh, change),
                        store.alert_watermarks())
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
    moved, metrics = _metrics(store, obs, now, want_metrics)
    st.record(store, now=now, data_until=obs.newest_data_at, firing=len(firing),
              changed=outcome.changed, transitions=outcome.transitions,
              outbox=[(hook.destination, payload) for hook in hooks
                      for payload in _payloads(hook, outcome.transitions, am)],
              counted=moved)
    pending = st.pending(store, [h.destination for h in hooks])
    return run, {d: items for d, items in pending.items() if items}, metrics


def _deliver_and_mark(hooks: list[Webhook], pending: dict[str, list[tuple[int, Any]]],
                      reopen: Callable[[], Store], now: datetime, run: AlertRun) -> None:
    delivery = deliver(hooks, pending)
    run.delivered = len(delivery.delivered)
    run.delivery_errors.update(delivery.errors)
    try:
        with reopen() as store:
            st.mark(store, delivery.delivered, delivery.failed, now)
    except ToolkitError as exc:
        run.delivery_errors["store"] = (f"delivered but could not record it ({exc}); the next "
                                        "run may send those payloads again")


def store_opener(db: str, *, spool: str | None = None) -> Callable[[], Store]:
    """What ``toolkit alert`` opens once it holds its lock: the store, with a live run's
    spool folded in and the rollup brought up to date."""

    if spool and is_clickhouse(db):
        raise BadInput(f"--spool {spool}: a ClickHouse store has no spool (the Collector's "
                       "clickhouse exporter writes its tables directly)")

    def connect() -> Store:
        from toolkit.store import DuckDBStore, Store

        store = Store.open(db)
        try:
            if spool and isinstance(store, DuckDBStore):
                from toolkit.store import fold_spool  # the loader and pyarrow: only with a spool

                fold_spool(store, spool)
            store.refresh_rollup()
        except BaseException:
            store.close()
            raise
        return store

    return connect
