#![allow(clippy::unwrap_used)]
//! The script contract: function expressions, callback results, globals and the
//! in-process modules (Buffer, crypto, bcrypt, URL, timers, console, util).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tern_script::{
    CallbackResult, ErrorKind, ScriptEnv, ScriptError, ScriptLimits, ScriptName, ScriptRun, run,
};

/// A bcrypt hash made by Python's `bcrypt` 5.0.0 with:
/// `python3 -c 'import bcrypt; print(bcrypt.hashpw(b"correct horse battery staple", bcrypt.gensalt(rounds=10)).decode())'`
const PY_BCRYPT_2B: &str = "$2b$10$9sBZVDj11OEqipBiI715VerP/.GvqOoa3Fwe1HTEt1oym933Z1tJC";
/// Made the same way with `bcrypt.gensalt(rounds=8, prefix=b"2a")` for the password `s3cret!`.
const PY_BCRYPT_2A: &str = "$2a$08$0dOVtpTTm5XVSht0oxY5GeTQSqfiwNO3/tO7CMLQkjuhqS6SyFDVG";

fn env() -> ScriptEnv {
    let mut configuration = BTreeMap::new();
    configuration.insert("API_KEY".to_owned(), "k-123".to_owned());
    ScriptEnv {
        configuration,
        limits: ScriptLimits {
            timeout: Duration::from_secs(10),
            ..ScriptLimits::default()
        },
        ..ScriptEnv::default()
    }
}

async fn login(source: &str) -> ScriptRun {
    run(
        source,
        ScriptName::Login,
        vec!["jane@example.com".into(), "pw".into()],
        &env(),
    )
    .await
}

/// Runs `body` inside `async function (email, password, callback) { … }` and returns the
/// value passed to the callback.
async fn value_of(body: &str) -> Value {
    let source = format!("async function (email, password, callback) {{ {body} }}");
    let r = login(&source).await;
    match r.outcome {
        Ok(CallbackResult::Value(Some(v))) => v,
        other => panic!("{body}\n=> {other:?}\nconsole: {:?}", r.console),
    }
}

fn error_of(r: &ScriptRun) -> (ErrorKind, String) {
    match &r.outcome {
        Ok(CallbackResult::Error(e)) => (e.kind.clone(), e.message.clone()),
        other => panic!("expected a callback error, got {other:?}"),
    }
}

#[tokio::test]
async fn callback_results() {
    for (src, want) in [
        ("function login(e, p, cb) { cb(); }", None),
        ("function login(e, p, cb) { cb(null); }", None),
        ("function login(e, p, cb) { cb(null, null); }", None),
        ("function login(e, p, cb) { cb(null, undefined); }", None),
        (
            "function login(e, p, cb) { cb(undefined, {user_id: 7}); }",
            Some(json!({"user_id": 7})),
        ),
        (
            "function login(e, p, cb) { cb(false, true); }",
            Some(json!(true)),
        ),
        (
            "function login(e, p, cb) { cb(null, {id: 12, when: new Date(0), big: 10n, f: function () {}}); }",
            Some(json!({"id": 12, "when": "1970-01-01T00:00:00.000Z", "big": "10"})),
        ),
    ] {
        let r = login(src).await;
        assert_eq!(r.outcome, Ok(CallbackResult::Value(want)), "{src}");
    }
}

