"""One timestamp format for everything the toolkit writes as JSON (``--json`` output, webhook
bodies, finding details): ISO 8601 in UTC with a ``Z``, to the second, or to the microsecond
when the time has one. A consumer then parses every time the toolkit writes the same way.
Naive times are UTC, as everywhere in the toolkit.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_utc"]


def iso_utc(ts: datetime | float | None) -> str | None:
    """``ts`` (a ``datetime``, naive meaning UTC, or seconds since the epoch) as
    ``2024-05-07T09:30:00Z`` (``...:00.250000Z`` with microseconds); ``None`` stays ``None``."""
    if ts is None:
        return None
    if not isinstance(ts, datetime):
        ts = datetime.fromtimestamp(ts, UTC)
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if ts.microsecond else "%Y-%m-%dT%H:%M:%SZ")
