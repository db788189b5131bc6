-- Fencing for job leases: every claim increments the token, and every write a
-- runner makes for its claim (a batch's progress, the final status, a lease
-- renewal) carries the token it was given. A runner that lost its lease to
-- another (it stalled past the lease, or another instance took the job over)
-- then writes nothing more, so no row is applied twice.
ALTER TABLE jobs ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
