-- The migration report (GET /api/v2/connections/{id}/migration) counts a
-- connection's users per arrival source; this index answers it without
-- reading user rows.
CREATE INDEX users_connection_source ON users (tenant_id, connection_id, source, created_at);
