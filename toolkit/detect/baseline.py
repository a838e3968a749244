"""What an environment's dedup ratio normally is, and under which conditions.

Legitimate coalescing needs a *pending* job with the same key in the same environment, so it
is rare while jobs do not wait and common while they do: during the environment's own surges
(bulk re-ingests, schema deployments), while other environments' queues congest the shared
workers, and while the whole fleet offers work near the workers' capacity (jobs then wait
inside a minute even when every queue is empty at its ends). A baseline therefore keeps one
ratio per environment *per condition class*, and every detector compares a window against the
ratios of the classes its minutes fell into.

Conditions of a minute (:class:`Conditions`):

* surge: the environment's own queue held more than ``surge_backlog`` jobs, or did within the
  last ``surge_hold`` minutes. Coalescing is heavy and erratic; these minutes are left out of
  fitting (and out of the tests that look for loss).
* load level: the fleet's jobs offered in the minute, cut at quantiles of the history's.
* busy / idle: the environment's own queue was non-empty at either end of the minute, or the
  other environments together held more than ``congestion_backlog`` jobs.
* overlap / solo: another environment had work in the same minute (``overlap="tenant"``: an
  environment of the same tenant, which shares entity ids; ``"fleet"``: any environment, from
  the ``active_envs`` column).

Ratios are shrunk towards the fleet (``prior_jobs`` pseudo-jobs; a class's prior is the
environment's overall ratio times the fleet's class effect), so an environment with little
history in a class is judged by what the fleet does there, and no ratio goes below
``min_rate``. Deduplications come in clumps, so each class also has a dispersion factor
``phi`` (variance over binomial variance, estimated from 10-minute buckets) that the tests
divide their counts by.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from toolkit.detect._grid import RollupGrid
from toolkit.detect._stats import window_sum
from toolkit.errors import BadInput

MODELS = ("overall", "pressure", "concurrency")
"""Baseline models: ``overall`` keeps one ratio per environment; ``pressure`` one per pressure
class (fleet load level x own queue idle/busy); ``concurrency`` one per pressure class, solo
and overlapping apart (class = overlap * pressure classes + pressure class)."""

OVERLAP_MODES = ("tenant", "fleet")


@dataclass(frozen=True)
class Conditions:
    """How a minute is classed (see the module docstring).

    Attributes:
        surge_backlog: own queue above this many jobs makes a surge minute, and so do the
            ``surge_hold`` minutes after one (the queue drains, but what is pending is the
            surge's work, and editors' jobs fold into it).
        surge_hold: minutes a surge lasts after the queue falls back under ``surge_backlog``.
        congestion_backlog: other environments' queues above this many jobs make a busy minute.
        overlap: ``"tenant"`` (siblings of the same tenant) or ``"fleet"`` (``active_envs``).
        load_quantiles: quantiles of the history's fleet load (jobs offered per minute, over
            minutes with any) that cut load levels; used when ``load_edges`` is None.
        load_edges: fleet-load thresholds between levels, jobs per minute (fitted when None).
    """

    surge_backlog: int = 100
    congestion_backlog: int = 10
    overlap: str = "tenant"
    surge_hold: int = 10
    load_quantiles: tuple[float, ...] = (0.5, 0.9, 0.98)
    load_edges: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if min(self.surge_backlog, self.congestion_backlog, self.surge_hold) < 0:
            raise BadInput("surge_backlog, congestion_backlog and surge_hold must be >= 0")
        if self.overlap not in OVERLAP_MODES:
            raise BadInput(f"overlap must be one of {', '.join(OVERLAP_MODES)}, "
                           f"got {self.overlap!r}")
        if any(not 0 < q < 1 for q in self.load_quantiles):
            raise BadInput(f"load_quantiles must lie in (0, 1), got {self.load_quantiles}")

    def fitted(self, grid: RollupGrid) -> Conditions:
        """These conditions with load edges taken from ``grid`` (a history) if not given."""
        if self.load_edges is not None:
            return self
        load = grid["offered"].sum(axis=0)
        load = load[load > 0]
        edges = np.quantile(load, sorted(self.load_quantiles)) if load.size else []
        return replace(self, load_edges=tuple(float(e) for e in edges))

    @property
    def pressure_classes(self) -> int:
        return 2 * (len(self.load_edges or ()) + 1)

    def classes_of(self, model: str) -> int:
        if model not in MODELS:
            raise BadInput(f"unknown baseline model {model!r} (known: {', '.join(MODELS)})")
        return {"overall": 1, "pressure": self.pressure_classes,
                "concurrency": 2 * self.pressure_classes}[model]

    def surge(self, grid: RollupGrid) -> np.ndarray:
        key = ("surge", self.surge_backlog, self.surge_hold)
        if key not in grid.cache:
            over = grid.queue > self.surge_backlog
            if self.surge_hold:
                over = window_sum(over, self.surge_hold + 1) > 0
            over.flags.writeable = False
            grid.cache[key] = over
        return grid.cache[key]

    def busy(self, grid: RollupGrid) -> np.ndarray:
        """Jobs waited: own queue non-empty, or the others' queues congested."""
        return (grid.queue > 0) | (grid.others_queue > self.congestion_backlog)

    def load_level(self, grid: RollupGrid) -> np.ndarray:
        """Fleet load level of every minute, ``(minutes,)``: how near capacity the workers ran,
        which is when jobs wait inside a minute even with every queue empty at its ends."""
        edges = np.asarray(self.load_edges or (), dtype=np.float64)
        return np.searchsorted(edges, grid.fleet_load, side="right")

    def overlapping(self, grid: RollupGrid) -> np.ndarray:
        return grid.siblings_active if self.overlap == "tenant" else grid.others_active

    def classes(self, grid: RollupGrid, model: str) -> np.ndarray:
        """Class of every minute under ``model``; ``-1`` marks surge minutes (read-only array,
        computed once per grid and shared by every detector using the same conditions)."""
        self.classes_of(model)
        key = ("classes", self, model)
        if key in grid.cache:
            return grid.cache[key]
        if model == "overall":
            cls = np.zeros(grid.shape, dtype=np.int16)
        else:
            cls = (2 * self.load_level(grid)[None, :] + self.busy(grid)).astype(np.int16)
            if model == "concurrency":
                cls += self.pressure_classes * self.overlapping(grid)
        cls[self.surge(grid)] = -1
        cls.flags.writeable = False
        grid.cache[key] = cls
        return cls


