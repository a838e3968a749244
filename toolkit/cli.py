"""The ``toolkit`` command: parses, calls the library, formats. Nothing else lives here.

Exit codes: 0 success, 1 ``alert`` has something firing, 2 bad input or failure (one line on
stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from toolkit.errors import BadInput, ToolkitError
from toolkit.timefmt import iso_utc

DEFAULT_DB = "toolkit.duckdb"
#: What ``toolkit --help`` says the product is.
DESCRIPTION = ("Find and prove the jobs a pipeline silently dropped: load OTLP telemetry, "
               "detect anomalies, audit every dedup decision, alert, and draft the report.")
EXIT_OK, EXIT_FIRING, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line (an error object with ``--json``) and exit
    code 2."""

    json_errors = False  # set by main() when the command line asks for JSON

    def error(self, message: str) -> None:  # type: ignore[override]
        _fail(self.prog, message, as_json=self.json_errors)
        self.exit(EXIT_ERROR)


def _safe(text: str) -> str:
    """One printed line: ``text`` with control and other unprintable characters (newline, tab,
    ESC, CR, C1 codes, bidi overrides: telemetry may carry any of them) shown as escapes, so
    nothing printed can start a forged line, move the reader's cursor, recolour, retitle or
    reorder their terminal. Apply it to each line the CLI prints, never to a joined block."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text)


def _fail(prog: str, message: str, *, as_json: bool) -> None:
    """Say what went wrong: one line on stderr for people and, with --json, the error object
    ``{"error": ...}`` on stdout for programs."""
    line = " ".join(str(message).split())
    if as_json:
        _print_json({"error": line})
    print(_safe(f"{prog}: error: {line}"), file=sys.stderr)


# -- argument types ------------------------------------------------------------------------
def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _when(text: str) -> datetime:
    """An ISO 8601 time; with an offset it is converted to UTC, without one it is UTC."""
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date/time (use e.g. 2024-05-07T09:30 or 2024-05-07T11:30+02:00)"
        ) from None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


# -- shared flags, defined once ------------------------------------------------------------
class _Given(argparse.Action):
    """Store the value and remember that the command line gave it (``args.given``), for
    options whose default comes from the environment (``--db``: ``$TOOLKIT_DB``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        namespace.given = {*getattr(namespace, "given", ()), self.dest}


def _no_effect(options: dict[str, bool], where: str) -> None:
    """Reject options given where they would do nothing (options act only where they act):
    ``options`` maps each option to whether the command line set it."""
    given = [name for name, present in options.items() if present]
    if given:
        names = given[0] if len(given) == 1 else f"{', '.join(given[:-1])} and {given[-1]}"
        raise BadInput(f"{names} {'has' if len(given) == 1 else 'have'} no effect {where}")


def _common(parser: argparse.ArgumentParser, *, store: bool = True) -> None:
    """The flags every verb shares; ``--db`` only where the verb reads or writes a store."""
    if store:
        parser.add_argument(
            "--db", default=os.environ.get("TOOLKIT_DB", DEFAULT_DB), action=_Given,
            help="the store: a DuckDB file, a Parquet export, "
                 "clickhouse://user:pass@host:port/database or chdb:PATH "
                 "(default: $TOOLKIT_DB or ./toolkit.duckdb)",
        )
    parser.add_argument("--json", action="store_true",
                        help="print JSON instead of text (errors too, as {\"error\": ...})")


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=_when, help="start of the window (UTC unless offset)")
    parser.add_argument("--until", type=_when, help="end of the window, exclusive")
    parser.add_argument("--env", action="append", dest="envs", metavar="ENVIRONMENT",
                        help="only this environment (repeatable)")


