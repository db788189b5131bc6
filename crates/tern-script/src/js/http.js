// http.js (compiled on first use): fetch (and node-fetch), request (and
// request-promise), axios. All go through the host's `http` operation, which enforces
// the network policy. Evaluated as `(function (host, lib) { ... })`.

const { bin, startOp } = lib;
const { URL, URLSearchParams, qsStringify, appendQuery } = lib.need('url');

class Headers {
  constructor(init) {
    this._map = new Map(); // lower-case name -> [name, [values]]
    if (init === undefined || init === null) return;
    if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
    else if (typeof init[Symbol.iterator] === 'function') for (const [k, v] of init) this.append(k, v);
    else for (const k of Object.keys(init)) {
      const v = init[k];
      if (Array.isArray(v)) for (const x of v) this.append(k, x);
      else if (v !== undefined) this.append(k, v);
    }
  }
  append(name, value) {
    const key = String(name).toLowerCase();
    const entry = this._map.get(key);
    if (entry) entry[1].push(String(value));
    else this._map.set(key, [key, [String(value)]]);
  }
  set(name, value) {
    const key = String(name).toLowerCase();
    this._map.set(key, [key, [String(value)]]);
  }
  get(name) {
    const entry = this._map.get(String(name).toLowerCase());
    return entry ? entry[1].join(', ') : null;
  }
  has(name) {
    return this._map.has(String(name).toLowerCase());
  }
  delete(name) {
    this._map.delete(String(name).toLowerCase());
  }
  forEach(fn, thisArg) {
    for (const [k, entry] of this._map) fn.call(thisArg, entry[1].join(', '), k, this);
  }
  raw() {
    const out = {};
    for (const [k, entry] of this._map) out[k] = entry[1].slice();
    return out;
  }
  getSetCookie() {
    const entry = this._map.get('set-cookie');
    return entry ? entry[1].slice() : [];
  }
  *entries() {
    for (const [k, entry] of this._map) yield [k, entry[1].join(', ')];
  }
  *keys() {
    for (const k of this._map.keys()) yield k;
  }
  *values() {
    for (const [, entry] of this._map) yield entry[1].join(', ');
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  _pairs() {
    const out = [];
    for (const [, entry] of this._map) for (const v of entry[1]) out.push([entry[0], v]);
    return out;
  }
}

class Response {
  constructor(body, init) {
    init = init || {};
    this._body = body instanceof Uint8Array ? body : Buffer.from(body === undefined || body === null ? '' : String(body));
    this.status = init.status === undefined ? 200 : init.status;
    this.statusText = init.statusText || '';
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.url = init.url || '';
    this.redirected = !!init.redirected;
    this.bodyUsed = false;
    this.type = 'basic';
  }
  get ok() {
    return this.status >= 200 && this.status < 300;
  }
  _consume() {
    if (this.bodyUsed) return Promise.reject(new TypeError('body used already for: ' + this.url));
    this.bodyUsed = true;
    return Promise.resolve(this._body);
  }
  text() {
    return this._consume().then((b) => Buffer.from(b).toString('utf8'));
  }
  json() {
    return this.text().then((t) => {
      try {
        return JSON.parse(t);
      } catch (e) {
        const err = new Error('invalid json response body at ' + this.url + ' reason: ' + e.message);
        err.name = 'FetchError';
        err.type = 'invalid-json';
        throw err;
      }
    });
  }
  buffer() {
    return this._consume().then((b) => Buffer.from(b));
  }
  arrayBuffer() {
    return this._consume().then((b) => {
      const copy = new Uint8Array(b.length);
      copy.set(b);
      return copy.buffer;
    });
  }
  clone() {
    return new Response(Buffer.from(this._body), this);
  }
}

function headerPairs(res) {
  const h = new Headers();
  for (const [k, v] of res.headers) h.append(k, v);
  return h;
}

// Sends one request; `done(err, {status, statusText, url, headers: Headers, body: Buffer})`.
function httpSend(o, done) {
  const body = o.body === undefined || o.body === null ? null : host.str(bin(o.body), 'base64');
  startOp(
    'http',
    {
      method: o.method || 'GET',
      url: o.url,
      headers: o.headers ? o.headers._pairs() : [],
      body,
      timeout: o.timeout,
      followRedirects: o.followRedirects !== false,
    },
    (err, res) => {
      if (err) return done(err);
      done(null, {
        status: res.status,
        statusText: res.statusText,
        url: res.url,
        headers: headerPairs(res),
        body: Buffer.from(res.body, 'base64'),
      });
    }
  );
}

function bodyBytes(body, headers, defaultType) {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') {
    if (defaultType && !headers.has('content-type')) headers.set('content-type', defaultType);
    return Buffer.from(body, 'utf8');
  }
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    return Buffer.from(body.toString(), 'utf8');
  }
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.from(String(body), 'utf8');
}

