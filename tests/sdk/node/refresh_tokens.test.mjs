// Refresh tokens, grants and device credentials through the v7
// ManagementClient — Auth0's three views of what Tern keeps as one grant per
// login with `offline_access`: `users.refreshToken.list/delete`,
// `refreshTokens.list/get/delete/revoke`, `userGrants.list/delete/
// deleteByUserId`, `deviceCredentials.list/delete`. Tokens come from the
// password-realm grant (legacy AuthenticationClient); every revocation is
// checked where the application feels it: the token is refused with
// `invalid_grant` at /oauth/token, while the others keep working.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, management, authentication, traced, rand, cleanup, assertDate, collect, createRealmApp,
  expectManagementError, expectAuthError, assertEnvelope,
} from './helpers.mjs';

const mgmt = management();
const run = rand();
const email = `sdknodert${run}@example.com`;
const password = `Pw!${run}-Aa1-long-enough`;
const undo = [];
let app; let user; let auth;
/** Refresh token values, one per login (grant). */
const tokens = [];

after(() => cleanup(undo));

async function offlineLogin() {
  const res = await auth.oauth.passwordGrant({
    username: email, password, realm: env.connection, scope: 'openid offline_access',
  });
  assert.equal(typeof res.data.refresh_token, 'string', 'offline_access: a refresh token');
  return res.data.refresh_token;
}

async function works(refreshToken) {
  const res = await auth.oauth.refreshTokenGrant({ refresh_token: refreshToken });
  assert.equal(typeof res.data.access_token, 'string');
}

async function refused(refreshToken) {
  const err = await expectAuthError(auth.oauth.refreshTokenGrant({ refresh_token: refreshToken }), 403);
  assert.equal(err.error, 'invalid_grant');
}

async function liveIds() {
  return (await collect(await mgmt.users.refreshToken.list(user.user_id, { take: 1 }))).map((t) => t.id).sort();
}

