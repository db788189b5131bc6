// @auth0/auth0-spa-js 2 on a page this test serves (another origin than
// Tern's): login with a redirect through the hosted page, the code exchange
// from JavaScript (CORS), getTokenSilently with refresh tokens (rotating), and
// logout through /v2/logout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { env, base, mgmt, createApp, launch, appServer, submitLogin } from './helpers.mjs';

const EMAIL = 'spa-user@example.com';
const PASSWORD = 'Spa-Password-42!';
const bundle = fs.readFileSync(
  new URL('./node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js', import.meta.url),
);

let browser, app, spa;

/** The README's screenshots of the hosted login page (docs/). */
async function screenshot(page, name) {
  await page.setViewportSize({ width: 900, height: 700 });
  await page.screenshot({ path: new URL(`../../docs/${name}`, import.meta.url).pathname });
}

before(async () => {
  browser = await launch();
  app = await appServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/auth0-spa-js.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
      return true;
    }
    if (path === '/spa.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>spa</title><script src="/auth0-spa-js.js"></script><p>spa</p>');
      return true;
    }
    return false;
  });
  spa = await createApp(env('TERN_DEFAULT_CONNECTION_ID'), {
    app_type: 'spa',
    callbacks: [`${app.url}/spa.html`],
    allowed_logout_urls: [`${app.url}/bye`],
    allowed_origins: [app.url],
    web_origins: [app.url],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    refresh_token: {
      rotation_type: 'rotating', expiration_type: 'expiring', leeway: 0,
      token_lifetime: 3600, idle_token_lifetime: 600,
    },
  });
  await mgmt('POST', '/users', { connection: 'Username-Password-Authentication', email: EMAIL, password: PASSWORD });
});

after(async () => {
  await browser?.close();
  await app?.close();
});

/** Evaluated in the page: a client configured for Tern. */
const options = () => ({
  // With a scheme, spa-js expects the issuer `${domain}/`.
  domain: base(),
  clientId: spa.client_id,
  useRefreshTokens: true,
  cacheLocation: 'localstorage',
  authorizationParams: { redirect_uri: `${app.url}/spa.html` },
});

test('login, refresh-token silent renewal across origins, and logout', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const tokenCalls = [];
  page.on('request', (r) => {
    if (r.url() === `${base()}/oauth/token` && r.method() === 'POST') {
      const body = r.postData() || '';
      const grant = body.startsWith('{')
        ? JSON.parse(body).grant_type
        : new URLSearchParams(body).get('grant_type');
      tokenCalls.push(grant);
    }
  });
  await page.goto(`${app.url}/spa.html`);
  await page.evaluate(async (o) => {
    const c = await auth0.createAuth0Client(o);
    await c.loginWithRedirect();
  }, options());
  await page.waitForURL((u) => new URL(u).pathname === '/u/login');
  await screenshot(page, 'login-plain.png');
  await submitLogin(page, EMAIL, PASSWORD);
  await page.waitForURL((u) => u.href.startsWith(`${app.url}/spa.html?`));

  const first = await page.evaluate(async (o) => {
    const c = await auth0.createAuth0Client(o);
    await c.handleRedirectCallback();
    const user = await c.getUser();
    const token = await c.getTokenSilently();
    return { email: user.email, sub: user.sub, token };
  }, options());
  assert.equal(first.email, EMAIL);
  assert.deepEqual(tokenCalls, ['authorization_code'], 'the code exchange ran from the page (CORS)');

  // Bypass the cache: spa-js uses its refresh token (rotated each time).
  const renewed = await page.evaluate(async (o) => {
    const c = await auth0.createAuth0Client(o);
    const a = await c.getTokenSilently({ cacheMode: 'off' });
    const b = await c.getTokenSilently({ cacheMode: 'off' });
    return { a, b, user: (await c.getUser()).sub };
  }, options());
  assert.notEqual(renewed.a, first.token);
  assert.notEqual(renewed.b, renewed.a);
  assert.equal(renewed.user, first.sub);
  assert.deepEqual(tokenCalls, ['authorization_code', 'refresh_token', 'refresh_token']);

  // The access token works at /userinfo from the page, too.
  const email = await page.evaluate(async ([url, token]) => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    return (await r.json()).email;
  }, [`${base()}/userinfo`, renewed.b]);
  assert.equal(email, EMAIL);

  await page.evaluate(async ([o, returnTo]) => {
    const c = await auth0.createAuth0Client(o);
    await c.logout({ logoutParams: { returnTo } });
  }, [options(), `${app.url}/bye`]);
  await page.waitForURL((u) => u.href.startsWith(`${app.url}/bye`));
  await page.goto(`${app.url}/spa.html`);
  const signedIn = await page.evaluate(async (o) => {
    const c = await auth0.createAuth0Client(o);
    return c.isAuthenticated();
  }, options());
  assert.equal(signedIn, false);
  await ctx.close();
});

test('branding applies to the hosted login page (screenshot for the README)', async () => {
  await mgmt('PATCH', '/branding', { colors: { primary: '#0b6e4f', page_background: '#f3efe0' } });
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${app.url}/spa.html`);
  await page.evaluate(async (o) => {
    const c = await auth0.createAuth0Client(o);
    await c.loginWithRedirect();
  }, options());
  await page.waitForURL((u) => new URL(u).pathname === '/u/login');
  const html = await page.content();
  assert.match(html, /#0b6e4f/i, 'the primary colour is in the page');
  await screenshot(page, 'login-branded.png');
  await ctx.close();
  // Back to Tern's default look for whatever runs next.
  await mgmt('PATCH', '/branding', { colors: null });
});

test('a page on an origin no application allows cannot call the token endpoint', async () => {
  const other = await appServer();
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${other.url}/x`);
  const outcome = await page.evaluate(async (url) => {
    try {
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', client_id: 'x', refresh_token: 'y' }),
      });
      return 'read';
    } catch {
      return 'blocked';
    }
  }, `${base()}/oauth/token`);
  assert.equal(outcome, 'blocked');
  await ctx.close();
  await other.close();
});
