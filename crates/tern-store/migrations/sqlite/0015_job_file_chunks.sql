-- An export's gzip output, written as it is produced in chunks of about a
-- megabyte and read back chunk by chunk by the download, so neither the
-- export nor its download holds a whole file of a million users in memory.
CREATE TABLE job_file_chunks (
    tenant_id   TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (tenant_id, job_id, seq)
);
