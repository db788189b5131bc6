// url.js (compiled on first use): URL (parsed by the host), URLSearchParams, querystring
// and legacy url.parse. Evaluated as `(function (host, lib) { ... })`.

const { jsonParse, hasOwn } = lib;

function formEncode(s) {
  return encodeURIComponent(String(s))
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

function formDecode(s) {
  const t = String(s).replace(/\+/g, ' ');
  try {
    return decodeURIComponent(t);
  } catch (e) {
    return t;
  }
}

function parsePairs(query) {
  const q = String(query).replace(/^\?/, '');
  if (q === '') return [];
  return q
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [formDecode(p), ''] : [formDecode(p.slice(0, i)), formDecode(p.slice(i + 1))];
    });
}

class URLSearchParams {
  constructor(init) {
    this._list = [];
    this._url = null;
    if (init === undefined || init === null) return;
    if (typeof init === 'string') {
      this._list = parsePairs(init);
    } else if (init instanceof URLSearchParams) {
      this._list = init._list.map((p) => [p[0], p[1]]);
    } else if (typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) this._list.push([String(pair[0]), String(pair[1])]);
    } else if (typeof init === 'object') {
      for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
    }
  }
  _update() {
    if (this._url) this._url._setSearch(this.toString());
  }
  get size() {
    return this._list.length;
  }
  append(k, v) {
    this._list.push([String(k), String(v)]);
    this._update();
  }
  delete(k) {
    this._list = this._list.filter((p) => p[0] !== String(k));
    this._update();
  }
  get(k) {
    const p = this._list.find((x) => x[0] === String(k));
    return p ? p[1] : null;
  }
  getAll(k) {
    return this._list.filter((x) => x[0] === String(k)).map((x) => x[1]);
  }
  has(k) {
    return this._list.some((x) => x[0] === String(k));
  }
  set(k, v) {
    const key = String(k);
    const i = this._list.findIndex((x) => x[0] === key);
    if (i < 0) this._list.push([key, String(v)]);
    else {
      this._list[i][1] = String(v);
      this._list = this._list.filter((x, j) => j <= i || x[0] !== key);
    }
    this._update();
  }
  sort() {
    this._list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this._update();
  }
  forEach(fn, thisArg) {
    for (const [k, v] of this._list) fn.call(thisArg, v, k, this);
  }
  keys() {
    return this._list.map((p) => p[0])[Symbol.iterator]();
  }
  values() {
    return this._list.map((p) => p[1])[Symbol.iterator]();
  }
  entries() {
    return this._list.map((p) => [p[0], p[1]])[Symbol.iterator]();
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  toString() {
    return this._list.map((p) => formEncode(p[0]) + '=' + formEncode(p[1])).join('&');
  }
}

const URL_PROPS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];

class URL {
  constructor(input, base) {
    const href = input instanceof URL ? input.href : String(input);
    const parsed = base === undefined ? host.urlParse(href) : host.urlParse(href, base instanceof URL ? base.href : String(base));
    if (parsed === null || parsed === undefined) {
      const e = new TypeError('Invalid URL');
      e.code = 'ERR_INVALID_URL';
      e.input = href;
      throw e;
    }
    this._c = jsonParse(parsed);
    this._sp = new URLSearchParams(this._c.search);
    this._sp._url = this;
  }
  _apply(json) {
    if (json === null || json === undefined) return;
    this._c = jsonParse(json);
    this._sp._list = parsePairs(this._c.search);
  }
  _setSearch(s) {
    const r = host.urlSet(this._c.href, 'search', s);
    if (r !== null && r !== undefined) this._c = jsonParse(r);
  }
  get origin() {
    return this._c.origin;
  }
  get searchParams() {
    return this._sp;
  }
  toString() {
    return this._c.href;
  }
  toJSON() {
    return this._c.href;
  }
  static canParse(input, base) {
    try {
      new URL(input, base);
      return true;
    } catch (e) {
      return false;
    }
  }
}
for (const prop of URL_PROPS) {
  Object.defineProperty(URL.prototype, prop, {
    configurable: true,
    enumerable: true,
    get() {
      return this._c[prop];
    },
    set(v) {
      this._apply(host.urlSet(this._c.href, prop, String(v)));
    },
  });
}


