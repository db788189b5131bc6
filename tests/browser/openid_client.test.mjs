// openid-client 6 (panva) against Tern, in Debian's Chromium: discovery,
// code + PKCE through the hosted login page — with a legacy user migrated
// lazily on the way — userinfo, silent authentication, refresh tokens (rotation,
// reuse, revocation) and RP-initiated logout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import {
  env, issuer, base, mgmt, createApp, launch, appServer, submitLogin, codeFlow,
} from './helpers.mjs';

let browser, app, rp, config, flow, callback, loggedOut;

before(async () => {
  browser = await launch();
  app = await appServer();
  callback = `${app.url}/cb`;
  loggedOut = `${app.url}/logged-out`;
  rp = await createApp(env('TERN_LEGACY_CONNECTION_ID'), {
    app_type: 'regular_web',
    callbacks: [callback],
    allowed_logout_urls: [loggedOut],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_post',
    refresh_token: {
      rotation_type: 'rotating', expiration_type: 'expiring', leeway: 0,
      token_lifetime: 3600, idle_token_lifetime: 600,
    },
  });
  config = await client.discovery(new URL(issuer()), rp.client_id, rp.client_secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  flow = codeFlow(config, callback);
});

after(async () => {
  await browser?.close();
  await app?.close();
});

async function authorize(page, extra = {}) {
  const a = await flow.request(extra);
  return { ...a, go: () => page.goto(a.url.href) };
}

const finish = (page, a, checks) => flow.finish(page, a, checks);

let ctx, page, firstLogin;

test('discovery advertises the code flow with S256 only', () => {
  const m = config.serverMetadata();
  assert.equal(m.issuer, issuer());
  assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
  assert.ok(config.serverMetadata().supportsPKCE());
  assert.ok(m.end_session_endpoint.endsWith('/oidc/logout'));
});

test('a legacy user signs in on the hosted page and is migrated on the way', async () => {
  const email = env('TERN_LEGACY_EMAIL');
  const before = await mgmt('GET', `/users-by-email?email=${encodeURIComponent(email)}`);
  assert.equal(before.length, 0, 'not in Tern before the login');
  ctx = await browser.newContext();
  page = await ctx.newPage();
  const a = await authorize(page, { connection: env('TERN_LEGACY_CONNECTION') });
  await a.go();
  assert.match(await page.title(), /Welcome/);
  // Auth0's redirect chain: the page is served under /u/login with Tern's own state.
  assert.ok(new URL(page.url()).pathname === '/u/login');
  await submitLogin(page, email, env('TERN_LEGACY_PASSWORD'));
  const tokens = await finish(page, a);
  const claims = tokens.claims();
  assert.equal(claims.email, email);
  assert.equal(claims.iss, issuer());
  assert.ok(claims.auth_time, 'auth_time is always there');
  assert.ok(claims.sid);
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.email, email);
  const after = await mgmt('GET', `/users-by-email?email=${encodeURIComponent(email)}`);
  assert.equal(after.length, 1, 'the user now lives in Tern');
  assert.equal(after[0].user_id, claims.sub);
  firstLogin = { claims, tokens };
});

test('a wrong password shows the form again with the reason', async () => {
  const other = await browser.newContext();
  const p = await other.newPage();
  const a = await authorize(p, { connection: env('TERN_LEGACY_CONNECTION') });
  await a.go();
  await submitLogin(p, env('TERN_LEGACY_EMAIL'), 'not the password');
  await p.waitForSelector('[role=alert]');
  assert.match(await p.textContent('[role=alert]'), /Wrong email or password/);
  assert.equal(await p.inputValue('input[name=username]'), env('TERN_LEGACY_EMAIL'));
  await other.close();
});

test('silent authentication (prompt=none) answers from the session', async () => {
  const a = await authorize(page, { prompt: 'none' });
  await a.go();
  const tokens = await finish(page, a);
  assert.equal(tokens.claims().sub, firstLogin.claims.sub);
  assert.equal(tokens.claims().auth_time, firstLogin.claims.auth_time);
  assert.equal(tokens.claims().sid, firstLogin.claims.sid);
});

