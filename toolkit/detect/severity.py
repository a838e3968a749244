"""The statistical rule of ``toolkit alert``: how loud an environment's detector events are.

The exact audit pages on proof; this decides what the statistical detectors alone are worth,
for systems whose telemetry has counts but no survivor fields. It lives with the detectors
because what their events mean is theirs to say; the alert only routes the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit.detect.events import Event

__all__ = ["PAGE", "TICKET", "statistical_severity"]

PAGE = "page"
TICKET = "ticket"
_YIELD = "yield"


def statistical_severity(events: Sequence[Event]) -> str | None:
    """``page``, ``ticket`` or ``None`` (nothing to say) for one environment's recent events.

    A page needs two kinds of evidence at once: a dedup-ratio anomaly and output lost in
    quiet minutes. Either a ratio detector's event carries a ``page`` hint (its yield test,
    over the event so far, shows lost output), or the yield check's own event says output is
    lost and a ratio detector has an event too (one burst the yield check has not seen before
    does not page alone). The yield test counts only quiet minutes (own queue empty, fleet
    not congested, no surge in the last hour): while jobs wait, as in a mass re-ingest, a
    schema deployed everywhere, a tenant's large import or a slow processor day, legitimate
    coalescing can take most of an environment's jobs, all processed in the end, so congestion
    never pages; it may open a ticket. On the scenario family (``toolkit evaluate``) this
    rule paged on no stress and no normal day. Anything else the detectors see is a ticket.
    """
    if not events:
        return None
    names = {e.detector for e in events}
    hinted = any(e.detector != _YIELD and e.severity == PAGE for e in events)
    lost = any(e.detector == _YIELD and e.severity == PAGE for e in events)
    return PAGE if hinted or (lost and len(names) >= 2) else TICKET
