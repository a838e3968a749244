-- The toolkit store, schema version 2. Documented table by table in docs/store.md.
-- Changing a column means a new schema version (toolkit/store/schema.py: SCHEMA_VERSION) and a
-- migration step from the previous one (toolkit/store/migrations.py).
-- Telemetry tables declare no PRIMARY KEY on purpose: an ART index costs more per row than
-- the whole rest of a load. Their natural keys are enforced by toolkit/store/ingest.py with
-- anti-joins that DuckDB's zone maps confine to the time range being written.

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS spans (
    trace_id                 VARCHAR NOT NULL,
    span_id                  VARCHAR NOT NULL,
    parent_span_id           VARCHAR,
    name                     VARCHAR,
    kind                     VARCHAR,
    start_time               TIMESTAMP,
    end_time                 TIMESTAMP,
    duration_ns              BIGINT,
    start_time_unix_nano     BIGINT,
    end_time_unix_nano       BIGINT,
    status_code              VARCHAR,
    status_message           VARCHAR,
    service_name             VARCHAR,
    scope_name               VARCHAR,
    scope_version            VARCHAR,
    tenant                   VARCHAR,
    environment              VARCHAR,
    source                   VARCHAR,
    entity                   VARCHAR,
    schema                   VARCHAR,
    job_id                   BIGINT,
    version                  BIGINT,
    trigger                  VARCHAR,
    attempt                  BIGINT,
    decision                 VARCHAR,
    survivor_job_id          BIGINT,
    survivor_tenant          VARCHAR,
    survivor_environment     VARCHAR,
    survivor_source          VARCHAR,
    survivor_entity          VARCHAR,
    survivor_schema          VARCHAR,
    survivor_state           VARCHAR,
    survivor_version         BIGINT,
    view_version             BIGINT,
    queue_depth              BIGINT,
    deployment_change        VARCHAR,
    trace_state              VARCHAR,
    flags                    BIGINT,
    attributes               JSON,
    resource_attributes      JSON,
    scope_attributes         JSON,
    dropped_attributes_count BIGINT,
    dropped_events_count     BIGINT,
    dropped_links_count      BIGINT
);

CREATE TABLE IF NOT EXISTS span_events (
    trace_id                 VARCHAR NOT NULL,
    span_id                  VARCHAR NOT NULL,
    event_index              INTEGER NOT NULL,
    name                     VARCHAR,
    time                     TIMESTAMP,
    time_unix_nano           BIGINT,
    attributes               JSON,
    dropped_attributes_count BIGINT
);

CREATE TABLE IF NOT EXISTS span_links (
    trace_id                 VARCHAR NOT NULL,
    span_id                  VARCHAR NOT NULL,
    link_index               INTEGER NOT NULL,
    linked_trace_id          VARCHAR,
    linked_span_id           VARCHAR,
    trace_state              VARCHAR,
    flags                    BIGINT,
    attributes               JSON,
    dropped_attributes_count BIGINT
);

CREATE TABLE IF NOT EXISTS logs (
    record_id                VARCHAR NOT NULL,
    time                     TIMESTAMP,
    time_unix_nano           BIGINT,
    observed_time            TIMESTAMP,
    observed_time_unix_nano  BIGINT,
    trace_id                 VARCHAR,
    span_id                  VARCHAR,
    flags                    BIGINT,
    severity_number          INTEGER,
    severity_text            VARCHAR,
    event_name               VARCHAR,
    body                     JSON,
    body_text                VARCHAR,
    service_name             VARCHAR,
    scope_name               VARCHAR,
    scope_version            VARCHAR,
    tenant                   VARCHAR,
    environment              VARCHAR,
    source                   VARCHAR,
    entity                   VARCHAR,
    schema                   VARCHAR,
    job_id                   BIGINT,
    version                  BIGINT,
    trigger                  VARCHAR,
    attempt                  BIGINT,
    decision                 VARCHAR,
    survivor_job_id          BIGINT,
    survivor_tenant          VARCHAR,
    survivor_environment     VARCHAR,
    survivor_source          VARCHAR,
    survivor_entity          VARCHAR,
    survivor_schema          VARCHAR,
    survivor_state           VARCHAR,
    survivor_version         BIGINT,
    view_version             BIGINT,
    queue_depth              BIGINT,
    deployment_change        VARCHAR,
    attributes               JSON,
    resource_attributes      JSON,
    scope_attributes         JSON,
    dropped_attributes_count BIGINT
);

