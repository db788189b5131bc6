// crypto.js (compiled on first use): the `crypto` subset scripts use, and
// `bcrypt`/`bcryptjs`. Evaluated as `(function (host, lib) { ... })`.

const { bin, wrap, startOp } = lib;

function toBytes(data, encoding, what) {
  if (typeof data === 'string') return Buffer.from(data, encoding);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(
    'The "' + (what || 'data') + '" argument must be of type string or an instance of Buffer, TypedArray, or DataView.'
  );
}

function output(bytes, encoding) {
  const b = wrap(bytes);
  return encoding === undefined || encoding === 'buffer' ? b : b.toString(encoding);
}

class Hash {
  constructor(algorithm, key) {
    this._alg = String(algorithm);
    this._key = key;
    this._chunks = [];
    this._done = false;
    host.digest(this._alg, ''); // throws "Digest method not supported" early
  }
  update(data, encoding) {
    if (this._done) throw new Error('Digest already called');
    this._chunks.push(toBytes(data, encoding));
    return this;
  }
  digest(encoding) {
    if (this._done) throw new Error('Digest already called');
    this._done = true;
    const data = bin(Buffer.concat(this._chunks));
    const out = this._key === undefined ? host.digest(this._alg, data) : host.hmac(this._alg, bin(this._key), data);
    return output(out, encoding);
  }
  copy() {
    const h = new Hash(this._alg, this._key);
    h._chunks = this._chunks.slice();
    return h;
  }
}

function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  return wrap(
    host.pbkdf2(
      digest === undefined ? 'sha1' : String(digest),
      bin(toBytes(password, 'utf8', 'password')),
      bin(toBytes(salt, 'utf8', 'salt')),
      Number(iterations),
      Number(keylen)
    )
  );
}

function randomBytes(size, cb) {
  const b = wrap(host.random(Number(size)));
  if (typeof cb === 'function') {
    setImmediate(() => cb(null, b));
    return undefined;
  }
  return b;
}

const cryptoModule = {
  createHash: (alg) => new Hash(alg),
  createHmac: (alg, key) => new Hash(alg, toBytes(key, 'utf8', 'key')),
  pbkdf2Sync,
  pbkdf2(password, salt, iterations, keylen, digest, cb) {
    if (typeof digest === 'function') {
      cb = digest;
      digest = undefined;
    }
    if (typeof cb !== 'function') throw new TypeError('The "callback" argument must be of type function');
    setImmediate(() => {
      let key;
      try {
        key = pbkdf2Sync(password, salt, iterations, keylen, digest);
      } catch (e) {
        cb(e);
        return;
      }
      cb(null, key);
    });
  },
  randomBytes,
  pseudoRandomBytes: randomBytes,
  randomUUID: () => host.uuid(),
  randomInt(min, max, cb) {
    if (max === undefined || typeof max === 'function') {
      cb = max;
      max = min;
      min = 0;
    }
    const range = max - min;
    if (!(range > 0) || range > 281474976710655) throw new RangeError('The value of "max" is out of range.');
    const b = host.random(6);
    let n = 0;
    for (let i = 0; i < 6; i++) n = n * 256 + b[i];
    const r = min + (n % range);
    if (typeof cb === 'function') {
      setImmediate(() => cb(null, r));
      return undefined;
    }
    return r;
  },
  getRandomValues(array) {
    if (!ArrayBuffer.isView(array)) throw new TypeError('The data argument must be an integer-type TypedArray');
    const bytes = host.random(array.byteLength);
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(bytes);
    return array;
  },
  timingSafeEqual(a, b) {
    const x = toBytes(a, undefined, 'buf1');
    const y = toBytes(b, undefined, 'buf2');
    if (x.length !== y.length) {
      const e = new RangeError('Input buffers must have the same byte length');
      e.code = 'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH';
      throw e;
    }
    return host.safeEqual(bin(x), bin(y));
  },
  getHashes: () => ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'],
  createCipheriv() {
    throw new Error('crypto.createCipheriv is not available in the script sandbox');
  },
  createDecipheriv() {
    throw new Error('crypto.createDecipheriv is not available in the script sandbox');
  },
};

// ---- bcrypt ----

function bcryptArgs(data, hash, what) {
  if (data === undefined || data === null || hash === undefined || hash === null) {
    return new Error('data and ' + what + ' arguments required');
  }
  if ((typeof data !== 'string' && !(data instanceof Uint8Array)) || (typeof hash !== 'string' && typeof hash !== 'number')) {
    return new Error('data must be a string or Buffer and ' + what + ' must either be a salt string or a number of rounds');
  }
  return null;
}

function asText(data) {
  return typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
}

// Calls back (err, value) asynchronously or returns a promise, like node's bcrypt.
function bcryptAsync(kind, a, b, cb) {
  const run = (done) => startOp(kind, { a, b }, done);
  if (typeof cb === 'function') {
    run((e, v) => cb(e, e ? undefined : v));
    return undefined;
  }
  return new Promise((resolve, reject) => run((e, v) => (e ? reject(e) : resolve(v))));
}

function bcryptFail(err, cb) {
  if (typeof cb === 'function') {
    setImmediate(() => cb(err));
    return undefined;
  }
  return Promise.reject(err);
}

const bcryptModule = {
  genSaltSync(rounds) {
    return rounds === undefined ? host.bcryptSalt() : host.bcryptSalt(Number(rounds));
  },
  genSalt(rounds, minor, cb) {
    if (typeof rounds === 'function') {
      cb = rounds;
      rounds = undefined;
    } else if (typeof minor === 'function') {
      cb = minor;
    }
    let salt;
    try {
      salt = bcryptModule.genSaltSync(rounds);
    } catch (e) {
      return bcryptFail(e, cb);
    }
    if (typeof cb === 'function') {
      setImmediate(() => cb(null, salt));
      return undefined;
    }
    return Promise.resolve(salt);
  },
  hashSync(data, salt) {
    const err = bcryptArgs(data, salt, 'salt');
    if (err) throw err;
    return host.bcryptHash(asText(data), String(salt));
  },
  hash(data, salt, cb) {
    const err = bcryptArgs(data, salt, 'salt');
    if (err) return bcryptFail(err, cb);
    return bcryptAsync('bcrypt.hash', asText(data), String(salt), cb);
  },
  compareSync(data, hash) {
    const err = bcryptArgs(data, hash, 'hash');
    if (err) throw err;
    return host.bcryptCompare(asText(data), String(hash));
  },
  compare(data, hash, cb) {
    const err = bcryptArgs(data, hash, 'hash');
    if (err) return bcryptFail(err, cb);
    return bcryptAsync('bcrypt.compare', asText(data), String(hash), cb);
  },
  getRounds(hash) {
    const m = /^\$2[abxy]?\$(\d\d)\$/.exec(String(hash));
    if (!m) throw new Error('invalid hash provided');
    return Number(m[1]);
  },
};

return { cryptoModule, bcryptModule };
