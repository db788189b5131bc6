-- A user's log events (GET /api/v2/users/{id}/logs, q=user_id:"…" on
-- GET /api/v2/logs, the console's user history) are read through an index
-- instead of by scanning the log. The user id is written beside the body by
-- every insert (the body keeps it too); events before this migration get it
-- from their body here, once.
ALTER TABLE logs ADD COLUMN user_id TEXT;
UPDATE logs SET user_id = body::jsonb ->> 'user_id' WHERE body::jsonb ? 'user_id';
CREATE INDEX logs_tenant_user ON logs (tenant_id, user_id, seq) WHERE user_id IS NOT NULL;
