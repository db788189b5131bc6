// express-openid-connect 3 (Auth0's Express SDK) against Tern, in Debian's
// Chromium: a small Express application signs a user in through the hosted
// login page, reads `req.oidc.user`, and logs out through Tern's
// end_session_endpoint; a user imported with a TOTP enrolment signs in with
// the code of their "authenticator app" — RFC 6238 computed here, with
// node's own HMAC, from the seed the import carried.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import express from 'express';
import eoc from 'express-openid-connect';
import { env, issuer, mgmt, createApp, launch, submitLogin } from './helpers.mjs';

const { auth, requiresAuth } = eoc;
let browser, server, appUrl;

/** RFC 4648 Base32 to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not Base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

/** RFC 6238 TOTP: HMAC-SHA1 of the 30-second step, dynamic truncation, 6 digits. */
export function totp(seed, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const h = crypto.createHmac('sha1', seed).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  const bin = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

test('the suite\'s TOTP matches RFC 6238 appendix B', () => {
  const seed = Buffer.from('12345678901234567890');
  // The RFC's 8-digit values, last six digits.
  assert.equal(totp(seed, 59), '287082');
  assert.equal(totp(seed, 1111111109), '081804');
  assert.equal(totp(seed, 1234567890), '005924');
  assert.deepEqual(base32('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), seed);
});

before(async () => {
  browser = await launch();
  // The port first: express-openid-connect needs its baseURL up front.
  server = http.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  appUrl = `http://localhost:${server.address().port}`;
  const rp = await createApp(env('TERN_DEFAULT_CONNECTION_ID'), {
    app_type: 'regular_web',
    callbacks: [`${appUrl}/callback`],
    allowed_logout_urls: [appUrl],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const app = express();
  app.use(auth({
    issuerBaseURL: issuer(),
    baseURL: appUrl,
    clientID: rp.client_id,
    clientSecret: rp.client_secret,
    secret: crypto.randomBytes(32).toString('hex'),
    authRequired: false,
    idpLogout: true,
    authorizationParams: { response_type: 'code', scope: 'openid profile email' },
  }));
  app.get('/', (req, res) => res.send(`<p id="state">${req.oidc.isAuthenticated() ? 'in' : 'out'}</p>`));
  app.get('/me', requiresAuth(), (req, res) => res.json({ user: req.oidc.user, claims: req.oidc.idTokenClaims }));
  server.on('request', app);
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
});

async function me(page) {
  await page.goto(`${appUrl}/me`);
  return JSON.parse(await page.locator('body').innerText());
}

test('login through the hosted page, req.oidc.user, logout', async () => {
  const email = `express-${Date.now()}@example.com`;
  const password = 'Express-Tern-42!';
  await mgmt('POST', '/users', { connection: 'Username-Password-Authentication', email, password, email_verified: true });
  const page = await browser.newPage();
  await page.goto(`${appUrl}/login`);
  assert.ok(new URL(page.url()).pathname.startsWith('/u/login'), page.url());
  await submitLogin(page, email, password);
  await page.waitForURL((u) => u.href.startsWith(appUrl) && !u.pathname.startsWith('/callback'));
  const { user, claims } = await me(page);
  assert.equal(user.email, email);
  assert.match(user.sub, /^auth0\|/);
  assert.equal(claims.iss, issuer());
  assert.ok(claims.sid, 'a session id');
  // Logout ends the app session and Tern's, then comes back to the app.
  await page.goto(`${appUrl}/logout`);
  await page.waitForURL((u) => u.href.startsWith(appUrl) && new URL(u.href).pathname === '/');
  assert.equal(await page.locator('#state').innerText(), 'out');
  // Tern's session is gone too: the next login asks for the password again.
  await page.goto(`${appUrl}/login`);
  await page.waitForSelector('input[name=password]');
  await page.close();
});

test('a user imported with a TOTP enrolment signs in with a code computed here', async () => {
  const seed = base32(env('TERN_TOTP_SEED'));
  const page = await browser.newPage();
  await page.goto(`${appUrl}/login`);
  await submitLogin(page, env('TERN_TOTP_EMAIL'), env('TERN_TOTP_PASSWORD'));
  await page.waitForURL((u) => new URL(u.href).pathname === '/u/mfa-otp-challenge');
  // A wrong code first: refused, the form again.
  const right = totp(seed, Date.now() / 1000);
  const wrong = String((Number(right) + 500000) % 1000000).padStart(6, '0');
  await page.fill('input[name=code]', wrong);
  await page.click('button[type=submit]');
  await page.waitForSelector('[role=alert]');
  assert.equal(new URL(page.url()).pathname, '/u/mfa-otp-challenge');
  await page.fill('input[name=code]', totp(seed, Date.now() / 1000));
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.href.startsWith(appUrl) && !u.pathname.startsWith('/callback'));
  const { user, claims } = await me(page);
  assert.equal(user.email, env('TERN_TOTP_EMAIL'));
  assert.deepEqual(claims.amr, ['mfa']);
  await page.close();
});
