-- Signing keys sealed at rest and rotated as Auth0 does. Keep identical to
-- postgres/0007_signing_key_rotation.sql.
--
-- sealed_key: the PKCS#8 PEM sealed by the server with its secrets key
-- (AES-256-GCM, bound to tenant and kid); emptied when the key is revoked.
-- private_pem: what versions before sealing stored in clear; the server
-- seals such a key at start, then empties this column.
-- cert_pem: the key's self-signed certificate (public).
-- state: next | current | previous | revoked.
ALTER TABLE signing_keys ADD COLUMN sealed_key TEXT NOT NULL DEFAULT '';
ALTER TABLE signing_keys ADD COLUMN cert_pem TEXT NOT NULL DEFAULT '';
ALTER TABLE signing_keys ADD COLUMN state TEXT NOT NULL DEFAULT 'previous';
ALTER TABLE signing_keys ADD COLUMN current_since TEXT;
ALTER TABLE signing_keys ADD COLUMN current_until TEXT;
ALTER TABLE signing_keys ADD COLUMN revoked_at TEXT;

-- Before rotation existed, a tenant's newest key signed and the others were
-- only published: the newest becomes the current key, the rest previous keys.
UPDATE signing_keys SET state = 'current', current_since = created_at
 WHERE kid = (SELECT k.kid FROM signing_keys k WHERE k.tenant_id = signing_keys.tenant_id
               ORDER BY k.created_at DESC, k.kid LIMIT 1);

-- One current and one next key per tenant, even with several instances
-- rotating at once.
CREATE UNIQUE INDEX signing_keys_one_per_role ON signing_keys (tenant_id, state)
 WHERE state IN ('current', 'next');
