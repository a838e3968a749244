"""One alert run end to end against a scripted finding source: incidents, the outbox, the
store's read methods, the textfile and the lock."""

import json
import multiprocessing
import os
import tempfile
from datetime import datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from toolkit.alert import PAGE, TICKET, Finding, Observation, Policy, Webhook, run_alert
from toolkit.alert.findings import ANOMALY, WRONGFUL
from toolkit.alert.lock import LockTimeout, exclusive
from toolkit.alert.runner import lock_path
from toolkit.store import Store

T0 = datetime(2024, 5, 6, 9, 15)


def source_of(findings, **facts):
    return lambda store, previous, now: Observation(list(findings), now, **facts)


def lost(env="acme-prod", minute=0, tenant="acme"):
    return Finding(WRONGFUL, env, PAGE, f"12 jobs lost in {env}", T0,
                   {"jobs": 12}, evidence_at=T0 + timedelta(minutes=minute), tenant=tenant)


FINDING = lost()


def run(db, findings, minute=0, source=None, **kw):
    return run_alert(lambda: Store.open(db), source or source_of(findings),
                     now=T0 + timedelta(minutes=minute), lock_path=str(db) + ".lock",
                     policy=Policy(), **kw)


def test_firing_run_exits_1_and_the_store_reads_back_the_incident(tmp_path):
    """A finding opens an incident: exit 1, one transition; the next run is quiet; the
    Store's incidents() and alert_transitions() give the report its columns."""
    db = tmp_path / "s.duckdb"
    first = run(db, [FINDING, lost("acme-dev", tenant="acme")])
    second = run(db, [FINDING], minute=1)
    assert (first.exit_code, [n["transition"] for n in first.notifications]) == (1, ["opened"])
    assert (second.exit_code, second.notifications) == (1, [])
    with Store.open(db, read_only=True) as store:
        incidents = store.incidents()
        transitions = store.alert_transitions(since=T0, until=T0 + timedelta(hours=1))
    assert list(incidents.columns) == ["incident", "rule", "severity", "status", "opened_at",
                                       "resolved_at", "environments", "notifications", "pages",
                                       "summary"]
    [row] = incidents.to_dict("records")
    assert (row["incident"], row["rule"], row["severity"], row["status"], row["opened_at"],
            row["environments"], row["notifications"], row["pages"]) == (
        "wrongful_discards-20240506T0915", WRONGFUL, PAGE, "firing", T0,
        ["acme-dev", "acme-prod"], 1, 1)
    assert row["summary"].startswith("jobs wrongly discarded (proven by the audit) in 2 "
                                     "environments: acme-dev, acme-prod")
    assert list(transitions.columns) == ["occurred_at", "incident", "transition", "severity",
                                         "environments", "summary"]
    assert transitions[["occurred_at", "transition", "severity"]].values.tolist() == [
        [T0, "opened", PAGE]]
    assert transitions.environments[0] == ["acme-dev", "acme-prod"]


def test_incidents_window_keeps_those_that_overlap_it(tmp_path):
    """incidents(since, until) keeps an incident resolved inside the window and one still
    firing, and leaves out one resolved before it."""
    db = tmp_path / "s.duckdb"
    anomaly = Finding(ANOMALY, "b-prod", TICKET, "odd", T0, evidence_at=T0)
    run(db, [anomaly])
    run(db, [], minute=60)  # resolved at 10:15
    run(db, [lost(minute=100)], minute=100)
    with Store.open(db, read_only=True) as store:
        assert list(store.incidents().status) == ["resolved", "firing"]
        assert list(store.incidents(since=T0 + timedelta(minutes=61)).rule) == [WRONGFUL]
        assert list(store.incidents(until=T0 + timedelta(minutes=100)).rule) == [ANOMALY]


def test_nothing_found_exits_0(tmp_path):
    """No finding, nothing firing: exit code 0."""
    assert run(tmp_path / "s.duckdb", []).exit_code == 0


def test_dry_run_writes_and_sends_nothing(tmp_path, receiver):
    """--dry-run reports what would be sent and leaves the store and the receiver untouched."""
    db = tmp_path / "s.duckdb"
    result = run(db, [FINDING], dry_run=True, webhooks=[Webhook(receiver.url)])
    assert result.notifications[0]["transition"] == "opened"
    assert receiver.bodies == []
    assert run(db, [FINDING]).notifications[0]["transition"] == "opened"


