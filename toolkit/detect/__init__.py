"""Statistical detectors over the ``env_minute`` rollup.

Every detector has the same small shape (ADTK's): ``fit(history)`` learns a per-environment
baseline from rollup rows, ``detect(frame, since=None, until=None)`` returns
:class:`Event` spans with a one-line explanation and a ``page``/``ticket`` severity hint.
Detectors live in a registry by name::

    from toolkit.detect import fit_detectors, run_detectors
    detectors = fit_detectors(history)            # every registered detector
    events = run_detectors(detectors, last_hour, since=newest_minute)

Fitted detectors serialise to JSON (:func:`dump_detectors`), and :class:`StoreFitCache` keeps
the hourly fit in the store. The plotting helper (:func:`toolkit.detect.plot.plot_dedup_ratio`)
is imported on use, so the cron alert path stays light; the labelled evaluation lives apart,
in :mod:`toolkit.evaluate`.
"""

# Detector modules are imported in registry order: tail, cusum, concurrency, peers, yield.
from toolkit.detect.tail import DedupTailTest  # isort: skip
from toolkit.detect.cusum import BinomialCusum  # isort: skip
from toolkit.detect.concurrency import ConcurrencySignature  # isort: skip
from toolkit.detect.peers import PeerComparison  # isort: skip
from toolkit.detect.yields import YieldCheck  # isort: skip
from toolkit.detect._base import Detector, NotFittedError
from toolkit.detect._grid import RollupGrid, to_grid
from toolkit.detect.baseline import Baseline, Conditions
from toolkit.detect.events import (
    Event,
    events_to_frame,
    events_to_series,
    series_to_events,
)
from toolkit.detect.fitcache import StoreFitCache
from toolkit.detect.output import OutputLoss, shortfall
from toolkit.detect.registry import (
    DETECTORS,
    available_detectors,
    fit_detectors,
    make_detector,
    register,
    run_detectors,
)
from toolkit.detect.serial import (
    detector_from_dict,
    detector_to_dict,
    dump_detectors,
    load_detectors,
)

__all__ = [
    "DETECTORS",
    "Baseline",
    "BinomialCusum",
    "ConcurrencySignature",
    "Conditions",
    "DedupTailTest",
    "Detector",
    "Event",
    "NotFittedError",
    "OutputLoss",
    "PeerComparison",
    "RollupGrid",
    "StoreFitCache",
    "YieldCheck",
    "available_detectors",
    "detector_from_dict",
    "detector_to_dict",
    "dump_detectors",
    "events_to_frame",
    "events_to_series",
    "fit_detectors",
    "load_detectors",
    "make_detector",
    "register",
    "run_detectors",
    "series_to_events",
    "shortfall",
    "to_grid",
]