// querystring (Node): flat objects, arrays repeat the key.
const querystring = {
  stringify(obj, sep, eq) {
    sep = sep || '&';
    eq = eq || '=';
    if (obj === null || typeof obj !== 'object') return '';
    const out = [];
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      const enc = (x) => (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint' ? encodeURIComponent(String(x)) : '');
      if (Array.isArray(v)) for (const x of v) out.push(encodeURIComponent(k) + eq + enc(x));
      else out.push(encodeURIComponent(k) + eq + enc(v));
    }
    return out.join(sep);
  },
  parse(str, sep, eq) {
    sep = sep || '&';
    eq = eq || '=';
    const out = Object.create(null);
    if (typeof str !== 'string' || str === '') return out;
    for (const part of str.split(sep)) {
      if (part === '') continue;
      const i = part.indexOf(eq);
      const k = formDecode(i < 0 ? part : part.slice(0, i));
      const v = i < 0 ? '' : formDecode(part.slice(i + eq.length));
      if (hasOwn(out, k)) out[k] = Array.isArray(out[k]) ? out[k].concat([v]) : [out[k], v];
      else out[k] = v;
    }
    return out;
  },
  escape: (s) => encodeURIComponent(s),
  unescape: (s) => formDecode(s),
};
querystring.encode = querystring.stringify;
querystring.decode = querystring.parse;

// `qs`-style nested encoding used by request's `qs` option: a[b]=c, a[0]=x.
function qsStringify(obj, prefix) {
  const out = [];
  if (obj === null || obj === undefined) return '';
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const key = prefix ? prefix + '[' + k + ']' : k;
    if (v === undefined || typeof v === 'function') continue;
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      const inner = qsStringify(v, key);
      if (inner) out.push(inner);
    } else {
      const val = v === null ? '' : v instanceof Date ? v.toISOString() : String(v);
      out.push(encodeURIComponent(key) + '=' + encodeURIComponent(val));
    }
  }
  return out.join('&');
}

function appendQuery(url, query) {
  if (!query) return url;
  const hashAt = url.indexOf('#');
  const base = hashAt < 0 ? url : url.slice(0, hashAt);
  const hash = hashAt < 0 ? '' : url.slice(hashAt);
  return base + (base.indexOf('?') < 0 ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&') + query + hash;
}

// Legacy url.parse / url.format.
function legacyParse(str, parseQuery) {
  const u = new URL(str);
  const search = u.search;
  return {
    protocol: u.protocol,
    slashes: true,
    auth: u.username ? decodeURIComponent(u.username) + (u.password ? ':' + decodeURIComponent(u.password) : '') : null,
    host: u.host,
    port: u.port || null,
    hostname: u.hostname,
    hash: u.hash || null,
    search: search || null,
    query: parseQuery ? querystring.parse(search.replace(/^\?/, '')) : search ? search.slice(1) : null,
    pathname: u.pathname,
    path: u.pathname + search,
    href: u.href,
  };
}

function legacyFormat(obj) {
  if (typeof obj === 'string') return obj;
  if (obj instanceof URL) return obj.href;
  const protocol = obj.protocol ? (obj.protocol.endsWith(':') ? obj.protocol : obj.protocol + ':') : '';
  const auth = obj.auth ? obj.auth + '@' : '';
  const host = obj.host || (obj.hostname ? obj.hostname + (obj.port ? ':' + obj.port : '') : '');
  let search = obj.search || '';
  if (!search && obj.query && typeof obj.query === 'object') {
    const q = querystring.stringify(obj.query);
    search = q ? '?' + q : '';
  }
  return protocol + (host ? '//' : '') + auth + host + (obj.pathname || '') + search + (obj.hash || '');
}

const urlModule = { URL, URLSearchParams, parse: legacyParse, format: legacyFormat };

return { URL, URLSearchParams, querystring, qsStringify, appendQuery, urlModule };
