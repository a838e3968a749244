"""Attribute values of every OTLP AnyValue type survive JSON -> load -> read exactly."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.otlp import T0, jsonl, logs_request, span, traces_request, value
from tests.store.otlp import attributes as kvs
from toolkit.errors import BadInput
from toolkit.otlp.decode.values import otlp_to_plain
from toolkit.store import Store, decode_attributes, decode_value

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS = st.one_of(
    st.text(),
    st.booleans(),
    INT64,
    st.sampled_from([-(2**63), 2**63 - 1, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(),
)
KEYS = st.text(max_size=12).filter(lambda k: k not in ("$bytes", "$double"))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """Equal with types (1 is not 1.0 nor True) and NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One store for all examples (each example uses its own trace)."""
    with Store.open(":memory:") as opened:
        yield opened, tmp_path_factory.mktemp("values"), itertools.count(1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attributes=st.dictionaries(KEYS, VALUES, min_size=1, max_size=6), body=VALUES)
def test_every_anyvalue_type_round_trips_through_a_load(shared, attributes, body):
    """Span attributes and a log body of any AnyValue type read back as written."""
    store, directory, counter = shared
    n = next(counter)
    record = {
        "timeUnixNano": str(T0 * 10**9 + n),
        "body": value(body),
        "attributes": kvs(attributes),
    }
    path = directory / f"{n}.jsonl"
    path.write_text(
        jsonl(
            traces_request([span(n, n) | {"attributes": kvs(attributes)}]), logs_request([record])
        ),
        encoding="utf-8",
    )
    result = store.load(path, refresh=False)
    assert (result.spans_loaded, result.logs_loaded, result.rejected) == (1, 1, 0)
    stored = store.trace(f"{n:032x}").attributes[0]
    assert same(decode_attributes(stored), attributes)
    row = store.sql("SELECT body, body_text FROM logs WHERE time_unix_nano = ?", [T0 * 10**9 + n])
    assert same(decode_value(json.loads(row.body[0])), body)
    if isinstance(body, str):
        assert row.body_text[0] == body


def test_stored_json_is_plain_with_two_wrapped_types(store, tmp_path):
    """Plain JSON for notebooks; bytes and non-finite doubles wrapped, doubles keep a point."""
    attributes = {"s": "x", "i": 3, "d": 3.0, "b": b"\x00\x01", "n": math.inf,
                  "a": [1, "y"], "k": {"z": False}}
    path = tmp_path / "one.jsonl"
    path.write_text(jsonl(traces_request([span(1, 1) | {"attributes": kvs(attributes)}])))
    assert store.load(path).spans_loaded == 1
    assert store.trace(f"{1:032x}").attributes[0] == (
        '{"s":"x","i":3,"d":3.0,"b":{"$bytes":"AAE="},"n":{"$double":"Infinity"},'
        '"a":[1,"y"],"k":{"z":false}}'
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"intValue": "1.5"},
        {"intValue": str(2**63)},
        {"doubleValue": "fast"},
        {"boolValue": "yes"},
        {"bytesValue": "@@"},
        {"arrayValue": {"values": "nope"}},
    ],
)
def test_invalid_otlp_values_are_bad_input(bad):
    """otlp_to_plain names what is wrong instead of guessing."""
    with pytest.raises(BadInput):
        otlp_to_plain(bad)


def test_url_safe_base64_bytes_are_normalised():
    """bytesValue in URL-safe base64 without padding reads as the same bytes."""
    assert otlp_to_plain({"bytesValue": "-_8"}) == {"$bytes": "+/8="}
