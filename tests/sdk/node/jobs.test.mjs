// Bulk user import jobs through the v7 ManagementClient: jobs.usersImports.create
// (multipart; the file given as a File or a Blob), jobs.get polled until the job
// is done, jobs.errors.get (200 with the failed rows, hashes redacted; 204, which
// the SDK turns into undefined, when there are none), a re-import without and
// with upsert, and password-realm logins (legacy AuthenticationClient) with the
// password hashes that came in the file.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  env, management, authentication, traced, rand, cleanup, decodeJwt, expectAuthError, expectManagementError,
  assertEnvelope, createRealmApp,
} from './helpers.mjs';

const mgmt = management();
const run = rand();
const prefix = `sdknodejob${run}`;
const email = (i) => `${prefix}x${i}@example.com`;
const undo = [];
let app;
const jobs = {}; // name -> job id
const users = {}; // email -> user_id

// bcrypt("hello"), cost 10, from Auth0's import-schema docs.
const BCRYPT_HELLO = '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K';
// HMAC-SHA1 of "test" with key 0x736868, from Auth0's import-schema docs.
const hmacTest = () => ({
  algorithm: 'hmac',
  hash: {
    value: 'cg7f42jH39/2EaAU4wNd4s2lKIk=', encoding: 'base64', digest: 'sha1',
    key: { value: '736868', encoding: 'hex' },
  },
});
const JOB_ID = /^job_[A-Za-z0-9]{16}$/;

after(() => cleanup(undo));

function usersFile(rows) {
  return new File([JSON.stringify(rows)], 'users.json', { type: 'application/json' });
}

