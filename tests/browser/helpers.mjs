// Shared by Tern's browser suites: the environment the Rust driver
// (crates/tern-server/tests/browser.rs) passes, Management API calls, one
// headless Debian Chromium (never a downloaded browser), and a small local
// "application" server that answers the callback and logout URLs.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import * as client from 'openid-client';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through crates/tern-server/tests/browser.rs)`);
  return v;
};

export const issuer = () => env('TERN_ISSUER'); // http://localhost:PORT/
export const base = () => issuer().replace(/\/$/, '');

let adminToken;
export async function mgmt(method, path, body) {
  if (!adminToken) {
    const r = await fetch(`${base()}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: env('TERN_ADMIN_CLIENT_ID'),
        client_secret: env('TERN_ADMIN_CLIENT_SECRET'),
        audience: env('TERN_AUDIENCE'),
      }),
    });
    adminToken = (await r.json()).access_token;
  }
  const r = await fetch(`${base()}/api/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Create an application and enable the given connection for it. */
export async function createApp(connectionId, fields) {
  const app = await mgmt('POST', '/clients', { name: 'browser-suite', ...fields });
  const conn = await mgmt('GET', `/connections/${connectionId}`);
  await mgmt('PATCH', `/connections/${connectionId}`, {
    enabled_clients: [...conn.enabled_clients, app.client_id],
  });
  return app;
}

/** `shot(page, name)`: a full-page screenshot in `dir`, numbered in order. */
export function shooter(dir) {
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (page, name) => {
    n += 1;
    const file = path.join(dir, `${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A local application: `/cb` and `/logged-out` answer a small page; other
 *  routes can be added with `extra(req, res)` (return true when handled). */
export async function appServer(extra) {
  const server = http.createServer((req, res) => {
    if (extra && extra(req, res)) return;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>app</title><p>app page ${req.url.split('?')[0]}</p>`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://localhost:${server.address().port}`;
  return { url, close: () => new Promise((r) => server.close(r)) };
}

/** Fill and submit the hosted login form. */
export async function submitLogin(page, username, password) {
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

/** openid-client's code flow for one application and callback: `request`
 *  builds an authorization URL (code + PKCE S256, state, nonce); `finish`
 *  waits for the page to reach the callback and exchanges the code, checking
 *  state, nonce and the verifier. */
export function codeFlow(config, callback) {
  return {
    async request(extra = {}) {
      const code_verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: callback,
        scope: 'openid profile email',
        code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...extra,
      });
      return { url, code_verifier, state, nonce };
    },
    async finish(page, a, checks = {}) {
      await page.waitForURL((u) => u.href.startsWith(callback));
      return client.authorizationCodeGrant(config, new URL(page.url()), {
        pkceCodeVerifier: a.code_verifier,
        expectedState: a.state,
        expectedNonce: a.nonce,
        ...checks,
      });
    },
  };
}
