-- Auth0's email templates (`/api/v2/email-templates`): one JSON document per
-- tenant and template name, in Auth0's field names (template, body, from,
-- subject, syntax, resultUrl, urlLifetimeInSeconds, includeEmailInRedirect,
-- enabled). A name without a row has never been set: Tern's built-in mail.
CREATE TABLE email_templates (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- A template's message has an HTML part and may name its sender; the
-- outbox keeps both beside the plain text (NULL: a plain message from the
-- transport's sender).
ALTER TABLE outbox ADD COLUMN html TEXT;
ALTER TABLE outbox ADD COLUMN sender TEXT;
