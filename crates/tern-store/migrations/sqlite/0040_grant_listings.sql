-- The Management API lists and revokes grants (`/grants`, `/refresh-tokens`,
-- `/device-credentials`) by user, application and API. The API was only in
-- the grant's JSON body: it becomes a column (backfilled) so the audience
-- filter pages in SQL. `grants_user_client` already serves the user
-- filter; `grants_client` serves an application's grants alone.
-- `last_used_at` is when a non-rotating token was last exchanged (a rotating
-- one's exchange is its `used_at`): Auth0's `last_exchanged_at`.
ALTER TABLE grants ADD COLUMN audience TEXT;
UPDATE grants SET audience = json_extract(body, '$.audience');
CREATE INDEX grants_client ON grants (tenant_id, client_id);
ALTER TABLE refresh_tokens ADD COLUMN last_used_at BIGINT;
