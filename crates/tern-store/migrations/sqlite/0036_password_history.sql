-- Password history (a connection's `password_history` option): a user's
-- previous credentials, newest last, at most 24 (Auth0's largest `size`).
-- The trigger writes them in the statement that changes the credential, so
-- no way of setting a password can forget to. A login's rehash of the same
-- password (`record_login`) leaves `updated_at` as it is and is not kept;
-- every password change sets `updated_at`. Deleted with the user (foreign
-- key; `PRAGMA foreign_keys=ON` on every connection).
CREATE TABLE password_history (
    id         INTEGER PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    credential TEXT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX password_history_user ON password_history (tenant_id, user_id, id);

CREATE TRIGGER users_credential_history AFTER UPDATE OF credential ON users
WHEN OLD.credential IS NOT NULL
 AND NEW.credential IS NOT OLD.credential
 AND NEW.updated_at IS NOT OLD.updated_at
BEGIN
    INSERT INTO password_history (tenant_id, user_id, credential)
    VALUES (OLD.tenant_id, OLD.user_id, OLD.credential);
    DELETE FROM password_history
    WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id
      AND id NOT IN (SELECT id FROM password_history
                     WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id
                     ORDER BY id DESC LIMIT 24);
END;
