"""Peer comparison: out of line with the other environments in the same minutes."""

import numpy as np
import pandas as pd
import pytest

from tests.detect.conftest import burst, minute, rollup
from toolkit.detect import DedupTailTest, PeerComparison
from toolkit.detect._stats import Windowed
from toolkit.detect.peers import peer_factor

M = 240
ENVS = ("acme-prod", "globex-prod", "initech-prod", "acme-dev", "globex-dev", "initech-dev")


def traffic(bursting: tuple[str, ...], every: int = 1) -> pd.DataFrame:
    """History-like traffic; ``bursting`` environments lose 5 of 10 jobs in minutes 100-109
    (only in every ``every``-th minute)."""
    even = np.tile([10, 0], M // 2)
    envs = {}
    for env in ENVS:
        offered = 10 if env.endswith("prod") else even
        dedup = burst(M, 100, 109, 5) * (np.arange(M) % every == 0) if env in bursting else 0
        envs[env] = {"offered": offered, "deduplicated": dedup}
    return rollup(envs, M)


@pytest.fixture(scope="module")
def peers(history):
    return PeerComparison().fit(history)


def test_one_environment_out_of_line_fires(peers):
    """A burst nobody else has: the peer factor stays 1, the same span as the tail test."""
    events = peers.detect(traffic(("acme-prod",)))
    assert [(e.environment, e.start, e.end) for e in events] == [
        ("acme-prod", minute(101), minute(118))]
    assert "while its peers ran at 1.0x theirs" in events[0].explanation


def test_a_rise_every_environment_shares_is_not_a_peer_anomaly(peers, history):
    """When every environment rises alike (5 discards each even minute, 100-108: 208 times its
    baseline), each is in line with its peers: no peer event, while the tail test (own
    baseline only) fires for each of them (a ticket at 100, a page from 102, when the second
    minute's loss shows)."""
    data = traffic(ENVS, every=2)
    assert peers.detect(data) == []
    tail = DedupTailTest().fit(history).detect(data)
    assert sorted((e.environment, e.severity) for e in tail) == sorted(
        (env, severity) for env in ENVS for severity in ("page", "ticket"))


def test_peer_factor_is_a_median_floored_at_one():
    """The factor is the median observed/expected over eligible peers, never below 1."""
    observed = np.array([[5.0], [0.0], [2.0], [1.0]])
    window = Windowed(observed, np.array([[10.0], [10.0], [10.0], [2.0]]),
                      np.full((4, 1), 0.5), np.ones((4, 1)))
    assert peer_factor(window, min_jobs=5, min_peers=3).tolist() == [4.0]
    assert np.isnan(peer_factor(window, min_jobs=5, min_peers=4)).tolist() == [True]
    quiet = Windowed(np.zeros((3, 1)), np.full((3, 1), 10.0), np.full((3, 1), 0.5),
                     np.ones((3, 1)))
    assert peer_factor(quiet, 5, 3).tolist() == [1.0]
