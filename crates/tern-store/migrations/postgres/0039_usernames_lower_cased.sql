-- Usernames are compared as Auth0 compares them: stored lower-cased
-- (`tern_core::user_profile::normalize_username`, ASCII letters folded, as
-- this `lower()` folds them), so `Alice` and `alice` are one user of a
-- connection and a login as `ALICE` finds `alice`.
--
-- Stored usernames are folded here where that takes no name from anyone:
-- of a connection's users whose usernames differ only by case, one holds
-- the lower-cased form — the one already holding it, else the earliest
-- created — and the others keep their spelling. Such a pair therefore
-- never makes this migration fail (nor the server start).
--
-- From here on every write stores a lower-cased username, so the exact
-- unique index users_connection_username keeps usernames unique without
-- regard to case: the lower-cased form of every kept spelling is held by
-- its group's folded user. A login tries the typed spelling, then its
-- lower-cased form: a folded `Alice` logs in as `Alice` or `alice`, a
-- kept spelling by itself.
UPDATE users SET username = lower(username COLLATE "C")
WHERE (tenant_id, user_id) IN (
    SELECT tenant_id, user_id FROM (
        SELECT tenant_id, user_id, username,
               row_number() OVER (
                   PARTITION BY tenant_id, connection_id, lower(username COLLATE "C")
                   ORDER BY CASE WHEN username = lower(username COLLATE "C") THEN 0 ELSE 1 END,
                            created_at, user_id
               ) AS place
        FROM users
        WHERE username IS NOT NULL
    ) AS candidates
    WHERE place = 1 AND username <> lower(username COLLATE "C")
);
