// The hosted signup and password-reset pages in Debian's Chromium, with
// openid-client 6 as the application: a new user signs up on `/u/signup`
// (reached with `screen_hint=signup`) and the code is exchanged for tokens;
// signing up as a legacy user who has not migrated yet is refused; and a
// not-yet-migrated legacy user resets their password through
// `/u/reset-password/request` and the mailed `/u/reset-password` link,
// then signs in with the new password. Mail goes over SMTP to a small sink
// this suite runs on the port the Rust driver gave Tern.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as client from 'openid-client';
import {
  env, issuer, mgmt, createApp, launch, appServer, submitLogin, codeFlow,
} from './helpers.mjs';

/** A minimal SMTP server keeping the text of each message. */
function smtpSink(port) {
  const mails = [];
  const waiters = [];
  const server = net.createServer((socket) => {
    let buf = '';
    let data = null;
    const say = (line) => socket.write(`${line}\r\n`);
    say('220 sink.test ESMTP');
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data !== null) {
          if (line === '.') {
            mails.push(decode(data.join('\r\n')));
            data = null;
            say('250 OK queued');
            waiters.splice(0).forEach((w) => w());
          } else {
            data.push(line.startsWith('.') ? line.slice(1) : line);
          }
          continue;
        }
        const upper = line.toUpperCase();
        if (upper.startsWith('EHLO') || upper.startsWith('HELO')) say('250 sink.test');
        else if (upper.startsWith('MAIL FROM:') || upper.startsWith('RCPT TO:')) say('250 OK');
        else if (upper === 'DATA') { data = []; say('354 end with <CRLF>.<CRLF>'); }
        else if (upper === 'QUIT') { say('221 bye'); socket.end(); }
        else if (upper === 'RSET' || upper === 'NOOP') say('250 OK');
        else say('502 not implemented');
      }
    });
    socket.on('error', () => {});
  });
  return {
    listen: () => new Promise((r) => server.listen(port, '127.0.0.1', r)),
    close: () => new Promise((r) => server.close(r)),
    /** The first message to `to`, waiting for it. */
    async mailTo(to) {
      for (let i = 0; i < 100; i++) {
        const m = mails.find((x) => x.headers.toLowerCase().includes(`to: ${to.toLowerCase()}`));
        if (m) return m;
        await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
      }
      throw new Error(`no mail to ${to}`);
    },
  };
}

/** Headers and the body as text, whatever transfer encoding was chosen. */
function decode(text) {
  const at = text.indexOf('\r\n\r\n');
  const headers = at >= 0 ? text.slice(0, at) : text;
  let body = at >= 0 ? text.slice(at + 4) : '';
  const h = headers.toLowerCase();
  if (h.includes('content-transfer-encoding: base64')) {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  } else if (h.includes('content-transfer-encoding: quoted-printable')) {
    body = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, x) => String.fromCharCode(parseInt(x, 16))),
      'latin1',
    ).toString('utf8');
  }
  return { headers, body };
}

let browser, app, rp, config, flow, callback, sink;

before(async () => {
  sink = smtpSink(Number(env('TERN_SMTP_PORT')));
  await sink.listen();
  browser = await launch();
  app = await appServer();
  callback = `${app.url}/cb`;
  rp = await createApp(env('TERN_LEGACY_CONNECTION_ID'), {
    name: 'signup-suite',
    app_type: 'regular_web',
    callbacks: [callback],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
  });
  config = await client.discovery(new URL(issuer()), rp.client_id, rp.client_secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  flow = codeFlow(config, callback);
});

after(async () => {
  await browser?.close();
  await app?.close();
  await sink?.close();
});

/** Start a sign-in on the legacy connection; the page lands on Tern's. */
async function authorize(page, extra = {}) {
  const a = await flow.request({ connection: env('TERN_LEGACY_CONNECTION'), ...extra });
  await page.goto(a.url.href);
  return a;
}

const finish = (page, a) => flow.finish(page, a);

async function fillSignup(page, email, password) {
  await page.waitForSelector('form[action^="/u/signup"] input[name=email]');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

test('a new user signs up on the hosted page and the app gets their tokens', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const email = 'newcomer@signup.example';
  const a = await authorize(page, { screen_hint: 'signup' });
  assert.ok(new URL(page.url()).pathname === '/u/signup', `on ${page.url()}`);
  await fillSignup(page, email, 'Signup-pa55word!');
  const tokens = await finish(page, a);
  const claims = tokens.claims();
  assert.equal(claims.email, email);
  assert.equal(claims.aud, rp.client_id);
  const users = await mgmt('GET', `/users-by-email?email=${encodeURIComponent(email)}`);
  assert.equal(users.length, 1);
  assert.equal(users[0].user_id, claims.sub);
  await ctx.close();
});

test('signing up as a legacy user who has not migrated is refused on the page', async () => {
  const email = env('TERN_LEGACY_SIGNUP_EMAIL');
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await authorize(page);
  // From the login page, by its link, as a person would.
  await page.click('a[href^="/u/signup"]');
  await fillSignup(page, email, 'Another-pa55word!');
  const alert = page.locator('[role=alert]');
  await alert.waitFor();
  assert.match(await alert.innerText(), /already exists/i);
  assert.equal(new URL(page.url()).pathname, '/u/signup');
  const users = await mgmt('GET', `/users-by-email?email=${encodeURIComponent(email)}`);
  assert.equal(users.length, 0, 'no duplicate of the legacy user');
  await ctx.close();
});

test('a legacy user resets their password on the hosted pages, then signs in with it', async () => {
  const email = env('TERN_LEGACY_RESET_EMAIL');
  const fresh = 'Brand-new-pa55word!';
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await authorize(page);
  await page.click('a[href^="/u/reset-password/request"]');
  await page.waitForSelector('input[name=email]');
  await page.fill('input[name=email]', email);
  await page.click('button[type=submit]');
  await page.locator('[role=status]').waitFor();

  const mail = await sink.mailTo(email);
  const link = mail.body.match(/https?:\/\/\S+\/u\/reset-password\?ticket=[A-Za-z0-9]+/);
  assert.ok(link, `a hosted reset link in the mail:\n${mail.body}`);
  await page.goto(link[0]);
  await page.fill('input[name=newPassword]', fresh);
  await page.fill('input[name=confirmNewPassword]', fresh);
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  assert.match(await page.content(), /new password/i);

  // A new sign-in with the new password works.
  const ctx2 = await browser.newContext();
  const page2 = await ctx2.newPage();
  const a = await authorize(page2);
  await submitLogin(page2, email, fresh);
  const tokens = await finish(page2, a);
  assert.equal(tokens.claims().email, email);
  const users = await mgmt('GET', `/users-by-email?email=${encodeURIComponent(email)}`);
  assert.equal(users.length, 1, 'one user, created by the reset');
  await ctx.close();
  await ctx2.close();
});