#[tokio::test]
async fn auth0_error_classes() {
    let r = login("function login(email, p, cb) { cb(new WrongUsernameOrPasswordError(email, 'bad password')); }").await;
    assert_eq!(
        error_of(&r),
        (
            ErrorKind::WrongUsernameOrPassword {
                user: Some("jane@example.com".into())
            },
            "bad password".into()
        )
    );
    let r =
        login("function login(email, p, cb) { cb(new WrongUsernameOrPasswordError(null)); }").await;
    assert_eq!(
        error_of(&r).0,
        ErrorKind::WrongUsernameOrPassword { user: None }
    );
    let r =
        login("function login(email, p, cb) { cb(new WrongUsernameOrPasswordError(42, 'x')); }")
            .await;
    assert_eq!(
        error_of(&r).0,
        ErrorKind::WrongUsernameOrPassword {
            user: Some("42".into())
        }
    );
    let r = login("function (e, p, cb) { cb(new ValidationError('user_exists', 'the user already exists')); }").await;
    assert_eq!(
        error_of(&r),
        (
            ErrorKind::Validation {
                code: "user_exists".into()
            },
            "the user already exists".into()
        )
    );
    let r = login("function (e, p, cb) { cb(new UnauthorizedError('account locked')); }").await;
    assert_eq!(
        error_of(&r),
        (ErrorKind::Unauthorized, "account locked".into())
    );
    let r = login("function (e, p, cb) { cb(new Error('db down')); }").await;
    assert_eq!(error_of(&r), (ErrorKind::Generic, "db down".into()));
    // A script's own class is recognised by its constructor name.
    let r = login("function (e, p, cb) { class UnauthorizedError extends Error {} cb(new UnauthorizedError('own')); }").await;
    assert_eq!(error_of(&r), (ErrorKind::Unauthorized, "own".into()));
    let v = value_of(
        "const a = new WrongUsernameOrPasswordError('x'); const b = UnauthorizedError('y');
         callback(null, {a: [a instanceof Error, a instanceof WrongUsernameOrPasswordError, a.name, a.message, typeof a.stack],
                         b: [b instanceof UnauthorizedError, b.name, b.message, String(b)]});",
    )
    .await;
    assert_eq!(
        v,
        json!({"a": [true, true, "WrongUsernameOrPasswordError", "Wrong email or password.", "string"],
               "b": [true, "UnauthorizedError", "y", "UnauthorizedError: y"]})
    );
}

#[tokio::test]
async fn source_forms() {
    for src in [
        "function (email, password, callback) { callback(null, {ok: 1}); }",
        "async function loginByEmail(email, password, callback) { await null; callback(null, {ok: 1}); }",
        "function login(email, password, callback) { callback(null, {ok: 1}); };\n// trailing comment",
        "  \n// leading comment\nfunction login(email, password, callback) {\n  callback(null, {ok: 1});\n}\n;;\n",
        "(email, password, callback) => callback(null, {ok: 1})",
    ] {
        let r = login(src).await;
        assert_eq!(
            r.outcome,
            Ok(CallbackResult::Value(Some(json!({"ok": 1})))),
            "{src}"
        );
    }
}

#[tokio::test]
async fn arguments_context_and_scripts() {
    let mut e = env();
    e.context = Some(json!({"organization": {"id": "org_1", "name": "acme"}}));
    let r = run(
        "function login(email, password, context, callback) { callback(null, {email, password, org: context.organization.name}); }",
        ScriptName::Login,
        vec!["a@b.c".into(), "pw".into()],
        &e,
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(
            json!({"email": "a@b.c", "password": "pw", "org": "acme"})
        )))
    );
    let r = run(
        "function deleteUser(id, context, callback) { callback(null, {id, context}); }",
        ScriptName::Delete,
        vec!["42".into()],
        &e,
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(
            json!({"id": "42", "context": {}})
        )))
    );
    let r = run(
        "function changeEmail(email, newEmail, verified, callback) { callback(null, verified === true && newEmail === 'n@x'); }",
        ScriptName::ChangeEmail,
        vec!["o@x".into(), "n@x".into(), true.into()],
        &env(),
    )
    .await;
    assert_eq!(r.outcome, Ok(CallbackResult::Value(Some(json!(true)))));
    let r = run(
        "function create(user, callback) { callback(null, user.app_metadata.plan); }",
        ScriptName::Create,
        vec![json!({"email": "a@b", "password": "p", "app_metadata": {"plan": "gold"}})],
        &env(),
    )
    .await;
    assert_eq!(r.outcome, Ok(CallbackResult::Value(Some(json!("gold")))));
}

#[tokio::test]
async fn globals() {
    let v = value_of(
        "configuration.API_KEY = 'changed';
         callback(null, {
           key: configuration.API_KEY, frozen: Object.isFrozen(configuration),
           global: typeof global, process: typeof process, require: typeof require,
           fetch: typeof fetch, url: typeof URL, buffer: typeof Buffer, timeout: typeof setTimeout,
           legacy: [typeof request, typeof bcrypt, typeof mysql, typeof crypto.createHash],
         });",
    )
    .await;
    assert_eq!(
        v,
        json!({"key": "k-123", "frozen": true, "global": "object", "process": "undefined", "require": "function",
               "fetch": "function", "url": "function", "buffer": "function", "timeout": "function",
               "legacy": ["function", "object", "object", "function"]})
    );
}

