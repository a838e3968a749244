"""Webhook delivery with a timeout and retries; what fails stays in the outbox."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from toolkit.alert.payloads import BODY


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    format: str = "generic"
    timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.5

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must start with http:// or https://: {self.url!r}")
        if self.format not in BODY:
            raise ValueError(f"unknown webhook format {self.format!r} (known: {', '.join(BODY)})")

    @property
    def destination(self) -> str:
        return f"{self.format}:{self.url}"


def post(
    hook: Webhook, batch: list[dict], sleep: Callable[[float], None] = time.sleep
) -> str | None:
    """POST ``batch`` in the hook's format; ``None`` on a 2xx, else the last error text."""
    body = json.dumps(BODY[hook.format](batch), sort_keys=True).encode()
    request = urllib.request.Request(
        hook.url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "toolkit-alert"},
    )
    error = "not attempted"
    for attempt in range(hook.retries + 1):
        if attempt:
            sleep(hook.backoff * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(request, timeout=hook.timeout) as response:
                if 200 <= response.status < 300:
                    return None
                error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                return error  # the receiver rejects this body: retrying will not help
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            error = str(getattr(exc, "reason", exc))
    return error