@dataclass(frozen=True, eq=False)
class Baseline:
    """Fitted dedup ratios and dispersion factors per environment and class.

    Attributes:
        model: ``overall``, ``pressure`` or ``concurrency``.
        conditions: how minutes were classed.
        environments: the environments seen in the history.
        rates: shrunk dedup ratio, ``(environments, classes)``.
        phi: dispersion factor (variance over binomial variance, >= 1), same shape.
        jobs: jobs offered in the history, same shape.
        deduplicated: jobs deduplicated in the history, same shape.
        fleet_rates: the fleet's pooled ratio per class (for unseen environments).
        fleet_phi: the fleet's pooled dispersion per class.
        fleet_rate: the fleet's ratio over all non-surge minutes.
        env_rates: each environment's ratio over all its non-surge minutes (shrunk).
    """

    model: str
    conditions: Conditions
    environments: tuple[str, ...]
    rates: np.ndarray
    phi: np.ndarray
    jobs: np.ndarray
    deduplicated: np.ndarray
    fleet_rates: np.ndarray
    fleet_phi: np.ndarray
    fleet_rate: float
    env_rates: np.ndarray

    @classmethod
    def fit(
        cls,
        grid: RollupGrid,
        *,
        model: str = "overall",
        conditions: Conditions | None = None,
        prior_jobs: float = 500.0,
        prior_variance: float = 5.0,
        dispersion_window: int = 10,
        min_rate: float = 1e-4,
        max_phi: float = 50.0,
    ) -> Baseline:
        """Fit ratios and dispersion factors from a history grid.

        Args:
            grid: the history (fault-free, or mostly so: ratios are pooled, so a short
                anomaly inside weeks of history moves them little).
            model: which classes to keep apart.
            conditions: how minutes are classed.
            prior_jobs: strength of the shrinkage of ratios towards the fleet, in jobs.
            prior_variance: strength of the shrinkage of ``phi`` towards the fleet, in units
                of binomial variance (about: expected deduplications).
            dispersion_window: bucket width (minutes) for estimating ``phi``. Clumps are
                short, so ``phi`` hardly depends on it.
            min_rate: floor of every ratio: a dedup never counts as infinitely surprising.
            max_phi: ceiling of ``phi``.
        """
        conditions = (conditions or Conditions()).fitted(grid)
        n_cls = conditions.classes_of(model)
        klass = conditions.classes(grid, model)
        offered = grid["offered"].astype(np.float64)
        dedup = grid["deduplicated"].astype(np.float64)
        n_env, n_min = klass.shape
        usable = klass >= 0
        # One flat key per (environment, class): sums by bincount, no loop over classes.
        key = (np.arange(n_env)[:, None] * n_cls + np.maximum(klass, 0))[usable]
        size = n_env * n_cls
        jobs = np.bincount(key, offered[usable], size).reshape(n_env, n_cls)
        hits = np.bincount(key, dedup[usable], size).reshape(n_env, n_cls)
        total_jobs, total_hits = jobs.sum(), hits.sum()
        fleet_rate = max(min_rate, total_hits / total_jobs) if total_jobs else min_rate
        class_jobs, class_hits = jobs.sum(axis=0), hits.sum(axis=0)
        fleet_rates = np.where(class_jobs > 0, class_hits / np.maximum(class_jobs, 1), fleet_rate)
        fleet_rates = np.maximum(fleet_rates, min_rate)
        env_rates = (hits.sum(axis=1) + prior_jobs * fleet_rate) / (jobs.sum(axis=1) + prior_jobs)
        prior = env_rates[:, None] * (fleet_rates / fleet_rate)[None, :]
        rates = np.clip((hits + prior_jobs * prior) / (jobs + prior_jobs), min_rate, 0.5)

        # Dispersion: squared deviations of (environment, class, bucket) counts over their
        # binomial variance, pooled over buckets.
        rate = np.take_along_axis(rates, np.maximum(klass, 0).astype(np.intp), axis=1)
        expected = offered * rate
        n_buckets = -(-n_min // dispersion_window)
        bucket = np.arange(n_min) // dispersion_window
        bkey = ((np.arange(n_env)[:, None] * n_cls + np.maximum(klass, 0)) * n_buckets
                + bucket[None, :])[usable]
        bsize = size * n_buckets
        d_b = np.bincount(bkey, dedup[usable], bsize)
        e_b = np.bincount(bkey, expected[usable], bsize)
        v_b = np.bincount(bkey, (expected * (1.0 - rate))[usable], bsize)
        squares = ((d_b - e_b) ** 2).reshape(size, n_buckets).sum(axis=1).reshape(n_env, n_cls)
        variances = v_b.reshape(size, n_buckets).sum(axis=1).reshape(n_env, n_cls)
        class_var = variances.sum(axis=0)
        fleet_phi = np.where(class_var > 0, squares.sum(axis=0) / np.maximum(class_var, 1e-12),
                             1.0)
        fleet_phi = np.clip(fleet_phi, 1.0, max_phi)
        phi = (squares + prior_variance * fleet_phi) / (variances + prior_variance)
        phi = np.clip(phi, 1.0, max_phi)
        return cls(
            model=model, conditions=conditions, environments=grid.environments, rates=rates,
            phi=phi, jobs=jobs, deduplicated=hits, fleet_rates=fleet_rates,
            fleet_phi=fleet_phi, fleet_rate=fleet_rate, env_rates=np.maximum(env_rates, min_rate),
        )

    # -- applying the baseline to another grid ------------------------------------------------
    def _rows(self, grid: RollupGrid) -> np.ndarray:
        """Row of each grid environment in the baseline, ``-1`` where unseen."""
        where = {env: i for i, env in enumerate(self.environments)}
        return np.array([where.get(env, -1) for env in grid.environments], dtype=np.int64)

    def _per_env(self, grid: RollupGrid, table: np.ndarray, fleet: np.ndarray) -> np.ndarray:
        rows = self._rows(grid)
        out = np.repeat(fleet[None, :], len(rows), axis=0)
        known = rows >= 0
        out[known] = table[rows[known]]
        return out

    def rates_for(self, grid: RollupGrid) -> np.ndarray:
        """Ratios ``(grid environments, classes)``; unseen environments get the fleet's."""
        return self._per_env(grid, self.rates, self.fleet_rates)

    def phi_for(self, grid: RollupGrid) -> np.ndarray:
        """Dispersion ``(grid environments, classes)``; unseen environments get the fleet's."""
        return self._per_env(grid, self.phi, self.fleet_phi)

    def env_rates_for(self, grid: RollupGrid) -> np.ndarray:
        """Each grid environment's overall ratio (the fleet's where unseen)."""
        rows = self._rows(grid)
        return np.where(rows >= 0, self.env_rates[np.maximum(rows, 0)], self.fleet_rate)

    def minute_terms(
        self, grid: RollupGrid, klass: np.ndarray | None = None, rows: list[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected dedup ratio and dispersion of every minute (of ``rows`` only, when given),
        from its class.

        Surge minutes (class ``-1``) get class 0's values; callers that leave surges out mask
        their counts instead.
        """
        if klass is None:
            klass = self.conditions.classes(grid, self.model)
        pick = slice(None) if rows is None else rows
        index = np.maximum(klass[pick], 0).astype(np.intp)
        rate = np.take_along_axis(self.rates_for(grid)[pick], index, axis=1)
        phi = np.take_along_axis(self.phi_for(grid)[pick], index, axis=1)
        return rate, phi
