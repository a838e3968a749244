"""Replaying ``toolkit alert`` over a recorded store, as cron would have run it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from toolkit.alert.deliver import Webhook
from toolkit.alert.reconcile import Policy
from toolkit.alert.runner import AlertRun, lock_path, run_alert, store_opener
from toolkit.alert.sources import SourceConfig, store_findings


def schedule(
    dense: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime,
    sparse: timedelta,
) -> list[datetime]:
    """Cron minutes from ``start`` to ``end``: every minute inside the ``dense`` windows,
    every ``sparse`` elsewhere (a replay cannot afford every minute of a week)."""
    minute = timedelta(minutes=1)

    def floor(t: datetime) -> datetime:
        return t.replace(second=0, microsecond=0)

    # whole minutes: a window starting at 09:24:35 is dense from 09:24 (cron runs on minutes)
    windows = sorted((floor(lo), floor(hi) + (minute if hi != floor(hi) else timedelta()))
                     for lo, hi in dense)
    out: list[datetime] = []
    t = floor(start)
    while t <= end:
        out.append(t)
        inside = any(lo <= t < hi for lo, hi in windows)
        nxt = t + (minute if inside else sparse)
        # do not jump over the start of a dense window
        for lo, _ in windows:
            if t < lo < nxt:
                nxt = lo
        t = nxt
    return out


def replay(
    db: str,
    minutes: Iterable[datetime],
    *,
    policy: Policy | None = None,
    webhooks: Iterable[Webhook] = (),
    config: SourceConfig | None = None,
) -> Iterator[AlertRun]:
    """Run the alert at each minute in order against the store at ``db``; yields each run.

    One finding source serves every run, so detector fits are reused within the hour.
    """
    source = store_findings(config)
    hooks = list(webhooks)
    for now in minutes:
        yield run_alert(store_opener(db), source, now=now, lock_path=lock_path(db),
                        policy=policy, webhooks=hooks)
