-- A side index of users' metadata values, so `q=app_metadata.plan:"pro"`
-- (exact or by prefix) is an index range instead of a walk of every user's
-- JSON. One row per (user, app|user metadata, key path, scalar value):
--   path  = the object keys from the top, joined by '.', array levels
--           looked through (`{"a":[{"b":1}]}` gives `a.b`), as the search
--           matches them; a '.' within a key (never searchable) is written
--           as U+0001, so such a path matches no search.
--   token = the scalar, tagged by its type: 's' + a string of at most 256
--           characters, 't' + the first 256 characters of a longer one,
--           'b' + true|false, 'n' + the number as SQLite prints it as REAL.
-- The search gathers candidates here and still checks each against the
-- JSON, so the index only has to hold every match (numbers may collide).
-- Triggers keep it in the same transaction as every write of a user, on
-- every path (single writes, import batches, deletes) and any added later;
-- an update or delete removes the entries of the old document.
CREATE TABLE user_metadata_values (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    kind      TEXT NOT NULL, -- 'app' | 'user'
    path      TEXT NOT NULL,
    token     TEXT NOT NULL,
    -- The one B-tree, in lookup order: a user's rows are found (to be
    -- replaced or removed) from their old document's entries.
    PRIMARY KEY (tenant_id, kind, path, token, user_id)
) WITHOUT ROWID;

-- A scalar's path: a `fullkey` without quotes or array indexes (`$.plan`)
-- is the path itself; any other is made of the keys of the scalar's
-- ancestors that are object members (those whose `fullkey` is a prefix of
-- the scalar's), in document order. Triggers cannot use WITH, hence the
-- correlated subquery. An empty document (most users) costs nothing.
CREATE TRIGGER users_app_metadata_insert AFTER INSERT ON users
WHEN NEW.app_metadata <> '{}'
BEGIN
    INSERT OR IGNORE INTO user_metadata_values (tenant_id, user_id, kind, path, token)
    SELECT NEW.tenant_id, NEW.user_id, 'app',
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(NEW.app_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM json_tree(NEW.app_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real');
END;

CREATE TRIGGER users_app_metadata_update AFTER UPDATE OF app_metadata ON users
WHEN OLD.app_metadata IS NOT NEW.app_metadata
BEGIN
    DELETE FROM user_metadata_values
    WHERE tenant_id = OLD.tenant_id AND kind = 'app' AND user_id = OLD.user_id
      AND (path, token) IN (SELECT
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(OLD.app_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM json_tree(OLD.app_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real'));
    INSERT OR IGNORE INTO user_metadata_values (tenant_id, user_id, kind, path, token)
    SELECT NEW.tenant_id, NEW.user_id, 'app',
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(NEW.app_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM json_tree(NEW.app_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real');
END;

CREATE TRIGGER users_user_metadata_insert AFTER INSERT ON users
WHEN NEW.user_metadata <> '{}'
BEGIN
    INSERT OR IGNORE INTO user_metadata_values (tenant_id, user_id, kind, path, token)
    SELECT NEW.tenant_id, NEW.user_id, 'user',
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(NEW.user_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM json_tree(NEW.user_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real');
END;

CREATE TRIGGER users_user_metadata_update AFTER UPDATE OF user_metadata ON users
WHEN OLD.user_metadata IS NOT NEW.user_metadata
BEGIN
    DELETE FROM user_metadata_values
    WHERE tenant_id = OLD.tenant_id AND kind = 'user' AND user_id = OLD.user_id
      AND (path, token) IN (SELECT
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(OLD.user_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM json_tree(OLD.user_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real'));
    INSERT OR IGNORE INTO user_metadata_values (tenant_id, user_id, kind, path, token)
    SELECT NEW.tenant_id, NEW.user_id, 'user',
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(NEW.user_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM json_tree(NEW.user_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real');
END;

CREATE TRIGGER users_app_metadata_delete AFTER DELETE ON users
WHEN OLD.app_metadata <> '{}'
BEGIN
    DELETE FROM user_metadata_values
    WHERE tenant_id = OLD.tenant_id AND kind = 'app' AND user_id = OLD.user_id
      AND (path, token) IN (SELECT
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(OLD.app_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM json_tree(OLD.app_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real'));
END;

CREATE TRIGGER users_user_metadata_delete AFTER DELETE ON users
WHEN OLD.user_metadata <> '{}'
BEGIN
    DELETE FROM user_metadata_values
    WHERE tenant_id = OLD.tenant_id AND kind = 'user' AND user_id = OLD.user_id
      AND (path, token) IN (SELECT
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(OLD.user_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM json_tree(OLD.user_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real'));
END;

-- Backfill: the users stored before this migration.
    INSERT OR IGNORE INTO user_metadata_values (tenant_id, user_id, kind, path, token)
    SELECT u.tenant_id, u.user_id, 'app',
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(u.app_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM users u, json_tree(u.app_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real')
      AND u.app_metadata <> '{}';
    INSERT OR IGNORE INTO user_metadata_values (tenant_id, user_id, kind, path, token)
    SELECT u.tenant_id, u.user_id, 'user',
        CASE WHEN instr(r.fullkey, '"') = 0 AND instr(r.fullkey, '[') = 0
             THEN substr(r.fullkey, 3)
             ELSE (SELECT group_concat(replace(a.key, '.', char(1)), '.')
                   FROM json_tree(u.user_metadata) a
                   WHERE typeof(a.key) = 'text' AND a.id <= r.id
                     AND (a.fullkey = r.fullkey
                          OR substr(r.fullkey, 1, length(a.fullkey) + 1)
                             IN (a.fullkey || '.', a.fullkey || '[')))
        END,
        CASE r.type
            WHEN 'text' THEN CASE WHEN length(r.value) <= 256 THEN 's' || r.value
                                  ELSE 't' || substr(r.value, 1, 256) END
            WHEN 'true' THEN 'btrue'
            WHEN 'false' THEN 'bfalse'
            ELSE 'n' || CAST(CAST(r.value AS REAL) AS TEXT)
        END
    FROM users u, json_tree(u.user_metadata) r
    WHERE r.type IN ('text', 'true', 'false', 'integer', 'real')
      AND u.user_metadata <> '{}';
