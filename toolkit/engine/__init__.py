"""The reference processing engine: fair queue, deduplicator, processors, clocks and faults.

Pure Python with no OpenTelemetry import: telemetry observes it from outside through the
:class:`~toolkit.engine.protocols.Observer` hook.
"""

from toolkit.engine.core import Engine, StaleView
from toolkit.engine.dedup import CoalescingDeduplicator
from toolkit.engine.fairqueue import DeficitRoundRobinQueue, EnvironmentRules
from toolkit.engine.faults import FAULTS, FaultSchedule, FaultSwitchboard, FaultWindow
from toolkit.engine.model import (
    Attempt,
    Decision,
    Environment,
    Job,
    JobKey,
    JobState,
    Outcome,
    Trigger,
)
from toolkit.engine.observers import combine
from toolkit.engine.processor import SimulatedProcessor, ViewStore
from toolkit.engine.protocols import Deduplicator, FairQueue, Observer, Processor
from toolkit.engine.simulator import DEPLOY, INGEST, Arrival, Simulator
from toolkit.engine.truth import Fate, GroundTruth, WrongfulDiscard, is_justified

__all__ = [
    "DEPLOY",
    "FAULTS",
    "INGEST",
    "Arrival",
    "Attempt",
    "CoalescingDeduplicator",
    "Decision",
    "Deduplicator",
    "DeficitRoundRobinQueue",
    "Engine",
    "Environment",
    "EnvironmentRules",
    "FairQueue",
    "Fate",
    "FaultSchedule",
    "FaultSwitchboard",
    "FaultWindow",
    "GroundTruth",
    "Job",
    "JobKey",
    "JobState",
    "Observer",
    "Outcome",
    "Processor",
    "SimulatedProcessor",
    "Simulator",
    "StaleView",
    "Trigger",
    "ViewStore",
    "WrongfulDiscard",
    "combine",
    "is_justified",
]
