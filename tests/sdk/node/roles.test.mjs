// Roles and permissions (RBAC) through the v7 ManagementClient: an API that
// enforces policies with the access_token_authz dialect, a role given a
// permission, the role given to a user beside a direct permission, the user's
// permissions with their sources; then a password-realm token (legacy SDK)
// whose scope and permissions claim follow them.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, management, authentication, traced, rand, cleanup, collect, decodeJwt, createRealmApp,
  expectManagementError, assertEnvelope,
} from './helpers.mjs';

const mgmt = management();
const run = rand();
const identifier = `https://sdk-node-rbac-${run}.example.com/api`;
const email = `sdknoderbac${run}@example.com`;
const password = `Pw!${run}-Aa1-long-enough`;
const undo = [];
let rs; let role; let user;

after(() => cleanup(undo));

describe('roles and permissions', () => {
  test('an API enforcing policies, and a role with one of its permissions', traced(async () => {
    rs = await mgmt.resourceServers.create({
      name: `SDK Node RBAC ${run}`,
      identifier,
      scopes: [
        { value: 'read:reports', description: 'Read reports' },
        { value: 'write:reports', description: 'Write reports' },
        { value: 'share:reports', description: 'Share reports' },
      ],
      enforce_policies: true,
      token_dialect: 'access_token_authz',
    });
    undo.push(() => mgmt.resourceServers.delete(rs.id));
    assert.equal(rs.enforce_policies, true);
    assert.equal(rs.token_dialect, 'access_token_authz');

    role = await mgmt.roles.create({ name: `sdk-node-analyst-${run}`, description: 'Reads reports' });
    undo.push(() => mgmt.roles.delete(role.id));
    assert.match(role.id, /^rol_[A-Za-z0-9]{16}$/);
    assert.equal((await mgmt.roles.get(role.id)).name, role.name);

    await mgmt.roles.permissions.add(role.id, {
      permissions: [{ resource_server_identifier: identifier, permission_name: 'read:reports' }],
    });
    const perms = await collect(await mgmt.roles.permissions.list(role.id));
    assert.deepEqual(perms.map((p) => [p.permission_name, p.resource_server_name, p.description]),
      [['read:reports', `SDK Node RBAC ${run}`, 'Read reports']]);

    const found = await collect(await mgmt.roles.list({ name_filter: `analyst-${run}` }));
    assert.deepEqual(found.map((r) => r.id), [role.id]);
  }));

  test('a permission the API does not define is refused', traced(async () => {
    assert.ok(role, 'needs the role above');
    const err = await expectManagementError(mgmt.roles.permissions.add(role.id, {
      permissions: [{ resource_server_identifier: identifier, permission_name: 'fly:reports' }],
    }), 400);
    assertEnvelope(err, 400, 'Bad Request');
    assert.match(err.body.message, /fly:reports/);
  }));

  test('the role and a direct permission given to a user, listed with their sources', traced(async () => {
    assert.ok(role, 'needs the role above');
    user = await mgmt.users.create({ connection: env.connection, email, password, email_verified: true });
    undo.push(() => mgmt.users.delete(user.user_id));
    await mgmt.users.roles.assign(user.user_id, { roles: [role.id] });
    await mgmt.users.permissions.create(user.user_id, {
      permissions: [{ resource_server_identifier: identifier, permission_name: 'share:reports' }],
    });

    const roles = await collect(await mgmt.users.roles.list(user.user_id));
    assert.deepEqual(roles.map((r) => r.id), [role.id]);
    const members = await collect(await mgmt.roles.users.list(role.id, { take: 10 }));
    assert.deepEqual(members.map((u) => u.user_id), [user.user_id]);
    assert.equal(members[0].email, email);

    const held = await collect(await mgmt.users.permissions.list(user.user_id));
    const byName = Object.fromEntries(held.map((p) => [p.permission_name, p]));
    assert.deepEqual(Object.keys(byName).sort(), ['read:reports', 'share:reports']);
    assert.deepEqual(byName['read:reports'].sources,
      [{ source_id: role.id, source_name: role.name, source_type: 'ROLE' }]);
    assert.equal(byName['share:reports'].sources[0].source_type, 'DIRECT');
  }));

  test('a user token carries only what the user holds', traced(async () => {
    assert.ok(user, 'needs the user above');
    const app = await createRealmApp(mgmt, `sdk-node-rbac-app-${run}`, undo);
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const res = await auth.oauth.passwordGrant({
      username: email, password, realm: env.connection, audience: identifier,
      scope: 'read:reports write:reports',
    });
    const { payload } = decodeJwt(res.data.access_token);
    assert.equal(payload.scope, 'read:reports', 'write:reports is not held');
    assert.deepEqual(payload.permissions, ['read:reports', 'share:reports'], 'every permission held');

    await mgmt.users.roles.delete(user.user_id, { roles: [role.id] });
    const after = await auth.oauth.passwordGrant({
      username: email, password, realm: env.connection, audience: identifier,
      scope: 'read:reports write:reports',
    });
    const narrowed = decodeJwt(after.data.access_token).payload;
    assert.equal(narrowed.scope, '', 'nothing requested is held any more');
    assert.deepEqual(narrowed.permissions, ['share:reports']);
  }));
});
