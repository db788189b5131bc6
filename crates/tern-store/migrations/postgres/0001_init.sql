-- Tern schema, PostgreSQL. Keep columns identical to sqlite/0001_init.sql:
-- the store's SQL is shared. Booleans are 0/1 BIGINT, times fixed-width ISO
-- text (text order = time order), JSON documents TEXT.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE signing_keys (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kid         TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);

-- Configuration entities: a JSON body plus the columns they are looked up by.
CREATE TABLE clients (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE resource_servers (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    identifier  TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, identifier)
);

CREATE TABLE client_grants (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    audience    TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, client_id, audience)
);

CREATE TABLE connections (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE users (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    user_id          TEXT NOT NULL,
    connection_id    TEXT NOT NULL,
    connection_name  TEXT NOT NULL,
    email            TEXT,
    email_verified   BIGINT NOT NULL DEFAULT 0,
    username         TEXT,
    phone_number     TEXT,
    phone_verified   BIGINT NOT NULL DEFAULT 0,
    name             TEXT,
    given_name       TEXT,
    family_name      TEXT,
    nickname         TEXT,
    picture          TEXT,
    blocked          BIGINT NOT NULL DEFAULT 0,
    app_metadata     TEXT NOT NULL DEFAULT '{}',
    user_metadata    TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    last_login       TEXT,
    last_ip          TEXT,
    logins_count     BIGINT NOT NULL DEFAULT 0,
    credential       TEXT,
    source           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
-- One user per email and per username in a connection: this is also what makes
-- two concurrent first logins of one legacy user create it once.
CREATE UNIQUE INDEX users_connection_email ON users (tenant_id, connection_id, email);
CREATE UNIQUE INDEX users_connection_username ON users (tenant_id, connection_id, username);
CREATE INDEX users_email ON users (tenant_id, email);
CREATE INDEX users_created ON users (tenant_id, created_at, user_id);

CREATE TABLE logs (
    seq         BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    date        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX logs_tenant_type ON logs (tenant_id, type, seq);
CREATE INDEX logs_tenant ON logs (tenant_id, seq);
