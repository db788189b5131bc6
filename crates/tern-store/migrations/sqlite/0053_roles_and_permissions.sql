-- Auth0's RBAC ("API Authorization Core"): roles, the permissions a role
-- gives, the roles a user holds and the permissions given to a user directly.
-- A permission is a scope an API (resource server) defines, named by the
-- API's identifier and the scope's value, as Auth0's Management API names it.
CREATE TABLE roles (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE role_permissions (
    tenant_id                  TEXT NOT NULL REFERENCES tenants(id),
    role_id                    TEXT NOT NULL,
    resource_server_identifier TEXT NOT NULL,
    permission_name            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, role_id, resource_server_identifier, permission_name)
);
CREATE INDEX role_permissions_api ON role_permissions (tenant_id, resource_server_identifier, permission_name);

CREATE TABLE user_roles (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id   TEXT NOT NULL,
    role_id   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (tenant_id, role_id, user_id);

CREATE TABLE user_permissions (
    tenant_id                  TEXT NOT NULL REFERENCES tenants(id),
    user_id                    TEXT NOT NULL,
    resource_server_identifier TEXT NOT NULL,
    permission_name            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, resource_server_identifier, permission_name)
);
CREATE INDEX user_permissions_api ON user_permissions (tenant_id, resource_server_identifier, permission_name);

-- Deleting a user drops their roles and permissions on every path (one user,
-- by email, a connection's users, the console), in the deleting statement's
-- transaction: ids are reused, and a re-created `auth0|42` starts with none.
CREATE TRIGGER users_delete_drops_authorization AFTER DELETE ON users
BEGIN
    DELETE FROM user_roles WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
    DELETE FROM user_permissions WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
END;

-- Deleting a role drops what it gave and who held it.
CREATE TRIGGER roles_delete_drops_assignments AFTER DELETE ON roles
BEGIN
    DELETE FROM role_permissions WHERE tenant_id = OLD.tenant_id AND role_id = OLD.id;
    DELETE FROM user_roles WHERE tenant_id = OLD.tenant_id AND role_id = OLD.id;
END;

-- Deleting an API drops every permission naming it, so an API created later
-- with the same identifier starts with none given.
CREATE TRIGGER resource_servers_delete_drops_permissions AFTER DELETE ON resource_servers
BEGIN
    DELETE FROM role_permissions
    WHERE tenant_id = OLD.tenant_id AND resource_server_identifier = OLD.identifier;
    DELETE FROM user_permissions
    WHERE tenant_id = OLD.tenant_id AND resource_server_identifier = OLD.identifier;
END;