function fetch(input, init) {
  init = init || {};
  return new Promise((resolve, reject) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input && input.url ? input.url : String(input);
    const headers = new Headers(init.headers || (input && input.headers));
    const body = bodyBytes(init.body, headers, 'text/plain;charset=UTF-8');
    const method = String(init.method || 'GET').toUpperCase();
    httpSend(
      { method, url, headers, body, timeout: init.timeout, followRedirects: init.redirect !== 'manual' && init.redirect !== 'error' },
      (err, res) => {
        if (err) {
          const e = new Error('request to ' + url + ' failed, reason: ' + err.message);
          e.name = 'FetchError';
          e.type = 'system';
          e.code = err.code;
          e.errno = err.code;
          return reject(e);
        }
        resolve(new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers, url: res.url, redirected: res.url !== url }));
      }
    );
  });
}


function nodeFetch(input, init) {
  return fetch(input, init);
}
nodeFetch.default = nodeFetch;
nodeFetch.Headers = Headers;
nodeFetch.Response = Response;
nodeFetch.isRedirect = (code) => code === 301 || code === 302 || code === 303 || code === 307 || code === 308;

// ---- request ----

function basicAuth(user, pass) {
  return 'Basic ' + Buffer.from(String(user === undefined ? '' : user) + ':' + String(pass === undefined ? '' : pass), 'utf8').toString('base64');
}

function responseHeaders(h) {
  const out = {};
  for (const [k, entry] of h._map) out[k] = k === 'set-cookie' ? entry[1].slice() : entry[1].join(', ');
  return out;
}

function requestParams(uri, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = undefined;
  }
  const o = {};
  if (uri !== null && typeof uri === 'object' && !(uri instanceof URL)) Object.assign(o, uri);
  else o.uri = uri;
  if (options !== null && typeof options === 'object') Object.assign(o, options);
  return { options: o, callback };
}

