-- Every login updates its user's row (`last_login`, `last_ip`,
-- `logins_count`, sometimes `credential`): none of these columns is indexed,
-- so PostgreSQL can rewrite the row in place (a HOT update, no entry in any
-- of the table's seven indexes) — when its page has room. Filled to 100 %,
-- as an import or a `COPY` leaves them, pages had none: a user's first login
-- after a bulk import moved the row and added an entry to every index, and
-- left as many dead ones. Pages written from now on keep a tenth free.
-- (Pages already full stay so until the table is rewritten, e.g. by
-- `VACUUM FULL users`.)
ALTER TABLE users SET (fillfactor = 90);

-- The update trigger keeps `user_metadata_values`; a statement that changes
-- no metadata (a login's, above all) now leaves at once instead of walking
-- the old and new rows.
CREATE OR REPLACE FUNCTION tern_users_metadata_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    x record;
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM old_rows o
        JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.user_id = o.user_id
        WHERE o.app_metadata IS DISTINCT FROM n.app_metadata
           OR o.user_metadata IS DISTINCT FROM n.user_metadata
    ) THEN
        RETURN NULL;
    END IF;
    -- Row by row, each a lookup of the whole key: a join lets the planner
    -- (which knows nothing of the transition tables) scan a tenant's index.
    FOR x IN
        SELECT o.tenant_id, k.kind, e.path, e.token, o.user_id
        FROM old_rows o
        JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.user_id = o.user_id
        CROSS JOIN LATERAL (VALUES ('app', o.app_metadata, n.app_metadata),
                                   ('user', o.user_metadata, n.user_metadata)) AS k(kind, old, new)
        CROSS JOIN LATERAL tern_metadata_entries(k.old) e
        WHERE k.old IS DISTINCT FROM k.new AND k.old <> '{}'
    LOOP
        DELETE FROM user_metadata_values
        WHERE tenant_id = x.tenant_id AND kind = x.kind AND path = x.path
          AND token = x.token AND user_id = x.user_id;
    END LOOP;
    INSERT INTO user_metadata_values (tenant_id, kind, path, token, user_id)
    SELECT DISTINCT n.tenant_id, k.kind, e.path, e.token, n.user_id
    FROM old_rows o
    JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.user_id = o.user_id
    CROSS JOIN LATERAL (VALUES ('app', o.app_metadata, n.app_metadata),
                               ('user', o.user_metadata, n.user_metadata)) AS k(kind, old, new)
    CROSS JOIN LATERAL tern_metadata_entries(k.new) e
    WHERE k.old IS DISTINCT FROM k.new AND k.new <> '{}';
    RETURN NULL;
END
$$;
