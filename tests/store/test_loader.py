"""Loading OTLP JSON from any producer: formats, id encodings, bad records, idempotency."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from tests.store.otlp import T0, jsonl, log_record, logs_request, ns, span, traces_request
from toolkit.errors import BadInput


def test_ids_in_upper_hex_and_base64_normalise_to_the_same_span(store, write):
    """One span id written three ways (lower hex, upper hex, base64) is one span."""
    trace, span_id = bytes(range(1, 17)), bytes(range(1, 9))
    lower = span(0, 0) | {"traceId": trace.hex(), "spanId": span_id.hex()}
    upper = span(0, 0) | {"traceId": trace.hex().upper(), "spanId": span_id.hex().upper()}
    b64 = span(0, 0) | {
        "traceId": base64.b64encode(trace).decode(),
        "spanId": base64.b64encode(span_id).decode(),
    }
    result = store.load(
        write("ids.jsonl", jsonl(traces_request([lower]), traces_request([upper, b64])))
    )
    assert (result.spans_loaded, result.duplicates, result.rejected) == (1, 2, 0)
    assert store.spans().trace_id.tolist() == [trace.hex()]


def test_64_bit_integers_as_strings_or_numbers(store, write):
    """Times and intValue attributes load the same from JSON strings and numbers."""
    as_numbers = span(1, 1) | {
        "startTimeUnixNano": int(ns(T0)),
        "endTimeUnixNano": int(ns(T0 + 2)),
        "attributes": [
            {"key": "big", "value": {"intValue": 2**63 - 1}},
            {"key": "small", "value": {"intValue": -(2**63)}},
        ],
    }
    store.load(write("n.jsonl", jsonl(traces_request([as_numbers]))))
    row = store.spans().iloc[0]
    assert row.start_time_unix_nano == int(ns(T0)) and row.duration_ns == 2_000_000_000
    assert json.loads(row.attributes) == {"big": 2**63 - 1, "small": -(2**63)}


def test_enum_names_and_unknown_fields(store, write):
    """Enum names (SPAN_KIND_SERVER, STATUS_CODE_ERROR) are accepted; unknown fields ignored."""
    one = span(1, 1) | {
        "kind": "SPAN_KIND_SERVER",
        "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
        "someFutureField": {"x": [1, 2]},
    }
    request = traces_request([one]) | {"unknownTopLevel": 1}
    assert store.load(write("e.jsonl", jsonl(request))).spans_loaded == 1
    row = store.spans().iloc[0]
    assert (row.kind, row.status_code, row.status_message) == ("server", "error", "boom")


def test_pretty_printed_single_request(store, write):
    """A single request pretty-printed over many lines is one document (line 1)."""
    text = json.dumps(logs_request([log_record(T0, "acme-prod", "job.created")]), indent=2)
    result = store.load(write("pretty.json", text))
    assert (result.lines, result.logs_loaded, result.rejected) == (1, 1, 0)


def test_truncated_pretty_document_is_one_rejection(store, write):
    """A pretty-printed document cut short is rejected once, at the line the parser stopped."""
    text = json.dumps(logs_request([log_record(T0, "acme-prod", "job.created")]), indent=2)
    result = store.load(write("cut.json", text[: len(text) // 2]))
    assert result.rejected == 1 and result.loaded == 0
    assert result.rejections[0].error.startswith("not valid JSON")
    assert result.rejections[0].line > 1


def test_gzip_files_load_like_plain_ones(store, write):
    """A .gz file (even named without .gz) is decompressed."""
    body = jsonl(logs_request([log_record(T0, "acme-prod", "job.created")]))
    result = store.load(
        write("a.jsonl.gz", gzip.compress(body.encode())),
        write("b.log", gzip.compress(body.replace("job.created", "job.enqueued").encode())),
    )
    assert (result.files, result.logs_loaded) == (2, 2)


def test_truncated_gzip_keeps_what_was_readable(store, write):
    """A cut gzip stream: its complete lines load, the damage is one file-level rejection."""
    body = jsonl(
        *[logs_request([log_record(T0 + i, "acme-prod", "job.created")]) for i in range(200)]
    )
    data = gzip.compress(body.encode())
    result = store.load(write("cut.jsonl.gz", data[: len(data) * 3 // 4]))
    assert 0 < result.logs_loaded < 200
    assert result.rejections[0].line == 0 and "gzip" in result.rejections[0].error


def test_a_bad_record_does_not_stop_its_neighbours(store, write):
    """Inside one line, only the span with a bad id is rejected, named by its position."""
    good, bad = span(1, 1), span(1, 2) | {"spanId": "not-an-id!"}
    result = store.load(write("mixed.jsonl", jsonl(traces_request([good, bad, span(1, 3)]))))
    assert (result.spans_loaded, result.rejected) == (2, 1)
    rejection = result.rejections[0]
    assert (rejection.line, rejection.item) == (1, "resourceSpans[0].scopeSpans[0].spans[1]")
    assert rejection.error == 'spanId "not-an-id!" is neither hex nor base64 of 8 bytes'
    raw = store.rejected().raw[0]
    assert json.loads(raw)["spanId"] == "not-an-id!"


@pytest.mark.parametrize(
    ("attribute", "error"),
    [
        ({"intValue": "12x"}, 'attribute "a" has an invalid value'),
        ({"intValue": "9223372036854775808"}, 'attribute "a" has an invalid value'),
        ({"boolValue": "maybe"}, 'attribute "a" has an invalid value'),
        ({"bytesValue": "!!!"}, 'attribute "a" has an invalid value'),
        ({"arrayValue": {"values": [{"intValue": "x"}]}}, 'attribute "a" has an invalid value'),
    ],
)
def test_invalid_attribute_values_reject_the_record(store, write, attribute, error):
    """A value that is not what its type says rejects its record, naming the key."""
    record = log_record(T0, "acme-prod", "job.created")
    record["attributes"].append({"key": "a", "value": attribute})
    result = store.load(write("bad.jsonl", jsonl(logs_request([record]))))
    assert (result.logs_loaded, result.rejected) == (0, 1)
    assert result.rejections[0].error == error


def test_bad_times_are_rejected_with_the_value(store, write):
    """Negative, fractional or non-numeric times reject the span and say which field."""
    spans = [
        span(1, 1) | {"startTimeUnixNano": "-5"},
        span(1, 2) | {"endTimeUnixNano": "1.5"},
        span(1, 3) | {"startTimeUnixNano": "soon"},
    ]
    result = store.load(write("t.jsonl", jsonl(traces_request(spans))))
    assert [r.error.split(" is ")[0] for r in result.rejections] == [
        'startTimeUnixNano "-5"',
        'endTimeUnixNano "1.5"',
        'startTimeUnixNano "soon"',
    ]


def test_non_utf8_line_is_rejected_alone(store, write):
    """A line that is not UTF-8 is named; the lines around it load."""
    good = jsonl(logs_request([log_record(T0, "acme-prod", "job.created")]))
    data = (
        good.encode()
        + b'{"resourceLogs": "\xff\xfe"}\n'
        + good.replace("job.created", "job.enqueued").encode()
    )
    result = store.load(write("bin.jsonl", data))
    assert (result.logs_loaded, result.rejected) == (2, 1)
    assert result.rejections[0].line == 2 and "UTF-8" in result.rejections[0].error


def test_metrics_lines_are_ignored_not_rejected(store, write):
    """A Collector file with a metrics pipeline too: metrics lines are counted as ignored."""
    text = jsonl({"resourceMetrics": []}, logs_request([log_record(T0, "acme-prod", "x")]))
    result = store.load(write("m.jsonl", text))
    assert (result.ignored_lines, result.logs_loaded, result.rejected) == (1, 1, 0)


def test_counts_add_up_and_a_second_load_adds_nothing(store, write):
    """loaded + duplicates + rejected = records seen; loading again only finds duplicates."""
    records = [
        log_record(T0 + i, "acme-prod", "job.created", pipeline__job__id=i) for i in range(5)
    ]
    text = jsonl(logs_request(records), logs_request(records[:2]), "not json")
    path = write("x.jsonl", text)
    first, second = store.load(path), store.load(path)
    assert (first.logs_loaded, first.duplicates, first.rejected) == (5, 2, 1)
    assert (second.logs_loaded, second.duplicates, second.rejected) == (0, 7, 1)
    assert first.records == second.records == 8
    assert len(store.logs()) == 5 and len(store.rejected()) == 1
    ledger = store.sql(
        "SELECT logs_loaded, duplicates, rejected FROM loaded_files ORDER BY loaded_at"
    )
    assert ledger.values.tolist() == [[5, 2, 1], [0, 7, 1]]


def test_the_same_record_in_two_files_is_stored_once(store, write):
    """Dedupe is on content (record_id), not on the file it came from."""
    text = jsonl(logs_request([log_record(T0, "acme-prod", "job.created")]))
    result = store.load(write("a.jsonl", text), write("copy/b.jsonl", text))
    assert (result.logs_loaded, result.duplicates) == (1, 1)


def test_directories_load_recursively(store, write):
    """A directory loads every OTLP JSON file under it, in name order."""
    write("d/1.jsonl", jsonl(logs_request([log_record(T0, "acme-prod", "a")])))
    write("d/sub/2.json", jsonl(logs_request([log_record(T0 + 1, "acme-prod", "b")])))
    write("d/notes.txt", "not loaded")
    result = store.load(write("d/3.jsonl", "").parent)
    assert (result.files, result.logs_loaded) == (3, 2)


def test_missing_path_is_bad_input_and_loads_nothing(store, write):
    """A path that does not exist stops the load before anything is written."""
    good = write("ok.jsonl", jsonl(logs_request([log_record(T0, "acme-prod", "a")])))
    with pytest.raises(BadInput, match=r"nope\.jsonl: no such file or directory"):
        store.load(good, good.parent / "nope.jsonl")
    assert store.logs().empty


def test_promoted_columns_of_a_contract_log(store, write):
    """The attributes of docs/contracts.md land in their typed columns."""
    record = log_record(
        T0,
        "acme-prod",
        "job.deduplicated",
        pipeline__source="cms",
        pipeline__entity="n-1",
        pipeline__schema="page",
        pipeline__job__id=17,
        pipeline__job__version=3,
        pipeline__dedup__decision="deduplicated",
        pipeline__dedup__survivor__job__id=12,
        pipeline__dedup__survivor__environment="acme-dev",
        pipeline__dedup__survivor__state="pending",
        pipeline__dedup__survivor__version="4",
        pipeline__queue__depth=9,
    )
    store.load(write("c.jsonl", jsonl(logs_request([record]))))
    row = store.logs().iloc[0]
    assert (row.tenant, row.environment, row.source, row.entity, row.schema) == (
        "acme",
        "acme-prod",
        "cms",
        "n-1",
        "page",
    )
    assert (row.job_id, row.version, row.decision, row.survivor_job_id) == (
        17,
        3,
        "deduplicated",
        12,
    )
    assert (
        row.survivor_environment,
        row.survivor_state,
        row.survivor_version,
        row.queue_depth,
    ) == ("acme-dev", "pending", 4, 9)
    assert (row.event_name, row.service_name, row.scope_name) == (
        "job.deduplicated",
        "toolkit-engine",
        "toolkit.telemetry",
    )
