"""Webhook delivery: a hard deadline per request, jittered retries that honour Retry-After.

Each request runs on a daemon thread that the caller waits for at most ``timeout`` seconds:
the deadline covers connecting, sending and reading the *whole* response, so a server that
trickles one byte a second cannot keep a cron run going (urllib3's own read timeout is per
socket read). Transient failures (connection errors, deadline, 408, 429, 5xx) are retried with
full-jitter exponential back-off (tenacity), or after the server's ``Retry-After`` when it gives
one; a retry that could not finish within the destination's ``budget`` is not started. What is
not delivered stays in the outbox for the next run.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit.alert.payloads import FORMATS, merge_alertmanager

if TYPE_CHECKING:
    from tenacity import RetryCallState

# urllib3 and tenacity are imported where a request is made: a cron run with nothing to
# deliver should not pay for them.

__all__ = ["Delivery", "Webhook", "deliver", "post"]

_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Webhook:
    """One destination. ``timeout``: seconds for one request, connect to last byte;
    ``retries``: further attempts after a transient failure; ``backoff``: the first retry waits
    up to this long (full jitter, doubling each time); ``budget``: seconds for everything this
    destination gets in one run (default: every attempt at its full deadline, plus 5 s)."""

    url: str
    format: str = "generic"
    timeout: float = 10.0
    retries: int = 2
    backoff: float = 0.5
    budget: float | None = None

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must start with http:// or https://: {self.url!r}")
        if self.format not in FORMATS:
            raise ValueError(
                f"unknown webhook format {self.format!r} (known: {', '.join(FORMATS)})")

    @property
    def destination(self) -> str:
        return f"{self.format}:{self.url}"

    @property
    def total_budget(self) -> float:
        return self.budget if self.budget is not None else (
            self.timeout * (self.retries + 1) + 5.0)


class _Transient(Exception):
    def __init__(self, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error, self.retry_after = error, retry_after


def _attempt(url: str, data: bytes, timeout: float) -> tuple[int | None, str | None, str | None]:
    """One POST bounded by ``timeout`` from start to last byte: ``(status, Retry-After,
    error)``. A request still running at the deadline is abandoned on its daemon thread (its
    socket reads time out on their own)."""
    import urllib3

    box: dict[str, Any] = {}
    deadline = f"no complete response within {timeout:g} s"

    def run() -> None:
        pool = urllib3.PoolManager(num_pools=1, retries=False)
        try:
            response = pool.request(
                "POST", url, body=data, redirect=False,
                headers={"Content-Type": "application/json", "User-Agent": "toolkit-alert"},
                timeout=urllib3.Timeout(connect=timeout, read=timeout))
            box["status"], box["retry_after"] = response.status, response.headers.get(
                "Retry-After")
        except urllib3.exceptions.TimeoutError:
            # the socket's own timeout can fire a moment before the join below gives up:
            # the same deadline, so the same reason, whichever notices first
            box["error"] = deadline
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            box["error"] = " ".join(str(exc).split()) or type(exc).__name__
        finally:
            pool.clear()

    worker = threading.Thread(target=run, name="toolkit-webhook", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return None, None, deadline
    return box.get("status"), box.get("retry_after"), box.get("error")


def _retry_after(value: str | None) -> float | None:
    from urllib3.exceptions import InvalidHeader
    from urllib3.util import Retry

    if value is None:
        return None
    try:
        return float(Retry().parse_retry_after(value))
    except InvalidHeader:
        return None


def post(hook: Webhook, body: Any, *, budget: float | None = None,
         sleep: Callable[[float], None] = time.sleep) -> str | None:
    """POST ``body`` as JSON: ``None`` once a 2xx is received, else the last error."""
    from tenacity import (
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        stop_before_delay,
        wait_random_exponential,
    )

    data = json.dumps(body, sort_keys=True).encode()
    budget = hook.total_budget if budget is None else budget

    def once() -> str | None:
        status, retry_after, error = _attempt(hook.url, data, hook.timeout)
        if error is not None:
            raise _Transient(error)
        assert status is not None
        if 200 <= status < 300:
            return None
        if status in _TRANSIENT_STATUS:
            raise _Transient(f"HTTP {status}", _retry_after(retry_after))
        return f"HTTP {status}"  # the receiver refuses this body: retrying will not help

    jitter = wait_random_exponential(multiplier=hook.backoff, max=60)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return exc.retry_after
        return jitter(state)

    retrying = Retrying(
        stop=stop_after_attempt(hook.retries + 1)
        | stop_before_delay(max(budget - hook.timeout, 0.0)),
        wait=wait, retry=retry_if_exception_type(_Transient), reraise=True, sleep=sleep)
    try:
        return retrying(once)
    except _Transient as exc:
        return exc.error


@dataclass
class Delivery:
    """What one run delivered: outbox ids delivered, ids that failed (with why), and one
    error line per destination that failed."""

    delivered: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _deliver_one(hook: Webhook, items: list[tuple[int, Any]], out: Delivery) -> None:
    started = time.monotonic()
    if hook.format == "alertmanager":
        # Alertmanager keeps state: one array with the latest of every alert is the whole truth.
        batches = [([i for i, _ in items], merge_alertmanager([p for _, p in items]))]
    else:
        batches = [([i], p) for i, p in items]
    for position, (ids, body) in enumerate(batches):
        left = hook.total_budget - (time.monotonic() - started)
        error = "no time left in this run" if left < hook.timeout else (
            None if body == [] else post(hook, body, budget=left))
        if error is None:
            out.delivered += ids
            continue
        out.failed.update(dict.fromkeys(ids, error))
        kept = sum(len(i) for i, _ in batches[position:])
        out.errors[hook.url] = f"{error} ({kept} payloads kept for the next run)"
        return


def deliver(hooks: list[Webhook], pending: dict[str, list[tuple[int, Any]]]) -> Delivery:
    """Deliver each destination's pending payloads, destinations in parallel, oldest first
    within one; stop a destination at its first failure so its payloads stay in order."""
    out = Delivery()
    results: dict[str, Delivery] = {}
    workers = []
    for hook in hooks:
        items = pending.get(hook.destination) or []
        if not items:
            continue
        results[hook.destination] = Delivery()
        worker = threading.Thread(target=_deliver_one,
                                  args=(hook, items, results[hook.destination]),
                                  name="toolkit-deliver", daemon=True)
        worker.start()
        workers.append((hook, items, worker))
    for hook, items, worker in workers:
        worker.join(hook.total_budget + hook.timeout)
        part = results[hook.destination]
        if worker.is_alive():  # cannot happen unless the clock misbehaves; never hang cron
            part = Delivery(failed=dict.fromkeys([i for i, _ in items], "delivery timed out"),
                            errors={hook.url: "delivery timed out"})
        out.delivered += part.delivered
        out.failed.update(part.failed)
        out.errors.update(part.errors)
    return out
