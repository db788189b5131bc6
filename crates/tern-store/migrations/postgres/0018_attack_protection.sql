-- Attack protection (issue 12). Everything here is shared by the instances
-- using the database, so limits hold across them. Keep columns identical
-- across backends; times are epoch seconds (or milliseconds where named).

-- Fixed-window counters: the Management API's requests per client (scope
-- 'api', bucket the client id), login attempts per user and IP, reset
-- mails per user. One row per (scope, bucket, window); old windows are
-- purged.
CREATE TABLE rate_windows (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    scope         TEXT NOT NULL,
    bucket        TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    hits          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, scope, bucket, window_start)
);
CREATE INDEX rate_windows_start ON rate_windows (window_start);

-- The tenant's attack-protection settings, one JSON document per kind
-- ('brute-force-protection', 'suspicious-ip-throttling'); absent: defaults.
CREATE TABLE attack_protection (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);

-- Brute-force protection: consecutive failed logins of one user from one
-- IP ('' when counted per identifier), and the block they led to. Only the
-- SHA-256 of the unblock link's token is stored.
CREATE TABLE login_failures (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    user_id          TEXT NOT NULL,
    ip               TEXT NOT NULL,
    connection       TEXT NOT NULL,
    identifier       TEXT NOT NULL,
    failures         BIGINT NOT NULL,
    last_failure_at  BIGINT NOT NULL,
    blocked_at       BIGINT,
    notified_at      BIGINT,
    unblock_hash     TEXT,
    PRIMARY KEY (tenant_id, user_id, ip)
);
CREATE INDEX login_failures_identifier ON login_failures (tenant_id, identifier);
CREATE INDEX login_failures_unblock ON login_failures (tenant_id, unblock_hash);
CREATE INDEX login_failures_last ON login_failures (last_failure_at);

-- Suspicious-IP throttling: one bucket per IP and stage ('pre-login',
-- 'pre-user-registration'), kept as the time at which it is full again
-- (GCRA's theoretical arrival time, in milliseconds).
CREATE TABLE ip_throttles (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    stage      TEXT NOT NULL,
    ip         TEXT NOT NULL,
    tat_ms     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, stage, ip)
);
CREATE INDEX ip_throttles_tat ON ip_throttles (tat_ms);