def _plain(value: Any) -> Any:
    """A JSON-ready form of what the library returns: one time format (ISO 8601 UTC with
    ``Z``), integers as integers, missing values as ``null``."""
    import numpy as np

    pd = sys.modules.get("pandas")  # no pandas object can exist before pandas is imported
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if pd is not None and isinstance(value, pd.DataFrame):
        return [_plain(row) for row in value.to_dict("records")]
    if value is None or (pd is not None and (value is pd.NaT or value is pd.NA)):
        return None
    if isinstance(value, datetime):  # pandas Timestamps are datetimes too
        return iso_utc(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _print_json(payload: Any) -> None:
    json.dump(_plain(payload), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _store(args: argparse.Namespace, *, read_only: bool):
    from toolkit.store import Store

    if read_only and not _exists(args.db):
        raise BadInput(f"{args.db}: no such store (simulate or load telemetry first)")
    return Store.open(args.db, read_only=read_only)


def _exists(db: str) -> bool:
    """Whether the store at ``db`` exists on this machine (a ClickHouse server is asked
    when opened)."""
    from toolkit.store import is_clickhouse

    if not is_clickhouse(db):
        return os.path.exists(db)
    from toolkit.store.clickhouse import parse_target

    target = parse_target(db)  # a malformed address says what is wrong with it first
    return target.kind != "chdb" or os.path.exists(target.path)


def _note_unknown_environments(store: Any, envs: list[str] | None, prog: str) -> None:
    """A note on stderr (not an error: the empty result is the true answer) for each --env
    the store has never seen, which is most often a typo."""
    known = store.tenants_of(envs) if envs else {}
    for env in dict.fromkeys(envs or ()):
        if env not in known:
            print(_safe(f"{prog}: note: the store has no environment {env!r}"), file=sys.stderr)


# -- verbs -----------------------------------------------------------------------------------
def _cmd_simulate(args: argparse.Namespace) -> int:
    from toolkit.app.runs import record_scenario, run_live
    from toolkit.workload.scenarios import run_scenario

    if not args.live:
        _no_effect({"--speed": args.speed is not None, "--spool": args.spool is not None,
                    "--rotate-seconds": args.rotate_seconds is not None}, "without --live")
    else:
        _no_effect({
            "--scenario": args.scenario is not None, "--days": args.days is not None,
            "--truth": bool(args.truth), "--otlp-dir": bool(args.otlp_dir),
            "--gzip": args.gzip, "--tenants": bool(args.tenants),
            "--no-store": args.no_store}, "with --live")
    if args.no_store:
        _no_effect({
            "--db": "db" in getattr(args, "given", ()), "--otlp-dir": bool(args.otlp_dir),
            "--gzip": args.gzip}, "with --no-store")
    _no_effect({"--gzip": args.gzip and not args.otlp_dir}, "without --otlp-dir")
    scenario = args.scenario or "may7"
    if args.live:
        spool = args.spool or f"{args.db}.spool"
        print(f"live engine writing telemetry to {spool}; fold it in with "
              f"'toolkit load --spool {spool}'. Ctrl-C to stop.", file=sys.stderr)
        stats = run_live(spool=spool, speed=args.speed or 1.0, seed=args.seed,
                         rotate_seconds=args.rotate_seconds or 10.0)
        print(f"stopped cleanly after {stats['attempts']} processing attempts", file=sys.stderr)
        return EXIT_OK
    if args.no_store:
        from toolkit.workload import Topology

        topology = Topology()
        if args.tenants:
            names = args.tenants.split(",")
            unknown = sorted(set(names) - {t.name for t in topology.tenants})
            if unknown:
                raise BadInput(f"unknown tenant {unknown[0]!r}")
            topology = Topology(tuple(topology.tenant(t) for t in names))
        result = run_scenario(scenario, seed=args.seed, days=args.days, topology=topology)
    else:
        result = record_scenario(
            scenario, db=args.db, seed=args.seed, days=args.days, otlp_dir=args.otlp_dir,
            compress=args.gzip, tenants=args.tenants.split(",") if args.tenants else None,
            progress=True)
    if args.truth:
        result.truth.dump(args.truth, result.stale_views)
    if args.json:
        _print_json({
            "scenario": result.scenario.name, "seed": result.seed,
            "start": iso_utc(result.start), "end": iso_utc(result.end),
            "store": None if args.no_store else args.db,
            "environments": result.summary_rows(),
        })
    else:
        print(result.summary())
    return EXIT_OK


def _cmd_load(args: argparse.Namespace) -> int:
    import duckdb

    from toolkit.app.progress import load_progress, spool_progress
    from toolkit.store import fold_spool, is_clickhouse

    if not args.paths and not args.spool:
        raise BadInput("give files or directories to load, or --spool DIR")
    if args.spool and is_clickhouse(args.db):
        raise BadInput(f"--spool {args.spool}: a ClickHouse store has no spool (the Collector's "
                       "clickhouse exporter writes its tables directly)")
    if args.spool and not os.path.isdir(args.spool):
        raise BadInput(f"{args.spool}: no such spool directory")
    missing = [path for path in args.paths if not os.path.lexists(path)]
    if missing:  # before the store is opened, so a typo leaves no empty store behind
        raise BadInput(f"{missing[0]}: no such file or directory")
    try:
        with _store(args, read_only=False) as store:
            with load_progress(args.paths):
                result = store.load(*args.paths) if args.paths else None
            if args.spool:
                with spool_progress():
                    folded = fold_spool(store, args.spool)
                result = folded if result is None else result + folded
    except (OSError, duckdb.Error) as exc:  # a store that cannot be written, a full disk
        raise BadInput(f"{args.db}: {' '.join(str(exc).split())}") from None
    assert result is not None
    for rejection in result.rejections:
        print(f"toolkit load: rejected {_safe(str(rejection))}", file=sys.stderr)
    if result.rejected > len(result.rejections):
        print(f"toolkit load: ... {result.rejected - len(result.rejections)} more rejections "
              f"in the store's rejected table", file=sys.stderr)
    summary = {"files": result.files, "loaded": result.loaded, "spans": result.spans_loaded,
               "logs": result.logs_loaded, "duplicates": result.duplicates,
               "rejected": result.rejected}
    if args.json:
        _print_json(summary)
    else:
        print(f"{result.files} files: {result.loaded} loaded ({result.spans_loaded} spans, "
              f"{result.logs_loaded} log records), {result.duplicates} skipped as duplicates, "
              f"{result.rejected} rejected")
    return EXIT_ERROR if result.rejected else EXIT_OK


def _cmd_detect(args: argparse.Namespace) -> int:
    from toolkit.detect.events import EVENT_COLUMNS
    from toolkit.detect.window import detect_in_store

    with _store(args, read_only=True) as store:
        events = detect_in_store(store, since=args.since, until=args.until, environments=args.envs,
                                 baseline=timedelta(days=args.baseline_days))
        if not args.json:
            _note_unknown_environments(store, args.envs, "toolkit detect")
    if args.json:
        _print_json([{f: getattr(e, f) for f in EVENT_COLUMNS} for e in events])
    elif not events:
        print("no anomaly detected")
    else:
        for e in events:
            print(_safe(f"{iso_utc(e.start)} .. {iso_utc(e.end)}  "
                        f"{e.severity:6} {e.detector:11} {e.explanation}"))
    return EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    import pandas as pd

    from toolkit.detect.audit import Window, audit

    if args.since and args.until and args.until <= args.since:
        raise BadInput(f"--until {args.until:%Y-%m-%dT%H:%M} is not after "
                       f"--since {args.since:%Y-%m-%dT%H:%M}")
    with _store(args, read_only=True) as store:
        result = audit(store, Window(args.since, args.until), environments=args.envs)
        if not args.json:
            _note_unknown_environments(store, args.envs, "toolkit audit")
    summary = result.summary()
    if args.json:  # every violation unless --limit says how many
        violations = result.violations
        _print_json({**summary, "violations":
                     violations if args.limit is None else violations.head(args.limit),
                     "accounting": result.accounting})
        return EXIT_OK
    limit = 20 if args.limit is None else args.limit
    print(f"{summary['wrongful_discards']} wrongful discards in "
          f"{len(summary['environments_affected'])} environments; "
          f"{summary['views_to_regenerate']} views to regenerate; "
          f"{summary['violations']} violations in all")
    for row in result.violations.head(limit).itertuples():
        when = row.time if "time" in result.violations and not pd.isna(row.time) else None
        job = "-" if pd.isna(row.job_id) else str(int(row.job_id))
        survivor = ""
        if row.rule == "unjustified_drop" and not pd.isna(row.survivor_job_id):
            survivor = (f" -> survivor job {int(row.survivor_job_id)} in "
                        f"{row.survivor_environment}")
        trace = "" if pd.isna(row.trace_id) else f" (trace {row.trace_id})"
        print(_safe(f"{iso_utc(when) or '-'} {row.rule} {row.environment} "
                    f"{row.entity}/{row.schema} job {job}{survivor}: {row.detail}{trace}"))
    if len(result.violations) > limit:
        print(f"... {len(result.violations) - limit} more (use --json or --limit)")
    return EXIT_OK


def _cmd_alert(args: argparse.Namespace) -> int:
    """Every failure is one line and exit 2 (main), never 1, which cron wrappers read as
    firing."""
    from toolkit.alert import Policy, Webhook, run_alert, text_line
    from toolkit.alert.runner import lock_path, store_opener
    from toolkit.alert.sources import SourceConfig, store_findings
    from toolkit.store import Store

    try:
        hooks = [Webhook(url, args.format, timeout=args.timeout, retries=args.retries)
                 for url in args.webhook]
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if args.textfile:
        folder = os.path.dirname(os.path.abspath(args.textfile))
        if not os.path.isdir(folder):
            raise BadInput(f"--textfile {args.textfile}: no such directory {folder}")
        if not os.access(folder, os.W_OK):
            raise BadInput(f"--textfile {args.textfile}: directory {folder} is not writable")
    minutes = timedelta(minutes=1)
    now = args.now or datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    config = SourceConfig(max_silence=args.max_silence * minutes,
                          watchdog_severity=args.watchdog_severity)
    template = args.generator_url

    def generator(incident: str) -> str:
        return template.replace("{incident}", incident)

    run = run_alert(
        store_opener(args.db, spool=args.spool),
        store_findings(config, environments=bool(args.textfile)), now=now,
        lock_path=lock_path(args.db),
        policy=Policy(group_interval=args.group_interval * minutes,
                      repeat_interval=args.repeat_interval * minutes,
                      keep_firing_for=args.keep_firing_for * minutes),
        webhooks=hooks, dry_run=args.dry_run, textfile=args.textfile,
        lock_timeout=args.lock_timeout, reopen=lambda: Store.open(args.db),
        generator_url=generator if template else None,
    )
    if args.json:
        _print_json({"now": iso_utc(run.now), "dry_run": run.dry_run,
                     "firing": [{"incident": i.id, "rule": i.rule, "severity": i.severity,
                                 "environments": i.environments, "opened_at": iso_utc(i.opened_at),
                                 "summary": i.summary} for i in run.firing],
                     "notifications": run.notifications, "delivered": run.delivered,
                     "delivery_errors": run.delivery_errors})
    else:
        prefix = "would send: " if run.dry_run else ""
        for note in run.notifications:
            print(_safe(prefix + text_line(note)))
    for url, error in run.delivery_errors.items():
        print(_safe(f"toolkit alert: webhook {url} failed: {error}"), file=sys.stderr)
    return run.exit_code


def _cmd_report(args: argparse.Namespace) -> int:
    from toolkit.report import gather, write_report

    if args.incident and (args.since or args.until):
        raise BadInput("give either --incident auto or --since/--until, not both")
    with _store(args, read_only=True) as store:
        data = gather(store, since=args.since, until=args.until,
                      incident_auto=args.incident == "auto", annotations=args.annotations)
    written = write_report(data, args.out, template_dir=args.template_dir, force=args.force)
    if args.json:
        _print_json({"directory": str(written.directory), "markdown": str(written.markdown),
                     "html": str(written.html), "remediation": str(written.remediation),
                     "figures": [str(p) for p in written.figures], "found": written.found})
    else:
        print(f"report written to {written.directory}/ (report.md, report.html, "
              f"{len(written.figures)} figures, remediation.csv)"
              + ("" if written.found else ": nothing found in the window"))
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if not args.quick:
        if args.scenario or args.days or args.audit:
            raise BadInput("--scenario, --days and --audit go with --quick (the named scenarios)")
        from toolkit.evaluate import DEFAULT_SEEDS, evaluate_family, format_family

        draws = {} if args.draws is None else {"per_seed": args.draws}
        result = evaluate_family(args.seed or DEFAULT_SEEDS, **draws)
        if args.json:
            _print_json(result)
        else:
            print(format_family(result))
        return EXIT_OK
    from toolkit.app.progress import bar
    from toolkit.evaluate import DEFAULT_SCENARIOS, evaluate, format_evaluation

    if args.draws is not None:
        raise BadInput("--draws has no effect with --quick")
    if args.seed and len(args.seed) > 1:
        raise BadInput("--quick takes one --seed")
    seed = args.seed[0] if args.seed else 7
    scenarios = args.scenario or list(DEFAULT_SCENARIOS)
    with bar(len(scenarios) + 1, "evaluating", unit="run") as shown:
        def step(done: str) -> None:
            if shown is not None:
                shown.set_postfix_str(done, refresh=False)
                shown.update(1)

        result = evaluate(scenarios, seed=seed, days_override=args.days, step=step)
    if args.audit:
        from toolkit.app.audit_check import evaluate_audit

        result["audit"] = evaluate_audit([s for s in scenarios if s != "baseline"],
                                         seed=seed, days=args.days)
    if args.json:
        _print_json(result)
    else:
        print(format_evaluation(result))
        for name, row in result.get("audit", {}).items():
            print(f"audit {name}: {row['found']}/{row['truth']} wrongful discards found, "
                  f"{row['false']} false violations")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from toolkit.app.demo import run_demo

    summary = run_demo(db=args.db, out=args.out, seed=args.seed, days=args.days,
                       tenants=args.tenants.split(",") if args.tenants else None,
                       progress=not args.json)
    if args.json:
        _print_json(summary.as_dict())
    else:
        print(summary.text())
    return EXIT_OK


class _Version(argparse.Action):
    """``--version``, looked up only when asked: ``importlib.metadata`` would add about 25 ms
    to every cold cron run."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None
                 ) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("toolkit")
        except PackageNotFoundError:  # running from a source tree that was never installed
            installed = "unknown"
        print(f"toolkit {installed}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="toolkit", description=DESCRIPTION,
                     epilog="run 'toolkit VERB --help' for a verb's options and an example")
    parser.add_argument("--version", action=_Version,
                        help="print the toolkit's version and exit")
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser,
                                title="verbs", metavar="VERB")

    from toolkit.engine.faults import FAULTS
    from toolkit.workload.scenarios import SCENARIOS

    scenarios = ", ".join(sorted(SCENARIOS))

    def verb(name: str, help_: str, example: str, run: Callable[[argparse.Namespace], int],
             description: str | None = None, *, store: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=description or help_,
                           epilog=f"example: {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _common(p, store=store)
        p.set_defaults(run=run)
        return p

    p = verb("simulate", "run the instrumented reference engine on a named scenario",
             "toolkit simulate --scenario may7 --db toolkit.duckdb", _cmd_simulate,
             f"Run a named scenario ({scenarios}) with full telemetry into the store and print "
             f"a per-environment summary. Faults: {', '.join(sorted(FAULTS))}.")
    p.add_argument("--scenario", help=f"one of: {scenarios} (default may7)")
    p.add_argument("--seed", type=_non_negative_int, default=7,
                   help="random seed of the traffic and the processor (default 7)")
    p.add_argument("--days", type=_positive_int, default=None,
                   help="override the scenario's length in days")
    p.add_argument("--truth", metavar="FILE", help="also write the ground truth as JSON")
    p.add_argument("--otlp-dir", metavar="DIR", help="also write OTLP JSON lines files here")
    p.add_argument("--gzip", action="store_true",
                   help="with --otlp-dir: gzip the OTLP JSON lines files")
    p.add_argument("--tenants", metavar="A,B", help="only these tenants (smaller samples)")
    p.add_argument("--no-store", action="store_true",
                   help="engine only, no telemetry (no --db, --otlp-dir or --gzip)")
    p.add_argument("--live", action="store_true",
                   help="run in real time with worker threads until Ctrl-C or SIGTERM")
    p.add_argument("--speed", type=_positive_float,
                   help="with --live: simulated seconds per real second (default 1)")
    p.add_argument("--spool", metavar="DIR",
                   help="with --live: spool directory (default: <db>.spool)")
    p.add_argument("--rotate-seconds", type=_positive_float, metavar="S",
                   help="with --live: publish a spool file at least this often (default 10)")

    p = verb("load", "load OTLP JSON traces and logs (files, directories, .gz)",
             "toolkit load otel-collector/*.jsonl --db toolkit.duckdb", _cmd_load,
             "Load OTLP JSON from any producer (the Collector's file exporter, the toolkit's "
             "own files). Idempotent; bad lines are named, counted and kept aside.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="OTLP JSON files or directories of them (.json, .jsonl, .gz)")
    p.add_argument("--spool", metavar="DIR",
                   help="fold in what producers (the Collector's file exporter with rotation, "
                        "a live engine) appended to this directory since the last fold; "
                        "safe while they write, and on any file (see docs/store.md)")

    p = verb("detect", "flag anomalous dedup ratios per environment",
             "toolkit detect --since 2024-05-06T00:00 --env acme-prod", _cmd_detect,
             "Fit the detectors on the days before --since and report events in the window.")
    _window(p)
    p.add_argument("--baseline-days", type=_positive_int, default=3,
                   help="days of history before --since to fit on (default 3)")

    p = verb("audit", "prove which jobs were wrongly discarded (exact)",
             "toolkit audit --since 2024-05-06T00:00 --json", _cmd_audit,
             "Check every dedup decision, the latest version of every key and the accounting, "
             "from job logs alone.")
    _window(p)
    p.add_argument("--limit", type=_positive_int,
                   help="violations to print (default 20; with --json, all)")

    p = verb("alert", "run from cron: notify on anomalies and proven losses",
             "toolkit alert --db /var/lib/toolkit/toolkit.duckdb --webhook https://hooks.example/x",
             _cmd_alert,
             "Run the audit and the detectors over the newest data, keep alert state in the "
             "store, and notify once per change. Exit 0: nothing firing; 1: firing; 2: error.\n"
             "crontab: * * * * * cd /var/lib/toolkit && /opt/toolkit/.venv/bin/toolkit alert "
             "--db toolkit.duckdb --webhook URL")
    p.add_argument("--now", type=_when, help="evaluate as of this time (replays); default now")
    p.add_argument("--webhook", action="append", default=[], metavar="URL",
                   help="POST notifications here (repeatable)")
    p.add_argument("--format", default="generic", choices=["generic", "alertmanager", "slack"],
                   help="alertmanager: URL is Alertmanager's /api/v2/alerts")
    p.add_argument("--timeout", type=_positive_float, default=10.0, metavar="SECONDS",
                   help="deadline of one webhook request, connect to last byte (default 10)")
    p.add_argument("--retries", type=_non_negative_int, default=2,
                   help="retries of a failed webhook request, with jitter (default 2)")
    p.add_argument("--generator-url", metavar="URL",
                   help="Alertmanager generatorURL; {incident} is replaced (default: the store)")
    p.add_argument("--dry-run", action="store_true", help="say what would be sent; change nothing")
    p.add_argument("--textfile", metavar="FILE", help="Prometheus textfile collector output")
    p.add_argument("--group-interval", type=_positive_int, default=5, metavar="MINUTES",
                   help="send an incident's new environments at most this often (default 5)")
    p.add_argument("--repeat-interval", type=_positive_int, default=240, metavar="MINUTES",
                   help="remind when evidence resumes after this long without (default 240)")
    p.add_argument("--keep-firing-for", type=_positive_int, default=60, metavar="MINUTES",
                   help="resolve only after this long without new evidence (default 60)")
    p.add_argument("--max-silence", type=_positive_int, default=15, metavar="MINUTES",
                   help="raise telemetry_absent when the newest data is older (default 15)")
    p.add_argument("--watchdog-severity", choices=["ticket", "page"], default="ticket",
                   help="severity of telemetry_absent and not_armed (default ticket)")
    p.add_argument("--lock-timeout", type=_positive_float, default=50.0, metavar="SECONDS",
                   help="wait this long for an overlapping run to finish (default 50)")
    p.add_argument("--spool", metavar="DIR", help="fold a live run's spool directory in first")

    p = verb("report", "draft the post-mortem from telemetry and your annotations",
             "toolkit report --incident auto --annotations notes.yaml --out reports",
             _cmd_report)
    p.add_argument("--since", type=_when, help="window start (default: the data's first minute)")
    p.add_argument("--until", type=_when, help="window end (default: the data's end)")
    p.add_argument("--incident", choices=["auto"],
                   help="take the window from the audit, the incidents and the deployments")
    p.add_argument("--annotations", metavar="FILE",
                   help="YAML (or .json) with the human fields, timeline entries and action "
                        "items (README: Post-mortems)")
    p.add_argument("--out", default="reports", metavar="DIR",
                   help="the report goes to DIR/<day>-<slug>/")
    p.add_argument("--template-dir", metavar="DIR",
                   help="your own report.md.j2 / report.html.j2 / block.*.j2 (Jinja2)")
    p.add_argument("--force", action="store_true",
                   help="overwrite a report whose files were edited since generated")

    p = verb("evaluate", "score the detectors and the alert's rule on random draws of the "
             "scenario family", "toolkit evaluate --seed 1 --draws 13", _cmd_evaluate,
             store=False)
    p.add_argument("--seed", type=_non_negative_int, action="append",
                   help="draw seed (repeatable; default: 41 to 50, the reported seeds; "
                   "--quick: the one seed, default 7)")
    p.add_argument("--draws", type=_positive_int,
                   help="draws per seed (default 13: every fault class twice, every stress "
                   "once, one normal run)")
    p.add_argument("--quick", action="store_true",
                   help="the named scenarios with one seed instead of the family")
    p.add_argument("--scenario", action="append", help="--quick: only this scenario (repeatable)")
    p.add_argument("--days", type=_positive_int, default=None, help="--quick: shorten every run")
    p.add_argument("--audit", action="store_true",
                   help="--quick: also check the audit against ground truth (records full "
                   "telemetry)")

    p = verb("demo", "replay 7 May 2024 end to end: simulate, detect, audit, alert, report",
             "toolkit demo", _cmd_demo)
    p.add_argument("--seed", type=_non_negative_int, default=7,
                   help="random seed of the replay (default 7)")
    p.add_argument("--days", type=_positive_int, default=None,
                   help="simulate only this many days from the replay's start, 2 May (default: "
                        "all six, to 7 May); fewer than five ends before the fault")
    p.add_argument("--tenants", metavar="A,B", help="only these tenants (a shorter demo)")
    p.add_argument("--out", default="reports", metavar="DIR",
                   help="where the post-mortem draft is written (default reports)")
    return parser


def _discard_if_empty(path: str) -> None:
    """Remove a store file this command created and left without any telemetry, so that a
    failed first command leaves nothing behind."""
    import duckdb

    try:
        with duckdb.connect(path, read_only=True) as con:
            [(rows,)] = con.execute(
                "SELECT (SELECT count(*) FROM logs) + (SELECT count(*) FROM spans)").fetchall()
    except duckdb.Error:
        return  # not a store we understand, or another process holds it: leave it alone
    if rows == 0:
        for suffix in ("", ".wal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path + suffix)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _Parser.json_errors = "--json" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    prog = f"toolkit {args.verb}"
    db = getattr(args, "db", None)
    new_store = db is not None and db != ":memory:" and not db.startswith(
        ("clickhouse://", "clickhouses://", "chdb:")) and not os.path.exists(db)
    code = EXIT_ERROR
    try:
        code = run(args)
    except ToolkitError as exc:
        _fail(prog, str(exc), as_json=args.json)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # The reader went away (`toolkit audit | head`): nothing left to say to it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_OK
    except Exception as exc:  # a bug or an environment problem: still one line, exit 2
        if os.environ.get("TOOLKIT_DEBUG"):
            raise
        _fail(prog, f"{type(exc).__name__}: {exc} (set TOOLKIT_DEBUG=1 for the traceback)",
              as_json=args.json)
    if code == EXIT_ERROR and new_store and os.path.exists(db):
        _discard_if_empty(db)
    return code


if __name__ == "__main__":
    sys.exit(main())
