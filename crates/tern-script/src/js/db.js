// db.js (compiled on first use): `mysql` (mysqljs API, also `mysql2` and
// `mysql2/promise`), `pg` (node-postgres API) and `events`. Every value is sent to the
// host as a bound parameter. Evaluated as `(function (host, lib) { ... })`.

const { bin, startOp, jsonStringify } = lib;

class EventEmitter {
  constructor() {
    this._events = {};
  }
  on(name, fn) {
    (this._events[name] = this._events[name] || []).push(fn);
    return this;
  }
  once(name, fn) {
    const wrapper = (...a) => {
      this.off(name, wrapper);
      fn.apply(this, a);
    };
    return this.on(name, wrapper);
  }
  off(name, fn) {
    this._events[name] = (this._events[name] || []).filter((f) => f !== fn);
    return this;
  }
  removeListener(name, fn) {
    return this.off(name, fn);
  }
  removeAllListeners(name) {
    if (name === undefined) this._events = {};
    else delete this._events[name];
    return this;
  }
  listenerCount(name) {
    return (this._events[name] || []).length;
  }
  emit(name, ...args) {
    const list = (this._events[name] || []).slice();
    if (name === 'error' && list.length === 0) throw args[0];
    for (const fn of list) fn.apply(this, args);
    return list.length > 0;
  }
}
EventEmitter.prototype.addListener = EventEmitter.prototype.on;
EventEmitter.EventEmitter = EventEmitter;

function encodeParam(v) {
  if (v === null || v === undefined) return ['z'];
  switch (typeof v) {
    case 'string':
      return ['s', v];
    case 'number':
      return Number.isFinite(v) ? ['n', v] : ['z'];
    case 'boolean':
      return ['b', v];
    case 'bigint':
      return ['s', String(v)];
    case 'function':
    case 'symbol':
      return ['z'];
  }
  if (v instanceof Date) return ['d', v.getTime()];
  if (v instanceof Uint8Array) return ['x', host.str(bin(v), 'base64')];
  if (Array.isArray(v)) return ['a', v.map(encodeParam)];
  return [
    'o',
    Object.keys(v)
      .filter((k) => typeof v[k] !== 'function')
      .map((k) => [k, encodeParam(v[k])]),
  ];
}

function convert(conv, value) {
  if (value === null || value === undefined) return null;
  if (conv === 'date') return new Date(value);
  if (conv === 'bytes') return Buffer.from(value, 'base64');
  return value;
}

function rowsOf(res, asArray, parsers) {
  const fields = res.fields;
  return res.rows.map((r) => {
    const out = asArray ? [] : {};
    for (let i = 0; i < fields.length; i++) {
      let v = convert(fields[i].conv, r[i]);
      const parser = parsers && parsers[fields[i].dataTypeID];
      if (parser && typeof v === 'string') v = parser(v);
      if (asArray) out.push(v);
      else out[fields[i].name] = v;
    }
    return out;
  });
}

// ---- mysql ----

function mysqlSettings(config) {
  if (typeof config === 'string') return { url: config };
  const c = config || {};
  const out = {};
  for (const k of ['host', 'port', 'user', 'password', 'database', 'socketPath']) {
    if (c[k] !== undefined && c[k] !== null) out[k] = c[k];
  }
  if (c.ssl) out.ssl = true;
  return out;
}

