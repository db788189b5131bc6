-- MFA: what changes at every one-time code. A user's TOTP enrolments stay
-- in `users.mfa_factors` (their seeds sealed with the secrets key: the
-- server seals rows an earlier version stored in clear when it starts, as
-- no SQL can); this table keeps, per user, the last TOTP time step
-- accepted (a code is used once) and the wrong codes counted since
-- `failures_since` (brute force). Times are epoch seconds.
CREATE TABLE mfa_otp_state (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    user_id        TEXT NOT NULL,
    last_step      BIGINT NOT NULL,
    failures       BIGINT NOT NULL,
    failures_since BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
