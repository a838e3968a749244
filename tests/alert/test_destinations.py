"""Destinations against their published contracts, and delivery that never holds the store
nor outlives its deadline: real HTTP servers on 127.0.0.1."""

import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from toolkit.alert import PAGE, TICKET, Finding, Observation, Policy, Webhook, run_alert
from toolkit.alert.deliver import post
from toolkit.alert.findings import ANOMALY, WRONGFUL
from toolkit.store import Store

T0 = datetime(2024, 5, 6, 9, 15)
_SPEC = yaml.safe_load((Path(__file__).parent / "data" / "alertmanager-v2-alerts.yaml")
                       .read_text())
POSTABLE_ALERTS = OAS30Validator({"$ref": "#/definitions/postableAlerts",
                                  "definitions": _SPEC["definitions"]},
                                 format_checker=oas30_format_checker)


def at(minute):
    return T0 + timedelta(minutes=minute)


def lost(env, minute=0, summary=None):
    return Finding(WRONGFUL, env, PAGE, summary or f"12 jobs lost in {env}", at(minute),
                   {"jobs": 12}, evidence_at=at(minute), tenant=env.split("-")[0])


def run(db, findings, minute, hooks, fresh=True, changed=None):
    def source(store, previous, now):
        return Observation(list(findings), now if fresh else None, fresh)

    def connect():
        store = Store.open(db)
        if changed is not None:  # a deployment record, as the engine writes on a change
            store.connection.execute(
                "INSERT INTO logs (record_id, time, time_unix_nano, event_name) "
                "VALUES ('deploy', ?, 0, 'engine.deployment')",
                [changed])
        return store

    return run_alert(connect, source, now=at(minute), lock_path=f"{db}.lock",
                     policy=Policy(), webhooks=hooks, reopen=lambda: Store.open(db))


def test_alertmanager_payloads_follow_the_v2_api_and_are_resent_every_run(tmp_path, receiver):
    """Every run posts every firing alert (a valid postableAlerts array): one per (rule,
    environment) with the labels, annotations, startsAt, generatorURL and an endsAt a few
    runs ahead; the resolution is posted once with endsAt at the resolution time."""
    db = tmp_path / "s.duckdb"
    hook = Webhook(receiver.url, "alertmanager")
    anomaly = Finding(ANOMALY, "globex-prod", TICKET, "ratio odd", at(0), evidence_at=at(0),
                      tenant="globex")
    run(db, [lost("acme-prod"), anomaly], 0, [hook])
    run(db, [lost("acme-prod", 1)], 1, [hook])
    run(db, [lost("acme-prod", 2)], 2, [hook])
    run(db, [], 70, [hook], changed=at(30))
    run(db, [], 71, [hook])
    assert len(receiver.bodies) == 4
    for body in receiver.bodies:
        assert list(POSTABLE_ALERTS.iter_errors(body)) == []
    first = {a["labels"]["environment"]: a for a in receiver.bodies[0]}
    assert first["acme-prod"]["labels"] == {
        "alertname": WRONGFUL, "severity": PAGE, "environment": "acme-prod",
        "tenant": "acme", "incident": "wrongful_discards-20240506T0915", "service": "toolkit"}
    assert first["globex-prod"]["labels"]["alertname"] == ANOMALY
    assert first["acme-prod"]["annotations"]["summary"].startswith(
        "jobs wrongly discarded (proven by the audit) in 2 environments: acme-prod, "
        "globex-prod")
    assert first["acme-prod"]["annotations"]["description"] == "12 jobs lost in acme-prod"
    assert first["acme-prod"]["startsAt"] == "2024-05-06T09:15:00Z"
    assert first["acme-prod"]["endsAt"] == "2024-05-06T09:20:00Z"
    assert first["acme-prod"]["generatorURL"].endswith(
        "s.duckdb#incident=wrongful_discards-20240506T0915")
    assert [a["endsAt"] for a in receiver.bodies[2]] == ["2024-05-06T09:22:00Z"] * 2
    assert [a["endsAt"] for a in receiver.bodies[3]] == ["2024-05-06T10:25:00Z"] * 2


