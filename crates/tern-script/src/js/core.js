// core.js: internal entry points, error classes, console, timers, host operations and
// the callback. Runs inside `(function (host, configurationJson) { 'use strict'; ... })`.

const internal = {};
const G = globalThis;
const jsonStringify = JSON.stringify;
const jsonParse = JSON.parse;
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

function defineGlobal(name, value) {
  Object.defineProperty(G, name, { value, writable: true, configurable: true, enumerable: false });
}

function defineLazyGlobal(name, get) {
  let cached;
  let done = false;
  Object.defineProperty(G, name, {
    configurable: true,
    enumerable: false,
    get() {
      if (!done) {
        cached = get();
        done = true;
      }
      return cached;
    },
    set(v) {
      cached = v;
      done = true;
    },
  });
}

// Atomics.wait would block the script thread where the interrupt handler cannot stop it.
delete G.Atomics;
delete G.SharedArrayBuffer;

// ---- Auth0 error constructors (callable with or without `new`, instanceof Error) ----

function errorClass(name, init) {
  const E = function (...args) {
    if (!(this instanceof E)) return new E(...args);
    init.apply(this, args);
    const stack = new Error(this.message).stack || '';
    Object.defineProperty(this, 'stack', {
      value: name + ': ' + this.message + '\n' + stack.split('\n').slice(1).join('\n'),
      writable: true,
      configurable: true,
    });
  };
  Object.defineProperty(E, 'name', { value: name });
  E.prototype = Object.create(Error.prototype, {
    constructor: { value: E, writable: true, configurable: true },
    name: { value: name, writable: true, configurable: true },
  });
  return E;
}

const WrongUsernameOrPasswordError = errorClass('WrongUsernameOrPasswordError', function (emailOrId, message) {
  this.name = 'WrongUsernameOrPasswordError';
  this.message = message === undefined || message === null ? 'Wrong email or password.' : String(message);
  this.user_id = emailOrId;
});
const ValidationError = errorClass('ValidationError', function (code, message) {
  this.name = 'ValidationError';
  this.code = code;
  this.message = message === undefined || message === null ? String(code) : String(message);
});
const UnauthorizedError = errorClass('UnauthorizedError', function (message) {
  this.name = 'UnauthorizedError';
  this.message = message === undefined || message === null ? 'Unauthorized' : String(message);
});

defineGlobal('WrongUsernameOrPasswordError', WrongUsernameOrPasswordError);
defineGlobal('ValidationError', ValidationError);
defineGlobal('UnauthorizedError', UnauthorizedError);

// ---- formatting (console, util.format, util.inspect) ----

function inspect(value, depth, seen) {
  if (depth === undefined) depth = 2;
  if (seen === undefined) seen = [];
  switch (typeof value) {
    case 'string':
      return seen.length ? jsonStringify(value) : value;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return String(value) + 'n';
    case 'symbol':
      return value.toString();
    case 'function':
      return '[Function: ' + (value.name || '(anonymous)') + ']';
  }
  if (value === null) return 'null';
  if (value instanceof Error) {
    const head = value.name + ': ' + value.message;
    const stack = typeof value.stack === 'string' ? value.stack.replace(/\n$/, '') : '';
    return stack.indexOf(head) === 0 ? stack : stack ? head + '\n' + stack : head;
  }
  if (value instanceof Date) return isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof Buffer === 'function' && value instanceof Buffer) {
    const hex = [];
    for (let i = 0; i < Math.min(value.length, 50); i++) hex.push((value[i] < 16 ? '0' : '') + value[i].toString(16));
    return '<Buffer' + (hex.length ? ' ' + hex.join(' ') : '') + (value.length > 50 ? ' ... ' + (value.length - 50) + ' more bytes' : '') + '>';
  }
  if (seen.indexOf(value) >= 0) return '[Circular]';
  if (depth < 0) return Array.isArray(value) ? '[Array]' : '[Object]';
  const next = seen.concat([value]);
  if (Array.isArray(value)) {
    const items = value.slice(0, 100).map((v) => inspect(v, depth - 1, next));
    if (value.length > 100) items.push('... ' + (value.length - 100) + ' more items');
    return '[ ' + items.join(', ') + (items.length ? ' ' : '') + ']';
  }
  let keys;
  try {
    keys = Object.keys(value);
  } catch (e) {
    return '[Object]';
  }
  const parts = keys.slice(0, 100).map((k) => {
    const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : jsonStringify(k);
    let v;
    try {
      v = inspect(value[k], depth - 1, next);
    } catch (e) {
      v = '[Getter]';
    }
    return key + ': ' + v;
  });
  if (keys.length > 100) parts.push('... ' + (keys.length - 100) + ' more properties');
  return parts.length ? '{ ' + parts.join(', ') + ' }' : '{}';
}

