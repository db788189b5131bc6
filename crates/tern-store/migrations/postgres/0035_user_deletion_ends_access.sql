-- Deleting a user ends everything issued to them: their grants (refresh-token
-- families, and with them the access tokens `/userinfo` checks against the
-- grant), their browser and console sessions, and their password-change
-- tickets (pending lazy-reset ones included). User ids are reused — a
-- re-created or re-migrated `auth0|42` — and none of these rows may pass to
-- the next user with the id. A statement trigger (one pass per deleting
-- statement, so a connection's deletion is set-based) runs in that
-- statement's transaction on every path (one user, by email, a connection's
-- users, any path added later), as the metadata index's do (0025).
CREATE FUNCTION tern_users_end_access() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM refresh_tokens r USING grants g, old_rows o
    WHERE r.tenant_id = g.tenant_id AND r.grant_id = g.id
      AND g.tenant_id = o.tenant_id AND g.user_id = o.user_id;
    DELETE FROM grants g USING old_rows o
    WHERE g.tenant_id = o.tenant_id AND g.user_id = o.user_id;
    DELETE FROM sessions s USING old_rows o
    WHERE s.tenant_id = o.tenant_id AND s.user_id = o.user_id;
    DELETE FROM password_tickets t USING old_rows o
    WHERE t.tenant_id = o.tenant_id AND t.user_id = o.user_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_delete_ends_access AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tern_users_end_access();