def test_alertmanager_down_gets_the_latest_state_including_the_resolution(tmp_path, receiver):
    """Runs that could not reach Alertmanager are merged: one array with the latest of every
    alert, so a resolution made while it was down still arrives."""
    db = tmp_path / "s.duckdb"
    hook = Webhook(receiver.url, "alertmanager", retries=0)
    run(db, [lost("acme-prod")], 0, [hook])
    receiver.status = 503
    run(db, [], 70, [hook], changed=at(30))
    receiver.status = 200
    run(db, [], 71, [hook])
    assert len(receiver.bodies) == 2
    [alert] = receiver.bodies[1]
    assert alert["endsAt"] == "2024-05-06T10:25:00Z"
    assert list(POSTABLE_ALERTS.iter_errors(receiver.bodies[1])) == []


def test_alertmanager_escalation_ends_the_old_severity(tmp_path, receiver):
    """The severity label changes on escalation: the ticket-labelled alert is ended at once."""
    db = tmp_path / "s.duckdb"
    hook = Webhook(receiver.url, "alertmanager")
    odd = Finding(ANOMALY, "acme-prod", TICKET, "odd", at(0), evidence_at=at(0))
    run(db, [odd], 0, [hook])
    run(db, [Finding(ANOMALY, "acme-prod", PAGE, "lost", at(0), evidence_at=at(1))], 1, [hook])
    by_severity = {a["labels"]["severity"]: a["endsAt"] for a in receiver.bodies[1]}
    assert by_severity == {PAGE: "2024-05-06T09:21:00Z", TICKET: "2024-05-06T09:16:00Z"}


def test_slack_messages_escape_control_characters_and_neutralise_mentions(tmp_path, receiver):
    """One Slack message per incident change; &, < and > from telemetry are escaped, so a
    <!channel>, <!here> or <@U123> carried by an environment's data is shown, not obeyed."""
    db = tmp_path / "s.duckdb"
    hook = Webhook(receiver.url, "slack")
    evil = "<!channel> <!here> <@U024BE7LH> & <https://evil.example|click>"
    run(db, [lost("acme-prod", summary=evil)], 0, [hook])
    run(db, [lost("acme-prod", 1), lost("acme-dev", 1)], 6, [hook])
    assert len(receiver.bodies) == 2
    text = receiver.bodies[0]["text"]
    assert text.startswith("[FIRING] page wrongful_discards-20240506T0915: jobs wrongly "
                           "discarded")
    assert ("&lt;!channel&gt; &lt;!here&gt; &lt;@U024BE7LH&gt; &amp; "
            "&lt;https://evil.example|click&gt;") in text
    assert "<" not in text and ">" not in text
    assert receiver.bodies[1]["text"].startswith("[UPDATED] page wrongful_discards-")


def test_generic_webhook_gets_the_incident_as_json(tmp_path, receiver):
    """One POST per incident change, carrying the incident: key, level, environments, every
    finding with its evidence."""
    db = tmp_path / "s.duckdb"
    run(db, [lost("acme-prod"), lost("acme-dev")], 0, [Webhook(receiver.url)])
    [body] = receiver.bodies
    assert (body["incident"], body["transition"], body["level"], body["status"],
            body["environments"], body["tenants"]) == (
        "wrongful_discards-20240506T0915", "opened", "page", "firing",
        ["acme-dev", "acme-prod"], ["acme"])
    assert body["id"] == "wrongful_discards-20240506T0915:opened:2024-05-06T09:15:00Z"
    assert [(f["environment"], f["evidence"]) for f in body["findings"]] == [
        ("acme-dev", {"jobs": 12}), ("acme-prod", {"jobs": 12})]


def test_retry_after_is_honoured_and_a_refusal_is_not_retried(receiver):
    """A 503 with Retry-After: 3 waits exactly 3 s before the retry; a 400 is final."""
    waited = []
    receiver.statuses = [503]
    receiver.retry_after = "3"
    assert post(Webhook(receiver.url, retries=2), {"x": 1}, sleep=waited.append) is None
    assert (waited, receiver.requests) == ([3.0], 2)
    receiver.statuses = [400]
    assert post(Webhook(receiver.url, retries=2), {"x": 1}, sleep=waited.append) == "HTTP 400"
    assert (waited, receiver.requests) == ([3.0], 3)


