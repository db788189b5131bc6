// A post-login action that sends the browser to another site
// (`api.redirect.sendUserTo`), in Debian's Chromium: the site — on another
// *site* than Tern's (127.0.0.1 against localhost), as a consent or terms
// page is — checks the session token Tern signed, then posts its answer back
// to `/continue` in a form. The browser leaves Tern's SameSite=Lax
// transaction cookie off that cross-site POST, so Tern answers with its own
// page that posts the same fields again from Tern's origin (the cookie comes
// along); the action's `onContinuePostLogin` then validates the site's
// token and the login finishes at the application with the claim it set.
// The tokens are checked by openid-client; the site's HS256 tokens are made
// and checked here with Node's crypto, not by Tern's code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as client from 'openid-client';
import {
  env, issuer, base, mgmt, createApp, launch, appServer, submitLogin, codeFlow,
} from './helpers.mjs';

const EMAIL = 'redirect-user@example.com';
const PASSWORD = 'Redirect-Password-42!';
const SECRET = 'a-secret-the-action-and-the-site-share';
const CLAIM = 'https://example.com/consent';

let browser, app, rp, config, flow, callback, site, actionId, boundBefore;
const seen = { site: [] };

const b64url = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const sign = (input) => crypto.createHmac('sha256', SECRET).update(input).digest('base64url');
const hs256 = (claims) => {
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
  return `${input}.${sign(input)}`;
};
/** The claims of a token Tern signed, if its signature is right. */
function verified(token) {
  const [h, p, s] = String(token).split('.');
  const expected = Buffer.from(sign(`${h}.${p}`));
  const given = Buffer.from(s ?? '');
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return null;
  return JSON.parse(Buffer.from(p, 'base64url').toString());
}

