-- The order jobs were queued in, given by the database: waiting and pending
-- jobs start in this order. `created_at` has millisecond resolution and comes
-- from the clock of whichever instance queued the job, so jobs of one console
-- upload (queued in the same millisecond) or of two instances could start out
-- of order; a later job of the same file may update what an earlier one
-- inserts, so the order is part of the result. Existing jobs are numbered in
-- their creation order.
ALTER TABLE jobs ADD COLUMN queued_seq BIGINT;
CREATE SEQUENCE jobs_queued_seq OWNED BY jobs.queued_seq;
UPDATE jobs SET queued_seq = q.n
  FROM (SELECT tenant_id, id, nextval('jobs_queued_seq') AS n
          FROM (SELECT tenant_id, id FROM jobs ORDER BY created_at, id) AS o) AS q
 WHERE jobs.tenant_id = q.tenant_id AND jobs.id = q.id;
ALTER TABLE jobs ALTER COLUMN queued_seq SET DEFAULT nextval('jobs_queued_seq');
ALTER TABLE jobs ALTER COLUMN queued_seq SET NOT NULL;
