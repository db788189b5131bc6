// Shared plumbing for the Node SDK compatibility tests.
//
// The official SDKs always build `https://${domain}`; Tern in tests listens on
// plain http. `ternFetch` rewrites the scheme, records every exchange (the last
// few are appended to a failing test's error message) and, with
// TERN_SDK_DEBUG=1, prints each request and response to stderr.
import http from 'node:http';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { ManagementClient, ManagementError } from 'auth0';
import { AuthenticationClient } from 'auth0/legacy';

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set (run tests/sdk/run.sh against a running Tern)`);
  }
  return v;
}

export const env = {
  get domain() { return required('TERN_DOMAIN'); },
  get clientId() { return required('TERN_CLIENT_ID'); },
  get clientSecret() { return required('TERN_CLIENT_SECRET'); },
  get audience() { return required('TERN_AUDIENCE'); },
  get connection() { return required('TERN_CONNECTION'); },
  get connectionId() { return required('TERN_CONNECTION_ID'); },
};

const DEBUG = process.env.TERN_SDK_DEBUG === '1';
const traffic = [];
let seq = 0;
const MAX_TRAFFIC = 50;

function clip(s, n = 2000) {
  if (s == null) return '';
  s = String(s);
  return s.length > n ? s.slice(0, n) + `…(+${s.length - n} chars)` : s;
}

function bodyText(body) {
  if (body == null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString('utf8');
  if (typeof FormData !== 'undefined' && body instanceof FormData) return '[multipart form]';
  return `[${Object.prototype.toString.call(body)}]`;
}

function rewrite(url) {
  return url.replace(/^https:\/\//i, 'http://');
}

/** fetch replacement that talks plain http to Tern and records traffic. */
export async function ternFetch(input, init = {}) {
  let url;
  if (typeof input === 'string') url = input;
  else if (input instanceof URL) url = input.href;
  else if (input && typeof input.url === 'string') {
    // A Request object: rebuild it against the rewritten URL.
    url = input.url;
    init = {
      method: input.method,
      headers: input.headers,
      body: input.body,
      duplex: input.body ? 'half' : undefined,
      ...init,
    };
  } else url = String(input);
  const target = rewrite(url);
  const opts = { ...init };
  // The legacy SDK passes its `agent` option as an undici dispatcher; ours is a
  // node:http agent meant for jose's JWKS fetch, so do not hand it to fetch.
  delete opts.dispatcher;
  const reqHeaders = {};
  new Headers(opts.headers || {}).forEach((v, k) => { reqHeaders[k] = v; });
  const entry = {
    seq: ++seq,
    method: (opts.method || 'GET').toUpperCase(),
    url: target,
    requestHeaders: reqHeaders,
    requestBody: bodyText(opts.body),
  };
  traffic.push(entry);
  if (traffic.length > MAX_TRAFFIC) traffic.shift();
  if (DEBUG) {
    process.stderr.write(`>>> ${entry.method} ${entry.url}\n${entry.requestBody ? entry.requestBody + '\n' : ''}`);
  }
  let res;
  try {
    res = await fetch(target, opts);
  } catch (err) {
    entry.error = String(err && err.cause ? `${err} (${err.cause})` : err);
    if (DEBUG) process.stderr.write(`<<< network error ${entry.error}\n`);
    throw err;
  }
  entry.status = res.status;
  try {
    // Kept whole: tests parse it (tokens are long); clipped only when printed.
    entry.responseBody = await res.clone().text();
  } catch (e) {
    entry.responseBody = `[unreadable: ${e}]`;
  }
  if (DEBUG) process.stderr.write(`<<< ${res.status} ${clip(entry.responseBody)}\n`);
  return res;
}

/** The last `n` recorded exchanges, formatted for an error message. */
export function recentTraffic(n = 4) {
  return traffic.slice(-n).map((e) => {
    const auth = e.requestHeaders.authorization ? ' [bearer]' : '';
    return `  ${e.method} ${e.url}${auth}\n    request:  ${clip(e.requestBody || '(none)')}\n    response: ${
      e.error ? 'network error ' + e.error : `${e.status} ${clip(e.responseBody || '(empty)')}`}`;
  }).join('\n');
}

/** A marker for trafficSince(). */
export function mark() {
  return seq;
}

/** Exchanges recorded after `m = mark()` (at most the last 50). */
export function trafficSince(m) {
  return traffic.filter((e) => e.seq > m);
}

/**
 * Wrap a test body so that a failure carries the HTTP exchanges that led to it.
 * Usage: test('name', traced(async () => { ... }))
 */
export function traced(fn) {
  return async (t) => {
    const start = seq;
    try {
      await fn(t);
    } catch (err) {
      const seen = recentTraffic(Math.max(1, Math.min(6, seq - start)));
      const extra = err instanceof ManagementError
        ? `\n  SDK error: ${err.constructor.name} statusCode=${err.statusCode} body=${clip(JSON.stringify(err.body), 600)}`
        : err && err.name === 'AuthApiError'
          ? `\n  SDK error: AuthApiError statusCode=${err.statusCode} error=${err.error} error_description=${err.error_description}`
          : '';
      const note = `${extra}\n  last HTTP exchanges:\n${seen}`;
      try {
        // The reporters print `stack` (which embeds the original message), so
        // extend both.
        err.message = `${err.message}${note}`;
        if (typeof err.stack === 'string') {
          const nl = err.stack.indexOf('\n    at ');
          err.stack = nl >= 0 ? `${err.stack.slice(0, nl)}${note}${err.stack.slice(nl)}` : `${err.stack}${note}`;
        }
      } catch { /* frozen error: leave as is */ }
      throw err;
    }
  };
}

/**
 * An http.Agent that claims the https: protocol. jose (used by the legacy
 * SDK to fetch `https://${domain}/.well-known/jwks.json` when validating an
 * id_token) calls https.get with the SDK's `agent` option; with this agent the
 * request goes over a plain TCP socket, so id_token validation, signature
 * included, works against an http-only Tern.
 */
