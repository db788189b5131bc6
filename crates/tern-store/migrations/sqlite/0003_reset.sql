-- Password resets and mail. Keep columns identical across backends.

-- Password-change tickets. Only the SHA-256 of the token is stored, so the
-- database never holds a usable reset link; expires_at is epoch seconds.
CREATE TABLE password_tickets (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    token_hash      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    connection_id   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         TEXT,
    body            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX password_tickets_user ON password_tickets (tenant_id, user_id);
CREATE INDEX password_tickets_expiry ON password_tickets (expires_at);

-- Mail kept when no SMTP server is configured (never dropped silently).
CREATE TABLE outbox (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_created ON outbox (tenant_id, created_at, id);