describe('refresh tokens, grants and device credentials', () => {
  test('three logins with offline_access', traced(async () => {
    app = await createRealmApp(mgmt, `sdk-node-rt-${run}`, undo, ['refresh_token']);
    user = await mgmt.users.create({ connection: env.connection, email, password, email_verified: true });
    undo.push(() => mgmt.users.delete(user.user_id));
    auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    for (let i = 0; i < 3; i++) tokens.push(await offlineLogin());
    for (const t of tokens) await works(t);
  }));

  let ids;
  test('users.refreshToken.list pages with take/from: each token once, in Auth0 shape', traced(async () => {
    assert.ok(tokens.length === 3, 'needs the logins above');
    const first = await mgmt.users.refreshToken.list(user.user_id, { take: 2 });
    assert.equal(first.data.length, 2);
    assert.ok(first.hasNextPage());
    const all = await collect(first);
    ids = all.map((t) => t.id);
    assert.equal(new Set(ids).size, 3, `three distinct tokens: ${ids}`);
    for (const t of all) {
      assert.equal(t.user_id, user.user_id);
      assert.equal(t.client_id, app.client_id);
      assertDate(t.created_at, 'created_at');
      assert.equal(t.rotating, false);
      assert.ok(Array.isArray(t.resource_servers), 'resource_servers');
      assert.match(t.resource_servers[0].scopes, /offline_access/);
    }
    // The application's default: non-expiring.
    assert.equal(all[0].expires_at, null);

    // The same tokens through `refreshTokens.list` (user_id as a filter).
    const again = await collect(await mgmt.refreshTokens.list({ user_id: user.user_id, take: 1 }));
    assert.deepEqual(again.map((t) => t.id).sort(), [...ids].sort());
  }));

  test('refreshTokens.update: refresh_token_metadata set and kept through a use', traced(async () => {
    assert.ok(ids, 'needs the listing above');
    const id = ids[2];
    const updated = await mgmt.refreshTokens.update(id, { refresh_token_metadata: { device: 'kiosk-4' } });
    assert.equal(updated.id, id);
    assert.deepEqual(updated.refresh_token_metadata, { device: 'kiosk-4' });
    for (const t of tokens) await works(t);
    const got = await mgmt.refreshTokens.get(id);
    assert.deepEqual(got.refresh_token_metadata, { device: 'kiosk-4' }, 'exchanges keep it');
    assert.equal(typeof got.device.initial_ip, 'string', 'where it was issued');
    await expectManagementError(mgmt.refreshTokens.update(id, { refresh_token_metadata: { v: 'x'.repeat(256) } }), 400);
  }));

  test('refreshTokens.get and delete: that token is refused, the others work', traced(async () => {
    assert.ok(ids, 'needs the listing above');
    const got = await mgmt.refreshTokens.get(ids[0]);
    assert.equal(got.id, ids[0]);
    assert.equal(got.user_id, user.user_id);
    assert.equal(got.client_id, app.client_id);

    await mgmt.refreshTokens.delete(ids[0]);
    const err = await expectManagementError(mgmt.refreshTokens.get(ids[0]), 404);
    assertEnvelope(err, 404, 'Not Found');
    assert.deepEqual(await liveIds(), ids.slice(1).sort(), 'the list shrinks by one');
    // Which value belonged to ids[0] is not shown: exactly one of the three is refused now.
    const outcomes = [];
    for (const t of tokens) {
      try {
        await auth.oauth.refreshTokenGrant({ refresh_token: t });
        outcomes.push('ok');
      } catch (e) {
        assert.equal(e.error, 'invalid_grant', String(e));
        outcomes.push('refused');
      }
    }
    assert.deepEqual(outcomes.filter((o) => o === 'refused').length, 1, `outcomes ${outcomes}`);
    tokens.splice(outcomes.indexOf('refused'), 1);
  }));

  test('userGrants.list pages with per_page/page; userGrants.delete revokes', traced(async () => {
    assert.equal(tokens.length, 2, 'needs the two live tokens above');
    const first = await mgmt.userGrants.list({ user_id: user.user_id, per_page: 1 });
    assert.equal(first.data.length, 1);
    const grants = await collect(first);
    assert.equal(grants.length, 2);
    assert.equal(first.response.total, 2, 'include_totals: the SDK asks for the totals');
    for (const g of grants) {
      assert.equal(g.user_id, user.user_id);
      assert.equal(g.clientID, app.client_id);
      assert.ok(Array.isArray(g.scope) && g.scope.includes('offline_access'), `scope ${g.scope}`);
    }
    assert.deepEqual(grants.map((g) => g.id).sort(), await liveIds(), 'a grant is a refresh token');

    await mgmt.userGrants.delete(grants[0].id);
    assert.deepEqual(await liveIds(), [grants[1].id]);
    const byClient = await collect(await mgmt.userGrants.list({ client_id: app.client_id }));
    assert.deepEqual(byClient.map((g) => g.id), [grants[1].id]);
  }));

  test('deviceCredentials.list and delete: the last token is refused', traced(async () => {
    const listed = await collect(await mgmt.deviceCredentials.list({ user_id: user.user_id, per_page: 1 }));
    assert.equal(listed.length, 1, JSON.stringify(listed));
    const [cred] = listed;
    assert.match(cred.id, /^dcr_[A-Za-z0-9]{16}$/);
    assert.equal(cred.type, 'refresh_token');
    assert.equal(cred.user_id, user.user_id);
    assert.equal(cred.client_id, app.client_id);
    const none = await mgmt.deviceCredentials.list({ user_id: user.user_id, type: 'public_key' });
    assert.deepEqual(none.data, []);

    // One of the two values left is the live one.
    const live = [];
    for (const t of tokens) {
      try { await works(t); live.push(t); } catch { /* revoked with its grant */ }
    }
    assert.equal(live.length, 1);
    await mgmt.deviceCredentials.delete(cred.id);
    await refused(live[0]);
    assert.deepEqual(await liveIds(), []);
    assert.deepEqual((await mgmt.deviceCredentials.list({ user_id: user.user_id })).data, []);
    // Gone already: accepted and nothing changes (Auth0's OpenAPI lists no 404 here).
    await mgmt.deviceCredentials.delete(cred.id);
    assert.deepEqual((await mgmt.deviceCredentials.list({ user_id: user.user_id })).data, []);
    const bad = await expectManagementError(mgmt.deviceCredentials.delete('not-a-credential'), 400);
    assertEnvelope(bad, 400, 'Bad Request');
  }));

  test('refreshTokens.revoke by ids', traced(async () => {
    const t = await offlineLogin();
    const [id] = await liveIds();
    await mgmt.refreshTokens.revoke({ ids: [id] });
    await refused(t);
  }));

  test('userGrants.deleteByUserId and users.refreshToken.delete revoke everything of the user', traced(async () => {
    const a = await offlineLogin();
    await mgmt.userGrants.deleteByUserId({ user_id: user.user_id });
    await refused(a);
    const b = await offlineLogin();
    const c = await offlineLogin();
    assert.equal((await liveIds()).length, 2);
    await mgmt.users.refreshToken.delete(user.user_id);
    await refused(b);
    await refused(c);
    assert.deepEqual(await liveIds(), []);
  }));
});
