// Single sign-on sessions through the v7 ManagementClient:
// `users.sessions.list/delete` and `sessions.get/update/delete/revoke`, against
// sessions made by real sign-ins through `/authorize` and the hosted login
// page (browser.mjs). The effects are checked where a browser and an
// application feel them: an ended session no longer signs the browser in
// silently (`prompt=none` → `login_required`); a revoked one also takes its
// refresh tokens (`invalid_grant` at /oauth/token, through the legacy SDK).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, management, authentication, traced, rand, cleanup, assertDate, decodeJwt, collect,
  createAppOnConnection, expectManagementError, expectAuthError, assertEnvelope,
} from './helpers.mjs';
import { Browser, CALLBACK, signIn, silentSignIn } from './browser.mjs';

const mgmt = management();
const run = rand();
const email = `sdknodesess${run}@example.com`;
const password = `Pw!${run}-Aa1-long-enough`;
const undo = [];
let app; let user; let auth;
/** One signed-in browser per session: { browser, sid, refreshToken }. */
const signedIn = [];

after(() => cleanup(undo));

describe('sessions', () => {
  test('three browsers sign in through the hosted login page', traced(async () => {
    app = await createAppOnConnection(mgmt, {
      name: `sdk-node-sessions-${run}`,
      app_type: 'regular_web',
      callbacks: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_post',
    }, undo);
    user = await mgmt.users.create({ connection: env.connection, email, password, email_verified: true });
    undo.push(() => mgmt.users.delete(user.user_id));
    auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });

    for (let i = 0; i < 3; i++) {
      const browser = new Browser();
      const code = await signIn(browser, app.client_id, 'openid offline_access', email, password);
      // The legacy SDK exchanges the code and validates the id_token itself.
      const res = await auth.oauth.authorizationCodeGrant({ code, redirect_uri: CALLBACK });
      assert.equal(typeof res.data.refresh_token, 'string', 'offline_access: a refresh token');
      const { sid } = decodeJwt(res.data.id_token).payload;
      assert.equal(typeof sid, 'string', 'the id_token names its session');
      signedIn.push({ browser, sid, refreshToken: res.data.refresh_token });
    }
    assert.equal(new Set(signedIn.map((s) => s.sid)).size, 3, 'three sessions');
    for (const s of signedIn) assert.equal(await silentSignIn(s.browser, app.client_id), 'code');
  }));

  test('users.sessions.list pages with take/from: every session once, in Auth0 shape', traced(async () => {
    assert.ok(user && signedIn.length === 3, 'needs the sign-ins above');
    const first = await mgmt.users.sessions.list(user.user_id, { take: 2 });
    assert.equal(first.data.length, 2, 'a page of `take`');
    assert.ok(first.hasNextPage(), 'a `next` cursor after a full page');
    const all = await collect(first);
    assert.deepEqual(all.map((s) => s.id).sort(), signedIn.map((s) => s.sid).sort());

    const one = all[0];
    assert.equal(one.user_id, user.user_id);
    for (const k of ['created_at', 'updated_at', 'authenticated_at', 'idle_expires_at', 'expires_at',
      'last_interacted_at']) {
      assertDate(one[k], k);
    }
    assert.ok(Date.parse(one.expires_at) > Date.parse(one.created_at), 'expires after it was made');
    assert.deepEqual(one.clients, [{ client_id: app.client_id }]);
    assert.equal(one.authentication.methods[0].name, 'pwd');
    assertDate(one.authentication.methods[0].timestamp, 'methods[0].timestamp');

    const single = await mgmt.users.sessions.list(user.user_id, { take: 100 });
    assert.equal(single.data.length, 3);
    assert.equal(single.hasNextPage(), false, 'no `next` after the last page');
  }));

  test('sessions.get: one session', traced(async () => {
    assert.ok(signedIn.length === 3, 'needs the sign-ins above');
    const s = await mgmt.sessions.get(signedIn[0].sid);
    assert.equal(s.id, signedIn[0].sid);
    assert.equal(s.user_id, user.user_id);
    assertDate(s.created_at, 'created_at');
    assert.deepEqual(s.clients, [{ client_id: app.client_id }]);
  }));

  test('sessions.update: session_metadata set, shown in lists, cleared; device recorded', traced(async () => {
    assert.ok(signedIn.length === 3, 'needs the sign-ins above');
    const sid = signedIn[2].sid;
    const updated = await mgmt.sessions.update(sid, { session_metadata: { risk: 'low', ticket: 'T-1' } });
    assert.equal(updated.id, sid);
    assert.deepEqual(updated.session_metadata, { risk: 'low', ticket: 'T-1' });
    const listed = (await collect(await mgmt.users.sessions.list(user.user_id, { take: 100 })))
      .find((x) => x.id === sid);
    assert.deepEqual(listed.session_metadata, { risk: 'low', ticket: 'T-1' }, 'lists carry the metadata');
    // The browser's sign-in was seen from this machine, with node's user agent.
    assert.equal(typeof listed.device.initial_ip, 'string');
    assert.equal(typeof listed.device.last_user_agent, 'string');
    // A silent sign-in is a use: the metadata stays.
    assert.equal(await silentSignIn(signedIn[2].browser, app.client_id), 'code');
    assert.deepEqual((await mgmt.sessions.get(sid)).session_metadata, { risk: 'low', ticket: 'T-1' });
    // Auth0's refusals reach the SDK as its own errors.
    await expectManagementError(mgmt.sessions.update(sid, { session_metadata: { n: 7 } }), 400);
    const cleared = await mgmt.sessions.update(sid, { session_metadata: null });
    assert.ok(!cleared.session_metadata || Object.keys(cleared.session_metadata).length === 0, 'null clears');
  }));

  test('sessions.delete: the browser must sign in again; its refresh token stays', traced(async () => {
    assert.ok(signedIn.length === 3, 'needs the sign-ins above');
    const [ended, other] = signedIn;
    await mgmt.sessions.delete(ended.sid);
    assert.equal(await silentSignIn(ended.browser, app.client_id), 'login_required');
    assert.equal(await silentSignIn(other.browser, app.client_id), 'code', 'another session is untouched');
    const err = await expectManagementError(mgmt.sessions.get(ended.sid), 404);
    assertEnvelope(err, 404, 'Not Found');
    // Auth0: deleting a session leaves the refresh tokens it issued.
    const res = await auth.oauth.refreshTokenGrant({ refresh_token: ended.refreshToken });
    assert.equal(typeof res.data.access_token, 'string');

    const left = await collect(await mgmt.users.sessions.list(user.user_id, { take: 1 }));
    assert.deepEqual(left.map((s) => s.id).sort(), signedIn.slice(1).map((s) => s.sid).sort());
  }));

  test('sessions.revoke: the session and its refresh tokens end', traced(async () => {
    assert.ok(signedIn.length === 3, 'needs the sign-ins above');
    const revoked = signedIn[1];
    const kept = signedIn[2];
    await mgmt.sessions.revoke(revoked.sid);
    assert.equal(await silentSignIn(revoked.browser, app.client_id), 'login_required');
    const err = await expectAuthError(auth.oauth.refreshTokenGrant({ refresh_token: revoked.refreshToken }), 403);
    assert.equal(err.error, 'invalid_grant');
    // The other session's token is not this session's.
    const res = await auth.oauth.refreshTokenGrant({ refresh_token: kept.refreshToken });
    assert.equal(typeof res.data.access_token, 'string');
    await expectManagementError(mgmt.sessions.revoke(revoked.sid), 404);
  }));

  test('users.sessions.delete: every browser of the user must sign in again', traced(async () => {
    assert.ok(signedIn.length === 3, 'needs the sign-ins above');
    await mgmt.users.sessions.delete(user.user_id);
    assert.equal(await silentSignIn(signedIn[2].browser, app.client_id), 'login_required');
    const page = await mgmt.users.sessions.list(user.user_id);
    assert.deepEqual(page.data, []);
    assert.equal(page.hasNextPage(), false);
  }));

  test('unknown user: NotFoundError with the envelope', traced(async () => {
    const err = await expectManagementError(mgmt.users.sessions.list(`auth0|nobody${run}`), 404);
    assertEnvelope(err, 404, 'Not Found');
    assert.equal(err.body.errorCode, 'inexistent_user');
  }));
});