test('max_age and prompt=login ask again and move auth_time forward', async () => {
  await new Promise((r) => setTimeout(r, 1100));
  const a = await authorize(page, { max_age: '0' });
  await a.go();
  await page.waitForSelector('input[name=password]');
  await submitLogin(page, env('TERN_LEGACY_EMAIL'), env('TERN_LEGACY_PASSWORD'));
  const tokens = await finish(page, a, { maxAge: 0 });
  assert.ok(tokens.claims().auth_time > firstLogin.claims.auth_time);
  assert.notEqual(tokens.claims().sid, firstLogin.claims.sid, 'a new session at each login');
  firstLogin = { claims: tokens.claims(), tokens };
});

test('refresh tokens rotate, a replay revokes the family, revocation works', async () => {
  const a = await authorize(page, { prompt: 'none', scope: 'openid email offline_access' });
  await a.go();
  const first = await finish(page, a);
  assert.ok(first.refresh_token, 'offline_access gives a refresh token');
  const second = await client.refreshTokenGrant(config, first.refresh_token);
  assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token, 'rotated');
  assert.equal(second.claims().sub, firstLogin.claims.sub);
  const info = await client.fetchUserInfo(config, second.access_token, firstLogin.claims.sub);
  assert.equal(info.email, env('TERN_LEGACY_EMAIL'));
  // Replaying the rotated token revokes every token of the family.
  await assert.rejects(client.refreshTokenGrant(config, first.refresh_token),
    (e) => e.error === 'invalid_grant');
  await assert.rejects(client.refreshTokenGrant(config, second.refresh_token),
    (e) => e.error === 'invalid_grant');
  await assert.rejects(client.fetchUserInfo(config, second.access_token, firstLogin.claims.sub));
  // A fresh grant, revoked by the application (RFC 7009).
  const b = await authorize(page, { prompt: 'none', scope: 'openid offline_access' });
  await b.go();
  const third = await finish(page, b);
  await client.tokenRevocation(config, third.refresh_token);
  await assert.rejects(client.refreshTokenGrant(config, third.refresh_token),
    (e) => e.error === 'invalid_grant');
});

test('RP-initiated logout ends the session and returns with the state', async () => {
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: firstLogin.tokens.id_token,
    post_logout_redirect_uri: loggedOut,
    state: 'bye',
  });
  await page.goto(url.href);
  await page.waitForURL((u) => u.href.startsWith(loggedOut));
  assert.equal(new URL(page.url()).searchParams.get('state'), 'bye');
  const a = await authorize(page, { prompt: 'none' });
  await a.go();
  await page.waitForURL((u) => u.href.startsWith(callback));
  await assert.rejects(finish(page, a), (e) => e.error === 'login_required');
  await ctx.close();
});

test('logout without a hint asks first, then returns to the application', async () => {
  ctx = await browser.newContext();
  page = await ctx.newPage();
  const a = await authorize(page);
  await a.go();
  await submitLogin(page, env('TERN_LEGACY_EMAIL'), env('TERN_LEGACY_PASSWORD'));
  await finish(page, a);
  const url = new URL(`${base()}/oidc/logout`);
  url.searchParams.set('client_id', rp.client_id);
  url.searchParams.set('post_logout_redirect_uri', loggedOut);
  url.searchParams.set('state', 'asked');
  await page.goto(url.href);
  await page.waitForSelector('input[name=logout_hint]', { state: 'attached' });
  // The post is answered with a redirect to the application: the page's
  // CSP (form-action) must let Chromium follow it.
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(loggedOut), { timeout: 10000 }),
    page.click('button[type=submit]'),
  ]);
  assert.equal(new URL(page.url()).searchParams.get('state'), 'asked');
  const b = await authorize(page, { prompt: 'none' });
  await b.go();
  await page.waitForURL((u) => u.href.startsWith(callback));
  await assert.rejects(finish(page, b), (e) => e.error === 'login_required');
  await ctx.close();
});
