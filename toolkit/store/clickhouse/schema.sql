-- The toolkit's own tables in ClickHouse, schema version 2, beside the Collector's otel_logs
-- and otel_traces (which the toolkit reads and never alters). {db} is the database of the
-- Collector's tables. Documented in docs/scale.md. Changing a column means a new version in
-- toolkit/store/clickhouse/schema.py (SCHEMA_VERSION).

-- Key/value bookkeeping: the latest version of a key wins (NULL value: deleted).
CREATE TABLE IF NOT EXISTS {db}.toolkit_meta (
    key     String,
    value   Nullable(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY key;

-- The env_minute rollup of docs/contracts.md, computed in ClickHouse (rollup.py).
CREATE TABLE IF NOT EXISTS {db}.toolkit_env_minute (
    minute            DateTime('UTC'),
    environment       String,
    tenant            Nullable(String),
    ingests           Int64,
    skipped_unchanged Int64,
    offered           Int64,
    deduplicated      Int64,
    follow_ups        Int64,
    processed         Int64,
    failed            Int64,
    retried           Int64,
    backlog           Int64,
    active_envs       Int32
) ENGINE = MergeTree PARTITION BY toDate(minute) ORDER BY (minute, environment);

-- The job log records as typed columns: the promoted attributes the audit and the rollup
-- read (docs/store.md), taken once from otel_logs' attribute maps by each rollup refresh, so
-- that the audit's joins and the rollup scan narrow typed columns instead of reading the maps
-- again for every query.
CREATE TABLE IF NOT EXISTS {db}.toolkit_job_logs (
    time                 DateTime64(6, 'UTC'),
    event_name           LowCardinality(Nullable(String)),
    tenant               Nullable(String),
    environment          Nullable(String),
    source               Nullable(String),
    entity               Nullable(String),
    schema               Nullable(String),
    job_id               Nullable(Int64),
    version              Nullable(Int64),
    view_version         Nullable(Int64),
    trace_id             Nullable(String),
    survivor_job_id      Nullable(Int64),
    survivor_tenant      Nullable(String),
    survivor_environment Nullable(String),
    survivor_source      Nullable(String),
    survivor_entity      Nullable(String),
    survivor_schema      Nullable(String),
    survivor_state       Nullable(String),
    survivor_version     Nullable(Int64)
) ENGINE = MergeTree PARTITION BY toDate(time) ORDER BY time;

-- How many otel_logs rows each minute held when the rollup was last computed: a minute whose
-- count changed since (a late record the Collector wrote) is where the next refresh starts.
CREATE TABLE IF NOT EXISTS {db}.toolkit_log_minutes (
    minute DateTime('UTC'),
    rows   UInt64
) ENGINE = MergeTree ORDER BY minute;

-- Rows per otel_logs partition (a day) at the last refresh: only the days that changed are
-- counted again minute by minute.
CREATE TABLE IF NOT EXISTS {db}.toolkit_log_partitions (
    partition String,
    rows      UInt64
) ENGINE = MergeTree ORDER BY partition;

-- Lines and records a load could not take, with the reason (as the DuckDB store's rejected).
CREATE TABLE IF NOT EXISTS {db}.toolkit_rejected (
    file        String,
    line        Int64,
    item        String,
    error       String,
    raw         Nullable(String),
    rejected_at DateTime64(6, 'UTC')
) ENGINE = MergeTree ORDER BY (file, line, item);

-- The ledger of loaded files (as the DuckDB store's loaded_files).
CREATE TABLE IF NOT EXISTS {db}.toolkit_loaded_files (
    file         String,
    size_bytes   Int64,
    loaded_at    DateTime64(6, 'UTC') DEFAULT now64(6, 'UTC'),
    lines        Int64,
    spans_loaded Int64,
    logs_loaded  Int64,
    duplicates   Int64,
    rejected     Int64
) ENGINE = MergeTree ORDER BY (file, loaded_at);

-- Detectors fitted on an hour's history, as JSON (toolkit.detect.fitcache); the newest
-- version of an (hour, detectors) wins. Advisory: a missing or stale fit is refitted.
CREATE TABLE IF NOT EXISTS {db}.toolkit_detector_fits (
    hour      DateTime('UTC'),
    detectors String,
    fitted    String,
    version   UInt64
) ENGINE = ReplacingMergeTree(version) ORDER BY (hour, detectors);

-- toolkit alert's state (the DuckDB store's alert_* tables). ClickHouse has no transaction
-- across statements, so a run's rows carry its run_id and count only once the run's row in
-- toolkit_alert_runs exists, written last: a run killed half-way leaves rows nobody reads.
-- Incidents, members, outbox items and counters are versioned (the newest committed version
-- of a key is the current one); plain MergeTree, so that no merge drops a committed version
-- in favour of an uncommitted one. The cron run holding the alert's flock is the only writer.
CREATE TABLE IF NOT EXISTS {db}.toolkit_alert_runs (
    run_id     String,
    ran_at     DateTime64(6, 'UTC'),
    data_until Nullable(DateTime64(6, 'UTC')),
    firing     Int32,
    notified   Int32
) ENGINE = MergeTree ORDER BY ran_at;

CREATE TABLE IF NOT EXISTS {db}.toolkit_alert_incidents (
    run_id                String,
    version               UInt64,
    incident              String,
    rule                  String,
    status                String,
    severity              String,
    summary               String,
    opened_at             DateTime64(6, 'UTC'),
    resolved_at           Nullable(DateTime64(6, 'UTC')),
    last_evidence_at      DateTime64(6, 'UTC'),
    notified_at           DateTime64(6, 'UTC'),
    notified_environments Array(String),
    notifications         Int32,
    pages                 Int32
) ENGINE = MergeTree ORDER BY (incident, version);

CREATE TABLE IF NOT EXISTS {db}.toolkit_alert_members (
    run_id        String,
    version       UInt64,
    incident      String,
    rule          String,
    environment   String,
    tenant        Nullable(String),
    severity      String,
    summary       String,
    first_seen_at DateTime64(6, 'UTC'),
    last_seen_at  DateTime64(6, 'UTC'),
    evidence_at   DateTime64(6, 'UTC'),
    evidence      Nullable(String)
) ENGINE = MergeTree ORDER BY (incident, rule, environment, version);

CREATE TABLE IF NOT EXISTS {db}.toolkit_alert_transitions (
    run_id       String,
    seq          UInt64,
    occurred_at  DateTime64(6, 'UTC'),
    incident     String,
    rule         String,
    transition   String,
    level        String,
    severity     String,
    environments Array(String),
    summary      String
) ENGINE = MergeTree ORDER BY (occurred_at, incident, seq);

CREATE TABLE IF NOT EXISTS {db}.toolkit_alert_outbox (
    run_id       String,
    version      UInt64,
    id           Int64,
    created_at   DateTime64(6, 'UTC'),
    destination  String,
    payload      String,
    attempts     Int32,
    delivered_at Nullable(DateTime64(6, 'UTC')),
    last_error   Nullable(String)
) ENGINE = MergeTree ORDER BY (id, version);

CREATE TABLE IF NOT EXISTS {db}.toolkit_alert_counters (
    run_id                  String,
    version                 UInt64,
    environment             String,
    tenant                  Nullable(String),
    wrongful_discards_total Int64,
    counted_until           DateTime64(6, 'UTC')
) ENGINE = MergeTree ORDER BY (environment, version);
