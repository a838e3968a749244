"""How OTLP attribute values (``AnyValue``) are kept in the store's JSON columns, and back.

The store keeps attributes as one plain JSON object per record (``{"pipeline.tenant":
"acme", "pipeline.job.id": 17}``) so that notebooks and SQL read them naturally. Plain JSON
cannot tell bytes from text nor hold NaN, so two values are wrapped, after the convention
of MongoDB's extended JSON:

==================  ================================================================
OTLP value          stored JSON
==================  ================================================================
``stringValue``     string
``boolValue``       ``true`` / ``false``
``intValue``        integer (the full signed 64-bit range, exactly)
``doubleValue``     number written with a ``.`` or an exponent (``3.0``, ``1e+20``);
                    NaN and infinities as ``{"$double": "NaN" | "Infinity" | "-Infinity"}``
``bytesValue``      ``{"$bytes": "<standard base64>"}``
``arrayValue``      array of stored values
``kvlistValue``     object of stored values
empty               ``null``
==================  ================================================================

A ``kvlistValue`` whose only key is ``$bytes`` or ``$double`` would read back as the wrapped
value: no producer we know writes one. The loader writes this encoding in SQL
(``sql.py``); only nested ``arrayValue``/``kvlistValue`` values, whose recursion SQL
cannot type, come here (:func:`otlp_to_plain`, then :func:`dumps`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from toolkit.errors import BadInput
from toolkit.otlp.constants import INT64_MAX, INT64_MIN

__all__ = ["decode_attributes", "decode_value", "dumps", "otlp_to_plain"]

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# An escaped control character, not preceded by an escaped backslash.
_LOWER_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u00([0-9a-f]{2})")


def _same_escapes(text: str) -> str:
    """JSON text with control characters escaped as DuckDB's ``to_json`` escapes them
    (``\\u001F``, where Python writes ``\\u001f``), so one column never mixes the two."""
    if "\\u00" not in text:
        return text
    return _LOWER_ESCAPE.sub(lambda m: f"{m.group(1)}\\u00{m.group(2).upper()}", text)


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept, the format every JSON column of the store uses."""
    return _same_escapes(
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    )


def _double(value: float) -> Any:
    if math.isnan(value):
        return {"$double": "NaN"}
    if math.isinf(value):
        return {"$double": "Infinity" if value > 0 else "-Infinity"}
    return float(value)


def _otlp_int(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise BadInput(f"intValue {raw!r} is not an integer")
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"intValue {raw!r} is not an integer") from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadInput(f"intValue {raw!r} is outside the signed 64-bit range")
    return value


def _otlp_double(raw: Any) -> Any:
    if isinstance(raw, str) and raw in _NONFINITE:
        return _double(_NONFINITE[raw])
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise BadInput(f"doubleValue {raw!r} is not a number")
    try:
        return _double(float(raw))
    except ValueError:
        raise BadInput(f"doubleValue {raw!r} is not a number") from None


def _otlp_bytes(raw: Any) -> Any:
    if not isinstance(raw, str):
        raise BadInput(f"bytesValue {raw!r} is not base64 text")
    text = raw.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"bytesValue {raw!r} is not base64") from None
    return {"$bytes": base64.b64encode(data).decode("ascii")}


def otlp_to_plain(value: Any) -> Any:
    """An OTLP JSON ``AnyValue`` object (``{"intValue": "5"}``) in the stored encoding.

    Accepts what the protobuf JSON mapping allows: 64-bit integers as strings or numbers,
    doubles as numbers or ``"NaN"``/``"Infinity"``, standard or URL-safe base64.

    Raises:
        BadInput: the value is not a valid ``AnyValue``; the message names the value.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadInput(f"attribute value {value!r} is not an AnyValue object")
    if "stringValue" in value:
        raw = value["stringValue"]
        if not isinstance(raw, str):
            raise BadInput(f"stringValue {raw!r} is not a string")
        return raw
    if "boolValue" in value:
        raw = value["boolValue"]
        if not isinstance(raw, bool):
            raise BadInput(f"boolValue {raw!r} is not true or false")
        return raw
    if "intValue" in value:
        return _otlp_int(value["intValue"])
    if "doubleValue" in value:
        return _otlp_double(value["doubleValue"])
    if "bytesValue" in value:
        return _otlp_bytes(value["bytesValue"])
    if "arrayValue" in value:
        inner = value["arrayValue"] or {}
        return [otlp_to_plain(v) for v in _values(inner)]
    if "kvlistValue" in value:
        inner = value["kvlistValue"] or {}
        out: dict[str, Any] = {}
        for kv in _values(inner):
            if not isinstance(kv, Mapping):
                raise BadInput(f"kvlistValue entry {kv!r} is not a key/value object")
            out[str(kv.get("key", ""))] = otlp_to_plain(kv.get("value"))
        return out
    return None


def _values(container: Any) -> list[Any]:
    if not isinstance(container, Mapping):
        raise BadInput(f"{container!r} is not an object with a values list")
    values = container.get("values") or []
    if not isinstance(values, list):
        raise BadInput(f"values {values!r} is not a list")
    return values


def decode_value(value: Any) -> Any:
    """A stored JSON value back as Python: wrapped bytes and non-finite doubles unwrapped."""
    if isinstance(value, dict):
        if len(value) == 1 and "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        if len(value) == 1 and "$double" in value:
            return _NONFINITE[value["$double"]]
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def decode_attributes(text: str | None) -> dict[str, Any]:
    """An ``attributes`` column value (JSON text) as a Python dict of decoded values."""
    if text is None:
        return {}
    decoded = decode_value(json.loads(text))
    if not isinstance(decoded, dict):
        raise BadInput(f"attributes {text[:80]!r} is not a JSON object")
    return decoded
