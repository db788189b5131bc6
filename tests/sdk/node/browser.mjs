// A browser played with plain fetch, for the tests that need a single
// sign-on session: it keeps cookies, reads the hosted login form, posts it
// and follows each redirect by hand until Tern sends it to the application's
// callback (which is not fetched; the application would). Every exchange goes
// through `ternFetch`, so a failing test reports it.
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { env, ternFetch } from './helpers.mjs';

export const CALLBACK = 'https://app.example/callback';

export class Browser {
  constructor() {
    this.base = `http://${env.domain}`;
    /** name → value. The suite's Tern believes it is https:// (behind a TLS
     * proxy) and marks its cookies `Secure`; this jar plays the proxy's part
     * and sends them over http anyway. */
    this.cookies = new Map();
  }

  async request(method, url, form) {
    const headers = {};
    if (this.cookies.size) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await ternFetch(new URL(url, this.base).href, { method, headers, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name); else this.cookies.set(name, value);
    }
    return { res, url: new URL(url, this.base).href, text: await res.text() };
  }

  /** Request, then follow redirects until a page or the application's callback. */
  async go(method, url, form) {
    let r = await this.request(method, url, form);
    for (let hops = 0; [302, 303].includes(r.res.status); hops++) {
      const location = r.res.headers.get('location');
      if (location.startsWith(CALLBACK)) return { ...r, callback: new URL(location) };
      assert.ok(hops < 10, `too many redirects, last to ${location}`);
      r = await this.request('GET', new URL(location, r.url).href);
    }
    return r;
  }
}

/** `/authorize` for the code flow, with `extra` parameters (e.g. `prompt`). */
export function authorizeUrl(clientId, scope, extra = {}) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: CALLBACK,
    scope,
    state: crypto.randomBytes(8).toString('hex'),
    ...extra,
  });
  return `/authorize?${q}`;
}

/** Sign `browser` in through the hosted login page; the callback's code. */
export async function signIn(browser, clientId, scope, username, password) {
  const page = await browser.go('GET', authorizeUrl(clientId, scope));
  assert.equal(page.res.status, 200, `login page expected at ${page.url}`);
  assert.ok(new URL(page.url).pathname === '/u/login', `login page expected, got ${page.url}`);
  const m = /name="state" value="([^"]+)"/.exec(page.text);
  assert.ok(m, `no state on the login page: ${page.text.slice(0, 500)}`);
  const done = await browser.go('POST', `/u/login?state=${encodeURIComponent(m[1])}`,
    { state: m[1], username, password });
  assert.ok(done.callback, `expected the callback, got ${done.res.status} at ${done.url}: ${done.text.slice(0, 300)}`);
  const code = done.callback.searchParams.get('code');
  assert.ok(code, `no code in ${done.callback}`);
  return code;
}

/**
 * What `prompt=none` answers the browser now: `code` while its session signs
 * it in silently, `login_required` once the session is gone.
 */
export async function silentSignIn(browser, clientId) {
  const r = await browser.go('GET', authorizeUrl(clientId, 'openid', { prompt: 'none' }));
  assert.ok(r.callback, `prompt=none must answer the callback, got ${r.res.status} at ${r.url}`);
  if (r.callback.searchParams.get('code')) return 'code';
  return r.callback.searchParams.get('error');
}
