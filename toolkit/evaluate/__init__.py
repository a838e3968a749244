"""Labelled evaluation of the detectors against the simulator's exact ground truth.

Apart from the detectors (it imports :mod:`toolkit.detect` and :mod:`toolkit.workload`, never
the reverse): :mod:`toolkit.evaluate.family` scores many random draws of the scenario family,
detectors one by one and the alert's statistical rule replayed minute by minute;
:mod:`toolkit.evaluate.named` is the quick mode on the named scenarios with one seed.
"""

from toolkit.evaluate.family import (
    ANY,
    DEFAULT_SEEDS,
    RULE,
    TUNING_SEEDS,
    Draw,
    evaluate_family,
    format_family,
    score_draw,
    summarise,
)
from toolkit.evaluate.labels import Labelled, label, simulate
from toolkit.evaluate.named import (
    DEFAULT_SCENARIOS,
    evaluate,
    evaluation_frame,
    format_evaluation,
)
from toolkit.evaluate.replay import FixedFit, FrameSource, page_minutes, severities_at
from toolkit.evaluate.scoring import quantile_ci, score

__all__ = [
    "ANY",
    "DEFAULT_SCENARIOS",
    "DEFAULT_SEEDS",
    "RULE",
    "TUNING_SEEDS",
    "Draw",
    "FixedFit",
    "FrameSource",
    "Labelled",
    "evaluate",
    "evaluate_family",
    "evaluation_frame",
    "format_evaluation",
    "format_family",
    "label",
    "page_minutes",
    "quantile_ci",
    "score",
    "score_draw",
    "severities_at",
    "simulate",
    "summarise",
]
