"""Fitted detectors as JSON, and the hourly fit kept in the store's ``detector_fits`` table."""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.detect.conftest import burst, rollup, sparse
from toolkit.detect import (
    StoreFitCache,
    available_detectors,
    detector_from_dict,
    detector_to_dict,
    dump_detectors,
    fit_detectors,
    load_detectors,
    make_detector,
    run_detectors,
)
from toolkit.errors import BadInput
from toolkit.store import Store

M = 240
HOUR = datetime(2024, 5, 6, 9)


def fitted_state(detector):
    return {k: v for k, v in vars(detector).items() if k.endswith("_") and not k.startswith("_")}


def same(a, b):
    """Deep equality of fitted state: arrays by dtype, shape and values (NaN equal to NaN)."""
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(same(getattr(a, f), getattr(b, f))
                                          for f in a.__dataclass_fields__)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def traffic():
    """Six environments; acme-prod loses five jobs a minute from minute 100 to 109."""
    envs = {}
    for tenant in ("acme", "globex", "initech"):
        envs[f"{tenant}-prod"] = {"offered": 10, "deduplicated": 0}
        envs[f"{tenant}-dev"] = {"offered": np.tile([10, 0], M // 2), "deduplicated": 0}
    envs["acme-prod"]["deduplicated"] = burst(M, 100, 109, 5)
    return rollup(envs, M)


@pytest.fixture(scope="module")
def fitted(history):
    return fit_detectors(history)


def test_every_fitted_detector_round_trips_through_json(fitted):
    """Through json.dumps and back: same parameters, same fitted state, same events."""
    assert [d.name for d in fitted] == available_detectors()
    for detector in fitted:
        data = json.loads(json.dumps(detector_to_dict(detector), allow_nan=False))
        back = detector_from_dict(data)
        assert type(back) is type(detector) and back.get_params() == detector.get_params()
        assert same(fitted_state(back), fitted_state(detector)), detector.name
    again = load_detectors(dump_detectors(fitted))
    assert run_detectors(again, traffic()) == run_detectors(fitted, traffic())
    assert run_detectors(fitted, traffic())  # the comparison is not between two empty lists


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rates=st.lists(st.integers(0, 40), min_size=6, max_size=6),
       every=st.integers(3, 400), backlog=st.integers(0, 300),
       params=st.fixed_dictionaries({"prior_jobs": st.floats(1.0, 5000.0),
                                     "surge_backlog": st.integers(1, 500)}))
def test_round_trip_holds_for_any_history_and_parameters(rates, every, backlog, params):
    """Whatever the history (idle environments, surges, clumps) and the parameters, the
    decoded detectors carry the same state as the fitted ones."""
    envs = {}
    for i, env in enumerate(("a-prod", "a-dev", "b-prod", "b-dev", "c-prod", "c-dev")):
        envs[env] = {"offered": rates[i], "deduplicated": np.minimum(
            sparse(M, every, 3, offset=i), rates[i]),
            "backlog": burst(M, 50, 60, backlog) if i == 0 else 0}
    history = rollup(envs, M)
    names = available_detectors()
    detectors = fit_detectors(history, names, dict.fromkeys(names, params))
    for detector, back in zip(detectors, load_detectors(dump_detectors(detectors)), strict=True):
        assert back.get_params() == detector.get_params()
        assert same(fitted_state(back), fitted_state(detector)), detector.name


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not JSON"),
    ('{"detector": "tail"}', "must be a list"),
    ('[{"format": 99, "detector": "tail", "params": {}, "fitted": {}}]', "format 99"),
    ('[{"format": 1, "detector": "nope", "params": {}, "fitted": {}}]', "unknown detector"),
    ('[{"format": 1, "detector": "tail", "params": {}, "fitted": {"x_": {"type": "os"}}}]',
     "unknown type 'os'"),
    ('[{"format": 1, "detector": "tail", "params": {}, "fitted": {"__class__": 1}}]',
     "not a fitted attribute"),
])
def test_bad_fit_json_is_refused_by_name(text, message):
    """Only the listed classes are ever built from a fit: anything else is BadInput."""
    with pytest.raises(BadInput, match=message):
        load_detectors(text)


def test_store_cache_keeps_the_fit_across_processes(fitted):
    """A second cache on the same store (a later cron run) reads the first one's fit and
    detects the same events; another hour or other detectors are misses."""
    names = [d.name for d in fitted]
    with Store.open(":memory:") as store:
        first = StoreFitCache(store)
        assert first.get(HOUR, names) is None
        first.put(HOUR, names, fitted)
        later = StoreFitCache(store)
        got = later.get(HOUR, names)
        assert got is not None and got is not fitted
        assert run_detectors(got, traffic()) == run_detectors(fitted, traffic())
        assert later.get(HOUR + timedelta(hours=1), names) is None
        assert later.get(HOUR, names[:2]) is None
        kind = store.sql("SELECT json_type(fitted) AS t FROM detector_fits").t.tolist()
        assert kind == ["ARRAY"]


def test_store_cache_refits_rather_than_trust_other_parameters(history):
    """A fit made with other parameters than today's defaults is not used."""
    names = ["tail"]
    other = [make_detector("tail", alpha=1e-3).fit(history)]
    with Store.open(":memory:") as store:
        StoreFitCache(store).put(HOUR, names, other)
        assert StoreFitCache(store).get(HOUR, names) is None


def test_store_cache_forgets_fits_two_days_old(fitted):
    names = [d.name for d in fitted]
    with Store.open(":memory:") as store:
        cache = StoreFitCache(store)
        cache.put(HOUR, names, fitted)
        cache.put(HOUR + timedelta(hours=49), names, fitted)
        assert store.sql("SELECT count(*) AS n FROM detector_fits").n[0] == 1
