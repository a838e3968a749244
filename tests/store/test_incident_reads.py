"""``Store.incidents`` / ``Store.alert_transitions`` keep their columns when empty (the
incident state machine itself is tested in tests/alert)."""

from toolkit.store import Store


def test_no_alert_history_gives_empty_frames_with_the_contract_columns(tmp_path):
    """A store the alert never ran on: empty frames, same columns."""
    with Store.open(tmp_path / "s.duckdb") as store:
        assert list(store.incidents().columns) == [
            "incident", "rule", "severity", "status", "opened_at", "resolved_at",
            "environments", "notifications", "pages", "summary"]
        assert store.alert_transitions().empty

