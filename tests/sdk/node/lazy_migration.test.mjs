// Lazy migration through the official SDK: a custom-database connection
// created with the v7 ManagementClient, whose Auth0-style `login` script
// calls a legacy user service over HTTP (a node:http server started here);
// users migrate on their first password-realm grant (legacy v4
// AuthenticationClient, id_token validated by the SDK), and later logins no
// longer reach the legacy service.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import {
  management, authentication, traced, rand, cleanup, decodeJwt, issuer, expectAuthError,
} from './helpers.mjs';

const mgmt = management();
const run = rand();
const connName = `sdk-lazy-${run}`;
const undo = [];
let legacyUrl;
let legacyServer;
let legacyCalls = 0;
let app;
let connection;

// The TOTP seed the legacy system enrolled its users with (RFC 4648 base32).
const SEED = 'JBSWY3DPEHPK3PXP';

// RFC 6238 (SHA-1, 6 digits, 30 s), written here from the RFC rather than taken
// from Tern, so the code the test sends is computed independently.
function totp(seedBase32, atSeconds) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of seedBase32.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atSeconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// A user with a TOTP enrolment gets Auth0's mfa_required from the password
// grant; the mfa-otp grant with the mfa_token and a code finishes the login.
async function passwordThenOtp(auth, grant, atSeconds) {
  const err = await expectAuthError(auth.oauth.passwordGrant(grant), 403);
  assert.equal(err.error, 'mfa_required');
  const { mfa_token: mfaToken } = JSON.parse(err.body);
  assert.equal(typeof mfaToken, 'string');
  const res = await fetch(new URL('oauth/token', issuer()).href.replace(/^https:/, 'http:'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'http://auth0.com/oauth/grant-type/mfa-otp', client_id: app.client_id,
      client_secret: app.client_secret, mfa_token: mfaToken, otp: totp(SEED, atSeconds),
    }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return { data: body };
}

// The legacy system's users: a fixture standing in for a system outside Tern.
const legacyUsers = new Map([
  [`alice${run}@legacy.example`, { id: 7001, password: 'Legacy-Alice-1', name: 'Alice Legacy', plan: 'gold' }],
  [`bob${run}@legacy.example`, { id: 7002, password: 'Legacy-Bob-2', name: 'Bob Legacy', plan: 'free' }],
]);

const LOGIN = `function login(email, password, callback) {
  const request = require('request');
  request.post({
    url: configuration.LEGACY_URL + '/authenticate',
    json: { email: email, password: password },
    headers: { authorization: 'Bearer ' + configuration.LEGACY_TOKEN }
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
    if (response.statusCode !== 200) return callback(new Error('legacy answered ' + response.statusCode));
    callback(null, { user_id: body.id, email: body.email, name: body.name, metadata: { plan: body.plan },
      mfa_factors: [{ totp: { secret: 'JBSWY3DPEHPK3PXP' } }, { phone: { value: '+15551234567' } }] });
  });
}`;

before(async () => {
  legacyServer = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      legacyCalls += 1;
      const send = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url !== '/authenticate' || req.headers.authorization !== `Bearer token-${run}`) return send(403, {});
      let body;
      try { body = JSON.parse(data); } catch { return send(400, {}); }
      const u = legacyUsers.get(body.email);
      if (!u || u.password !== body.password) return send(401, { error: 'invalid' });
      return send(200, { id: u.id, email: body.email, name: u.name, plan: u.plan });
    });
  });
  await new Promise((resolve) => legacyServer.listen(0, '127.0.0.1', resolve));
  legacyUrl = `http://127.0.0.1:${legacyServer.address().port}`;
});

after(async () => {
  await cleanup(undo);
  if (legacyServer.listening) await new Promise((resolve) => legacyServer.close(resolve));
});

describe('lazy migration through the password-realm grant', () => {
  test('create an application and a custom-database connection with import mode', traced(async () => {
    app = await mgmt.clients.create({
      name: `sdk-lazy-app-${run}`,
      app_type: 'regular_web',
      grant_types: ['password', 'http://auth0.com/oauth/grant-type/password-realm',
        'http://auth0.com/oauth/grant-type/mfa-otp'],
      token_endpoint_auth_method: 'client_secret_post',
    });
    undo.push(() => mgmt.clients.delete(app.client_id));
    connection = await mgmt.connections.create({
      name: connName,
      strategy: 'auth0',
      enabled_clients: [app.client_id],
      options: {
        enabledDatabaseCustomization: true,
        import_mode: true,
        customScripts: { login: LOGIN },
        configuration: { LEGACY_URL: legacyUrl, LEGACY_TOKEN: `token-${run}` },
      },
    });
    undo.push(() => mgmt.connections.delete(connection.id));
    assert.deepEqual(connection.options.configuration, { LEGACY_URL: '********', LEGACY_TOKEN: '********' },
      'configuration values never come back in clear');
  }));

  test('first login migrates the user with profile and metadata', traced(async () => {
    assert.ok(app && connection, 'needs the connection created above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const email = `alice${run}@legacy.example`;
    const res = await passwordThenOtp(auth, {
      username: email, password: 'Legacy-Alice-1', realm: connName, scope: 'openid profile email',
    }, Date.now() / 1000);
    const { payload } = decodeJwt(res.data.id_token);
    assert.equal(payload.iss, issuer());
    assert.equal(payload.sub, 'auth0|7001', 'the legacy id becomes the user id');
    assert.equal(payload.name, 'Alice Legacy');
    undo.push(() => mgmt.users.delete('auth0|7001'));

    const user = await mgmt.users.get('auth0|7001');
    assert.equal(user.email, email);
    assert.deepEqual(user.app_metadata, { plan: 'gold' }, 'metadata stored with the credentials');
    assert.equal(user.identities[0].connection, connName);
    assert.equal(user.identities[0].user_id, '7001');

    // MFA enrollments came along in the same insert, listed without the TOTP seed.
    const methods = await mgmt.users.authenticationMethods.list('auth0|7001');
    assert.deepEqual(methods.data.map((m) => m.type), ['totp', 'phone']);
    assert.equal(methods.data[1].phone_number, '+15551234567');
    assert.ok(!JSON.stringify(methods.data).includes('JBSWY3DPEHPK3PXP'), 'no TOTP seed');
  }));

  test('a migrated user no longer reaches the legacy service', traced(async () => {
    assert.ok(app && connection, 'needs the connection created above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const calls = legacyCalls;
    await new Promise((resolve) => legacyServer.close(resolve));
    // The next step's code: each code is good once, and the first login used this step's.
    const res = await passwordThenOtp(auth, {
      username: `alice${run}@legacy.example`, password: 'Legacy-Alice-1', realm: connName,
    }, Date.now() / 1000 + 30);
    assert.equal(typeof res.data.access_token, 'string');
    assert.equal(legacyCalls, calls, 'verified locally');
    const err = await expectAuthError(auth.oauth.passwordGrant({
      username: `alice${run}@legacy.example`, password: 'wrong-password', realm: connName,
    }), 403);
    assert.equal(err.error, 'invalid_grant');
  }));

  test('an unmigrated user while the legacy service is down: a clear error, nothing stored', traced(async () => {
    assert.ok(app && connection, 'needs the connection created above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const err = await expectAuthError(auth.oauth.passwordGrant({
      username: `bob${run}@legacy.example`, password: 'Legacy-Bob-2', realm: connName,
    }), 503);
    assert.equal(err.error, 'temporarily_unavailable');
    const found = await mgmt.users.listUsersByEmail({ email: `bob${run}@legacy.example` });
    assert.deepEqual(found, []);
  }));
});
