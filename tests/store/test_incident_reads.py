"""Interim ``Store.incidents`` / ``Store.alert_transitions`` over today's alert history."""

from datetime import datetime

from toolkit.store import Store

T = datetime(2024, 5, 6, 9, 0)


def _history(store, rows):
    with store.writing() as con:
        con.executemany(
            "INSERT INTO alert_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(datetime(2024, 5, 6, h, m), rule, env, inc, tr, sev, f"{inc} {tr}", T)
             for h, m, rule, env, inc, tr, sev in rows])


def test_incidents_fold_history_into_one_row_each(tmp_path):
    """Severity is the highest reached, counts are exact, a later resolution closes it,
    and the window keeps only incidents that overlap it."""
    with Store.open(tmp_path / "s.duckdb") as store:
        _history(store, [
            (9, 1, "dedup_anomaly", "a-dev", "i1", "fired", "ticket"),
            (9, 5, "dedup_anomaly", "a-dev", "i1", "escalated", "page"),
            (9, 9, "wrongful_discards", "a-prod", "i2", "fired", "page"),
            (11, 0, "dedup_anomaly", "a-dev", "i1", "resolved", "page"),
            (12, 0, "wrongful_discards", "b-prod", "i3", "fired", "ticket"),
        ])
        got = store.incidents()
        assert got.incident.tolist() == ["i1", "i2", "i3"]
        first = got.iloc[0]
        assert (first.rule, first.severity, first.status, first.notifications, first.pages) == (
            "dedup_anomaly", "page", "resolved", 3, 1)
        assert first.resolved_at == datetime(2024, 5, 6, 11, 0)
        assert list(first.environments) == ["a-dev"]
        assert got.status.tolist() == ["resolved", "firing", "firing"]
        assert store.incidents(since=datetime(2024, 5, 6, 11, 30)).incident.tolist() == [
            "i2", "i3"]
        assert store.incidents(until=datetime(2024, 5, 6, 9, 5)).incident.tolist() == ["i1"]
        moves = store.alert_transitions(until=datetime(2024, 5, 6, 9, 5))
        assert moves.transition.tolist() == ["opened", "escalated", "resolved"]
        assert moves.occurred_at.is_monotonic_increasing


def test_no_alert_history_gives_empty_frames_with_the_contract_columns(tmp_path):
    """A store the alert never ran on: empty frames, same columns."""
    with Store.open(tmp_path / "s.duckdb") as store:
        assert list(store.incidents().columns) == [
            "incident", "rule", "severity", "status", "opened_at", "resolved_at",
            "environments", "notifications", "pages", "summary"]
        assert store.alert_transitions().empty

