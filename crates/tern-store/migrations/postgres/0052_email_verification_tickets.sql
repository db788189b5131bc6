-- Email-verification tickets (`POST /api/v2/tickets/email-verification`,
-- `POST /api/v2/jobs/verification-email`). Only the SHA-256 of the token is
-- stored; `email` is the address the link was issued for, which redeeming
-- requires the user still to have; expires_at is epoch seconds. Kept apart
-- from password_tickets so that no query of one kind can ever use the other.
CREATE TABLE email_verification_tickets (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    token_hash      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    connection_id   TEXT NOT NULL,
    email           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         TEXT,
    body            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX email_verification_tickets_user ON email_verification_tickets (tenant_id, user_id);
CREATE INDEX email_verification_tickets_expiry ON email_verification_tickets (expires_at);

-- Deleting a user deletes their verification links, on every path, as 0035
-- does for password tickets: ids are reused. One pass per deleting statement.
CREATE FUNCTION tern_users_end_verification() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM email_verification_tickets t USING old_rows o
    WHERE t.tenant_id = o.tenant_id AND t.user_id = o.user_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_delete_ends_verification AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tern_users_end_verification();
