-- Deleting a user ends everything issued to them: their grants (refresh-token
-- families, and with them the access tokens `/userinfo` checks against the
-- grant), their browser and console sessions, and their password-change
-- tickets (pending lazy-reset ones included). User ids are reused — a
-- re-created or re-migrated `auth0|42` — and none of these rows may pass to
-- the next user with the id. A trigger runs in the deleting statement's
-- transaction on every path (one user, by email, a connection's users, any
-- path added later), as the metadata index's do (0025).
CREATE TRIGGER users_delete_ends_access AFTER DELETE ON users
BEGIN
    DELETE FROM refresh_tokens
    WHERE tenant_id = OLD.tenant_id
      AND grant_id IN (SELECT id FROM grants
                       WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id);
    DELETE FROM grants WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
    DELETE FROM sessions WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
    DELETE FROM password_tickets WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
END;