#[tokio::test]
async fn buffer() {
    let v = value_of(
        "const b = Buffer.from('héllo', 'utf8');
         callback(null, {
           hex: b.toString('hex'), b64: b.toString('base64'), len: b.length, byteLength: Buffer.byteLength('héllo'),
           fromHex: Buffer.from('68656c6c6f', 'hex').toString(), fromB64: Buffer.from('aMOpbGxv', 'base64').toString('utf8'),
           concat: Buffer.concat([Buffer.from('ab'), Buffer.from([99, 100])]).toString(),
           equals: [Buffer.from('x').equals(Buffer.from('x')), Buffer.from('x').equals(Buffer.from('y'))],
           isBuffer: Buffer.isBuffer(b.slice(1)), sub: b.slice(0, 1).toString(), alloc: Buffer.alloc(3).toString('hex'),
           b64url: Buffer.from([251, 255]).toString('base64url'), btoa: btoa('hi'), atob: atob('aGk='),
           json: JSON.parse(JSON.stringify(Buffer.from('A'))), latin1: Buffer.from('é', 'latin1').toString('hex'),
           te: new TextDecoder().decode(new TextEncoder().encode('ü')),
         });",
    )
    .await;
    assert_eq!(
        v,
        json!({"hex": "68c3a96c6c6f", "b64": "aMOpbGxv", "len": 6, "byteLength": 6, "fromHex": "hello",
               "fromB64": "héllo", "concat": "abcd", "equals": [true, false], "isBuffer": true, "sub": "h",
               "alloc": "000000", "b64url": "-_8", "btoa": "aGk=", "atob": "hi",
               "json": {"type": "Buffer", "data": [65]}, "latin1": "e9", "te": "ü"})
    );
}

#[tokio::test]
async fn crypto() {
    let v = value_of(
        "const crypto = require('crypto');
         const key = await new Promise((res, rej) => crypto.pbkdf2('password', 'salt', 2, 20, 'sha1', (e, k) => e ? rej(e) : res(k)));
         callback(null, {
           md5: crypto.createHash('md5').update('abc').digest('hex'),
           sha1: crypto.createHash('sha1').update('a').update(Buffer.from('bc')).digest('hex'),
           sha256b64: crypto.createHash('sha256').update('abc').digest('base64'),
           sha512: crypto.createHash('sha512').update('').digest('hex').slice(0, 16),
           hmac: crypto.createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex'),
           pbkdf2: crypto.pbkdf2Sync('password', 'salt', 1, 20, 'sha1').toString('hex'),
           pbkdf2cb: key.toString('hex'),
           random: [crypto.randomBytes(16).length, typeof crypto.randomUUID()],
           safe: [crypto.timingSafeEqual(Buffer.from('ab'), Buffer.from('ab')), crypto.timingSafeEqual(Buffer.from('ab'), Buffer.from('ac'))],
           lengthMismatch: (() => { try { crypto.timingSafeEqual(Buffer.from('a'), Buffer.from('ab')); return 'no'; } catch (e) { return e.name; } })(),
           badAlg: (() => { try { crypto.createHash('whirlpool'); return 'no'; } catch (e) { return e.message; } })(),
         });",
    )
    .await;
    assert_eq!(
        v,
        json!({
            "md5": "900150983cd24fb0d6963f7d28e17f72",
            "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
            "sha256b64": "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "sha512": "cf83e1357eefb8bd",
            "hmac": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "pbkdf2": "0c60c80f961f0e71f3a9b524af6012062fe037a6",
            "pbkdf2cb": "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957",
            "random": [16, "string"],
            "safe": [true, false],
            "lengthMismatch": "RangeError",
            "badAlg": "Digest method not supported: whirlpool",
        })
    );
}

