-- `DELETE /device-credentials/{id}` finds the grant a device credential
-- stands for. Its id (`dcr_` and the first sixteen characters of the grant
-- id's random part, `tern_core::grants::device_credential_id`) cannot be
-- turned back into the grant id, so it is stored beside the grant and
-- indexed; grants written before are given theirs here, the same way.
ALTER TABLE grants ADD COLUMN device_credential_id TEXT;
UPDATE grants SET device_credential_id = 'dcr_' || CASE
    WHEN substr(id, 1, 3) = 'gr_' THEN substr(id, 4, 16)
    ELSE substr(id, 1, 16)
END;
CREATE INDEX grants_device_credential ON grants (tenant_id, device_credential_id);
