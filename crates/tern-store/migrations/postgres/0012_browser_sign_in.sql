-- Browser sign-in: login transactions of the hosted pages, SSO sessions,
-- authorization codes, grants with their refresh tokens, and the tenant's
-- settings and branding. Keep columns identical across backends. Secrets
-- (session cookies, codes, refresh tokens, transaction cookies) are stored
-- only as SHA-256 digests; times are epoch seconds.

CREATE TABLE login_transactions (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    cookie_hash TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX login_transactions_expiry ON login_transactions (expires_at);

CREATE TABLE sessions (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id_hash         TEXT NOT NULL,
    sid             TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id_hash)
);
CREATE UNIQUE INDEX sessions_sid ON sessions (tenant_id, sid);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE authorization_codes (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    code_hash   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    grant_id    TEXT,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, code_hash)
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);

CREATE TABLE grants (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX grants_user_client ON grants (tenant_id, user_id, client_id);

CREATE TABLE refresh_tokens (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    token_hash      TEXT NOT NULL,
    grant_id        TEXT NOT NULL,
    parent_hash     TEXT,
    client_id       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    idle_expires_at BIGINT,
    used_at         BIGINT,
    rotating        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (tenant_id, grant_id);
CREATE INDEX refresh_tokens_parent ON refresh_tokens (tenant_id, parent_hash);

-- Small per-tenant documents: 'settings' (TenantSettings), 'branding'.
CREATE TABLE tenant_documents (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);
