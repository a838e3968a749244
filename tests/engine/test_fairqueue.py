"""The deficit round robin queue: exact order, weights, and its fairness bounds."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.engine import DeficitRoundRobinQueue, Environment, EnvironmentRules, Job, JobKey
from toolkit.engine.model import Trigger
from toolkit.errors import BadInput


def job(job_id: int, env: str) -> Job:
    return Job(job_id, JobKey("t", env, "cms", f"e{job_id}", "page"), 1, 0.0, Trigger.INGEST)


def test_round_robin_order_follows_weights_exactly():
    """With weights a=2, b=1 the dequeue order is a a b a a b ..."""
    q = DeficitRoundRobinQueue({"a": 2, "b": 1})
    for i in range(6):
        q.push(job(i, "a"))
    for i in range(6, 9):
        q.push(job(i, "b"))
    order = [q.pop().key.environment for _ in range(9)]
    assert order == ["a", "a", "b", "a", "a", "b", "a", "a", "b"]
    assert q.pop() is None and len(q) == 0


def test_fifo_within_an_environment_and_depths():
    """Jobs of one environment leave in arrival order; depths count per environment."""
    q = DeficitRoundRobinQueue({"a": 1, "b": 1})
    for i in range(3):
        q.push(job(i, "a"))
    q.push(job(9, "b"))
    assert q.depths() == {"a": 3, "b": 1} and q.depth("c") == 0
    assert [q.pop().id for _ in range(4)] == [0, 9, 1, 2]


def test_an_environment_that_empties_forfeits_its_deficit():
    """An environment rejoining after emptying starts a fresh turn at the back."""
    q = DeficitRoundRobinQueue({"a": 3, "b": 1})
    q.push(job(1, "a"))
    q.push(job(2, "b"))
    assert q.pop().id == 1  # a empties with 2 unused deficit
    q.push(job(3, "a"))
    assert [q.pop().id, q.pop().id] == [2, 3]


def test_environment_rules_weight_by_tenant_class_and_kind():
    """Weight = class weight x kind weight; an unknown class is a clear error."""
    rules = EnvironmentRules()
    assert rules.weight(Environment("x-prod", "x", "PROD", "enterprise")) == 6
    assert rules.weight(Environment("x-dev", "x", "DEV", "free")) == 1
    with pytest.raises(BadInput, match="x-dev"):
        rules.weight(Environment("x-dev", "x", "DEV", "platinum"))


def test_zero_weight_is_rejected():
    """A weight below one would starve its environment: rejected at first push."""
    q = DeficitRoundRobinQueue({"a": 0})
    with pytest.raises(BadInput, match="'a'"):
        q.push(job(1, "a"))


weights = st.lists(st.integers(1, 5), min_size=2, max_size=5)


@settings(max_examples=200, deadline=None)
@given(weights=weights, backlog=st.lists(st.integers(0, 40), min_size=5, max_size=5))
def test_share_bound_while_backlogged(weights, backlog):
    """While environments i and j both stay backlogged, |served_i/w_i - served_j/w_j| <= 2."""
    envs = [f"e{i}" for i in range(len(weights))]
    q = DeficitRoundRobinQueue(dict(zip(envs, weights, strict=True)))
    n = 0
    for env, count in zip(envs, backlog, strict=False):
        for _ in range(count):
            n += 1
            q.push(job(n, env))
    served = dict.fromkeys(envs, 0)
    while len(q):
        backlogged = [e for e in envs if q.depth(e)]
        served[q.pop().key.environment] += 1
        still = [e for e in backlogged if q.depth(e)]
        for i in still:
            for j in still:
                w_i, w_j = weights[envs.index(i)], weights[envs.index(j)]
                assert abs(served[i] / w_i - served[j] / w_j) <= 2


@settings(max_examples=200, deadline=None)
@given(
    weights=weights,
    script=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)), min_size=1, max_size=80),
)
def test_waiting_bound_with_interleaved_pushes(weights, script):
    """A job at position p of environment i leaves within ceil((p+1)/w_i) * W dequeues."""
    envs = [f"e{i}" for i in range(len(weights))]
    weight = dict(zip(envs, weights, strict=True))
    total = sum(weights)
    q = DeficitRoundRobinQueue(weight)
    deadline: dict[int, int] = {}
    pops = 0
    for n, (env_index, pop_count) in enumerate(script, start=1):
        env = envs[env_index % len(envs)]
        position = q.depth(env)
        q.push(job(n, env))
        deadline[n] = pops + math.ceil((position + 1) / weight[env]) * total
        for _ in range(pop_count):
            got = q.pop()
            if got is None:
                break
            pops += 1
            assert pops <= deadline.pop(got.id)
    while (got := q.pop()) is not None:
        pops += 1
        assert pops <= deadline.pop(got.id)
    assert not deadline