/** The consent site's page: a form posting the answer to Tern's /continue. */
function consentPage(url) {
  const state = url.searchParams.get('state');
  const incoming = verified(url.searchParams.get('session_token'));
  seen.site.push({ state, incoming });
  const answer = hs256({ state, answer: 'granted', exp: Math.floor(Date.now() / 1000) + 300 });
  const esc = (v) => String(v).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><title>consent</title>
<form method="post" action="${esc(base())}/continue">
  <input type="hidden" name="state" value="${esc(state)}">
  <input type="hidden" name="session_token" value="${esc(answer)}">
  <button id="agree" type="submit">I agree</button>
</form>`;
}

before(async () => {
  browser = await launch();
  app = await appServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/consent') return false;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(consentPage(url));
    return true;
  });
  callback = `${app.url}/cb`;
  // The consent site on another site than Tern's: the same server, by address.
  site = app.url.replace('localhost', '127.0.0.1');
  rp = await createApp(env('TERN_DEFAULT_CONNECTION_ID'), {
    app_type: 'regular_web',
    callbacks: [callback],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
  });
  await mgmt('POST', '/users', { connection: 'Username-Password-Authentication', email: EMAIL, password: PASSWORD });
  // The action acts only for this suite's application: the other suites
  // share the server and must not be redirected.
  const code = `
exports.onExecutePostLogin = async (event, api) => {
  if (event.client.client_id !== ${JSON.stringify(rp.client_id)}) return;
  const token = api.redirect.encodeToken({
    secret: event.secrets.SHARED, expiresInSeconds: 300, payload: { email: event.user.email },
  });
  api.redirect.sendUserTo(${JSON.stringify(`${site}/consent`)}, { query: { session_token: token } });
};
exports.onContinuePostLogin = async (event, api) => {
  const answer = api.redirect.validateToken({ secret: event.secrets.SHARED, tokenParameterName: 'session_token' });
  api.idToken.setCustomClaim(${JSON.stringify(CLAIM)}, answer.answer);
};`;
  const action = await mgmt('POST', '/actions/actions', {
    name: 'browser-consent',
    supported_triggers: [{ id: 'post-login', version: 'v3' }],
    code,
    runtime: 'node22',
    secrets: [{ name: 'SHARED', value: SECRET }],
  });
  actionId = action.id;
  await mgmt('POST', `/actions/actions/${actionId}/deploy`);
  boundBefore = (await mgmt('GET', '/actions/triggers/post-login/bindings')).bindings;
  await mgmt('PATCH', '/actions/triggers/post-login/bindings', {
    bindings: [
      ...boundBefore.map((b) => ({ ref: { type: 'action_id', value: b.action.id }, display_name: b.display_name })),
      { ref: { type: 'action_id', value: actionId }, display_name: 'consent' },
    ],
  });
  config = await client.discovery(new URL(issuer()), rp.client_id, rp.client_secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  flow = codeFlow(config, callback);
});

after(async () => {
  if (boundBefore) {
    await mgmt('PATCH', '/actions/triggers/post-login/bindings', {
      bindings: boundBefore.map((b) => ({ ref: { type: 'action_id', value: b.action.id }, display_name: b.display_name })),
    });
  }
  await browser?.close();
  await app?.close();
});

/** A new browser signs in; the action sends it to the consent site. */
async function signedInToConsent() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const a = await flow.request();
  await page.goto(a.url.href);
  await submitLogin(page, EMAIL, PASSWORD);
  await page.waitForURL((u) => u.href.startsWith(`${site}/consent`));
  return { ctx, page, a };
}

test('a redirecting action sends the browser to another site and resumes at /continue', async () => {
  const { ctx, page, a } = await signedInToConsent();
  const [visit] = seen.site;
  assert.ok(visit, 'the consent site was visited');
  assert.ok(visit.incoming, "Tern's session token verifies with the shared secret");
  assert.equal(visit.incoming.email, EMAIL);
  assert.equal(visit.incoming.state, visit.state, "the token carries the redirect's state");
  assert.ok(visit.incoming.exp > Date.now() / 1000);

  // The answer goes back cross-site; Tern re-posts it from its own origin.
  const continues = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/continue') continues.push(r.method());
  });
  await page.click('#agree');
  const tokens = await flow.finish(page, a);
  assert.deepEqual(continues, ['POST', 'POST'], 'the cross-site post, then the one from Tern');
  const claims = tokens.claims();
  assert.equal(claims.email, EMAIL);
  assert.equal(claims[CLAIM], 'granted', 'onContinuePostLogin ran with the site’s answer');

  // A session came of it: a second sign-in of this application runs the
  // action again (it redirects every time) and needs no password.
  const again = await flow.request();
  await page.goto(again.url.href);
  await page.waitForURL((u) => u.href.startsWith(`${site}/consent`));
  assert.equal(seen.site.length, 2);
  assert.notEqual(seen.site[1].state, visit.state, 'each pause has its own state');
  await page.click('#agree');
  const second = await flow.finish(page, again);
  assert.equal(second.claims()[CLAIM], 'granted');
  await ctx.close();
});

test('another browser posting the answer signs nobody in; the login’s own browser still can', async () => {
  const { ctx, page, a } = await signedInToConsent();
  const state = seen.site.at(-1).state;
  // Another browser (no transaction cookie) posting this login's answer.
  const other = await browser.newContext();
  const thief = await other.newPage();
  const answers = [];
  thief.on('response', (r) => {
    if (new URL(r.url()).pathname === '/continue') answers.push(r.status());
  });
  await thief.goto(`${site}/consent?state=${encodeURIComponent(state)}`);
  const refused = thief.waitForResponse(
    (r) => new URL(r.url()).pathname === '/continue' && r.status() === 403,
  );
  await thief.click('#agree');
  // Its post gets Tern's re-post page (200); the re-post, still without
  // the cookie, is refused (403): no code reaches the application.
  await refused;
  assert.deepEqual(answers, [200, 403]);
  assert.ok(!thief.url().startsWith(callback), `no code for another browser: ${thief.url()}`);
  await other.close();
  // The login's own browser still finishes.
  await page.click('#agree');
  const tokens = await flow.finish(page, a);
  assert.equal(tokens.claims()[CLAIM], 'granted');
  await ctx.close();
});
