"""Real-time clock: worker threads process jobs while arrivals come in, until stopped.

The engine is not thread-safe, so every call into it happens under one lock; workers sleep
outside the lock for the length of an attempt. ``speed`` compresses time (2.0 runs twice as
fast as real time) while timestamps stay consistent, since everything reads one clock.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable

from toolkit.engine.core import Engine
from toolkit.engine.faults import FaultSchedule
from toolkit.engine.model import Job
from toolkit.engine.simulator import INGEST, Arrival
from toolkit.errors import BadInput


class LiveClock:
    """Epoch seconds that advance ``speed`` times faster than the wall clock from ``start``."""

    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise BadInput(f"--speed must be > 0, got {speed}")
        self.start = time.time() if start is None else start
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self.start + (time.monotonic() - self._t0) * self.speed

    def sleep_until(self, t: float, stop: threading.Event) -> bool:
        """Sleep until clock time ``t``; False if ``stop`` was set first."""
        delay = (t - self.now()) / self.speed
        return not stop.wait(delay) if delay > 0 else not stop.is_set()


class LiveRunner:
    """Runs an engine on real time with ``workers`` threads until :meth:`stop`."""

    def __init__(
        self,
        engine: Engine,
        arrivals: Iterable[Arrival],
        *,
        workers: int,
        clock: LiveClock,
        faults: FaultSchedule | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        if workers < 1:
            raise BadInput(f"workers must be >= 1, got {workers}")
        self.engine = engine
        self.clock = clock
        self._arrivals = arrivals
        self._workers = workers
        self._faults = faults or FaultSchedule()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._retries: list[tuple[float, int, Job]] = []
        self._seq = 0
        self._on_error = on_error
        self.errors: list[BaseException] = []
        self.processed_attempts = 0

    def start(self) -> None:
        names = ["feeder", "timers", *(f"worker-{i}" for i in range(self._workers))]
        targets = [self._feed, self._timers] + [self._work_loop] * self._workers
        for name, target in zip(names, targets, strict=True):
            thread = threading.Thread(target=self._guard(target), name=f"live-{name}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop arrivals and workers; attempts in flight are abandoned, not reported."""
        self._stop.set()
        with self._work:
            self._work.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # a dead thread must not be silent
                self.errors.append(exc)
                if self._on_error is not None:
                    self._on_error(exc)
                self._stop.set()
                with self._work:
                    self._work.notify_all()

        return run

    def _feed(self) -> None:
        switches = list(self._faults.switches())
        clock, engine = self.clock, self.engine
        for arrival in self._arrivals:
            while switches and switches[0][0] <= arrival.time:
                t, on, window = switches.pop(0)
                if not clock.sleep_until(t, self._stop):
                    return
                with self._work:
                    engine.switch_fault(clock.now(), window, on)
            if not clock.sleep_until(arrival.time, self._stop):
                return
            with self._work:
                now = clock.now()
                if arrival.kind == INGEST:
                    engine.ingest(now, arrival.environment, arrival.source, arrival.payload,
                                  arrival.content_hash)
                else:
                    engine.deploy_schema(now, arrival.environment, arrival.source,
                                         arrival.payload)
                self._work.notify_all()

    def _timers(self) -> None:
        while not self._stop.is_set():
            with self._work:
                now = self.clock.now()
                while self._retries and self._retries[0][0] <= now:
                    _, _, job = heapq.heappop(self._retries)
                    self.engine.requeue(now, job)
                    self._work.notify_all()
            self._stop.wait(0.05)

    def _work_loop(self) -> None:
        engine, clock = self.engine, self.clock
        while True:
            with self._work:
                job = None
                while not self._stop.is_set():
                    job = engine.take(clock.now())
                    if job is not None:
                        break
                    self._work.wait(0.5)
                if job is None:
                    return
                attempt = engine.attempt(job)
            if self._stop.wait(attempt.duration / clock.speed):
                return
            with self._work:
                now = clock.now()
                delay = engine.finish(now, job, attempt)
                self.processed_attempts += 1
                if delay is not None:
                    self._seq += 1
                    heapq.heappush(self._retries, (now + delay, self._seq, job))