#[tokio::test]
async fn bcrypt_against_python_hashes() {
    let source = format!(
        "function login(email, password, callback) {{
           const bcrypt = require('bcrypt@0.8.5');
           bcrypt.compare('correct horse battery staple', '{PY_BCRYPT_2B}', function (err, ok) {{
             if (err) return callback(err);
             bcrypt.compare('wrong', '{PY_BCRYPT_2B}').then(function (bad) {{
               const viaGlobal = bcrypt === globalThis.bcrypt;
               const sync2a = require('bcryptjs').compareSync('s3cret!', '{PY_BCRYPT_2A}');
               const mine = bcrypt.hashSync('p4ss', 4);
               bcrypt.hash('other', bcrypt.genSaltSync(5), function (err2, h2) {{
                 if (err2) return callback(err2);
                 callback(null, {{ok, bad, viaGlobal, sync2a, mine: bcrypt.compareSync('p4ss', mine),
                                  rounds: bcrypt.getRounds(h2), h2ok: bcrypt.compareSync('other', h2),
                                  malformed: bcrypt.compareSync('x', 'not-a-hash')}});
               }});
             }});
           }});
         }}"
    );
    let r = login(&source).await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(
            json!({"ok": true, "bad": false, "viaGlobal": true, "sync2a": true,
            "mine": true, "rounds": 5, "h2ok": true, "malformed": false})
        )))
    );
}

#[tokio::test]
async fn url_and_querystring() {
    let v = value_of(
        "const u = new URL('/users?id=1&x=a+b#top', 'https://api.example.com:8443/base/');
         u.searchParams.set('id', '2'); u.searchParams.append('email', 'j@e.com');
         const legacy = require('url').parse('http://u:p@h.test:81/p/a?q=1&q=2', true);
         callback(null, {
           href: u.href, host: u.host, hostname: u.hostname, port: u.port, path: u.pathname, hash: u.hash,
           x: u.searchParams.get('x'), origin: u.origin,
           qs: require('querystring').stringify({a: 'b c', n: [1, 2]}),
           legacy: [legacy.hostname, legacy.port, legacy.auth, legacy.query.q],
           invalid: (() => { try { new URL('nope'); return 'no'; } catch (e) { return e.name; } })(),
         });",
    )
    .await;
    assert_eq!(
        v,
        json!({"href": "https://api.example.com:8443/users?id=2&x=a+b&email=j%40e.com#top", "host": "api.example.com:8443",
               "hostname": "api.example.com", "port": "8443", "path": "/users", "hash": "#top", "x": "a b",
               "origin": "https://api.example.com:8443", "qs": "a=b%20c&n=1&n=2",
               "legacy": ["h.test", "81", "u:p", ["1", "2"]], "invalid": "TypeError"})
    );
}

#[tokio::test]
async fn timers_console_and_util() {
    let r = login(
        "function login(email, password, callback) {
           const order = [];
           const t = setTimeout(() => order.push('cancelled'), 5);
           clearTimeout(t);
           setTimeout(() => order.push('b'), 20);
           setTimeout(() => order.push('a'), 10);
           setImmediate(() => order.push('immediate'));
           Promise.resolve().then(() => order.push('micro'));
           let n = 0;
           const i = setInterval(() => { if (++n === 3) clearInterval(i); }, 1);
           console.log('hello %s', 'world', {n: 1});
           console.warn('careful');
           console.error(new Error('bad'));
           const wait = require('util').promisify(setTimeout);
           wait(40).then(() => callback(null, {order, n}));
         }",
    )
    .await;
    assert_eq!(
        r.outcome,
        Ok(CallbackResult::Value(Some(
            json!({"order": ["micro", "immediate", "a", "b"], "n": 3})
        )))
    );
    assert_eq!(r.console[0], "hello world { n: 1 }");
    assert_eq!(r.console[1], "[warn] careful");
    assert!(
        r.console[2].starts_with("[error] Error: bad"),
        "{:?}",
        r.console
    );
}

#[tokio::test]
async fn thrown_errors_are_described() {
    let r = login("function (e, p, cb) { JSON.parse('{'); }").await;
    assert!(
        matches!(r.outcome, Err(ScriptError::Thrown(ref m)) if m.starts_with("SyntaxError")),
        "{:?}",
        r.outcome
    );
    let r = login("function (e, p, cb) { throw {code: 'E1'}; }").await;
    assert_eq!(
        r.outcome,
        Err(ScriptError::Thrown("{\"code\":\"E1\"}".into()))
    );
}
