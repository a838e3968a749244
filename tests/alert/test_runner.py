"""One alert run end to end against a scripted finding source: state, outbox, webhooks."""

import json
import multiprocessing
from datetime import datetime, timedelta

import duckdb
import pytest

from toolkit.alert import PAGE, Finding, Policy, Webhook, run_alert
from toolkit.alert.lock import LockTimeout, exclusive
from toolkit.store import Store

T0 = datetime(2024, 5, 6, 9, 15)


def source_of(findings):
    return lambda con, since, now: list(findings)


FINDING = Finding("wrongful_discards", "acme-prod", PAGE, "acme-prod: 12 jobs lost",
                  T0, {"jobs": 12})


def run(db, findings, minute=0, **kw):
    return run_alert(lambda: Store.open(db), source_of(findings),
                     now=T0 + timedelta(minutes=minute), lock_path=str(db) + ".lock",
                     policy=Policy(), **kw)


def test_firing_run_exits_1_and_records_history(tmp_path):
    """A finding fires: exit code 1, a history row, a quiet second run."""
    db = tmp_path / "s.duckdb"
    first = run(db, [FINDING])
    second = run(db, [FINDING], minute=1)
    assert (first.exit_code, len(first.notifications)) == (1, 1)
    assert (second.exit_code, second.notifications) == (1, [])
    con = duckdb.connect(str(db))
    assert con.execute("SELECT transition, environment FROM alert_history").fetchall() == [
        ("fired", "acme-prod")]


def test_nothing_found_exits_0(tmp_path):
    """No finding, nothing firing: exit code 0."""
    assert run(tmp_path / "s.duckdb", []).exit_code == 0


def test_dry_run_writes_and_sends_nothing(tmp_path, receiver):
    """--dry-run reports what would be sent and leaves the store and the receiver untouched."""
    db = tmp_path / "s.duckdb"
    result = run(db, [FINDING], dry_run=True, webhooks=[Webhook(receiver.url)])
    assert result.notifications[0]["transition"] == "fired"
    assert receiver.bodies == []
    assert run(db, [FINDING]).notifications[0]["transition"] == "fired"


@pytest.mark.parametrize("fmt", ["generic", "alertmanager", "slack"])
def test_webhook_payload_formats(tmp_path, receiver, fmt):
    """Each format reaches a real HTTP server on 127.0.0.1 with its documented shape."""
    run(tmp_path / "s.duckdb", [FINDING], webhooks=[Webhook(receiver.url, fmt)])
    [body] = receiver.bodies
    if fmt == "generic":
        [n] = body["notifications"]
        assert (n["status"], n["rule"], n["environment"], n["severity"]) == (
            "firing", "wrongful_discards", "acme-prod", "page")
        assert n["evidence"] == {"jobs": 12}
    elif fmt == "alertmanager":
        [a] = body
        assert a["labels"] == {"alertname": "wrongful_discards", "environment": "acme-prod",
                               "severity": "page", "service": "toolkit"}
        assert a["startsAt"] == "2024-05-06T09:15:00Z" and "endsAt" not in a
    else:
        assert body == {"text": "[FIRING] page wrongful_discards acme-prod: acme-prod: 12 jobs "
                                "lost", "mrkdwn": False}


def test_webhook_down_then_up_delivers_exactly_once(tmp_path, receiver):
    """A down receiver keeps the notification in the outbox; the next run delivers it once."""
    db = tmp_path / "s.duckdb"
    hook = Webhook(receiver.url, retries=1, backoff=0.01, timeout=2)
    receiver.status = 503
    first = run(db, [FINDING], webhooks=[hook])
    assert receiver.url in first.delivery_errors and receiver.bodies == []
    receiver.status = 200
    second = run(db, [FINDING], minute=1, webhooks=[hook])
    third = run(db, [FINDING], minute=2, webhooks=[hook])
    assert (second.delivered, third.delivered) == (1, 0)
    assert [n["transition"] for b in receiver.bodies for n in b["notifications"]] == ["fired"]


def test_resolution_is_delivered_with_ends_at(tmp_path, receiver):
    """Alertmanager gets endsAt when the alert resolves."""
    db = tmp_path / "s.duckdb"
    hook = Webhook(receiver.url, "alertmanager")
    run(db, [FINDING], webhooks=[hook])
    run(db, [], minute=20, webhooks=[hook])
    assert receiver.bodies[-1][0]["endsAt"] == "2024-05-06T09:35:00Z"


def test_prometheus_textfile(tmp_path):
    """The textfile has one firing gauge per alert and the last run time."""
    path = tmp_path / "toolkit.prom"
    run(tmp_path / "s.duckdb", [FINDING], textfile=str(path))
    text = path.read_text()
    assert ('toolkit_alert_firing{rule="wrongful_discards",environment="acme-prod",'
            'severity="page"} 1') in text
    assert "toolkit_alert_last_run_timestamp_seconds 1714986900" in text


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
