"""One ``toolkit alert`` run: lock, find, reconcile, record, deliver, report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb

from toolkit.alert import state as st
from toolkit.alert.deliver import Webhook, post
from toolkit.alert.findings import Finding
from toolkit.alert.lock import exclusive
from toolkit.alert.payloads import notification
from toolkit.alert.reconcile import Policy, reconcile
from toolkit.alert.state import AlertRecord
from toolkit.alert.textfile import write_textfile

if TYPE_CHECKING:
    from toolkit.store import Store

FindingSource = Callable[["Store", datetime | None, datetime], list[Finding]]
"""``(store, data seen by the previous run up to, now) -> findings as of now``."""


@dataclass
class AlertRun:
    """What a run found and did."""

    now: datetime
    firing: list[AlertRecord]
    notifications: list[dict]
    delivery_errors: dict[str, str] = field(default_factory=dict)
    delivered: int = 0
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.firing else 0


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
) -> AlertRun:
    """Run once. ``connect`` opens a read-write connection to the store, called only once the
    run holds the lock (DuckDB admits one writing process, so overlapping runs must queue
    before they open the file); ``now`` is naive UTC.

    With ``dry_run`` nothing is written or sent: the result says what would have been.
    """
    policy = policy or Policy()
    with exclusive(lock_path, lock_timeout), connect() as store:
        con = store.connection
        previous = con.execute("SELECT max(data_until) FROM alert_runs").fetchone()[0]
        findings = source(store, previous, now)
        state = st.load_state(con)
        changed, transitions = reconcile(findings, state, now, policy)
        notes = [notification(t, now) for t in transitions]
        merged = {**state, **{r.identity: r for r in changed}}
        firing = sorted((r for r in merged.values() if r.status == "firing"),
                        key=lambda r: r.identity)
        run = AlertRun(now, firing, notes, dry_run=dry_run)
        if dry_run:
            return run
        con.begin()
        try:
            st.save_state(con, changed)
            for t in transitions:
                st.record_history(con, now, t.record, t.kind)
            for hook in webhooks:
                for note in notes:
                    st.enqueue(con, now, hook.destination, note)
            con.execute("INSERT INTO alert_runs VALUES (?, ?, ?, ?)",
                        [now, now, len(firing), len(notes)])
            con.commit()
        except BaseException:
            con.rollback()
            raise
        for hook in webhooks:
            _deliver(con, hook, now, run)
        if textfile:
            write_textfile(textfile, list(merged.values()), now)
        return run


def _deliver(con: duckdb.DuckDBPyConnection, hook: Webhook, now: datetime, run: AlertRun) -> None:
    """Send everything still undelivered for ``hook``, oldest first, as one batch."""
    pending = st.undelivered(con, hook.destination)
    if not pending:
        return
    ids = [i for i, _ in pending]
    error = post(hook, [n for _, n in pending])
    st.mark(con, ids, now, error)
    if error is None:
        run.delivered += len(ids)
    else:
        run.delivery_errors[hook.url] = f"{error} ({len(ids)} notifications kept for next run)"
