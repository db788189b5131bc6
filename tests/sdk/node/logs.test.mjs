// The tenant log through the official SDK: the v7 ManagementClient's
// `logs.list` (`search`, `sort`, `fields`, `include_totals`, its page pager)
// and `users.logs.list`, and the v4 API bundled as `auth0/legacy`
// (`logs.getAll` with `from`/`take` and with `q`, `users.getLogs`), which is
// where the SDK exposes checkpoint reading. The events are real: logins
// through the legacy AuthenticationClient, a success and wrong passwords.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManagementClient as LegacyManagementClient } from 'auth0/legacy';
import {
  env, management, authentication, traced, rand, cleanup, collect, ternFetch,
  createRealmApp, expectManagementError, expectAuthError, assertEnvelope, assertDate,
} from './helpers.mjs';

const mgmt = management();
const legacy = new LegacyManagementClient({
  domain: env.domain,
  clientId: env.clientId,
  clientSecret: env.clientSecret,
  audience: env.audience,
  fetch: ternFetch,
  retry: { enabled: false },
});
const run = rand();
const password = `Pw!${run}-Aa1-long-enough`;
const undo = [];
let ada; let bob;
/** The newest event before the logins: where a checkpoint reader starts. */
let checkpoint;

after(() => cleanup(undo));

/** Every event after `from`, following `from` = the last log_id until an
 * empty page, `take` at a time; each page's `Link` next is checked to say
 * the same. */
async function readOn(from, take) {
  const read = [];
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 200, 'the checkpoint reader ends');
    const res = await legacy.logs.getAll({ from, take });
    assert.ok(Array.isArray(res.data), `a checkpoint page is an array: ${JSON.stringify(res.data)}`);
    assert.ok(res.data.length <= take, `at most take=${take}`);
    const last = res.data.at(-1)?.log_id ?? from;
    const link = res.headers.get('link');
    const next = /^<([^>]+)>; rel="next"$/.exec(link ?? '');
    assert.ok(next, `a Link next: ${link}`);
    const url = new URL(next[1]);
    assert.equal(url.searchParams.get('from'), last, 'Link next reads on from the last event');
    assert.equal(url.searchParams.get('take'), String(take));
    if (res.data.length === 0) return read;
    read.push(...res.data);
    from = last;
  }
}

/** `readOn` until `done(read)`: on PostgreSQL a checkpoint read holds back
 * the events of transactions younger than one still open anywhere in the
 * cluster (a login's record finishing, another database's work), so an
 * empty page means "nothing yet" and an exporter asks again. */
