-- Searching users by email (`q=email:…`, exact or by prefix) compares
-- `lower(email COLLATE "C")` (byte-wise, ASCII folding, as on SQLite): this
-- index holds that expression, so both are an index lookup or range.
-- `GET /users-by-email` uses it too (then compares the exact value), which
-- makes the plain `(tenant_id, email)` index redundant.
DROP INDEX IF EXISTS users_email;
CREATE INDEX users_email_lower ON users (tenant_id, (lower(email COLLATE "C")));
