-- Job files (an import's uploaded file, an export's result) as LZ4 blocks
-- that Tern compresses (`packed.rs`): a large upload then costs a fraction of
-- the bytes to send, write to the WAL and store, and to read back when the
-- job starts. Files written by earlier versions stay in job_files until
-- their jobs are purged.
CREATE TABLE job_blobs (
    tenant_id   TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    lz4         BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, job_id)
);
-- Already compressed: PostgreSQL need not try again.
ALTER TABLE job_blobs ALTER COLUMN lz4 SET STORAGE EXTERNAL;
