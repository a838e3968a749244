-- The toolkit's own tables in ClickHouse, schema version 1, beside the Collector's otel_logs
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
