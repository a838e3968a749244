"""Scoring the exact audit against a simulation's ground truth (``toolkit evaluate --audit``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["evaluate_audit"]


def evaluate_audit(scenarios: Iterable[str], *, seed: int = 7, days: int | None = None
                   ) -> dict[str, Any]:
    """Record each scenario with full telemetry into a store in memory, audit it, and compare
    the wrongful discards found with the simulator's ground truth (by job id)."""
    from toolkit.app.runs import record_into
    from toolkit.detect.audit import audit
    from toolkit.store import Store

    out: dict[str, Any] = {}
    for name in scenarios:
        with Store.open(":memory:") as store:
            result = record_into(store, name, seed=seed, days=days)
            found = set(audit(store, rules=["unjustified_drop"])
                        .wrongful_discards.job_id.astype(int))
        truth = {w.job_id for w in result.truth.wrongful}
        out[name] = {"truth": len(truth), "found": len(found & truth),
                     "false": len(found - truth), "missed": len(truth - found)}
    return out
