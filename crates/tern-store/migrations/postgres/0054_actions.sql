-- Auth0 Actions (post-login): each action a JSON document (its draft, with
-- secrets sealed by the server's key, and the version a deploy snapshotted),
-- looked up by id and kept unique by name; each trigger's bindings one
-- ordered JSON list, so replacing them is one write.
CREATE TABLE actions (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE action_bindings (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    trigger_id  TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, trigger_id)
);
