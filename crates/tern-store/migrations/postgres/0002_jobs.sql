-- Background jobs (bulk imports, later exports). The uploaded file lives in
-- the store with its job, so a restarted server can finish the job; progress
-- (processed_rows and the counters) is committed in the same transaction as
-- the rows it covers, which makes every row apply exactly once.
CREATE TABLE jobs (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    type            TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    total_rows      BIGINT,
    processed_rows  BIGINT NOT NULL DEFAULT 0,
    inserted        BIGINT NOT NULL DEFAULT 0,
    updated         BIGINT NOT NULL DEFAULT 0,
    failed          BIGINT NOT NULL DEFAULT 0,
    status_details  TEXT,
    body            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_status ON jobs (status, lease_until);

CREATE TABLE job_files (
    tenant_id   TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    content     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, job_id)
);

CREATE TABLE job_errors (
    tenant_id   TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    row_index   BIGINT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, job_id, row_index)
);
