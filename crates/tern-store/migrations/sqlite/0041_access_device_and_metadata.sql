-- What the Management API shows of where sessions and refresh tokens were
-- used, and what operators write on them (`PATCH /sessions/{id}`,
-- `PATCH /refresh-tokens/{id}`). A session's device is in its JSON body;
-- its metadata gets a column, as each use rewrites the body and would
-- otherwise write back metadata changed in between. A grant's metadata is
-- the refresh token family's, kept across rotations. A refresh token row
-- records the request that issued it, or last exchanged it when it does not
-- rotate: its family's latest address and user agent.
ALTER TABLE sessions ADD COLUMN metadata TEXT;
ALTER TABLE grants ADD COLUMN metadata TEXT;
ALTER TABLE refresh_tokens ADD COLUMN ip TEXT;
ALTER TABLE refresh_tokens ADD COLUMN user_agent TEXT;