function format(...args) {
  let out = '';
  let rest = args;
  if (typeof args[0] === 'string' && args[0].indexOf('%') >= 0) {
    let i = 1;
    out = args[0].replace(/%[sdifjoOc%]/g, (m) => {
      if (m === '%%') return '%';
      if (i >= args.length) return m;
      const a = args[i++];
      switch (m) {
        case '%s':
          return typeof a === 'string' ? a : inspect(a, 1, []);
        case '%d':
        case '%i':
          return typeof a === 'object' ? 'NaN' : String(m === '%i' ? parseInt(a, 10) : Number(a));
        case '%f':
          return String(parseFloat(a));
        case '%j':
          try {
            return jsonStringify(a);
          } catch (e) {
            return '[Circular]';
          }
        case '%c':
          return '';
        default:
          return inspect(a, 4, []);
      }
    });
    rest = args.slice(i);
    return [out].concat(rest.map((a) => inspect(a))).join(' ');
  }
  return rest.map((a) => inspect(a)).join(' ');
}

let consoleOpen = true;
function emit(level, args) {
  if (!consoleOpen) return;
  let text;
  try {
    text = format(...args);
  } catch (e) {
    text = '[unprintable]';
  }
  consoleOpen = host.log(level, text);
}
const consoleObject = {
  log: (...a) => emit('log', a),
  info: (...a) => emit('info', a),
  debug: (...a) => emit('debug', a),
  trace: (...a) => emit('debug', a),
  warn: (...a) => emit('warn', a),
  error: (...a) => emit('error', a),
  dir: (v) => emit('log', [inspect(v)]),
  table: (v) => emit('log', [v]),
  time() {},
  timeEnd() {},
  assert: (cond, ...a) => {
    if (!cond) emit('error', ['Assertion failed'].concat(a));
  },
};
defineGlobal('console', consoleObject);

// ---- timers (driven by the host's event loop) ----

const timers = new Map();

