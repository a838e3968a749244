"""The exact audit: proves from telemetry alone, with no statistics, which jobs were lost.

Three rules, each a small function over the store's ``logs`` table (job log records, see
docs/contracts.md), registered in :data:`RULES`:

``unjustified_drop``
    Every ``job.deduplicated`` record must name a survivor with the identical full key
    (tenant, environment, source, entity, schema), still *pending*, with a version not older
    (``toolkit.engine.truth.is_justified`` states the same rule for the ground truth).
``latest_not_processed``
    For every key that had a job, the newest version demanded (by ``job.created`` or an
    ``entity.ingested`` of the entity) must have been rendered by a ``job.processed``, unless a
    job for the key is still in flight (then it is late, not lost) or was given up
    (``job.failed``: a visible failure, listed separately).
``accounting``
    Per environment: created = processed + failed + deduplicated + in flight, every job ends at
    most once, and no job ends that was never created.

Each violation names environment, entity, schema, job, survivor, time and trace ids. The
rules read through the store's audit queries (``Store.unjustified_drops`` and its neighbours),
which run inside the database so that only violations leave it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from toolkit.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.store import Store

__all__ = ["RULES", "AuditResult", "Window", "accounting", "audit", "latest_not_processed",
           "unjustified_drop"]

_KEY = ("tenant", "environment", "source", "entity", "schema")


@dataclass(frozen=True, slots=True)
class Window:
    """Records with ``since <= time < until`` (either bound may be open)."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass
class AuditResult:
    """Violations of every rule, the stale views to regenerate, and the accounting."""

    window: Window
    violations: pd.DataFrame
    stale_views: pd.DataFrame
    accounting: pd.DataFrame
    failed_views: pd.DataFrame = field(default=None)  # type: ignore[assignment]

    @property
    def wrongful_discards(self) -> pd.DataFrame:
        return self.violations[self.violations.rule == "unjustified_drop"]

    def summary(self) -> dict[str, Any]:
        per_env = (self.wrongful_discards.groupby("environment").size().to_dict()
                   if len(self.violations) else {})
        return {
            "wrongful_discards": len(self.wrongful_discards),
            "views_to_regenerate": len(self.stale_views),
            "violations": len(self.violations),
            "environments_affected": sorted(per_env),
            "wrongful_discards_per_environment": {k: int(v) for k, v in per_env.items()},
        }


def unjustified_drop(store: Store, window: Window) -> pd.DataFrame:
    """Drops that no pending survivor with the identical key and a version not older
    justifies."""
    return store.unjustified_drops(window.since, window.until)


def latest_not_processed(store: Store, window: Window) -> pd.DataFrame:
    """Keys whose newest version was never rendered, with nothing in flight and nothing
    given up: silently lost work."""
    import pandas as pd

    status = store.view_status(window.since, window.until)
    lost = status[(status.in_flight == 0) & (status.failed == 0)].copy()
    lost.insert(0, "rule", "latest_not_processed")
    lost["detail"] = [
        f"version {v} never rendered (view at {'none' if pd.isna(r) else int(r)})"
        for v, r in zip(lost.latest_version, lost.rendered_version, strict=True)
    ]
    return lost


def accounting(store: Store, window: Window) -> pd.DataFrame:
    """Jobs that end twice, or end without having been created."""
    return store.job_accounting(window.since, window.until)


RULES: dict[str, Callable[[Store, Window], pd.DataFrame]] = {
    "unjustified_drop": unjustified_drop,
    "latest_not_processed": latest_not_processed,
    "accounting": accounting,
}


def audit(
    store: Store,
    window: Window | None = None,
    *,
    environments: list[str] | None = None,
    rules: list[str] | None = None,
    views_as_of_end: bool = False,
) -> AuditResult:
    """Run the audit rules over ``window`` and gather the evidence.

    With ``views_as_of_end`` the stale views are those left stale by the window's end and
    still stale at the end of the data: what still needs regenerating now.

    Raises:
        BadInput: an unknown rule, or a store with no job logs to judge.
    """
    import pandas as pd

    window = window or Window()
    names = rules or list(RULES)
    for name in names:
        if name not in RULES:
            raise BadInput(f"unknown audit rule {name!r} (known: {', '.join(RULES)})")
    if not store.has_job_logs():
        raise BadInput(f"{store.path}: the store holds no job logs yet: load telemetry first")
    frames = [RULES[name](store, window) for name in names]
    violations = pd.concat([f for f in frames if len(f)] or [frames[0].iloc[:0]],
                           ignore_index=True)
    status = store.view_status(window.since, window.until)
    if views_as_of_end and window.until is not None:
        # Stale at the window's end *and* still stale now: damage done in the window and never
        # repaired (not later damage to keys that merely had a job in the window).
        now = store.view_status(window.since, window.until, as_of_end=True)
        key = list(_KEY)
        status = now.merge(status[key], on=key, how="inner")
    stale = status[status.in_flight == 0].reset_index(drop=True)
    acct = store.environment_accounting(window.since, window.until)
    if environments:
        violations = violations[violations.environment.isin(environments)]
        stale = stale[stale.environment.isin(environments)]
        acct = acct[acct.environment.isin(environments)]
    return AuditResult(
        window,
        violations.reset_index(drop=True),
        stale[stale.failed == 0].reset_index(drop=True),
        acct.reset_index(drop=True),
        stale[stale.failed > 0].reset_index(drop=True),
    )
