"""Fitted detectors as JSON: their parameters and fitted state, nothing executable.

A fit is a few arrays per detector (ratios and dispersions per environment and class) plus
how minutes were classed. It is written as plain JSON so that a cache kept in a shared store
cannot run code when read (a pickle can), and decoded only into the classes listed here.
Floats are written with Python's shortest round-trip repr, so a decoded detector gives
exactly the events the fitted one gives.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from toolkit.detect._base import Detector
from toolkit.detect.baseline import Baseline, Conditions
from toolkit.detect.output import OutputLoss
from toolkit.detect.registry import make_detector
from toolkit.errors import BadInput

__all__ = ["FORMAT", "detector_from_dict", "detector_to_dict", "dump_detectors",
           "load_detectors"]

FORMAT = 1
"""Version of the JSON layout (bumped when it changes; an older cache is then refitted)."""

_CLASSES: dict[str, type] = {c.__name__: c for c in (Baseline, Conditions, OutputLoss)}
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        flat = value.ravel().tolist()
        if value.dtype.kind == "f":
            flat = [x if math.isfinite(x) else str(x) for x in flat]
        return {"type": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape),
                "data": flat}
    if dataclasses.is_dataclass(value) and type(value).__name__ in _CLASSES:
        return {"type": type(value).__name__,
                "fields": {f.name: _encode(getattr(value, f.name))
                           for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"type": "tuple", "items": [_encode(v) for v in value]}
    if isinstance(value, np.generic):
        return {"type": "scalar", "dtype": value.dtype.str, "value": _encode(value.item())}
    if isinstance(value, float) and not math.isfinite(value):
        return {"type": "float", "value": str(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise BadInput(f"cannot write {type(value).__name__} into a detector fit")


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kind = value.get("type")
    if kind == "ndarray":
        data = [_NON_FINITE.get(x, x) if isinstance(x, str) else x for x in value["data"]]
        return np.asarray(data, dtype=np.dtype(value["dtype"])).reshape(value["shape"])
    if kind == "tuple":
        return tuple(_decode(v) for v in value["items"])
    if kind == "float":
        return _NON_FINITE[value["value"]]
    if kind == "scalar":
        return np.dtype(value["dtype"]).type(_decode(value["value"]))
    if kind in _CLASSES:
        return _CLASSES[kind](**{k: _decode(v) for k, v in value["fields"].items()})
    raise BadInput(f"unknown type {kind!r} in a detector fit")


def detector_to_dict(detector: Detector) -> dict[str, Any]:
    """``{"detector", "params", "fitted"}``: JSON-ready (``json.dumps`` needs no helper)."""
    fitted = {k: _encode(v) for k, v in vars(detector).items()
              if k.endswith("_") and not k.startswith("_")}
    return {"format": FORMAT, "detector": detector.name,
            "params": {k: _encode(v) for k, v in detector.get_params().items()},
            "fitted": fitted}


def detector_from_dict(data: dict[str, Any]) -> Detector:
    """The detector :func:`detector_to_dict` wrote, fitted as it was.

    Raises:
        BadInput: another format version, an unknown detector or type, bad parameters.
    """
    try:
        if data.get("format") != FORMAT:
            raise BadInput(f"detector fit format {data.get('format')!r}, expected {FORMAT}")
        detector = make_detector(data["detector"], **{k: _decode(v)
                                                      for k, v in data["params"].items()})
        for key, value in data["fitted"].items():
            if not key.endswith("_") or key.startswith("_"):
                raise BadInput(f"not a fitted attribute: {key!r}")
            setattr(detector, key, _decode(value))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadInput(f"malformed detector fit: {exc}") from None
    return detector


def dump_detectors(detectors: Sequence[Detector]) -> str:
    """Fitted detectors as one JSON text (strict JSON: no NaN or Infinity literals)."""
    return json.dumps([detector_to_dict(d) for d in detectors], allow_nan=False,
                      separators=(",", ":"))


def load_detectors(text: str) -> list[Detector]:
    """Detectors from :func:`dump_detectors`' JSON.

    Raises:
        BadInput: not JSON, or not a list of detector fits.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"detector fit is not JSON: {exc}") from None
    if not isinstance(data, list):
        raise BadInput("detector fit JSON must be a list of detectors")
    return [detector_from_dict(d) for d in data]
