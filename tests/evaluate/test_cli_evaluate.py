"""``toolkit evaluate``: the family by default, the named scenarios with --quick."""

import json

import pytest

from toolkit.cli import main


def test_evaluate_family_json(capsys):
    """One draw of seed 3 (an env-blind-dedup fault): the protocol names the seeds, the summary
    has every detector, the rule and the physical-limit rows."""
    assert main(["evaluate", "--seed", "3", "--draws", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["seeds"] == [3] and "seeds 3" in result["protocol"]
    assert result["summary"]["draws"] == {"fault": 1, "stress": 0, "normal": 0}
    assert [d["kind"] for d in result["draws"]] == ["env-blind-dedup"]
    assert set(result["summary"]["detectors"]) == {
        "tail", "cusum", "concurrency", "peers", "yield", "any", "rule", "oracle-3", "oracle-4",
        "oracle-5"}


def test_evaluate_quick_table(capsys):
    """--quick keeps the one-seed named scenarios (shortened here to one day)."""
    assert main(["evaluate", "--quick", "--scenario", "baseline", "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert "detector any" in out and "normal_days_zero_pages: 0 -> met" in out


@pytest.mark.parametrize(("argv", "needle"), [
    (["--scenario", "may7"], "go with --quick"),
    (["--quick", "--seed", "1", "--seed", "2"], "--quick takes one --seed"),
    (["--quick", "--draws", "3"], "evaluate: error: --draws has no effect with --quick"),
])
def test_evaluate_option_mistakes_are_one_line_errors(capsys, argv, needle):
    assert main(["evaluate", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_quick_steps_once_per_run_for_the_progress_bar():
    """evaluate(step=...) is called after the fit and after each scenario, in order (what
    ``toolkit evaluate --quick`` draws its bar from on a terminal)."""
    from toolkit.evaluate import evaluate

    done: list[str] = []
    evaluate(["baseline"], seed=7, days_override=1, step=done.append)
    assert done == ["fitted", "baseline"]