function mysqlEscapeId(v) {
  if (Array.isArray(v)) return v.map(mysqlEscapeId).join(', ');
  return String(v)
    .split('.')
    .map((p) => '`' + p.replace(/`/g, '``') + '`')
    .join('.');
}

function mysqlEscape(v) {
  if (v === undefined || v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (v instanceof Date) return "'" + v.toISOString().replace('T', ' ').replace('Z', '') + "'";
  if (v instanceof Uint8Array) return "X'" + Buffer.from(v).toString('hex') + "'";
  if (Array.isArray(v)) return v.map((x) => (Array.isArray(x) ? '(' + mysqlEscape(x) + ')' : mysqlEscape(x))).join(', ');
  if (typeof v === 'object') {
    return Object.keys(v)
      .filter((k) => typeof v[k] !== 'function')
      .map((k) => mysqlEscapeId(k) + ' = ' + mysqlEscape(v[k]))
      .join(', ');
  }
  const map = { '\0': '\\0', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', '"': '\\"', "'": "\\'", '\\': '\\\\' };
  return "'" + String(v).replace(/[\0\b\t\n\r\x1a"'\\]/g, (c) => map[c]) + "'";
}

function mysqlResult(res) {
  if (res.kind === 'ok') {
    return {
      results: {
        fieldCount: 0,
        affectedRows: res.affectedRows,
        insertId: res.insertId,
        serverStatus: 2,
        warningCount: res.warningCount,
        message: '',
        protocol41: true,
        changedRows: res.changedRows,
      },
      fields: undefined,
    };
  }
  const fields = res.fields.map((f) => ({ name: f.name, type: f.type }));
  return { results: rowsOf(res, false, null), fields };
}

class MysqlQuery extends EventEmitter {}

class MysqlConnection extends EventEmitter {
  constructor(config) {
    super();
    this.config = typeof config === 'string' ? { url: config } : Object.assign({}, config);
    this._id = host.dbOpen('mysql', jsonStringify(mysqlSettings(config)));
    this.state = 'disconnected';
    this.threadId = null;
  }
  connect(options, cb) {
    if (typeof options === 'function') cb = options;
    startOp('db.connect', { conn: this._id }, (err) => {
      this.state = err ? 'disconnected' : 'authenticated';
      if (typeof cb === 'function') cb(err || null);
      else if (err && this.listenerCount('error') > 0) this.emit('error', err);
    });
  }
  query(sql, values, cb) {
    let text = sql;
    if (sql !== null && typeof sql === 'object') {
      text = sql.sql;
      if (typeof values === 'function') {
        cb = values;
        values = sql.values;
      } else if (values === undefined) values = sql.values;
    }
    if (typeof values === 'function') {
      cb = values;
      values = undefined;
    }
    const params = values === undefined ? [] : Array.isArray(values) ? values : [values];
    const query = new MysqlQuery();
    query.sql = String(text);
    startOp('db.query', { conn: this._id, sql: String(text), params: params.map(encodeParam) }, (err, res) => {
      if (err) {
        if (typeof cb === 'function') return cb(err);
        if (query.listenerCount('error') > 0) query.emit('error', err);
        return query.emit('end');
      }
      const out = mysqlResult(res);
      if (typeof cb === 'function') return cb(null, out.results, out.fields);
      if (out.fields) query.emit('fields', out.fields);
      if (Array.isArray(out.results)) for (const row of out.results) query.emit('result', row);
      else query.emit('result', out.results);
      query.emit('end');
    });
    return query;
  }
  execute(sql, values, cb) {
    return this.query(sql, values, cb);
  }
  beginTransaction(options, cb) {
    this.query('START TRANSACTION', typeof options === 'function' ? options : cb);
  }
  commit(options, cb) {
    this.query('COMMIT', typeof options === 'function' ? options : cb);
  }
  rollback(options, cb) {
    this.query('ROLLBACK', typeof options === 'function' ? options : cb);
  }
  ping(options, cb) {
    this.query('SELECT 1', typeof options === 'function' ? options : cb);
  }
  end(options, cb) {
    if (typeof options === 'function') cb = options;
    this.state = 'disconnected';
    startOp('db.end', { conn: this._id }, (err) => {
      if (typeof cb === 'function') cb(err || null);
    });
  }
  destroy() {
    this.end();
  }
  release() {}
  escape(v) {
    return mysqlEscape(v);
  }
  escapeId(v) {
    return mysqlEscapeId(v);
  }
}

// A pool with a single connection: queries run one after another.
class MysqlPool extends EventEmitter {
  constructor(config) {
    super();
    this.config = config;
    this._conn = null;
  }
  _connection() {
    if (!this._conn) {
      this._conn = new MysqlConnection(this.config);
      this._conn.release = () => {};
    }
    return this._conn;
  }
  getConnection(cb) {
    const c = this._connection();
    c.connect((err) => cb(err, err ? undefined : c));
  }
  query(sql, values, cb) {
    return this._connection().query(sql, values, cb);
  }
  execute(sql, values, cb) {
    return this.query(sql, values, cb);
  }
  end(cb) {
    if (this._conn) this._conn.end(cb);
    else if (typeof cb === 'function') setImmediate(() => cb(null));
  }
  escape(v) {
    return mysqlEscape(v);
  }
  escapeId(v) {
    return mysqlEscapeId(v);
  }
}

const mysqlModule = {
  createConnection: (config) => new MysqlConnection(config),
  createPool: (config) => new MysqlPool(config),
  escape: mysqlEscape,
  escapeId: mysqlEscapeId,
};

function promiseConnection(c) {
  const wrap2 = (fn) => (sql, values) =>
    new Promise((resolve, reject) => fn.call(c, sql, values, (e, rows, fields) => (e ? reject(e) : resolve([rows, fields]))));
  return {
    query: wrap2(c.query),
    execute: wrap2(c.query),
    end: () => new Promise((resolve) => c.end(() => resolve())),
    release() {},
    escape: mysqlEscape,
    escapeId: mysqlEscapeId,
  };
}

const mysqlPromiseModule = {
  createConnection(config) {
    const c = new MysqlConnection(config);
    return new Promise((resolve, reject) => c.connect((e) => (e ? reject(e) : resolve(promiseConnection(c)))));
  },
  createPool(config) {
    const pool = new MysqlPool(config);
    const p = promiseConnection(pool._connection());
    p.getConnection = () => Promise.resolve(p);
    return p;
  },
  escape: mysqlEscape,
  escapeId: mysqlEscapeId,
};

// ---- pg ----

const pgTypeParsers = {};

function pgSettings(config) {
  if (typeof config === 'string') return { url: config };
  const c = config || {};
  const out = {};
  if (c.connectionString) out.url = c.connectionString;
  for (const k of ['host', 'port', 'user', 'password', 'database']) {
    if (c[k] !== undefined && c[k] !== null && typeof c[k] !== 'function') out[k] = c[k];
  }
  if (c.ssl) out.ssl = true;
  return out;
}

function pgResult(res, rowMode) {
  return {
    command: res.command,
    rowCount: res.rowCount,
    oid: null,
    fields: res.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID, format: 'text' })),
    rows: rowsOf(res, rowMode === 'array', pgTypeParsers),
    rowAsArray: rowMode === 'array',
  };
}

class PgClient extends EventEmitter {
  constructor(config) {
    super();
    this._settings = pgSettings(config);
    this._id = host.dbOpen('pg', jsonStringify(this._settings));
    this._ended = false;
  }
  connect(cb) {
    const run = (done) => startOp('db.connect', { conn: this._id }, done);
    if (typeof cb === 'function') {
      run((err) => cb(err || null, this));
      return undefined;
    }
    return new Promise((resolve, reject) => run((err) => (err ? reject(err) : resolve(this))));
  }
  query(text, values, cb) {
    let sql = text;
    let rowMode;
    if (text !== null && typeof text === 'object') {
      sql = text.text;
      rowMode = text.rowMode;
      if (typeof values === 'function') {
        cb = values;
        values = text.values;
      } else if (values === undefined) values = text.values;
    }
    if (typeof values === 'function') {
      cb = values;
      values = undefined;
    }
    const params = (values || []).map(encodeParam);
    const run = (done) => startOp('db.query', { conn: this._id, sql: String(sql), params }, done);
    if (typeof cb === 'function') {
      run((err, res) => (err ? cb(err) : cb(null, pgResult(res, rowMode))));
      return undefined;
    }
    return new Promise((resolve, reject) => run((err, res) => (err ? reject(err) : resolve(pgResult(res, rowMode)))));
  }
  end(cb) {
    this._ended = true;
    const run = (done) => startOp('db.end', { conn: this._id }, done);
    if (typeof cb === 'function') {
      run((err) => cb(err || null));
      return undefined;
    }
    return new Promise((resolve) => run(() => resolve()));
  }
  release() {
    this.end(() => {});
  }
}

// A pool handing out one client; `release()` keeps it for the next user.
class PgPool extends EventEmitter {
  constructor(config) {
    super();
    this.options = config || {};
    this._client = null;
    this.totalCount = 0;
    this.idleCount = 0;
    this.waitingCount = 0;
  }
  _get() {
    if (!this._client) {
      this._client = new PgClient(this.options);
      this._client.release = () => {};
      this.totalCount = 1;
    }
    return this._client;
  }
  connect(cb) {
    const c = this._get();
    if (typeof cb === 'function') {
      c.connect((err) => cb(err || null, err ? undefined : c, () => {}));
      return undefined;
    }
    return c.connect();
  }
  query(text, values, cb) {
    return this._get().query(text, values, cb);
  }
  end(cb) {
    if (this._client) return this._client.end(cb);
    if (typeof cb === 'function') setImmediate(() => cb(null));
    return Promise.resolve();
  }
}

const pgModule = {
  Client: PgClient,
  Pool: PgPool,
  // pg < 7: pg.connect(conString, (err, client, done) => ...)
  connect(config, cb) {
    const client = new PgClient(config);
    const done = () => client.end(() => {});
    if (typeof cb !== 'function') return client.connect().then(() => client);
    client.connect((err) => cb(err || null, err ? undefined : client, done));
    return undefined;
  },
  types: {
    setTypeParser(oid, format, fn) {
      pgTypeParsers[oid] = typeof format === 'function' ? format : fn;
    },
    getTypeParser(oid) {
      return pgTypeParsers[oid] || ((v) => v);
    },
  },
  defaults: {},
  native: null,
};

return { EventEmitter, mysqlModule, mysqlPromiseModule, pgModule };
