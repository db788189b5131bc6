-- `GET /api/v2/logs/{id}` finds one event by its `log_id`. Log ids begin
-- with their creation time in nanoseconds, so new entries land at the
-- index's end and the insert a login makes stays cheap.
CREATE INDEX logs_tenant_log_id ON logs (tenant_id, id);
