"""Every file of /work/shared/otlp-samples: exact counts, and every bad line named."""

from __future__ import annotations

import pytest

from tests.shared import SAMPLES as _SAMPLES
from toolkit.store import Store

SAMPLES = _SAMPLES

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared OTLP samples not present")

# file -> (lines, spans, logs, rejected, [(line, item, start of error)])
EXPECTED = {
    "empty.jsonl": (0, 0, 0, 0, []),
    "whitespace.jsonl": (0, 0, 0, 0, []),
    "logs_nulls.jsonl": (3, 0, 3, 0, []),
    "logs_simple.jsonl": (3, 0, 3, 0, []),
    "malformed.jsonl": (
        4,
        1,
        0,
        3,
        [
            (1, "", "not an OTLP traces or logs request: no resourceSpans or resourceLogs"),
            (2, "", "not valid JSON: Expecting value (column 1)"),
            (4, "", "not valid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ],
    ),
    "multifile_malformed_traces.jsonl": (
        1,
        0,
        0,
        1,
        [
            (1, "", "not valid JSON: Unterminated string"),
        ],
    ),
    "multifile_valid_traces.jsonl": (1, 1, 0, 0, []),
    "single_trace.jsonl": (1, 1, 0, 0, []),
    "traces_deep_nesting.jsonl": (1, 1, 0, 0, []),
    "traces_large_attrs.jsonl": (1, 1, 0, 0, []),
    "traces_nulls.jsonl": (3, 3, 0, 0, []),
    "traces_simple.jsonl": (3, 3, 0, 0, []),
    "ts_boundary_logs.jsonl": (1, 0, 1, 0, []),
    "ts_overflow_logs.jsonl": (
        1,
        0,
        0,
        1,
        [
            (
                1,
                "resourceLogs[0].scopeLogs[0].logRecords[0]",
                'timeUnixNano "18446744073709551000" is not a whole number of nanoseconds',
            ),
        ],
    ),
}


def test_every_sample_file_has_an_expectation():
    """The table below covers the whole sample directory (a new sample fails loudly)."""
    assert sorted(p.name for p in SAMPLES.glob("*.jsonl")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_loads_exactly(name):
    """Each sample alone: exact line, span, log and rejection counts; rejections named."""
    lines, spans, logs, rejected, named = EXPECTED[name]
    with Store.open(":memory:") as store:
        result = store.load(SAMPLES / name)
        assert (
            result.lines,
            result.spans_loaded,
            result.logs_loaded,
            result.duplicates,
            result.rejected,
        ) == (lines, spans, logs, 0, rejected)
        assert result.records == spans + logs + rejected
        got = [(r.line, r.item, r.error) for r in result.rejections]
        assert len(got) == len(named)
        for (line, item, error), (want_line, want_item, want_error) in zip(got, named, strict=True):
            assert (line, item) == (want_line, want_item)
            assert error.startswith(want_error)
        table = store.rejected()
        assert list(zip(table.line, table.item, strict=True)) == [(n[0], n[1]) for n in named]
        assert set(table.file) <= {str((SAMPLES / name).resolve())}
        assert store.sql("SELECT count(*) AS n FROM spans").n[0] == spans
        assert store.sql("SELECT count(*) AS n FROM logs").n[0] == logs


def test_rejection_message_names_file_and_line():
    """A rejection prints as one line: file:line: error."""
    with Store.open(":memory:") as store:
        first = store.load(SAMPLES / "malformed.jsonl").rejections[0]
    assert str(first) == (
        f"{(SAMPLES / 'malformed.jsonl').resolve()}:1: not an OTLP traces or logs request: "
        "no resourceSpans or resourceLogs (keys: invalid)"
    )


def test_upper_case_hex_ids_are_stored_lower_case():
    """traces_simple uses upper-case hex ids: stored lower case, parents resolve."""
    with Store.open(":memory:") as store:
        store.load(SAMPLES / "traces_simple.jsonl")
        spans = store.trace("5B8EFFF798038103D269B633813FC60C")
    assert list(spans.span_id) == ["eee19b7ec3c1b174", "eee19b7ec3c1b175", "eee19b7ec3c1b176"]
    assert list(spans.parent_span_id) == [
        "eee19b7ec3c1b173",
        "eee19b7ec3c1b174",
        "eee19b7ec3c1b174",
    ]
    assert list(spans.kind) == ["internal", "client", "server"]
    assert list(spans.duration_ns) == [100_000_000, 40_000_000, 10_000_000]
    assert spans.attributes[2] == '{"cache.hit":true}'
    assert set(spans.service_name) == {"test-service"}


def test_optional_fields_absent_become_nulls():
    """traces_nulls / logs_nulls: absent or empty fields are NULL, never errors."""
    with Store.open(":memory:") as store:
        store.load(SAMPLES / "traces_nulls.jsonl", SAMPLES / "logs_nulls.jsonl")
        spans = store.spans()
        logs = store.sql(
            "SELECT trace_id, span_id, body, body_text, severity_number "
            "FROM logs ORDER BY body_text NULLS LAST"
        )
    assert spans.start_time.isna().all()
    assert spans.parent_span_id.isna().all()
    assert list(spans.attributes) == ["{}"] * 3
    assert logs.trace_id.isna().all() and logs.span_id.isna().all()
    assert list(logs.body_text[:2]) == ["minimal log", "no trace context"]
    assert logs.body.isna()[2]
    assert list(logs.severity_number) == [9, 0, 9]


def test_64_bit_timestamp_edges():
    """Just under i64::MAX loads exactly; past it the record is rejected, not clamped."""
    with Store.open(":memory:") as store:
        store.load(SAMPLES / "ts_boundary_logs.jsonl", SAMPLES / "ts_overflow_logs.jsonl")
        logs = store.logs()
    assert list(logs.time_unix_nano) == [9223372036854775000]
    assert str(logs.time[0]) == "2262-04-11 23:47:16.854775"


def test_events_and_links_of_the_deep_span():
    """traces_deep_nesting: 20 events with 10 attributes each, 10 links."""
    with Store.open(":memory:") as store:
        store.load(SAMPLES / "traces_deep_nesting.jsonl")
        events = store.span_events("00000000000000000000000000000200")
        links = store.span_links("00000000000000000000000000000200")
    assert list(events.event_index) == list(range(20))
    assert events.name[19] == "event_19"
    assert events.attributes[0].count('"event_attr_') == 10
    assert list(links.link_index) == list(range(10))
    assert set(links.attributes) == {'{"link_type":"reference"}'}


def test_all_samples_together_then_again_add_nothing():
    """All samples in one load, twice: the second load is all duplicates, same rejections."""
    with Store.open(":memory:") as store:
        first = store.load(SAMPLES)
        second = store.load(SAMPLES)
        counts = store.sql(
            "SELECT (SELECT count(*) FROM spans) AS spans, "
            "(SELECT count(*) FROM logs) AS logs, "
            "(SELECT count(*) FROM rejected) AS rejected"
        )
    # single_trace/traces_nulls and multifile_valid/traces_simple share a span each.
    assert (first.spans_loaded, first.logs_loaded, first.duplicates, first.rejected) == (9, 7, 2, 5)
    assert (second.loaded, second.duplicates, second.rejected) == (0, 18, 5)
    assert first.records == second.records == 23
    assert counts.iloc[0].tolist() == [9, 7, 5]