export class PlainHttpsAgent extends http.Agent {
  constructor(opts) {
    super(opts);
    this.protocol = 'https:';
  }
}

export function rand() {
  return crypto.randomBytes(5).toString('hex');
}

export function decodeJwt(token) {
  assert.equal(typeof token, 'string', 'token must be a string');
  const parts = token.split('.');
  assert.equal(parts.length, 3, `not a JWS compact JWT: ${clip(token, 80)}`);
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  return { header, payload };
}

export function issuer() {
  return `https://${env.domain}/`;
}

export function management(extra = {}) {
  return new ManagementClient({
    domain: env.domain,
    clientId: env.clientId,
    clientSecret: env.clientSecret,
    audience: env.audience,
    fetch: ternFetch,
    maxRetries: 0,
    ...extra,
  });
}

export function authentication({ clientId, clientSecret } = {}) {
  return new AuthenticationClient({
    domain: env.domain,
    clientId: clientId ?? env.clientId,
    clientSecret: clientSecret ?? env.clientSecret,
    fetch: ternFetch,
    agent: new PlainHttpsAgent(),
    retry: { enabled: false },
  });
}

/** Await `promise`, expect it to reject with the SDK's ManagementError. */
export async function expectManagementError(promise, statusCode) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected the SDK call to fail with ${statusCode}, but it succeeded`);
  assert.ok(err instanceof ManagementError,
    `expected a ManagementError, got ${err && err.constructor && err.constructor.name}: ${err && err.message}`);
  assert.equal(err.statusCode, statusCode, `statusCode; body=${JSON.stringify(err.body)}`);
  return err;
}

/** Await `promise`, expect it to reject with the legacy SDK's AuthApiError. */
export async function expectAuthError(promise, statusCode) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected the grant to fail with ${statusCode}, but it succeeded`);
  assert.equal(err.name, 'AuthApiError',
    `expected AuthApiError (a JSON {error, error_description} body), got ${err.name}: ${err.message}`);
  assert.equal(err.statusCode, statusCode, `statusCode; body=${err.body}`);
  return err;
}

