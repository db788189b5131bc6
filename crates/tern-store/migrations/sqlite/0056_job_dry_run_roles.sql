-- A dry-run import's findings on the roles its rows name (`tern_roles`):
-- JSON `{"would_create": [names], "would_assign": n}` through the rows
-- processed so far. Written in the transaction of each batch's progress, so
-- a resumed dry run reports the whole file; NULL for other jobs.
ALTER TABLE jobs ADD COLUMN dry_run_roles TEXT;