CREATE TABLE IF NOT EXISTS env_minute (
    minute            TIMESTAMP NOT NULL,
    environment       VARCHAR NOT NULL,
    tenant            VARCHAR,
    ingests           BIGINT NOT NULL,
    skipped_unchanged BIGINT NOT NULL,
    offered           BIGINT NOT NULL,
    deduplicated      BIGINT NOT NULL,
    follow_ups        BIGINT NOT NULL,
    processed         BIGINT NOT NULL,
    failed            BIGINT NOT NULL,
    retried           BIGINT NOT NULL,
    backlog           BIGINT NOT NULL,
    active_envs       INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS rejected (
    file        VARCHAR NOT NULL,
    line        BIGINT NOT NULL,
    item        VARCHAR NOT NULL,
    error       VARCHAR NOT NULL,
    raw         VARCHAR,
    rejected_at TIMESTAMP NOT NULL,
    PRIMARY KEY (file, line, item)
);

CREATE TABLE IF NOT EXISTS loaded_files (
    file         VARCHAR NOT NULL,
    size_bytes   BIGINT NOT NULL,
    loaded_at    TIMESTAMP NOT NULL,
    lines        BIGINT NOT NULL,
    spans_loaded BIGINT NOT NULL,
    logs_loaded  BIGINT NOT NULL,
    duplicates   BIGINT NOT NULL,
    rejected     BIGINT NOT NULL
);

-- Spool files read in place (toolkit load --spool): per file identity, the end of the last
-- complete line loaded, committed in the same transaction as that line's records.
CREATE TABLE IF NOT EXISTS ingest_cursors (
    device       BIGINT NOT NULL,
    inode        BIGINT NOT NULL,
    fingerprint  VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    offset_bytes BIGINT NOT NULL,
    lines        BIGINT NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (device, inode, fingerprint)
);

-- Detectors fitted on an hour's history, as JSON (never pickles: the file is shared), so a
-- cron run does not refit days of history every minute. Advisory: a stale entry is refitted.
CREATE TABLE IF NOT EXISTS detector_fits (
    hour      TIMESTAMP NOT NULL,
    detectors VARCHAR NOT NULL,
    fitted    JSON NOT NULL,
    PRIMARY KEY (hour, detectors)
);

-- toolkit alert: incidents (one per cause) and the (rule, environment) findings that joined
-- them, every notified transition, the outbox of payloads not yet delivered, one row per run,
-- and the wrongful-discard counters the Prometheus textfile exports.
CREATE TABLE IF NOT EXISTS alert_incidents (
    incident VARCHAR PRIMARY KEY,     -- fixed when it opens: the incident (dedup) key
    rule VARCHAR NOT NULL,            -- the cause: wrongful_discards, dedup_anomaly, ...
    status VARCHAR NOT NULL,          -- firing | resolved
    severity VARCHAR NOT NULL,        -- page | ticket: the highest reached
    summary VARCHAR NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    last_evidence_at TIMESTAMP NOT NULL,  -- newest evidence of the incident's own rule
    notified_at TIMESTAMP NOT NULL,       -- last notification of any kind
    notified_environments VARCHAR[] NOT NULL,
    notifications INTEGER NOT NULL,
    pages INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_members (
    incident VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    environment VARCHAR NOT NULL,     -- '' for a watchdog finding about the whole feed
    tenant VARCHAR,
    severity VARCHAR NOT NULL,
    summary VARCHAR NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    evidence_at TIMESTAMP NOT NULL,
    evidence JSON,
    PRIMARY KEY (incident, rule, environment)
);

CREATE TABLE IF NOT EXISTS alert_transitions (
    occurred_at TIMESTAMP NOT NULL,
    incident VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    transition VARCHAR NOT NULL,      -- opened | updated | escalated | reminded | resolved
    level VARCHAR NOT NULL,           -- page | ticket | update | resolved
    severity VARCHAR NOT NULL,
    environments VARCHAR[] NOT NULL,
    summary VARCHAR NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS alert_outbox_id;
CREATE TABLE IF NOT EXISTS alert_outbox (
    id BIGINT PRIMARY KEY DEFAULT nextval('alert_outbox_id'),
    created_at TIMESTAMP NOT NULL,
    destination VARCHAR NOT NULL,     -- format:url
    payload JSON NOT NULL,            -- the body to POST, already in the destination's format
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at TIMESTAMP,
    last_error VARCHAR
);

CREATE TABLE IF NOT EXISTS alert_runs (
    ran_at TIMESTAMP NOT NULL,
    data_until TIMESTAMP,
    firing INTEGER NOT NULL,
    notified INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_counters (
    environment VARCHAR PRIMARY KEY,
    tenant VARCHAR,
    wrongful_discards_total BIGINT NOT NULL,
    counted_until TIMESTAMP NOT NULL  -- discards before this time are counted
);
