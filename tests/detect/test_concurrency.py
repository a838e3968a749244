"""The environment-blind signature: dedup up only while other environments of the tenant
have work."""

import numpy as np
import pandas as pd
import pytest

from tests.detect.conftest import minute, rollup
from toolkit.detect import ConcurrencySignature, DedupTailTest

M = 240
TENANTS = ("acme", "globex", "initech")


def traffic(extra: dict[str, np.ndarray]) -> pd.DataFrame:
    """The history's traffic (PROD every minute, DEV on even minutes) with extra dedups."""
    even = np.tile([10, 0], M // 2)
    envs = {}
    for tenant in TENANTS:
        envs[f"{tenant}-prod"] = {"offered": 10,
                                  "deduplicated": extra.get(f"{tenant}-prod", 0)}
        envs[f"{tenant}-dev"] = {"offered": even}
    return rollup(envs, M)


def on(minutes, count=3) -> np.ndarray:
    out = np.zeros(M, dtype=np.int64)
    out[list(minutes)] = count
    return out


@pytest.fixture(scope="module")
def detector(history):
    return ConcurrencySignature().fit(history)


def test_rise_only_in_overlapping_minutes_is_the_signature(detector):
    """Three discards in each overlapping minute, none in solo ones: the environment-blind
    signature.

    Minute 102 is the first with five extra in the long window. From 146 the short window holds
    only minute 138's three of 50 overlapping jobs (p = 1.2e-6), no longer below alpha = 1e-6.
    """
    (event,) = detector.detect(traffic({"acme-prod": on(range(100, 140, 2))}))
    assert (event.environment, event.start, event.end, event.severity) == (
        "acme-prod", minute(102), minute(145), "page")
    assert "dedup rises only while its tenant's other environments are active" in \
        event.explanation
    assert "solo minutes normal (0 of" in event.explanation
    assert ": consistent with deduplication keyed without the environment" in event.explanation


def test_rise_in_solo_minutes_too_is_not_the_signature(detector, history):
    """Discards in every minute are a rise everywhere: no concurrency event, the tail test's."""
    data = traffic({"acme-prod": on(range(100, 140))})
    assert detector.detect(data) == []
    assert [e.environment for e in DedupTailTest().fit(history).detect(data)] == ["acme-prod"]


def test_several_tenants_at_once_corroborate_each_other(detector):
    """Three discards each in three tenants in one minute: too few alone, enough together.

    A ticket, not a page: three jobs each are within the yield test's slack, and a ratio rising
    in several tenants at once is also what a legitimate fleet-wide re-ingest looks like."""
    data = traffic({f"{t}-prod": on([100]) for t in TENANTS})
    events = detector.detect(data)
    assert [(e.environment, e.start, e.end, e.severity) for e in events] == [
        (f"{t}-prod", minute(100), minute(109), "ticket") for t in TENANTS]
    assert all("3 tenants at once: consistent with deduplication keyed without the "
               "environment" in e.explanation for e in events)


def test_one_tenant_with_three_discards_does_not_fire(detector):
    """Without corroboration, three discards are short of min_excess and never fire."""
    assert detector.detect(traffic({"acme-prod": on([100])})) == []


def test_fleet_overlap_mode_uses_active_envs(history):
    """overlap='fleet' reads other environments from active_envs; solo minutes then never
    occur here (a PROD of another tenant is always active), so the rise still fires."""
    detector = ConcurrencySignature(overlap="fleet").fit(history)
    events = detector.detect(traffic({"acme-prod": on(range(100, 140, 2))}))
    assert [e.environment for e in events] == ["acme-prod"]
    assert "while other environments are active" in events[0].explanation


def test_unknown_overlap_mode_is_refused():
    """A typo in overlap fails at construction."""
    with pytest.raises(ValueError, match="overlap must be one of tenant, fleet"):
        ConcurrencySignature(overlap="tenants")
