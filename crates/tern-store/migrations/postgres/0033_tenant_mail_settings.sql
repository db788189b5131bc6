-- A tenant's SMTP settings as the console's Settings page saves them: one
-- JSON document per tenant (host, port, TLS mode, user, the password sealed
-- with the secrets key, the From address) and who changed it last. Without
-- a row, the configuration file's `smtp` settings apply.
CREATE TABLE tenant_mail_settings (
    tenant_id   TEXT NOT NULL PRIMARY KEY REFERENCES tenants(id),
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
