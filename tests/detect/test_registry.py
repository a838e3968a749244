"""The registry: detectors by name, parameters, and what the package exports."""

import subprocess
import sys

import pytest

import toolkit.detect as detect
from toolkit.detect import (
    DETECTORS,
    BinomialCusum,
    DedupTailTest,
    available_detectors,
    make_detector,
    register,
)
from toolkit.errors import BadInput


def test_registry_order_and_classes():
    """Five detectors, in the order the brief lists them."""
    assert available_detectors() == ["tail", "cusum", "concurrency", "peers", "yield"]
    assert DETECTORS["cusum"] is BinomialCusum


def test_make_detector_passes_parameters():
    """Parameters reach the instance and come back from get_params."""
    tail = make_detector("tail", short=5, alpha=1e-4)
    assert isinstance(tail, DedupTailTest)
    assert (tail.get_params()["short"], tail.get_params()["alpha"]) == (5, 1e-4)
    assert repr(tail).startswith("DedupTailTest(short=5, long=60, alpha=0.0001")


@pytest.mark.parametrize(("name", "params", "message"), [
    ("tails", {}, "unknown detector 'tails' \\(known: tail, cusum, concurrency, peers, yield\\)"),
    ("tail", {"window": 5}, "detector 'tail': .*window"),
    ("cusum", {"shift": 1.0}, "shift must be > 1"),
])
def test_bad_names_and_parameters_are_bad_input(name, params, message):
    """Unknown names and bad parameters fail with BadInput, naming them."""
    with pytest.raises(BadInput, match=message):
        make_detector(name, **params)


def test_a_second_detector_cannot_take_a_name():
    """Registering another class under a taken name is refused."""
    class Impostor(DedupTailTest):
        name = "tail"

    with pytest.raises(BadInput, match="already registered"):
        register(Impostor)


def test_lookback_covers_every_window():
    """Each detector says how much history its newest minute needs."""
    assert [make_detector(n).lookback for n in available_detectors()] == [60, 1440, 360, 60, 180]


def test_public_api_is_listed():
    """__all__ names each public name once, and each exists."""
    assert len(set(detect.__all__)) == len(detect.__all__)
    assert all(hasattr(detect, name) for name in detect.__all__)
    assert {"Event", "Detector", "fit_detectors", "run_detectors"} <= set(detect.__all__)


def test_importing_detect_does_not_import_matplotlib():
    """The cron alert path imports toolkit.detect; matplotlib must stay out of it."""
    code = ("import sys, toolkit.detect, toolkit.detect.plot, toolkit.detect.fitcache; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