function doRequest(o, callback) {
  const handle = {
    abort() {},
    on() {
      return handle;
    },
  };
  let url = o.url !== undefined ? o.url : o.uri;
  if (url instanceof URL) url = url.href;
  url = url === undefined || url === null ? '' : String(url);
  if (o.baseUrl) url = String(o.baseUrl).replace(/\/+$/, '') + '/' + url.replace(/^\/+/, '');
  if (o.qs && typeof o.qs === 'object') url = appendQuery(url, qsStringify(o.qs));
  const headers = new Headers(o.headers);
  let body = null;
  if (o.form !== undefined) {
    const form = typeof o.form === 'string' ? o.form : qsStringify(o.form);
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    body = Buffer.from(form, 'utf8');
  } else if (o.json !== undefined && o.json !== null && typeof o.json !== 'boolean') {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    body = Buffer.from(JSON.stringify(o.json), 'utf8');
  } else if (o.json === true && o.body !== undefined && typeof o.body === 'object' && !(o.body instanceof Uint8Array)) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    body = Buffer.from(JSON.stringify(o.body), 'utf8');
  } else if (o.body !== undefined && o.body !== null) {
    body = typeof o.body === 'string' ? Buffer.from(o.body, 'utf8') : bodyBytes(o.body, headers);
  }
  if (o.json && !headers.has('accept')) headers.set('accept', 'application/json');
  if (o.auth && typeof o.auth === 'object') {
    const a = o.auth;
    if (a.bearer !== undefined) headers.set('authorization', 'Bearer ' + (typeof a.bearer === 'function' ? a.bearer() : a.bearer));
    else headers.set('authorization', basicAuth(a.user !== undefined ? a.user : a.username, a.pass !== undefined ? a.pass : a.password));
  }
  if (o.bearer !== undefined) headers.set('authorization', 'Bearer ' + o.bearer);
  const method = String(o.method || 'GET').toUpperCase();
  httpSend({ method, url, headers, body, timeout: o.timeout, followRedirects: o.followRedirect !== false }, (err, res) => {
    if (typeof callback !== 'function') return;
    if (err) return callback(err);
    let resBody = res.body;
    if (o.encoding !== null) resBody = resBody.toString(o.encoding === undefined ? 'utf8' : o.encoding);
    if (o.json && typeof resBody === 'string') {
      if (resBody === '') resBody = undefined;
      else {
        try {
          resBody = JSON.parse(resBody);
        } catch (e) {
          // request leaves an unparsable body as a string
        }
      }
    }
    const response = {
      statusCode: res.status,
      statusMessage: res.statusText,
      headers: responseHeaders(res.headers),
      body: resBody,
      url: res.url,
      request: { uri: { href: res.url }, method },
      caseless: { get: (k) => res.headers.get(k) },
      toJSON() {
        return { statusCode: res.status, body: resBody, headers: responseHeaders(res.headers) };
      },
    };
    callback(null, response, resBody);
  });
  return handle;
}

