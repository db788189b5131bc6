// Users through the v7 ManagementClient: create, get, update (metadata merge),
// search with q, pagination with totals, users-by-email, delete, errors.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, management, traced, rand, cleanup, expectManagementError, assertEnvelope, ManagementError,
} from './helpers.mjs';

const mgmt = management();
const run = rand();
// No '-' or '_' in the searchable prefix: keeps the Lucene wildcard query plain.
const prefix = `sdknode${run}`;
const email = (i) => `${prefix}x${i}@example.com`;
const password = `Pw!${run}-Aa1-long-enough`;
const users = []; // [{user_id, email}]
const undo = [];

after(() => cleanup(undo));

describe('users', () => {
  test('create three users with metadata', traced(async () => {
    const plans = ['gold', 'gold', 'silver'];
    for (let i = 0; i < 3; i++) {
      const u = await mgmt.users.create({
        connection: env.connection,
        email: email(i),
        password,
        email_verified: true,
        user_metadata: { a: 1 },
        app_metadata: { plan: plans[i] },
      });
      assert.equal(typeof u.user_id, 'string', 'user_id');
      undo.push(() => mgmt.users.delete(u.user_id));
      assert.ok(u.user_id.startsWith('auth0|'), `user_id ${u.user_id} should start with auth0|`);
      assert.equal(u.email, email(i));
      assert.equal(u.email_verified, true);
      assert.deepEqual(u.user_metadata, { a: 1 });
      assert.deepEqual(u.app_metadata, { plan: plans[i] });
      assert.ok(Array.isArray(u.identities) && u.identities.length === 1, `identities: ${JSON.stringify(u.identities)}`);
      assert.equal(u.identities[0].connection, env.connection);
      assert.equal(u.identities[0].provider, 'auth0');
      assert.equal(u.identities[0].isSocial, false);
      assert.equal(`auth0|${u.identities[0].user_id}`, u.user_id, 'identities[0].user_id');
      assert.equal(typeof u.created_at, 'string', 'created_at');
      assert.ok(!Number.isNaN(Date.parse(u.created_at)), `created_at is not a date: ${u.created_at}`);
      assert.equal(u.password, undefined, 'password must never be returned');
      users.push({ user_id: u.user_id, email: u.email });
    }
  }));

  test('creating the same email again is 409', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const err = await expectManagementError(
      mgmt.users.create({ connection: env.connection, email: email(0), password }), 409);
    assertEnvelope(err, 409, 'Conflict');
  }));

  test('get by id', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const u = await mgmt.users.get(users[0].user_id);
    assert.equal(u.user_id, users[0].user_id);
    assert.equal(u.email, email(0));
    assert.deepEqual(u.app_metadata, { plan: 'gold' });
    assert.deepEqual(u.user_metadata, { a: 1 });
  }));

  test('update merges metadata top-level keys', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const id = users[0].user_id;
    const u = await mgmt.users.update(id, { user_metadata: { b: 2 } });
    assert.deepEqual(u.user_metadata, { a: 1, b: 2 }, 'PATCH response user_metadata');
    assert.deepEqual(u.app_metadata, { plan: 'gold' }, 'app_metadata untouched');
    const again = await mgmt.users.get(id);
    assert.deepEqual(again.user_metadata, { a: 1, b: 2 }, 'stored user_metadata');

    // A null value removes that key; other keys stay.
    const u2 = await mgmt.users.update(id, { user_metadata: { a: null } });
    assert.deepEqual(u2.user_metadata, { b: 2 }, 'null removes a key');

    // Non-metadata fields are replaced.
    const u3 = await mgmt.users.update(id, { name: 'Node SDK User', given_name: 'Node' });
    assert.equal(u3.name, 'Node SDK User');
    assert.equal(u3.given_name, 'Node');
    assert.deepEqual(u3.user_metadata, { b: 2 }, 'metadata kept on a non-metadata update');
  }));

  test('search by exact email (q, search_engine v3)', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const page = await mgmt.users.list({ q: `email:"${email(1)}"`, search_engine: 'v3' });
    const r = page.response;
    assert.ok(r && !Array.isArray(r), `include_totals defaults to true in the SDK; expected an object, got ${JSON.stringify(r).slice(0, 200)}`);
    assert.equal(r.total, 1, 'total');
    assert.equal(r.length, 1, 'length');
    assert.equal(r.start, 0, 'start');
    assert.equal(r.limit, 50, 'limit (the SDK sends per_page=50)');
    assert.equal(page.data.length, 1);
    assert.equal(page.data[0].user_id, users[1].user_id);
  }));

  test('search with a wildcard', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const page = await mgmt.users.list({ q: `email:${prefix}*`, search_engine: 'v3', per_page: 100 });
    assert.equal(page.response.total, 3, 'total');
    assert.deepEqual(page.data.map((u) => u.user_id).sort(), users.map((u) => u.user_id).sort());
  }));

  test('search by app_metadata.plan', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const both = await mgmt.users.list({
      q: `app_metadata.plan:"gold" AND email:${prefix}*`, search_engine: 'v3',
    });
    assert.equal(both.response.total, 2, 'gold AND prefix total');
    assert.deepEqual(both.data.map((u) => u.user_id).sort(), [users[0].user_id, users[1].user_id].sort());

    const gold = await mgmt.users.list({ q: 'app_metadata.plan:"gold"', search_engine: 'v3', per_page: 100 });
    const ids = gold.data.map((u) => u.user_id);
    assert.ok(ids.includes(users[0].user_id) && ids.includes(users[1].user_id), 'gold users found');
    assert.ok(!ids.includes(users[2].user_id), 'silver user must not match plan:"gold"');
  }));

  test('page / per_page / include_totals', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const q = `email:${prefix}*`;
    const p0 = await mgmt.users.list({ q, search_engine: 'v3', page: 0, per_page: 2, include_totals: true });
    assert.deepEqual(
      { start: p0.response.start, limit: p0.response.limit, length: p0.response.length, total: p0.response.total },
      { start: 0, limit: 2, length: 2, total: 3 }, 'page 0 totals');
    assert.equal(p0.data.length, 2);
    const p1 = await mgmt.users.list({ q, search_engine: 'v3', page: 1, per_page: 2, include_totals: true });
    assert.deepEqual(
      { start: p1.response.start, limit: p1.response.limit, length: p1.response.length, total: p1.response.total },
      { start: 2, limit: 2, length: 1, total: 3 }, 'page 1 totals');
    assert.equal(p1.data.length, 1);
    const all = [...p0.data, ...p1.data].map((u) => u.user_id).sort();
    assert.deepEqual(all, users.map((u) => u.user_id).sort(), 'pages cover every user exactly once');
    const p2 = await mgmt.users.list({ q, search_engine: 'v3', page: 2, per_page: 2, include_totals: true });
    assert.deepEqual(p2.response.users, [], 'a page past the end has users: []');
    assert.equal(p2.response.total, 3);

    // The SDK's own paging (getNextPage) walks the same pages.
    const walk = await mgmt.users.list({ q, search_engine: 'v3', per_page: 2 });
    const walked = [...walk.data];
    while (walk.hasNextPage() && walked.length < 10) {
      await walk.getNextPage();
      walked.push(...walk.data);
    }
    assert.deepEqual(walked.map((u) => u.user_id).sort(), users.map((u) => u.user_id).sort(), 'SDK paging');
  }));

  test('sort by email', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const q = `email:${prefix}*`;
    const asc = await mgmt.users.list({ q, search_engine: 'v3', sort: 'email:1' });
    assert.deepEqual(asc.data.map((u) => u.email), [email(0), email(1), email(2)]);
    const desc = await mgmt.users.list({ q, search_engine: 'v3', sort: 'email:-1' });
    assert.deepEqual(desc.data.map((u) => u.email), [email(2), email(1), email(0)]);
  }));

  test('include_totals=false returns a bare array', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const page = await mgmt.users.list({ q: `email:${prefix}*`, search_engine: 'v3', include_totals: false });
    assert.ok(Array.isArray(page.response), `expected a bare array, got ${JSON.stringify(page.response).slice(0, 200)}`);
    assert.equal(page.response.length, 3);
  }));

  test('users-by-email', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const found = await mgmt.users.listUsersByEmail({ email: email(2) });
    assert.ok(Array.isArray(found), 'array');
    assert.equal(found.length, 1);
    assert.equal(found[0].user_id, users[2].user_id);
    assert.equal(found[0].email, email(2));
    const none = await mgmt.users.listUsersByEmail({ email: `nobody-${run}@example.com` });
    assert.deepEqual(none, []);
  }));

  test('delete, then get is the SDK 404 error', traced(async () => {
    assert.equal(users.length, 3, 'needs the users created above');
    const id = users[2].user_id;
    const res = await mgmt.users.delete(id).withRawResponse();
    assert.equal(res.rawResponse.status, 204, 'DELETE /users/{id} status');
    const err = await expectManagementError(mgmt.users.get(id), 404);
    assert.equal(err.constructor.name, 'NotFoundError');
    assertEnvelope(err, 404, 'Not Found');
    assert.equal(err.body.errorCode, 'inexistent_user', `errorCode: ${JSON.stringify(err.body)}`);
    const byEmail = await mgmt.users.listUsersByEmail({ email: email(2) });
    assert.deepEqual(byEmail, [], 'deleted user no longer found by email');
  }));

  test('create without connection is the SDK 400 error', traced(async () => {
    const err = await expectManagementError(
      mgmt.users.create({ email: `noconn-${run}@example.com`, password }), 400);
    assert.ok(err instanceof ManagementError);
    assert.equal(err.constructor.name, 'BadRequestError');
    assertEnvelope(err, 400, 'Bad Request');
    assert.equal(err.body.errorCode, 'invalid_body', `errorCode: ${JSON.stringify(err.body)}`);
  }));

  test('create in an unknown connection is 400', traced(async () => {
    const err = await expectManagementError(
      mgmt.users.create({ connection: `no-such-connection-${run}`, email: `badconn-${run}@example.com`, password }), 400);
    assertEnvelope(err, 400, 'Bad Request');
  }));
});