def test_retries_without_retry_after_are_jittered_within_the_backoff(receiver):
    """Without Retry-After the waits are random, below the doubling back-off."""
    waited = []
    receiver.statuses = [502, 502]
    assert post(Webhook(receiver.url, retries=2, backoff=0.5), {}, sleep=waited.append) is None
    assert len(waited) == 2 and 0 <= waited[0] <= 0.5 and 0 <= waited[1] <= 1.0


def test_a_trickling_server_cannot_keep_the_run_going(tmp_path, trickler):
    """A server sending one byte every 0.2 s never finishes its response: the request is
    abandoned at its deadline, the payload stays in the outbox with the reason."""
    db = tmp_path / "s.duckdb"
    result = run(db, [lost("acme-prod")], 0, [Webhook(trickler.url, timeout=1, retries=0)])
    assert trickler.accepted.is_set()
    assert result.delivery_errors[trickler.url] == (
        "no complete response within 1 s (1 payloads kept for the next run)")
    with Store.open(db, read_only=True) as store:
        row = store.sql("SELECT attempts, delivered_at IS NULL AS kept, last_error "
                        "FROM alert_outbox")
    assert row.values.tolist() == [[1, True, "no complete response within 1 s"]]


def test_a_webhook_that_never_answers_ends_at_the_deadline(tmp_path, silent):
    """A server that accepts and never answers: the run ends at its deadline, the payload kept."""
    result = run(tmp_path / "s.duckdb", [lost("acme-prod")], 0,
                 [Webhook(silent.url, timeout=1, retries=0)])
    assert silent.accepted.is_set()
    assert result.delivery_errors[silent.url].startswith("no complete response within 1 s")


def test_a_webhook_that_never_answers_does_not_lock_readers_out(tmp_path, silent):
    """While the run waits on a webhook that never answers, the store is closed: a
    concurrent `toolkit audit` opens it and succeeds before the run ends."""
    from tests.store.otlp import T0 as T
    from tests.store.otlp import jsonl, log_record, logs_request

    db = tmp_path / "s.duckdb"
    data = tmp_path / "t.jsonl"
    data.write_text(jsonl(logs_request([log_record(T + i, "acme-prod", "job.created",
                                                   pipeline__job__id=i) for i in range(5)])))
    with Store.open(db) as store:
        store.load(data)
    done = threading.Event()
    result = {}
    url = silent.url

    def alert():
        result["run"] = run(db, [lost("acme-prod")], 0, [Webhook(url, timeout=600, retries=0)])
        done.set()

    worker = threading.Thread(target=alert, daemon=True)
    worker.start()
    assert silent.accepted.wait(60)
    exe = str(Path(sys.executable).with_name("toolkit"))
    audit = subprocess.run([exe, "audit", "--db", str(db), "--json"], capture_output=True,
                           text=True, timeout=120)
    assert (audit.returncode, audit.stderr) == (0, "")
    assert not done.is_set()  # the audit ran while the alert was still waiting
    silent.close()  # the server goes away: the run records the failure and ends
    assert done.wait(60)
    assert url in result["run"].delivery_errors
    with Store.open(db, read_only=True) as store:
        assert store.sql("SELECT count(*) AS n FROM alert_outbox WHERE delivered_at IS NULL "
                         "AND attempts = 1").n[0] == 1


@pytest.mark.parametrize("fmt", ["generic", "slack", "alertmanager"])
def test_an_unknown_format_or_bad_url_is_refused_early(fmt):
    """Bad configuration fails at construction, naming the value."""
    with pytest.raises(ValueError, match="ftp://x"):
        Webhook("ftp://x", fmt)
    with pytest.raises(ValueError, match="'teams'"):
        Webhook("http://127.0.0.1/x", "teams")