function makeRequest(defaults) {
  const merge = (o) => {
    if (!defaults) return o;
    const m = Object.assign({}, defaults, o);
    if (defaults.headers || o.headers) m.headers = Object.assign({}, defaults.headers, o.headers);
    return m;
  };
  const request = function (uri, options, callback) {
    const p = requestParams(uri, options, callback);
    return doRequest(merge(p.options), p.callback);
  };
  const verbs = { get: 'GET', head: 'HEAD', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE', delete: 'DELETE', options: 'OPTIONS' };
  for (const name of Object.keys(verbs)) {
    request[name] = function (uri, options, callback) {
      const p = requestParams(uri, options, callback);
      p.options.method = verbs[name];
      return doRequest(merge(p.options), p.callback);
    };
  }
  request.defaults = (more) => makeRequest(Object.assign({}, defaults, more, { headers: Object.assign({}, defaults && defaults.headers, more && more.headers) }));
  request.jar = () => ({});
  return request;
}

const requestModule = makeRequest(null);

// request-promise: resolves with the body (or the response), rejects on non-2xx.
function makeRequestPromise(defaults) {
  const rp = function (uri, options) {
    const p = requestParams(uri, options);
    const o = Object.assign({}, defaults, p.options);
    return new Promise((resolve, reject) => {
      doRequest(o, (err, res, body) => {
        if (err) {
          const e = new Error(String(err.message));
          e.name = 'RequestError';
          e.cause = err;
          return reject(e);
        }
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        if (!ok && o.simple !== false) {
          const e = new Error(res.statusCode + ' - ' + (typeof body === 'string' ? body : JSON.stringify(body)));
          e.name = 'StatusCodeError';
          e.statusCode = res.statusCode;
          e.error = body;
          e.response = res;
          return reject(e);
        }
        resolve(o.resolveWithFullResponse ? res : body);
      });
    });
  };
  const verbs = { get: 'GET', head: 'HEAD', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE', delete: 'DELETE' };
  for (const name of Object.keys(verbs)) {
    rp[name] = (uri, options) => {
      const p = requestParams(uri, options);
      p.options.method = verbs[name];
      return rp(p.options);
    };
  }
  rp.defaults = (more) => makeRequestPromise(Object.assign({}, defaults, more));
  return rp;
}

// ---- axios ----

function axiosError(message, code, config, response) {
  const e = new Error(message);
  e.name = 'AxiosError';
  e.code = code;
  e.config = config;
  e.isAxiosError = true;
  if (response) e.response = response;
  e.toJSON = () => ({ message, name: 'AxiosError', code, status: response ? response.status : undefined });
  return e;
}

function makeAxios(defaults) {
  defaults = defaults || {};
  const request = function (config) {
    const c = Object.assign({}, defaults, config, { headers: Object.assign({}, defaults.headers && defaults.headers.common, defaults.headers, config.headers) });
    delete c.headers.common;
    return new Promise((resolve, reject) => {
      let url = String(c.url || '');
      if (c.baseURL && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) url = String(c.baseURL).replace(/\/+$/, '') + '/' + url.replace(/^\/+/, '');
      if (c.params) {
        const q = c.params instanceof URLSearchParams ? c.params.toString() : qsStringify(c.params).replace(/%5B\d+%5D=/g, '%5B%5D=');
        url = appendQuery(url, q);
      }
      const headers = new Headers(c.headers);
      if (!headers.has('accept')) headers.set('accept', 'application/json, text/plain, */*');
      let data = c.data;
      let body = null;
      if (data !== undefined && data !== null) {
        if (typeof data === 'string') body = bodyBytes(data, headers, 'application/x-www-form-urlencoded');
        else if (data instanceof URLSearchParams || data instanceof Uint8Array || data instanceof ArrayBuffer) body = bodyBytes(data, headers);
        else {
          if (!headers.has('content-type')) headers.set('content-type', 'application/json');
          body = Buffer.from(JSON.stringify(data), 'utf8');
        }
      }
      if (c.auth) headers.set('authorization', basicAuth(c.auth.username, c.auth.password));
      const method = String(c.method || 'get').toUpperCase();
      httpSend({ method, url, headers, body, timeout: c.timeout, followRedirects: c.maxRedirects !== 0 }, (err, res) => {
        if (err) return reject(axiosError(err.message, err.code === 'ETIMEDOUT' ? 'ECONNABORTED' : err.code || 'ERR_NETWORK', c));
        let out = res.body;
        const type = c.responseType || 'json';
        if (type === 'arraybuffer' || type === 'stream') out = Buffer.from(out);
        else {
          out = out.toString('utf8');
          if (type === 'json' && out !== '') {
            try {
              out = JSON.parse(out);
            } catch (e) {
              // axios keeps unparsable bodies as text
            }
          }
        }
        const response = { data: out, status: res.status, statusText: res.statusText, headers: responseHeaders(res.headers), config: c, request: {} };
        const validate = c.validateStatus === undefined ? (s) => s >= 200 && s < 300 : c.validateStatus;
        if (!validate || validate(res.status)) resolve(response);
        else reject(axiosError('Request failed with status code ' + res.status, res.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST', c, response));
      });
    });
  };
  const axios = function (configOrUrl, config) {
    if (typeof configOrUrl === 'string') return request(Object.assign({}, config, { url: configOrUrl }));
    return request(configOrUrl || {});
  };
  axios.request = request;
  for (const m of ['get', 'delete', 'head', 'options']) axios[m] = (url, config) => request(Object.assign({}, config, { url, method: m }));
  for (const m of ['post', 'put', 'patch']) axios[m] = (url, data, config) => request(Object.assign({}, config, { url, data, method: m }));
  axios.create = (more) => makeAxios(Object.assign({}, defaults, more, { headers: Object.assign({}, defaults.headers, more && more.headers) }));
  axios.defaults = defaults;
  axios.isAxiosError = (e) => !!(e && e.isAxiosError);
  axios.default = axios;
  return axios;
}

const axiosModule = makeAxios({ headers: {} });

return { fetch, Headers, Response, nodeFetch, requestModule, makeRequestPromise, axiosModule };
