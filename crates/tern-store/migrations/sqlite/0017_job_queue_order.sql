-- The order jobs were queued in, given by the database: waiting and pending
-- jobs start in this order. `created_at` has millisecond resolution, so jobs
-- of one console upload (queued in the same millisecond) could start out of
-- order; a later job of the same file may update what an earlier one
-- inserts, so the order is part of the result. A new job's number is its
-- `rowid`: SQLite gives a new row one more than the highest present, so it
-- is above every job still stored (existing jobs are numbered by rank in
-- their creation order, at most their count, so below any new rowid).
ALTER TABLE jobs ADD COLUMN queued_seq INTEGER;
UPDATE jobs SET queued_seq = (
  SELECT COUNT(*) FROM jobs AS e
   WHERE e.created_at < jobs.created_at
      OR (e.created_at = jobs.created_at AND e.id <= jobs.id));
CREATE TRIGGER jobs_queued_seq AFTER INSERT ON jobs WHEN NEW.queued_seq IS NULL
BEGIN
  UPDATE jobs SET queued_seq = NEW.rowid WHERE rowid = NEW.rowid;
END;