def test_webhook_down_then_up_delivers_exactly_once(tmp_path, receiver):
    """A down receiver keeps the notification in the outbox; the next run delivers it once."""
    db = tmp_path / "s.duckdb"
    hook = Webhook(receiver.url, retries=1, backoff=0.01, timeout=2)
    receiver.status = 503
    first = run(db, [FINDING], webhooks=[hook])
    assert "HTTP 503" in first.delivery_errors[receiver.url] and receiver.bodies == []
    assert receiver.requests == 2
    receiver.status = 200
    second = run(db, [FINDING], minute=1, webhooks=[hook])
    third = run(db, [FINDING], minute=2, webhooks=[hook])
    assert (second.delivered, third.delivered) == (1, 0)
    assert [b["transition"] for b in receiver.bodies] == ["opened"]


def test_prometheus_textfile(tmp_path):
    """The textfile, read back with prometheus_client's own parser: per environment the dedup
    ratio, wrongful discards counted, newest data; per rule whether it fires; mode 0644."""
    path = tmp_path / "toolkit.prom"
    newest = T0 - timedelta(minutes=1)
    first_times = [T0 - timedelta(minutes=5), T0 - timedelta(minutes=2)]
    source = source_of([FINDING], discards={"acme-prod": ("acme", first_times)},
                       environments={"acme-prod": ("acme", 0.25, newest),
                                     "acme-dev": ("acme", None, newest)})
    run(tmp_path / "s.duckdb", [], source=source, textfile=str(path))
    later = source_of([FINDING], discards={"acme-prod": ("acme", [*first_times, T0])},
                      environments={"acme-prod": ("acme", 0.5, T0)})
    run(tmp_path / "s.duckdb", [], minute=1, source=later, textfile=str(path))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(path.read_text())
               for s in family.samples}
    prod = (("environment", "acme-prod"), ("tenant", "acme"))
    assert samples[("toolkit_dedup_ratio", prod)] == 0.5
    assert samples[("toolkit_wrongful_discards_total", prod)] == 3
    assert samples[("toolkit_newest_data_timestamp_seconds", prod)] == 1714986900
    assert ("toolkit_dedup_ratio", (("environment", "acme-dev"), ("tenant", "acme"))) \
        not in samples
    firing = {labels: value for (name, labels), value in samples.items()
              if name == "toolkit_alert_firing"}
    assert firing[(("rule", WRONGFUL), ("severity", PAGE))] == 1
    assert firing[(("rule", WRONGFUL), ("severity", TICKET))] == 0
    assert firing[(("rule", ANOMALY), ("severity", PAGE))] == 0
    assert len(firing) == 2 * 4  # every rule, at both severities, firing or not
    assert samples[("toolkit_alert_last_run_timestamp_seconds", ())] == 1714986960
    assert os.stat(path).st_mode & 0o777 == 0o644


def _hold(path, ready, release):
    with exclusive(path, 1):
        ready.set()
        release.wait(10)


def test_lock_waits_for_an_overlapping_run_then_times_out(tmp_path):
    """A second run waits for the lock held by another process, and gives up cleanly."""
    path = str(tmp_path / "x.lock")
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(path, ready, release))
    proc.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LockTimeout, match=r"x\.lock"), exclusive(path, 0.2):
            pass
    finally:
        release.set()
        proc.join(10)
    with exclusive(path, 1):
        pass


def _overlapping_run(db, url, out):
    result = run(db, [FINDING], webhooks=[Webhook(url)])
    out.put(json.dumps(len(result.notifications)))


def test_two_overlapping_runs_send_one_notification(tmp_path, receiver):
    """Two runs started together: the lock serialises them and only one notifies."""
    db = tmp_path / "s.duckdb"
    Store.open(db).close()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_overlapping_run, args=(db, receiver.url, out))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    counts = sorted(json.loads(out.get(timeout=5)) for _ in procs)
    assert counts == [0, 1]
    assert len(receiver.bodies) == 1


@pytest.mark.parametrize(("db", "lock"), [
    ("/var/lib/toolkit/toolkit.duckdb", "/var/lib/toolkit/toolkit.duckdb.alert.lock"),
    ("chdb:/var/lib/toolkit-ch/?database=otel", "/var/lib/toolkit-ch.alert.lock"),
    ("clickhouse://toolkit:secret@ch.example:8123/otel",
     f"{tempfile.gettempdir()}/toolkit-alert-ch.example-8123-otel.lock"),
])
def test_the_alert_lock_lives_on_the_cron_host_one_per_store(db, lock):
    """A ClickHouse server's lock is a file on the cron host, per server and database, and
    never carries the password."""
    assert lock_path(db) == lock
