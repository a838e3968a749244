"""The ``toolkit`` command: parses, calls the library, formats. Nothing else lives here.

Exit codes: 0 success, 1 ``alert`` has something firing, 2 bad input or failure (one line on
stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from toolkit.errors import ToolkitError

DEFAULT_DB = "toolkit.duckdb"
EXIT_OK, EXIT_FIRING, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_ERROR, f"toolkit {self.prog.split()[-1]}: error: {message}\n")


def _common(parser: argparse.ArgumentParser) -> None:
    """Flags every verb shares, defined once."""
    parser.add_argument(
        "--db", default=os.environ.get("TOOLKIT_DB", DEFAULT_DB),
        help="DuckDB store file (default: $TOOLKIT_DB or ./toolkit.duckdb)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


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


def _cmd_simulate(args: argparse.Namespace) -> int:
    from toolkit.workload.scenarios import run_scenario

    result = run_scenario(args.scenario, seed=args.seed, days=args.days)
    if args.truth:
        result.truth.dump(args.truth, result.stale_views)
    if args.json:
        _print_json({
            "scenario": result.scenario.name, "seed": result.seed,
            "start": _iso(result.start), "end": _iso(result.end),
            "environments": result.summary_rows(),
        })
    else:
        print(result.summary())
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from toolkit.workload.scenarios import run_scenario

    result = run_scenario("may7", seed=args.seed, days=args.days)
    print(result.summary())
    truth = result.truth
    if truth.wrongful:
        first = truth.wrongful[0]
        envs = sorted({w.key.environment for w in truth.wrongful})
        print(
            f"\nenv-blind-dedup wrongly discarded {len(truth.wrongful)} jobs in "
            f"{len(envs)} environments, the first at {_iso(first.time)} UTC; "
            f"{len(result.stale_views)} views were left stale or missing."
        )
    return EXIT_OK


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _print_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="toolkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    from toolkit.engine.faults import FAULTS
    from toolkit.workload.scenarios import SCENARIOS

    scenarios = ", ".join(sorted(SCENARIOS))
    p = sub.add_parser(
        "simulate", help="run the reference engine on a named scenario",
        description=f"Run a named scenario ({scenarios}) and print a per-environment summary. "
        f"Faults: {', '.join(sorted(FAULTS))}.",
        epilog="example: toolkit simulate --scenario may7 --seed 7",
    )
    _common(p)
    p.add_argument("--scenario", default="may7", help=f"one of: {scenarios}")
    p.add_argument("--seed", type=_non_negative_int, default=7)
    p.add_argument("--days", type=_positive_int, default=None, help="override the length")
    p.add_argument("--truth", metavar="FILE", help="also write the ground truth as JSON")
    p.set_defaults(run=_cmd_simulate)

    p = sub.add_parser(
        "demo", help="replay the 7 May 2024 incident end to end",
        description="Replay the 7 May 2024 incident and summarise what happened.",
        epilog="example: toolkit demo",
    )
    _common(p)
    p.add_argument("--seed", type=_non_negative_int, default=7)
    p.add_argument("--days", type=_positive_int, default=None, help="shorten the replay")
    p.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ToolkitError as exc:
        print(f"toolkit {args.verb}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"toolkit {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