async function readOnUntil(from, take, done) {
  for (let tries = 0; tries < 1200; tries++) {
    const read = await readOn(from, take);
    if (done(read)) return read;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail('the checkpoint reader never read the events expected');
}

describe('logs', () => {
  test('logins write s and fp events for their users', traced(async () => {
    const newest = await mgmt.logs.list({ per_page: 1 });
    assert.equal(newest.data.length, 1, 'the tenant has events (the admin token)');
    checkpoint = newest.data[0].log_id;

    const app = await createRealmApp(mgmt, `sdk-node-logs-${run}`, undo);
    ada = await mgmt.users.create({
      connection: env.connection, email: `sdknodelogsada${run}@example.com`, password, email_verified: true,
    });
    undo.push(() => mgmt.users.delete(ada.user_id));
    bob = await mgmt.users.create({
      connection: env.connection, email: `sdknodelogsbob${run}@example.com`, password, email_verified: true,
    });
    undo.push(() => mgmt.users.delete(bob.user_id));

    const auth = authentication({ clientId: app.client_id, clientSecret: app.client_secret });
    const login = (user, pw) => auth.oauth.passwordGrant({ username: user.email, password: pw, realm: env.connection });
    const ok = await login(ada, password);
    assert.equal(typeof ok.data.access_token, 'string');
    await expectAuthError(login(ada, `${password}-wrong`), 403);
    await expectAuthError(login(bob, `${password}-wrong`), 403);
    await expectAuthError(login(ada, `${password}-wrong-again`), 403);
  }));

  test('logs.getAll from a checkpoint: every event once, in the order written, Link next agreeing', traced(async () => {
    assert.ok(ada && checkpoint, 'needs the logins above');
    const ofLogins = (read) => read.filter((e) => e.user_id === ada.user_id || e.user_id === bob.user_id);
    const read = await readOnUntil(checkpoint, 2, (r) => ofLogins(r).length >= 4);
    const ids = read.map((e) => e.log_id);
    assert.equal(new Set(ids).size, ids.length, `each event once: ${ids}`);
    assert.ok(!ids.includes(checkpoint), 'the checkpoint itself is not read again');
    const logins = ofLogins(read).map((e) => `${e.type} ${e.user_id}`);
    assert.deepEqual(logins, [
      `s ${ada.user_id}`, `fp ${ada.user_id}`, `fp ${bob.user_id}`, `fp ${ada.user_id}`,
    ], 'the logins, in order');

    // Write order is date order: a user's events, oldest first, through the
    // search (v7 pager; the tenant log as a whole may pass the search window).
    const adas = await collect(await mgmt.logs.list({ search: `user_id:"${ada.user_id}"`, sort: 'date:1' }));
    assert.deepEqual(adas.map((e) => e.log_id), read.filter((e) => e.user_id === ada.user_id).map((e) => e.log_id));

    // A larger take reads the same; from the last event, nothing.
    assert.deepEqual((await readOn(checkpoint, 100)).map((e) => e.log_id).slice(0, ids.length), ids);
    const tail = await legacy.logs.getAll({ from: ids.at(-1), take: 100 });
    assert.deepEqual(tail.data.filter((e) => ids.includes(e.log_id)), []);
  }));

  test('v7 logs.list from a checkpoint (queryParams): the array and its Link', traced(async () => {
    assert.ok(ada && checkpoint, 'needs the logins above');
    const { data, rawResponse } = await mgmt.logs.list({}, { queryParams: { from: checkpoint, take: 3 } })
      .then((page) => ({ data: page.response, rawResponse: page.rawResponse }));
    // The v7 pager reads `logs` of an object; a checkpoint answer is Auth0's
    // bare array (every other parameter, include_totals too, is ignored).
    assert.ok(Array.isArray(data), JSON.stringify(data));
    assert.equal(data.length, 3);
    assert.match(rawResponse.headers.get('link'), new RegExp(`from=${encodeURIComponent(data[2].log_id)}&take=3>; rel="next"$`));
  }));

  test('logs.list with search, sort, fields: only the matching events, paged', traced(async () => {
    assert.ok(ada, 'needs the logins above');
    const first = await mgmt.logs.list({
      search: `user_id:"${ada.user_id}" AND type:fp`, sort: 'date:1', fields: 'type,user_id,date',
      include_fields: true, per_page: 1,
    });
    assert.equal(first.data.length, 1);
    assert.equal(first.response.total, 2, `include_totals (the v7 default): ${JSON.stringify(first.response)}`);
    assert.equal(first.response.limit, 1);
    assert.equal(first.response.start, 0);
    const fps = await collect(first);
    assert.equal(fps.length, 2, JSON.stringify(fps));
    for (const e of fps) {
      assert.deepEqual(Object.keys(e).sort(), ['date', 'log_id', 'type', 'user_id'], 'projected, log_id kept');
      assert.equal(e.type, 'fp');
      assert.equal(e.user_id, ada.user_id);
      assertDate(e.date, 'date');
    }
    assert.ok(fps[0].log_id < fps[1].log_id, 'date:1 is oldest first');
    const newestFirst = await mgmt.logs.list({ search: `type:fp AND user_id:"${ada.user_id}"`, sort: 'date:-1' });
    assert.deepEqual(newestFirst.data.map((e) => e.log_id), fps.map((e) => e.log_id).reverse());

    // Excluding fields.
    const without = await mgmt.logs.list({ search: `user_id:"${bob.user_id}"`, fields: 'details,user_agent', include_fields: false });
    assert.equal(without.data.length, 1);
    assert.equal(without.data[0].type, 'fp');
    assert.equal(without.data[0].details, undefined);

    // The v4 API's `q`, and include_totals false/true.
    const plain = await legacy.logs.getAll({ q: `type:s AND user_id:"${ada.user_id}"`, include_totals: false });
    assert.ok(Array.isArray(plain.data), JSON.stringify(plain.data));
    assert.deepEqual(plain.data.map((e) => e.type), ['s']);
    const wrapped = await legacy.logs.getAll({ q: `user_id:"${ada.user_id}"`, include_totals: true, per_page: 2 });
    assert.equal(wrapped.data.total, 3, JSON.stringify(wrapped.data));
    assert.equal(wrapped.data.length, 2);
    assert.equal(wrapped.data.logs.length, 2);
  }));

  test("users.logs.list: the user's events only, sorted and paged", traced(async () => {
    assert.ok(ada, 'needs the logins above');
    const first = await mgmt.users.logs.list(ada.user_id, { sort: 'date:1', per_page: 2 });
    assert.equal(first.data.length, 2);
    assert.equal(first.response.total, 3, JSON.stringify(first.response));
    const all = await collect(first);
    assert.deepEqual(all.map((e) => `${e.type} ${e.user_id}`),
      [`s ${ada.user_id}`, `fp ${ada.user_id}`, `fp ${ada.user_id}`]);
    const bobs = await collect(await mgmt.users.logs.list(bob.user_id));
    assert.deepEqual(bobs.map((e) => `${e.type} ${e.user_id}`), [`fp ${bob.user_id}`]);

    // The v4 API, newest first, as an array.
    const res = await legacy.users.getLogs({ id: ada.user_id, include_totals: false });
    assert.deepEqual(res.data.map((e) => e.type), ['fp', 'fp', 's']);

    // An id with no events (a user never seen, or one whose events were purged) has none.
    const nobody = await mgmt.users.logs.list('auth0|nobody');
    assert.equal(nobody.data.length, 0);
  }));

  test('an unsupported search is a 400 carrying Tern\'s message', traced(async () => {
    const err = await expectManagementError(mgmt.logs.list({ search: 'hostname:"example.com"' }), 400);
    assertEnvelope(err, 400, 'Bad Request');
    assert.match(err.body.message, /do not record hostname/);
    assert.equal(err.body.errorCode, 'invalid_query_string');
    const sortErr = await expectManagementError(mgmt.logs.list({ sort: 'ip:1' }), 400);
    assert.match(sortErr.body.message, /sorting logs by ip is not supported/);

    let legacyErr;
    try {
      await legacy.logs.getAll({ q: 'ip:*113.7' });
    } catch (e) {
      legacyErr = e;
    }
    assert.ok(legacyErr, 'the v4 API refuses too');
    assert.equal(legacyErr.statusCode, 400);
    assert.match(legacyErr.message, /only as a trailing \*/);
  }));
});
