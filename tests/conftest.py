"""What the whole suite shares: recorded stores built once per test run, whichever worker asks.

``pytest -n 2`` runs test files in two processes, so a session fixture would record the same
simulation twice. :func:`shared_directory` builds a directory once per run (the run id that
pytest-xdist gives every worker, or this process's own), under a lock, and hands the same path to
every later caller; the controller removes them all when the run ends.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"solo-{os.getpid()}"
_ROOT = Path(tempfile.gettempdir()) / f"toolkit-tests-{_RUN}"


def shared_directory(name: str, build: Callable[[Path], None]) -> Path:
    """``_ROOT/name``, filled by ``build(path)`` the first time any worker of this run asks;
    callers must treat it as read-only (open stores with ``read_only=True``)."""
    _ROOT.mkdir(exist_ok=True)
    target = _ROOT / name
    with open(_ROOT / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".built").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            (target / ".built").touch()
    return target


def pytest_sessionfinish(session, exitstatus):
    """The controller (not a worker) removes this run's shared directories."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(_ROOT, ignore_errors=True)


#: The slowest test files (half a minute to a minute and a half of work each, measured on two
#: cores), slowest first; then the rest in collection order. ``make test`` runs
#: ``pytest -n 2 --dist loadfile --no-loadscope-reorder``: whole files go to whichever worker is
#: free, in this order (without ``--no-loadscope-reorder`` pytest-xdist would order files by
#: their number of tests instead), so that the two workers end together instead of one waiting
#: for the other's last long file. The report tests' recordings are shared
#: (``tests/report/conftest.py``): ``test_faults`` records them early, and ``test_edits`` and
#: ``test_cli``, further down, find them made instead of waiting on the other worker's lock.
_SLOWEST = ("tests/store/test_clickhouse.py", "tests/test_notebooks.py",
            "tests/report/test_faults.py", "tests/test_readme.py",
            "tests/test_may7_end_to_end.py", "tests/alert/test_stress_cron.py",
            "tests/test_demo.py", "tests/test_sample_logs.py", "tests/report/test_edits.py",
            "tests/evaluate/test_stress_pages.py", "tests/test_live_kill.py",
            "tests/store/test_concurrency.py", "tests/test_spool_kill.py", "tests/test_cli.py")


def pytest_collection_modifyitems(config, items):
    """The slowest files first, the rest in their usual order (a stable sort)."""
    rank = {path: i for i, path in enumerate(_SLOWEST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
