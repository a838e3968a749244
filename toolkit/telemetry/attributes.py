"""Attribute, event and span names of the telemetry contract (``docs/contracts.md``).

The store, the detectors and the audit read these exact strings, so they live in one module
and every producer imports them from here instead of spelling them out.
"""

from __future__ import annotations

from typing import Final

from toolkit.engine.model import JobKey, JobState, Outcome, Trigger

# -- the raw key -----------------------------------------------------------------------------
TENANT: Final = "pipeline.tenant"
ENVIRONMENT: Final = "pipeline.environment"
SOURCE: Final = "pipeline.source"
ENTITY: Final = "pipeline.entity"
SCHEMA: Final = "pipeline.schema"

# -- the job ---------------------------------------------------------------------------------
JOB_ID: Final = "pipeline.job.id"
JOB_VERSION: Final = "pipeline.job.version"
JOB_TRIGGER: Final = "pipeline.job.trigger"
JOB_ATTEMPT: Final = "pipeline.job.attempt"

# -- the deduplication decision ----------------------------------------------------------------
DECISION: Final = "pipeline.dedup.decision"
SURVIVOR_JOB_ID: Final = "pipeline.dedup.survivor.job.id"
SURVIVOR_TENANT: Final = "pipeline.dedup.survivor.tenant"
SURVIVOR_ENVIRONMENT: Final = "pipeline.dedup.survivor.environment"
SURVIVOR_SOURCE: Final = "pipeline.dedup.survivor.source"
SURVIVOR_ENTITY: Final = "pipeline.dedup.survivor.entity"
SURVIVOR_SCHEMA: Final = "pipeline.dedup.survivor.schema"
SURVIVOR_STATE: Final = "pipeline.dedup.survivor.state"
SURVIVOR_VERSION: Final = "pipeline.dedup.survivor.version"

# -- processing, queue, deployments -------------------------------------------------------------
VIEW_VERSION: Final = "pipeline.view.version"
QUEUE_DEPTH: Final = "pipeline.queue.depth"
DEPLOYMENT_CHANGE: Final = "pipeline.deployment.change"
DEPLOYMENT_ENVIRONMENTS: Final = "pipeline.deployment.environments"

# -- OpenTelemetry semantic conventions ----------------------------------------------------------
EVENT_NAME: Final = "event.name"
ERROR_TYPE: Final = "error.type"
MESSAGING_SYSTEM: Final = "messaging.system"
MESSAGING_OPERATION_TYPE: Final = "messaging.operation.type"
MESSAGING_OPERATION_NAME: Final = "messaging.operation.name"
MESSAGING_DESTINATION: Final = "messaging.destination.name"
MESSAGING_MESSAGE_ID: Final = "messaging.message.id"

MESSAGING_SYSTEM_VALUE: Final = "toolkit.fairqueue"

# -- job log events (``event.name``) --------------------------------------------------------------
ENTITY_INGESTED: Final = "entity.ingested"
JOB_SKIPPED_UNCHANGED: Final = "job.skipped_unchanged"
SCHEMA_DEPLOYED: Final = "schema.deployed"
JOB_CREATED: Final = "job.created"
JOB_DEDUPLICATED: Final = "job.deduplicated"
JOB_FOLLOW_UP_SCHEDULED: Final = "job.follow_up_scheduled"
JOB_ENQUEUED: Final = "job.enqueued"
JOB_DEQUEUED: Final = "job.dequeued"
JOB_PROCESSED: Final = "job.processed"
JOB_RETRIED: Final = "job.retried"
JOB_FAILED: Final = "job.failed"
ENGINE_DEPLOYMENT: Final = "engine.deployment"

EVENT_NAMES: Final = (
    ENTITY_INGESTED, JOB_SKIPPED_UNCHANGED, SCHEMA_DEPLOYED, JOB_CREATED, JOB_DEDUPLICATED,
    JOB_FOLLOW_UP_SCHEDULED, JOB_ENQUEUED, JOB_DEQUEUED, JOB_PROCESSED, JOB_RETRIED, JOB_FAILED,
    ENGINE_DEPLOYMENT,
)

# -- span names ------------------------------------------------------------------------------------
INGEST_SPAN: Final = "ingest"
DEPLOY_SPAN: Final = "schema deploy"


def send_span_name(environment: str) -> str:
    """Producer span name: messaging conventions name it ``{operation} {destination}``."""
    return f"send {environment}"


def process_span_name(environment: str) -> str:
    """Consumer span name for one processing attempt."""
    return f"process {environment}"


# Enum members are mapped to plain strings once: ``StrEnum.value`` is a descriptor lookup per
# call, and exporters should never see an enum subclass where a plain string is meant.
OUTCOME_NAMES: Final[dict[Outcome, str]] = {o: str(o.value) for o in Outcome}
STATE_NAMES: Final[dict[JobState, str]] = {s: str(s.value) for s in JobState}
TRIGGER_NAMES: Final[dict[Trigger, str]] = {t: str(t.value) for t in Trigger}


def key_attributes(key: JobKey) -> dict[str, str]:
    """The raw key as attributes; empty components (no schema on an ingest) are left out."""
    attrs = {TENANT: key.tenant, ENVIRONMENT: key.environment, SOURCE: key.source}
    if key.entity:
        attrs[ENTITY] = key.entity
    if key.schema:
        attrs[SCHEMA] = key.schema
    return attrs


def survivor_key_attributes(key: JobKey) -> dict[str, str]:
    """The survivor's raw key, so a reader can compare it with the dropped job's key."""
    return {
        SURVIVOR_TENANT: key.tenant,
        SURVIVOR_ENVIRONMENT: key.environment,
        SURVIVOR_SOURCE: key.source,
        SURVIVOR_ENTITY: key.entity,
        SURVIVOR_SCHEMA: key.schema,
    }
