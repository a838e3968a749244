"""Discrete-event simulation clock: days of multi-environment traffic in seconds.

Deterministic for a given engine seed and arrival stream: events at equal times are ordered
by a sequence number, never by object identity.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import NamedTuple

from toolkit.engine.core import Engine
from toolkit.engine.faults import FaultSchedule
from toolkit.errors import BadInput

INGEST = 0
DEPLOY = 1


class Arrival(NamedTuple):
    """Something that reaches the platform from outside.

    ``kind`` INGEST: ``payload`` is the entity id and ``content_hash`` its content.
    ``kind`` DEPLOY: ``payload`` is the schema deployed; ``content_hash`` is unused.
    """

    time: float
    kind: int
    environment: str
    source: str
    payload: str
    content_hash: int = 0


_COMPLETE = 0
_RETRY = 1
_FAULT = 2


class Simulator:
    """Drives an :class:`Engine` with a pool of ``workers`` on simulated time.

    Arrivals must come in non-decreasing time order. After the last arrival (or at ``end``)
    no new work arrives, and with ``drain`` the backlog is processed to the end so that
    whatever is stale afterwards was lost, not merely late.
    """

    def __init__(
        self,
        engine: Engine,
        arrivals: Iterable[Arrival],
        *,
        workers: int,
        faults: FaultSchedule | None = None,
        end: float | None = None,
        drain: bool = True,
    ) -> None:
        if workers < 1:
            raise BadInput(f"workers must be >= 1, got {workers}")
        self.engine = engine
        self._arrivals = iter(arrivals)
        self._workers = workers
        self._faults = faults or FaultSchedule()
        self._end = end
        self._drain = drain
        self.now = 0.0
        self.arrivals_seen = 0

    def run(self, progress: Callable[[float], None] | None = None) -> float:
        """Run to completion; returns the simulated time of the last event.

        ``progress`` is called with the simulated time about once per simulated hour.
        """
        engine = self.engine
        take, attempt, finish, requeue = engine.take, engine.attempt, engine.finish, engine.requeue
        ingest, deploy = engine.ingest, engine.deploy_schema
        heap: list[tuple] = []
        push, pop = heapq.heappush, heapq.heappop
        seq = 0
        for t, on, window in self._faults.switches():
            seq += 1
            push(heap, (t, seq, _FAULT, window, on))
        idle = self._workers
        end = self._end if self._end is not None else float("inf")
        inf = float("inf")
        arrivals = self._arrivals
        nxt = next(arrivals, None)
        next_progress = 0.0
        now = 0.0
        seen = 0
        while True:
            t_arr = nxt[0] if nxt is not None and nxt[0] < end else inf
            t_evt = heap[0][0] if heap else inf
            if t_arr <= t_evt:
                if t_arr == inf:
                    break
                if t_arr < now:
                    raise BadInput(f"arrivals out of order: {t_arr} after {now}")
                now = t_arr
                seen += 1
                if nxt[1] == INGEST:
                    ingest(now, nxt[2], nxt[3], nxt[4], nxt[5])
                else:
                    deploy(now, nxt[2], nxt[3], nxt[4])
                nxt = next(arrivals, None)
            else:
                now, _, kind, a, b = pop(heap)
                if kind == _COMPLETE:
                    idle += 1
                    delay = finish(now, a, b)
                    if delay is not None:
                        seq += 1
                        push(heap, (now + delay, seq, _RETRY, a, None))
                elif kind == _RETRY:
                    requeue(now, a)
                else:
                    engine.switch_fault(now, a, b)
                if not self._drain and t_arr == inf and now >= end:
                    break
            while idle:
                job = take(now)
                if job is None:
                    break
                idle -= 1
                att = attempt(job)
                seq += 1
                push(heap, (now + att.duration, seq, _COMPLETE, job, att))
            if progress is not None and now >= next_progress:
                progress(now)
                next_progress = now + 3600.0
        self.now = now
        self.arrivals_seen = seen
        return now
