-- `user_metadata_values` follows a user's metadata on UPDATE through a row
-- trigger that fires only when a statement sets `app_metadata` or
-- `user_metadata` and the value changes. The statement trigger it replaces
-- (0025, with 0034's early exit) ran on every UPDATE of `users`: a
-- login's update of `last_login`, `last_ip` and `logins_count` paid for
-- capturing the old and new rows, a PL/pgSQL call and a query to find no
-- metadata changed — measured with pgbench (one client, prepared, no
-- waiting for the disk) about 0.27 ms of a login's update against 0.33
-- without it, about a quarter of PostgreSQL's CPU per login. A statement
-- trigger cannot name its columns when it reads transition tables, and
-- every UPDATE Tern makes of `users` is of one row (imports update row by
-- row), so a row trigger loses nothing. INSERT and DELETE keep their
-- statement triggers (an import inserts a batch in one statement).
CREATE FUNCTION tern_user_metadata_row_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    x record;
BEGIN
    -- Entry by entry, each a lookup of the whole key (as 0025 does).
    FOR x IN
        SELECT k.kind, e.path, e.token
        FROM (VALUES ('app', OLD.app_metadata, NEW.app_metadata),
                     ('user', OLD.user_metadata, NEW.user_metadata)) AS k(kind, old, new)
        CROSS JOIN LATERAL tern_metadata_entries(k.old) e
        WHERE k.old IS DISTINCT FROM k.new AND k.old <> '{}'
    LOOP
        DELETE FROM user_metadata_values
        WHERE tenant_id = OLD.tenant_id AND kind = x.kind AND path = x.path
          AND token = x.token AND user_id = OLD.user_id;
    END LOOP;
    INSERT INTO user_metadata_values (tenant_id, kind, path, token, user_id)
    SELECT DISTINCT NEW.tenant_id, k.kind, e.path, e.token, NEW.user_id
    FROM (VALUES ('app', OLD.app_metadata, NEW.app_metadata),
                 ('user', OLD.user_metadata, NEW.user_metadata)) AS k(kind, old, new)
    CROSS JOIN LATERAL tern_metadata_entries(k.new) e
    WHERE k.old IS DISTINCT FROM k.new AND k.new <> '{}';
    RETURN NULL;
END
$$;

DROP TRIGGER users_metadata_update ON users;
DROP FUNCTION tern_users_metadata_changed();

CREATE TRIGGER users_metadata_update AFTER UPDATE OF app_metadata, user_metadata ON users
    FOR EACH ROW
    WHEN (OLD.app_metadata IS DISTINCT FROM NEW.app_metadata
          OR OLD.user_metadata IS DISTINCT FROM NEW.user_metadata)
    EXECUTE FUNCTION tern_user_metadata_row_changed();
