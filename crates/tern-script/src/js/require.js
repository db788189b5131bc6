// require.js: the module table, `util`, and the legacy un-required globals.

const promisifyCustom = Symbol.for('nodejs.util.promisify.custom');

function promisify(fn) {
  if (typeof fn !== 'function') throw new TypeError('The "original" argument must be of type function');
  if (typeof fn[promisifyCustom] === 'function') return fn[promisifyCustom];
  return function (...args) {
    return new Promise((resolve, reject) => {
      fn.call(this, ...args, (err, value) => (err ? reject(err) : resolve(value)));
    });
  };
}

promisify.custom = promisifyCustom;
G.setTimeout[promisifyCustom] = (ms, value) => new Promise((resolve) => G.setTimeout(resolve, ms, value));
G.setImmediate[promisifyCustom] = (value) => new Promise((resolve) => G.setImmediate(resolve, value));

const utilModule = {
  format,
  inspect: (v, opts) => inspect(v, opts && typeof opts.depth === 'number' ? opts.depth : 2),
  promisify,
  callbackify(fn) {
    return function (...args) {
      const cb = args.pop();
      fn.apply(this, args).then((v) => cb(null, v), (e) => cb(e));
    };
  },
  inherits(ctor, superCtor) {
    Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
    Object.setPrototypeOf(ctor, superCtor);
    ctor.super_ = superCtor;
  },
  isArray: Array.isArray,
  isDeepStrictEqual(a, b) {
    try {
      return jsonStringify(a) === jsonStringify(b);
    } catch (e) {
      return false;
    }
  },
  types: {
    isDate: (v) => v instanceof Date,
    isPromise: (v) => v instanceof Promise,
  },
  TextEncoder,
  TextDecoder,
};

const MODULES = {
  bcrypt: () => lib.need('crypto').bcryptModule,
  bcryptjs: () => lib.need('crypto').bcryptModule,
  crypto: () => lib.need('crypto').cryptoModule,
  request: () => lib.need('http').requestModule,
  'request-promise': () => lib.need('http').makeRequestPromise({}),
  'request-promise-native': () => lib.need('http').makeRequestPromise({}),
  'node-fetch': () => lib.need('http').nodeFetch,
  axios: () => lib.need('http').axiosModule,
  mysql: () => lib.need('db').mysqlModule,
  mysql2: () => lib.need('db').mysqlModule,
  'mysql2/promise': () => lib.need('db').mysqlPromiseModule,
  pg: () => lib.need('db').pgModule,
  url: () => lib.need('url').urlModule,
  util: () => utilModule,
  querystring: () => lib.need('url').querystring,
  buffer: () => ({ Buffer }),
  events: () => lib.need('db').EventEmitter,
};
const moduleCache = {};

function moduleName(name) {
  let base = name.startsWith('node:') ? name.slice(5) : name;
  const at = base.lastIndexOf('@');
  if (at > 0) base = base.slice(0, at);
  return base;
}

function require(name) {
  if (typeof name !== 'string') throw new TypeError('The "id" argument must be of type string. Received ' + typeof name);
  const base = moduleName(name);
  if (!hasOwn(MODULES, base)) {
    host.missing(base);
    const e = new Error("Cannot find module '" + base + "' (not available in the script sandbox)");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  if (!hasOwn(moduleCache, base)) moduleCache[base] = MODULES[base]();
  return moduleCache[base];
}

defineGlobal('require', require);
defineLazyGlobal('URL', () => lib.need('url').URL);
defineLazyGlobal('URLSearchParams', () => lib.need('url').URLSearchParams);
defineLazyGlobal('fetch', () => lib.need('http').fetch);
defineLazyGlobal('Headers', () => lib.need('http').Headers);
defineLazyGlobal('Response', () => lib.need('http').Response);
defineLazyGlobal('request', () => lib.need('http').requestModule);
defineLazyGlobal('bcrypt', () => lib.need('crypto').bcryptModule);
defineLazyGlobal('mysql', () => lib.need('db').mysqlModule);
defineLazyGlobal('crypto', () => lib.need('crypto').cryptoModule);
