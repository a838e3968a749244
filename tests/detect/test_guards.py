"""Guards every detector shares: three jobs never fire; missing minutes count as zeros."""

import numpy as np
import pandas as pd
import pytest

from tests.detect.conftest import burst, rollup
from toolkit.detect import available_detectors, make_detector, run_detectors

M = 240
TENANTS = ("acme", "globex", "initech")


def traffic(extra: dict[str, dict[str, object]]) -> pd.DataFrame:
    even = np.tile([10, 0], M // 2)
    envs: dict[str, dict[str, object]] = {}
    for tenant in TENANTS:
        envs[f"{tenant}-prod"] = {"offered": 10}
        envs[f"{tenant}-dev"] = {"offered": even}
    envs.update(extra)
    return rollup(envs, M)


def three_jobs() -> dict[str, object]:
    """An environment with three jobs in all, each of them deduplicated."""
    jobs = np.zeros(M, dtype=np.int64)
    jobs[[100, 101, 102]] = 1
    return {"offered": jobs, "deduplicated": jobs, "processed": 0}


@pytest.fixture(scope="module")
def fitted(history):
    return {name: make_detector(name).fit(history) for name in available_detectors()}


@pytest.mark.parametrize("name", ["tail", "cusum", "concurrency", "peers", "yield"])
def test_three_jobs_never_fire(fitted, name):
    """An environment with three jobs, all deduplicated, raises nothing in any detector."""
    assert fitted[name].detect(traffic({"tiny-prod": three_jobs()})) == []


@pytest.mark.parametrize("name", ["tail", "cusum", "concurrency", "peers", "yield"])
def test_three_jobs_are_not_pulled_in_by_corroboration(fitted, name):
    """While three tenants show the environment-blind signature at once, the three-job
    environment (and its tenant's quiet DEV) stay out of every detector's events."""
    at_once = np.zeros(M, dtype=np.int64)
    at_once[100] = 3
    extra = {f"{t}-prod": {"offered": 10, "deduplicated": at_once} for t in TENANTS}
    extra["tiny-prod"] = three_jobs()
    events = fitted[name].detect(traffic(extra))
    assert "tiny-prod" not in {e.environment for e in events}


@pytest.mark.parametrize("name", ["tail", "cusum", "concurrency", "peers", "yield"])
def test_missing_minutes_are_zeros(fitted, name):
    """Dropping the rows of quiet minutes changes no detector's events (gaps are zeros)."""
    full = traffic({"acme-prod": {"offered": 10, "deduplicated": burst(M, 100, 109, 5)}})
    quiet = (full["offered"] == 0) & (full["deduplicated"] == 0) & (full["backlog"] == 0)
    gappy = full[~quiet | (full["minute"] == full["minute"].min())]
    assert len(gappy) < len(full)
    assert fitted[name].detect(gappy) == fitted[name].detect(full)


def test_all_detectors_at_once_share_one_conversion(fitted):
    """run_detectors gives every detector's events, ordered by detection time (discards in
    overlapping minutes only, so the concurrency signature fires too)."""
    overlapping = burst(M, 100, 119, 5) * (np.arange(M) % 2 == 0)
    data = traffic({"acme-prod": {"offered": 10, "deduplicated": overlapping}})
    events = run_detectors(fitted.values(), data)
    assert sorted({e.detector for e in events}) == ["concurrency", "cusum", "peers", "tail",
                                                   "yield"]
    assert [e.detected for e in events] == sorted(e.detected for e in events)
    assert {e.environment for e in events} == {"acme-prod"}
