"""Why OTLP JSON text the SQL could not take is bad, in words a person can act on.

The fast path (``sql.py``) only says that a line failed; this module looks at that line
again, in Python, to name the fault: not JSON (and where), nested too deep, a lone UTF-16
surrogate, not an object, a container of the wrong JSON type, or not traces or logs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from toolkit.otlp.constants import REQUESTS

__all__ = ["MAX_DEPTH", "explain_document", "explain_line"]


def _reason(exc: ValueError) -> str:
    return getattr(exc, "msg", None) or str(exc)


_STRINGS = re.compile(rb'"(?:[^"\\\\]|\\\\.)*"')
_CONTAINERS = {top: (middle, leaf) for top, middle, leaf in REQUESTS.values()}


#: Deeper JSON is refused as no telemetry request, whatever the interpreter's recursion
#: limit (Python's default, 1000, is where ``json.loads`` would give up).
MAX_DEPTH = 1000


def _too_deep(text: str) -> int:
    """How deep ``text`` nests when that is past :data:`MAX_DEPTH`, else 0."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    depth = _depth(text)
    return depth if depth > MAX_DEPTH else 0


def _depth(text: str) -> int:
    """How deep JSON text nests, counted without recursion (strings removed first)."""
    bare = np.frombuffer(_STRINGS.sub(b'""', text.encode("utf-8", "surrogatepass")), np.uint8)
    steps = (np.isin(bare, (91, 123)).astype(np.int64) - np.isin(bare, (93, 125)))
    return int(np.cumsum(steps).max(initial=0))


def _lone_surrogate(value: Any) -> str | None:
    """The first string (key or value) holding a lone UTF-16 surrogate, described."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            for i, char in enumerate(item):
                if "\ud800" <= char <= "\udfff":
                    shown = item[max(0, i - 20) : i].encode("utf-8", "replace").decode()
                    return (f"the string {shown!r}... holds a lone UTF-16 surrogate "
                            f"\\u{ord(char):04x} (an escape of half a character): not valid "
                            "Unicode")
    return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _misshapen(request: dict[str, Any]) -> str | None:
    """Where a request holds a container of the wrong JSON type, described."""
    for top, (middle, leaf) in _CONTAINERS.items():
        resources = request.get(top)
        if resources is None:
            continue
        if not isinstance(resources, list):
            return f"{top} is {_kind(resources)}, not a list"
        for ri, resource in enumerate(resources):
            where = f"{top}[{ri}]"
            if not isinstance(resource, dict):
                return f"{where} is {_kind(resource)}, not an object"
            scopes = resource.get(middle) or []
            if not isinstance(scopes, list):
                return f"{where}.{middle} is {_kind(scopes)}, not a list"
            for si, scope in enumerate(scopes):
                inner = f"{where}.{middle}[{si}]"
                if not isinstance(scope, dict):
                    return f"{inner} is {_kind(scope)}, not an object"
                records = scope.get(leaf) or []
                if not isinstance(records, list):
                    return f"{inner}.{leaf} is {_kind(records)}, not a list"
                for pi, record in enumerate(records):
                    if not isinstance(record, dict):
                        return f"{inner}.{leaf}[{pi}] is {_kind(record)}, not an object"
    return None


def explain_line(text: str) -> tuple[str | None, bool]:
    """Why a line the SQL could not take is bad: ``(error, ignored)``, where ``ignored``
    says the line is a valid OTLP request of another signal (metrics, profiles)."""
    text = text.strip(" \t\r\n")
    deep = _too_deep(text)
    if deep:
        return f"nested {deep} levels deep: too deep for a telemetry request", False
    try:
        value = json.loads(text)
    except RecursionError:
        return f"nested {_depth(text)} levels deep: too deep for a telemetry request", False
    except ValueError as exc:
        column = getattr(exc, "colno", None)
        at = f" (column {column})" if column else ""
        return f"not valid JSON: {_reason(exc)}{at}", False
    surrogate = _lone_surrogate(value)
    if surrogate:
        return surrogate, False
    if not isinstance(value, dict):
        return f"not a JSON object but {_kind(value)}: an OTLP request is an object", False
    if "resourceMetrics" in value or "resourceProfiles" in value:
        return None, True
    shape = _misshapen(value)
    if shape:
        return shape, False
    if "resourceSpans" in value or "resourceLogs" in value:
        return "resourceSpans/resourceLogs cannot be read as OTLP", False
    keys = ", ".join(sorted(value)[:5]) or "none"
    return (
        f"not an OTLP traces or logs request: no resourceSpans or resourceLogs (keys: {keys})"
    ), False


def explain_document(text: bytes, first_line: int) -> tuple[str, int]:
    """Why a pretty-printed request starting at line ``first_line`` is bad, and the line
    where the JSON parser stopped."""
    try:
        json.loads(text)
    except RecursionError:
        return "nested too deep for a telemetry request", first_line
    except ValueError as exc:
        return f"not valid JSON: {_reason(exc)}", first_line - 1 + getattr(exc, "lineno", 1)
    return "cannot be read as JSON text", first_line
