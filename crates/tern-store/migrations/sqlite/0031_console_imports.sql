-- Imports started from the Tern Console: one JSON document per upload
-- (the connection, the file's name, rows read, hash formats, rows refused
-- before any job, and the jobs with the file rows each holds). The jobs
-- themselves are ordinary rows of `jobs`.
CREATE TABLE console_imports (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX console_imports_newest ON console_imports (tenant_id, created_at);
