-- A side index of users' metadata values, so `q=app_metadata.plan:"pro"`
-- (exact or by prefix) is an index range instead of a walk of every user's
-- JSON. One row per (user, app|user metadata, key path, scalar value):
--   path  = the object keys from the top, joined by '.', array levels
--           looked through (`{"a":[{"b":1}]}` gives `a.b`), as the search
--           matches them; a key with a '.' (never searchable) is left out,
--           as is a path longer than 256 characters.
--   token = the scalar, tagged by its type: 's' + a string of at most 256
--           characters, 't' + the first 256 characters of a longer one,
--           'b' + true|false, 'n' + `tern_number_token` of the number.
-- The search gathers candidates here and still checks each against the
-- JSON, so the index only has to hold every match (numbers may collide).
-- Statement triggers (with transition tables, so a `COPY` or an import
-- batch adds its entries in one statement) keep it in the same transaction
-- as every write of a user, on every path and any added later; an update or
-- delete removes the entries of the old document.
CREATE TABLE user_metadata_values (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    kind      TEXT NOT NULL, -- 'app' | 'user'
    path      TEXT NOT NULL COLLATE "C",
    token     TEXT NOT NULL COLLATE "C",
    -- The one index, in lookup order: a user's rows are found (to be
    -- replaced or removed) from their old document's entries.
    PRIMARY KEY (tenant_id, kind, path, token, user_id)
);

-- A number's token: equal numbers give equal tokens (as float8, whose text
-- is the shortest that reads back); numbers out of float8's range share one.
CREATE FUNCTION tern_number_token(n numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'n' || CASE WHEN n = 0 THEN '0'
                       WHEN abs(n) BETWEEN 1e-300 AND 1e300 THEN (n::float8)::text
                       ELSE 'out-of-range' END
$$;

-- The (path, token) entries of one metadata document (see above), walked
-- with a work list in PL/pgSQL: a SQL function with a recursive CTE is
-- planned afresh at every call (milliseconds), this one once per session.
CREATE FUNCTION tern_metadata_entries(doc text)
RETURNS TABLE (path text, token text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE ROWS 4 AS $$
DECLARE
    vs jsonb[] := '{}';
    ps text[] := '{}';
    i int := 0;
    v jsonb;
    p text;
    k text;
    e jsonb;
    s text;
BEGIN
    IF doc IS NULL OR doc = '{}' THEN
        RETURN;
    END IF;
    v := doc::jsonb;
    IF jsonb_typeof(v) <> 'object' THEN
        RETURN;
    END IF;
    FOR k, e IN SELECT * FROM jsonb_each(v) LOOP
        IF strpos(k, '.') = 0 THEN
            vs := array_append(vs, e);
            ps := array_append(ps, k);
        END IF;
    END LOOP;
    WHILE i < cardinality(vs) LOOP
        i := i + 1;
        v := vs[i];
        p := ps[i];
        CASE jsonb_typeof(v)
            WHEN 'object' THEN
                FOR k, e IN SELECT * FROM jsonb_each(v) LOOP
                    IF strpos(k, '.') = 0 THEN
                        vs := array_append(vs, e);
                        ps := array_append(ps, p || '.' || k);
                    END IF;
                END LOOP;
                CONTINUE;
            WHEN 'array' THEN
                FOR e IN SELECT * FROM jsonb_array_elements(v) LOOP
                    vs := array_append(vs, e);
                    ps := array_append(ps, p);
                END LOOP;
                CONTINUE;
            WHEN 'string' THEN
                s := v #>> '{}';
                token := CASE WHEN length(s) <= 256 THEN 's' || s ELSE 't' || left(s, 256) END;
            WHEN 'boolean' THEN
                token := 'b' || (v #>> '{}');
            WHEN 'number' THEN
                token := tern_number_token((v #>> '{}')::numeric);
            ELSE
                CONTINUE;
        END CASE;
        IF length(p) <= 256 THEN
            path := p;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

-- The entries of a set of users (kind, path, token), from their rows.
CREATE FUNCTION tern_users_metadata_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_metadata_values (tenant_id, kind, path, token, user_id)
    SELECT DISTINCT n.tenant_id, k.kind, e.path, e.token, n.user_id
    FROM new_rows n
    CROSS JOIN LATERAL (VALUES ('app', n.app_metadata), ('user', n.user_metadata)) AS k(kind, doc)
    CROSS JOIN LATERAL tern_metadata_entries(k.doc) e
    WHERE k.doc <> '{}';
    RETURN NULL;
END
$$;

-- Users are never renamed (`user_id` is fixed), so old and new rows pair up
-- by (tenant_id, user_id).
CREATE FUNCTION tern_users_metadata_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    x record;
BEGIN
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

CREATE FUNCTION tern_users_metadata_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    x record;
BEGIN
    FOR x IN
        SELECT o.tenant_id, k.kind, e.path, e.token, o.user_id
        FROM old_rows o
        CROSS JOIN LATERAL (VALUES ('app', o.app_metadata), ('user', o.user_metadata)) AS k(kind, doc)
        CROSS JOIN LATERAL tern_metadata_entries(k.doc) e
        WHERE k.doc <> '{}'
    LOOP
        DELETE FROM user_metadata_values
        WHERE tenant_id = x.tenant_id AND kind = x.kind AND path = x.path
          AND token = x.token AND user_id = x.user_id;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_metadata_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tern_users_metadata_added();
CREATE TRIGGER users_metadata_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tern_users_metadata_changed();
CREATE TRIGGER users_metadata_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tern_users_metadata_removed();

-- Backfill: the users stored before this migration.
INSERT INTO user_metadata_values (tenant_id, kind, path, token, user_id)
SELECT DISTINCT u.tenant_id, k.kind, e.path, e.token, u.user_id
FROM users u
CROSS JOIN LATERAL (VALUES ('app', u.app_metadata), ('user', u.user_metadata)) AS k(kind, doc)
CROSS JOIN LATERAL tern_metadata_entries(k.doc) e
WHERE k.doc <> '{}';
