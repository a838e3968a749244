"""Running the instrumented engine: a recorded scenario into the store, or a live run.

A recorded run writes OTLP JSON lines files and loads them into the store (one process,
minutes at most). A live run never holds the store: it writes OTLP JSON lines into a spool
directory, rotated and published by rename, which ``toolkit load --spool`` (or
``toolkit alert``) folds into the store between its own short transactions.
"""

from __future__ import annotations

import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.app.progress import bar, load_progress
from toolkit.errors import BadInput
from toolkit.telemetry import Telemetry
from toolkit.workload.scenarios import RunResult, run_scenario

if TYPE_CHECKING:
    from toolkit.store import Store


@contextmanager
def _simulation_progress(name: str, days: int | None) -> Iterator[Callable[[float], None] | None]:
    """A bar over the simulated hours of scenario ``name`` (on a terminal only)."""
    from toolkit.workload import get_scenario

    scenario = get_scenario(name)
    seconds = days * 86400.0 if days is not None else scenario.seconds
    with bar(round(seconds / 3600), f"{name}: simulating", unit="h") as shown:
        if shown is None:
            yield None
            return

        def show(now: float) -> None:
            shown.update(round(min(seconds, now - scenario.start_ts) / 3600) - shown.n)

        yield show


def record_scenario(
    name: str,
    *,
    db: str | Path,
    seed: int = 7,
    days: int | None = None,
    otlp_dir: str | Path | None = None,
    compress: bool = False,
    tenants: Sequence[str] | None = None,
    progress: bool = False,
) -> RunResult:
    """Simulate a scenario with full telemetry into the store at ``db`` (and, with
    ``otlp_dir``, as OTLP JSON lines files), then bring the rollup up to date. ``progress``
    shows bars for the simulation and the load when stderr is a terminal."""
    from toolkit.store import Store

    with Store.open(db) as store:
        return record_into(store, name, seed=seed, days=days, otlp_dir=otlp_dir,
                           compress=compress, tenants=tenants, progress=progress)


def record_into(
    store: Store,
    name: str,
    *,
    seed: int = 7,
    days: int | None = None,
    otlp_dir: str | Path | None = None,
    compress: bool = False,
    tenants: Sequence[str] | None = None,
    progress: bool = False,
) -> RunResult:
    """:func:`record_scenario` into an open, writable store.

    Telemetry goes through the Collector-shaped JSON lines exporters into ``otlp_dir`` (or a
    temporary directory), and the store loads those files afterwards, so a replay reaches
    the store the way a production Collector's output does.
    """
    from toolkit.workload.topology import Topology

    topology = Topology()
    if tenants:
        try:
            topology = Topology(tuple(topology.tenant(t) for t in tenants))
        except KeyError as missing:
            raise BadInput(f"unknown tenant {missing}") from None
    with tempfile.TemporaryDirectory(prefix="toolkit-otlp-") as scratch:
        directory = Path(otlp_dir) if otlp_dir else Path(scratch)
        with (Telemetry.to_directory(directory, compress=compress, id_seed=seed) as telemetry,
              _simulation_progress(name, days) if progress else nullcontext() as show):
            result = run_scenario(name, seed=seed, days=days, observer=telemetry.observer,
                                  progress=show, topology=topology)
        names = ("traces.jsonl", "logs.jsonl")
        files = [directory / (n + ".gz" if compress else n) for n in names]
        with load_progress(files, f"{name}: loading") if progress else nullcontext():
            loaded = store.load(*files)
    if loaded.rejected:
        raise BadInput(f"the store rejected {loaded.rejected} records of the run: "
                       f"{loaded.rejections[0] if loaded.rejections else ''}")
    return result


def run_live(
    *,
    spool: str | Path,
    speed: float = 1.0,
    seed: int = 7,
    scenario: str = "baseline",
    rotate_seconds: float = 10.0,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """Run the instrumented engine on real time until SIGINT/SIGTERM (or ``stop``), writing
    telemetry into ``spool`` (:meth:`Telemetry.to_spool`); on the way out, flush what is
    buffered and publish the files. Imports neither DuckDB nor pandas: the store is the
    loader's business.

    The engine's clock starts at the wall clock now; ``speed`` compresses time.
    """
    import random

    from toolkit.engine import Engine, FaultSchedule, SimulatedProcessor
    from toolkit.engine.live import LiveClock, LiveRunner
    from toolkit.workload import Topology, Traffic, get_scenario

    stop = stop or threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    plan = get_scenario(scenario)
    topology = Topology()
    clock = LiveClock(speed=speed)
    # Small batches exported every second: a kill loses at most the last unpublished file.
    telemetry = Telemetry.to_spool(spool, rotate_seconds=rotate_seconds, flush_every=256)
    engine = Engine(topology.environments(), topology.schemas(), observer=telemetry.observer,
                    processor=SimulatedProcessor(random.Random(seed),
                                                 mean_seconds=plan.mean_seconds,
                                                 failure_rate=plan.failure_rate))
    far = clock.start + 365 * 86400.0
    traffic = Traffic(topology, seed=seed, start=clock.start, end=far)
    runner = LiveRunner(engine, traffic, workers=plan.workers, clock=clock,
                        faults=FaultSchedule(), on_error=lambda _: stop.set())
    runner.start()
    # Batches are exported every second, and each write publishes the spool file once it is
    # rotate_seconds old, so the store lags the engine by about that much. A signal or a dead
    # runner thread (on_error) sets ``stop``; waiting in slices keeps signals handled promptly.
    while not stop.wait(0.5):
        continue
    runner.stop()
    telemetry.shutdown(clock.now())
    if runner.errors:
        raise runner.errors[0]
    return {"attempts": runner.processed_attempts}