/** Check the Management API error envelope `{statusCode, error, message, errorCode?}`. */
export function assertEnvelope(err, statusCode, reason) {
  const body = err.body;
  assert.equal(typeof body, 'object', `error body should be JSON, got ${JSON.stringify(body)}`);
  assert.ok(body, 'error body is empty');
  assert.equal(body.statusCode, statusCode, `envelope statusCode: ${JSON.stringify(body)}`);
  assert.equal(body.error, reason, `envelope error (HTTP reason phrase): ${JSON.stringify(body)}`);
  assert.equal(typeof body.message, 'string', `envelope message: ${JSON.stringify(body)}`);
  assert.ok(body.message.length > 0, 'envelope message is empty');
}

/** An ISO 8601 date, which the v7 SDK hands over as a string. */
export function assertDate(v, what) {
  assert.equal(typeof v, 'string', `${what}: ${JSON.stringify(v)}`);
  assert.ok(!Number.isNaN(Date.parse(v)), `${what} is a date: ${v}`);
}

/** Run every cleanup step, ignoring failures (the resource may already be gone). */
export async function cleanup(steps) {
  for (const step of steps.reverse()) {
    try {
      await step();
    } catch { /* best effort */ }
  }
  steps.length = 0;
}

/**
 * Create an application client from `body` and enable the database
 * connection for it. Each step pushes its undo onto `undo` (the client is
 * deleted, the connection's enabled_clients restored). Returns the created
 * client (with client_secret).
 */
export async function createAppOnConnection(mgmt, body, undo) {
  const app = await mgmt.clients.create(body);
  assert.equal(typeof app.client_id, 'string');
  undo.push(() => mgmt.clients.delete(app.client_id));
  assert.equal(typeof app.client_secret, 'string');
  assert.deepEqual([...app.grant_types].sort(), [...body.grant_types].sort());

  const conn = await mgmt.connections.get(env.connectionId);
  const before = conn.enabled_clients ?? [];
  assert.ok(Array.isArray(before), `enabled_clients: ${JSON.stringify(conn.enabled_clients)}`);
  const updated = await mgmt.connections.update(env.connectionId, { enabled_clients: [...before, app.client_id] });
  undo.push(async () => {
    const now = await mgmt.connections.get(env.connectionId);
    await mgmt.connections.update(env.connectionId, {
      enabled_clients: (now.enabled_clients ?? []).filter((id) => id !== app.client_id),
    });
  });
  assert.ok(updated.enabled_clients.includes(app.client_id), 'app enabled on the connection');
  for (const id of before) assert.ok(updated.enabled_clients.includes(id), `kept ${id}`);
  return app;
}

/**
 * Create an application client that may use the password and password-realm
 * grants (and `extraGrants`), enabled on the database connection
 * (`createAppOnConnection`).
 */
export async function createRealmApp(mgmt, name, undo, extraGrants = []) {
  return createAppOnConnection(mgmt, {
    name,
    app_type: 'regular_web',
    grant_types: ['password', 'http://auth0.com/oauth/grant-type/password-realm', ...extraGrants],
    token_endpoint_auth_method: 'client_secret_post',
  }, undo);
}

/** Collect every item of a Fern Page, at most `maxPages` pages. */
export async function collect(page, maxPages = 20) {
  const items = [...page.data];
  let p = page;
  for (let i = 1; i < maxPages && p.hasNextPage(); i++) {
    p = await p.getNextPage();
    items.push(...p.data);
  }
  return items;
}

export { ManagementError };