class Timeout {
  constructor(id) {
    this._id = id;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  hasRef() {
    return true;
  }
  refresh() {
    const t = timers.get(this._id);
    if (t) host.timer(t.delay, this._id);
    return this;
  }
  [Symbol.toPrimitive]() {
    return this._id;
  }
}

function addTimer(fn, delay, args, repeat) {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  let ms = Number(delay);
  if (!(ms >= 1)) ms = repeat ? 1 : 0;
  const id = host.timer(ms, 0);
  timers.set(id, { fn, args, delay: ms, repeat });
  return new Timeout(id);
}

function clearTimer(t) {
  if (t === null || t === undefined) return;
  const id = typeof t === 'object' ? t._id : Number(t);
  if (timers.delete(id)) host.clearTimer(id);
}

internal.fireTimer = function (id) {
  const t = timers.get(id);
  if (!t) return;
  if (t.repeat) host.timer(t.delay, id);
  else timers.delete(id);
  t.fn.apply(undefined, t.args);
};

defineGlobal('setTimeout', (fn, delay, ...args) => addTimer(fn, delay, args, false));
defineGlobal('setInterval', (fn, delay, ...args) => addTimer(fn, delay, args, true));
defineGlobal('setImmediate', (fn, ...args) => addTimer(fn, 0, args, false));
defineGlobal('clearTimeout', clearTimer);
defineGlobal('clearInterval', clearTimer);
defineGlobal('clearImmediate', clearTimer);
if (typeof G.queueMicrotask !== 'function') {
  defineGlobal('queueMicrotask', (fn) => {
    Promise.resolve().then(fn);
  });
}

// ---- host operations ----

const pending = new Map();

function hostError(obj) {
  const e = new Error(obj && obj.message !== undefined ? obj.message : 'host operation failed');
  if (obj && typeof obj === 'object') {
    for (const k of Object.keys(obj)) if (k !== 'message') e[k] = obj[k];
  }
  return e;
}

// Starts an operation; `handler(err, value)` runs as its own macrotask on completion.
// Errors thrown synchronously by the host (invalid input) are delivered the same way.
function startOp(kind, payload, handler) {
  let id;
  try {
    id = host.op(kind, jsonStringify(payload));
  } catch (e) {
    addTimer(() => handler(e instanceof Error ? e : hostError({ message: String(e) })), 0, [], false);
    return;
  }
  pending.set(id, handler);
}

function opPromise(kind, payload) {
  return new Promise((resolve, reject) => startOp(kind, payload, (e, v) => (e ? reject(e) : resolve(v))));
}

internal.dispatch = function (id, err, value) {
  const handler = pending.get(id);
  if (!handler) return;
  pending.delete(id);
  if (err !== null && err !== undefined) handler(hostError(jsonParse(err)));
  else handler(null, value === null || value === undefined ? null : jsonParse(value));
};

// ---- the callback ----

function safeReplacer(key, value) {
  return typeof value === 'bigint' ? String(value) : value;
}

function describeError(err) {
  if (typeof err === 'string') return { name: 'Error', message: err };
  if (typeof err !== 'object' && typeof err !== 'function') return { name: 'Error', message: String(err) };
  let name = err.name;
  if (typeof name !== 'string' || name === '' || name === 'Error') {
    const ctor = err.constructor && err.constructor.name;
    if (typeof ctor === 'string' && ctor !== '' && ctor !== 'Object') name = ctor;
  }
  let message = err.message;
  if (message === undefined) {
    try {
      message = jsonStringify(err, safeReplacer);
    } catch (e) {
      message = String(err);
    }
  }
  const user = err.user_id !== undefined ? err.user_id : err.user !== undefined ? err.user : null;
  return {
    name: typeof name === 'string' ? name : 'Error',
    message: String(message),
    user: user === undefined ? null : user,
    code: err.code === undefined ? null : err.code,
  };
}

function describeThrown(e) {
  if (e !== null && typeof e === 'object') {
    const name = e.name;
    const message = e.message;
    if (typeof message === 'string' && message !== '') return (typeof name === 'string' ? name : 'Error') + ': ' + message;
    if (typeof name === 'string') return name;
    try {
      return jsonStringify(e, safeReplacer);
    } catch (x) {
      return String(e);
    }
  }
  return String(e);
}

function callback(err, value) {
  let payload;
  try {
    payload = err
      ? jsonStringify({ ok: false, error: describeError(err) }, safeReplacer)
      : jsonStringify({ ok: true, value: value === undefined ? null : value }, safeReplacer);
  } catch (e) {
    payload = jsonStringify({ invalid: describeThrown(e) });
  }
  host.complete(payload);
}

internal.invoke = function (fn, argsJson, contextJson) {
  const args = jsonParse(argsJson);
  if (contextJson !== undefined && contextJson !== null) args.push(jsonParse(contextJson));
  args.push(function (err, value) {
    return callback(err, value);
  });
  const result = fn.apply(undefined, args);
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    result.then(undefined, (e) => host.rejected(describeThrown(e)));
  }
};

// ---- shared helpers for the modules compiled on first use (url, crypto, http, db) ----

const chunks = {};
const lib = {
  jsonParse,
  jsonStringify,
  hasOwn,
  startOp,
  opPromise,
  addTimer,
  format,
  inspect,
  need(name) {
    if (!hasOwn(chunks, name)) chunks[name] = host.load(name)(host, lib);
    return chunks[name];
  },
};

// ---- configuration and global ----

const configuration = Object.freeze(jsonParse(configurationJson));
defineGlobal('configuration', configuration);
defineGlobal('global', {});