/** Poll jobs.get until the job is completed or failed. */
async function waitForJob(id, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await mgmt.jobs.get(id);
    assert.equal(job.id, id, 'job id');
    assert.ok(['pending', 'processing', 'completed', 'failed'].includes(job.status),
      `job status: ${JSON.stringify(job)}`);
    if (job.status === 'completed' || job.status === 'failed') return job;
    assert.ok(Date.now() < deadline, `job ${id} still ${job.status} after ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await sleep(100);
  }
}

/** Create an import job (202), check the job it returns, wait for it to finish. */
async function importJob(request) {
  const res = await mgmt.jobs.usersImports.create({
    connection_id: env.connectionId, send_completion_email: false, ...request,
  }).withRawResponse();
  assert.equal(res.rawResponse.status, 202, 'POST /jobs/users-imports status');
  const job = res.data;
  assert.match(job.id, JOB_ID, `job id: ${JSON.stringify(job)}`);
  assert.equal(job.type, 'users_import');
  assert.ok(['pending', 'processing', 'completed'].includes(job.status), `status: ${JSON.stringify(job)}`);
  assert.equal(job.connection_id, env.connectionId);
  assert.equal(job.connection, env.connection, 'connection (name)');
  assert.equal(typeof job.created_at, 'string', 'created_at');
  assert.ok(!Number.isNaN(Date.parse(job.created_at)), `created_at is not a date: ${job.created_at}`);
  if (request.external_id !== undefined) assert.equal(job.external_id, request.external_id, 'external_id echoed');
  const done = await waitForJob(job.id);
  return { created: job, done };
}

/** The one user with this email (the SDK's users-by-email); registers its deletion. */
async function imported(address) {
  const found = await mgmt.users.listUsersByEmail({ email: address });
  assert.equal(found.length, 1, `users with email ${address}: ${JSON.stringify(found)}`);
  const u = found[0];
  if (!users[address]) {
    users[address] = u.user_id;
    undo.push(() => mgmt.users.delete(u.user_id));
  }
  return u;
}

describe('bulk import jobs', () => {
  test('create an application client and enable the connection for it', traced(async () => {
    app = await createRealmApp(mgmt, `sdk-node-jobs-${run}`, undo);
  }));

  test('import 3 valid and 2 invalid users: summary, imported users', traced(async () => {
    const rows = [
      {
        email: email(0), email_verified: true, given_name: 'Bcrypt', password_hash: BCRYPT_HELLO,
        user_metadata: { source: 'file', n: 0 }, app_metadata: { plan: 'gold' },
      },
      { given_name: 'No Email', custom_password_hash: hmacTest() },
      { email: email(1), email_verified: true, custom_password_hash: hmacTest() },
      { email: `${prefix}-not-an-email`, password_hash: BCRYPT_HELLO },
      { email: email(2), user_id: `${prefix}u2`, name: 'No Password' },
    ];
    const { done } = await importJob({ users: usersFile(rows), upsert: false, external_id: `ext-${run}` });
    jobs.mixed = done.id;
    // The users exist whatever the summary says: register them for deletion first.
    const u = [];
    for (let i = 0; i < 3; i++) u.push(await imported(email(i)));

    assert.equal(done.status, 'completed', `job: ${JSON.stringify(done)}`);
    assert.deepEqual(done.summary, { inserted: 3, failed: 2, updated: 0, total: 5 }, 'summary');
    assert.equal(done.type, 'users_import');
    assert.equal(done.connection_id, env.connectionId);
    assert.equal(done.external_id, `ext-${run}`, 'external_id in the job status');

    assert.ok(u[0].user_id.startsWith('auth0|'), `user_id ${u[0].user_id}`);
    assert.equal(u[0].email_verified, true);
    assert.equal(u[0].given_name, 'Bcrypt');
    assert.deepEqual(u[0].user_metadata, { source: 'file', n: 0 });
    assert.deepEqual(u[0].app_metadata, { plan: 'gold' });
    assert.equal(u[0].identities[0].connection, env.connection);
    assert.equal(u[0].identities[0].provider, 'auth0');
    assert.equal(u[0].password_hash, undefined, 'password_hash must never be returned');
    assert.equal(u[1].email_verified, true);
    assert.equal(u[2].user_id, `auth0|${prefix}u2`, 'user_id from the file, prefixed with auth0|');
    assert.equal(u[2].email_verified, false, 'email_verified defaults to false');
    assert.equal(u[2].name, 'No Password');
  }));

  test('errors.get: the 2 failed rows, with codes, paths, indexes and redacted hashes', traced(async () => {
    assert.ok(jobs.mixed, 'needs the job above');
    const res = await mgmt.jobs.errors.get(jobs.mixed).withRawResponse();
    assert.equal(res.rawResponse.status, 200, 'GET /jobs/{id}/errors status');
    const errs = res.data;
    assert.ok(Array.isArray(errs), `an array of failed rows, got ${JSON.stringify(errs)}`);
    assert.equal(errs.length, 2, `failed rows: ${JSON.stringify(errs)}`);
    const [missing, bad] = [...errs].sort((a, b) => a.index - b.index);
    for (const e of errs) {
      assert.ok(Array.isArray(e.errors) && e.errors.length >= 1, `errors: ${JSON.stringify(e)}`);
      for (const x of e.errors) {
        assert.equal(typeof x.code, 'string', `code: ${JSON.stringify(x)}`);
        assert.equal(typeof x.message, 'string', `message: ${JSON.stringify(x)}`);
        assert.ok(x.message.length > 0, 'message is empty');
        assert.equal(typeof x.path, 'string', `path: ${JSON.stringify(x)}`);
      }
    }

    assert.equal(missing.index, 1, 'row index of the row without email');
    assert.ok(missing.errors.some((x) => x.code === 'OBJECT_REQUIRED' && x.path === 'email'),
      `OBJECT_REQUIRED on email: ${JSON.stringify(missing.errors)}`);
    assert.equal(missing.user.given_name, 'No Email', 'the row is echoed');
    assert.equal(missing.user.custom_password_hash.algorithm, 'hmac');
    assert.equal(missing.user.custom_password_hash.hash.value, '*****', 'hash value redacted');
    assert.equal(missing.user.custom_password_hash.hash.key.value, '*****', 'HMAC key redacted');

    assert.equal(bad.index, 3, 'row index of the row with a bad email');
    assert.ok(bad.errors.some((x) => x.code === 'INVALID_FORMAT' && x.path === 'email'),
      `INVALID_FORMAT on email: ${JSON.stringify(bad.errors)}`);
    assert.equal(bad.user.email, `${prefix}-not-an-email`, 'the row is echoed');
    assert.equal(bad.user.password_hash, '*****', 'password_hash redacted');
  }));

  test('re-import without upsert: the existing user fails the row (DUPLICATED_USER)', traced(async () => {
    assert.ok(users[email(0)], 'needs the users imported above');
    const { done } = await importJob({
      users: usersFile([{ email: email(0), given_name: 'Not Applied' }]), upsert: false,
    });
    assert.equal(done.status, 'completed', `job: ${JSON.stringify(done)}`);
    assert.deepEqual(done.summary, { inserted: 0, failed: 1, updated: 0, total: 1 }, 'summary');
    const errs = await mgmt.jobs.errors.get(done.id);
    assert.ok(Array.isArray(errs) && errs.length === 1, `errors: ${JSON.stringify(errs)}`);
    assert.equal(errs[0].index, 0);
    assert.ok(errs[0].errors.some((x) => x.code === 'DUPLICATED_USER'),
      `DUPLICATED_USER: ${JSON.stringify(errs[0].errors)}`);
    const u = await mgmt.users.get(users[email(0)]);
    assert.equal(u.given_name, 'Bcrypt', 'user unchanged');
  }));

  test('upsert: updates the existing user (metadata replaced), inserts the new one; errors.get is 204', traced(async () => {
    assert.ok(users[email(0)], 'needs the users imported above');
    const rows = [
      { email: email(0), given_name: 'Upserted', user_metadata: { replaced: true } },
      { email: email(3), email_verified: true, password_hash: BCRYPT_HELLO },
    ];
    // A Blob without a name this time.
    const { done } = await importJob({
      users: new Blob([JSON.stringify(rows)]), upsert: true, external_id: `ext-upsert-${run}`,
    });
    await imported(email(3));
    assert.equal(done.status, 'completed', `job: ${JSON.stringify(done)}`);
    assert.deepEqual(done.summary, { inserted: 1, failed: 0, updated: 1, total: 2 }, 'summary');
    assert.equal(done.external_id, `ext-upsert-${run}`);

    const u = await mgmt.users.get(users[email(0)]);
    assert.equal(u.given_name, 'Upserted');
    assert.deepEqual(u.user_metadata, { replaced: true }, 'user_metadata replaced, not merged');
    assert.deepEqual(u.app_metadata, { plan: 'gold' }, 'app_metadata absent from the row: unchanged');
    assert.equal(u.email_verified, true, 'email_verified absent from the row: unchanged');

    const res = await mgmt.jobs.errors.get(done.id).withRawResponse();
    assert.equal(res.rawResponse.status, 204, 'GET /jobs/{id}/errors status for a job without errors');
    assert.equal(res.data, undefined, 'the SDK resolves a 204 to undefined');
  }));

  test('a job without errors (File, defaults): errors.get resolves to undefined', traced(async () => {
    const { done } = await importJob({ users: usersFile([{ email: email(4) }]) });
    await imported(email(4));
    assert.equal(done.status, 'completed', `job: ${JSON.stringify(done)}`);
    assert.deepEqual(done.summary, { inserted: 1, failed: 0, updated: 0, total: 1 }, 'summary');
    assert.equal(await mgmt.jobs.errors.get(done.id), undefined, '204 from errors.get');
  }));

  test('imported password hashes log in through the password-realm grant', traced(async () => {
    assert.ok(app && users[email(0)] && users[email(1)] && users[email(3)], 'needs the client and users above');
    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });

    // bcrypt password_hash (kept by the upsert, which must not touch it).
    const res = await auth.oauth.passwordGrant({
      username: email(0), password: 'hello', realm: env.connection, scope: 'openid email',
    });
    assert.equal(typeof res.data.access_token, 'string');
    const { payload } = decodeJwt(res.data.id_token);
    assert.equal(payload.sub, users[email(0)]);
    assert.equal(payload.email, email(0));

    // HMAC custom_password_hash.
    const hmac = await auth.oauth.passwordGrant({ username: email(1), password: 'test', realm: env.connection });
    assert.equal(typeof hmac.data.access_token, 'string');

    // bcrypt password_hash of a user inserted by the upsert job.
    const ins = await auth.oauth.passwordGrant({ username: email(3), password: 'hello', realm: env.connection });
    assert.equal(typeof ins.data.access_token, 'string');

    const err = await expectAuthError(
      auth.oauth.passwordGrant({ username: email(0), password: 'hello!', realm: env.connection }), 403);
    assert.equal(err.error, 'invalid_grant');
  }));

  test('an unknown job is the SDK 404 error', traced(async () => {
    const id = `job_${'0'.repeat(6)}${run}`;
    assert.match(id, JOB_ID);
    const err = await expectManagementError(mgmt.jobs.get(id), 404);
    assert.equal(err.constructor.name, 'NotFoundError');
    assertEnvelope(err, 404, 'Not Found');
    const err2 = await expectManagementError(mgmt.jobs.errors.get(id), 404);
    assertEnvelope(err2, 404, 'Not Found');
  }));
});
