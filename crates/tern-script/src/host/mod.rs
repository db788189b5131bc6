//! Host functions: the only way the script reaches outside QuickJS.
//!
//! [`install`] builds the `host` object handed to the prelude (`js/*.js`), which wraps
//! these primitives into Node-like modules. Synchronous primitives (encodings, digests,
//! URL parsing) run on the script thread; I/O runs on the tokio runtime through [`Io`].

mod bcrypt;
mod budget;
mod bytes;
mod crypto;
mod http;
mod io;
mod mysql;
mod pg;
mod sql;
mod urls;

pub(crate) use io::blocking_work_running;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Object, TypedArray};

pub(crate) use io::{Completion, Io};

use crate::sandbox::State;

/// Largest single `randomBytes` request.
const MAX_RANDOM_BYTES: usize = 1024 * 1024;

/// Builds the `host` object with every primitive the prelude uses.
pub(crate) fn install<'js>(
    ctx: &Ctx<'js>,
    state: Rc<RefCell<State>>,
) -> rquickjs::Result<Object<'js>> {
    let host = Object::new(ctx.clone())?;

    host.set(
        "load",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, name: String| -> rquickjs::Result<Function<'js>> {
                match crate::sandbox::chunk(&name) {
                    Some(source) => ctx.eval(source),
                    None => Err(Exception::throw_reference(
                        &ctx,
                        &format!("no prelude module {name}"),
                    )),
                }
            },
        )?,
    )?;

    let st = state.clone();
    host.set(
        "log",
        Function::new(ctx.clone(), move |level: String, text: String| {
            st.borrow_mut().console.push(&level, &text)
        })?,
    )?;

    let st = state.clone();
    host.set(
        "complete",
        Function::new(ctx.clone(), move |payload: String| {
            st.borrow_mut().callback(&payload);
        })?,
    )?;

    let st = state.clone();
    host.set(
        "rejected",
        Function::new(ctx.clone(), move |message: String| {
            let err = if message.contains("Maximum call stack size exceeded") {
                crate::ScriptError::StackOverflow
            } else if message.starts_with("InternalError: out of memory") {
                crate::ScriptError::OutOfMemory
            } else {
                crate::ScriptError::RejectedPromise(message)
            };
            st.borrow_mut().uncaught(err);
        })?,
    )?;

    let st = state.clone();
    host.set(
        "warn",
        Function::new(ctx.clone(), move |message: String| {
            st.borrow_mut().warnings.push(message);
        })?,
    )?;

    let st = state.clone();
    host.set(
        "missing",
        Function::new(ctx.clone(), move |name: String| {
            let mut st = st.borrow_mut();
            if !st.missing_modules.contains(&name) {
                st.missing_modules.push(name);
            }
        })?,
    )?;

    let st = state.clone();
    host.set(
        "timer",
        Function::new(ctx.clone(), move |delay: f64, id: f64| {
            let delay = if delay.is_finite() && delay > 0.0 {
                Duration::from_millis(delay.min(2_147_483_647.0) as u64)
            } else {
                Duration::ZERO
            };
            st.borrow_mut().timers.set(id as u64, delay) as f64
        })?,
    )?;

    let st = state.clone();
    host.set(
        "clearTimer",
        Function::new(ctx.clone(), move |id: f64| {
            st.borrow_mut().timers.clear(id as u64);
        })?,
    )?;

    let st = state.clone();
    host.set(
        "op",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, kind: String, payload: String| -> rquickjs::Result<f64> {
                let started = st.borrow_mut().io.start(&kind, &payload);
                match started {
                    Ok(id) => Ok(id as f64),
                    Err(msg) => Err(Exception::throw_type(&ctx, &msg)),
                }
            },
        )?,
    )?;

    let st = state.clone();
    host.set(
        "dbOpen",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, driver: String, config: String| -> rquickjs::Result<f64> {
                let opened = st.borrow_mut().io.db_open(&driver, &config);
                match opened {
                    Ok(id) => Ok(id as f64),
                    Err(msg) => Err(Exception::throw_type(&ctx, &msg)),
                }
            },
        )?,
    )?;

    host.set(
        "bytes",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             text: String,
             encoding: String|
             -> rquickjs::Result<TypedArray<'js, u8>> {
                match bytes::decode_string(&text, &encoding) {
                    Ok(v) => TypedArray::new(ctx.clone(), v),
                    Err(msg) => Err(Exception::throw_type(&ctx, &msg)),
                }
            },
        )?,
    )?;

    host.set(
        "str",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, bin: String, encoding: String| -> rquickjs::Result<String> {
                bytes::encode_bytes(&bytes::latin1(&bin), &encoding)
                    .map_err(|msg| Exception::throw_type(&ctx, &msg))
            },
        )?,
    )?;

    host.set(
        "digest",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, alg: String, bin: String| -> rquickjs::Result<TypedArray<'js, u8>> {
                match crypto::digest(&alg, &bytes::latin1(&bin)) {
                    Ok(v) => TypedArray::new(ctx.clone(), v),
                    Err(msg) => Err(Exception::throw_message(&ctx, &msg)),
                }
            },
        )?,
    )?;

    host.set(
        "hmac",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             alg: String,
             key: String,
             data: String|
             -> rquickjs::Result<TypedArray<'js, u8>> {
                match crypto::hmac(&alg, &bytes::latin1(&key), &bytes::latin1(&data)) {
                    Ok(v) => TypedArray::new(ctx.clone(), v),
                    Err(msg) => Err(Exception::throw_message(&ctx, &msg)),
                }
            },
        )?,
    )?;

    let st = state.clone();
    host.set(
        "pbkdf2",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  alg: String,
                  password: String,
                  salt: String,
                  iterations: f64,
                  keylen: f64|
                  -> rquickjs::Result<TypedArray<'js, u8>> {
                let deadline = st.borrow().io.deadline();
                let out = crypto::pbkdf2(
                    &alg,
                    &bytes::latin1(&password),
                    &bytes::latin1(&salt),
                    iterations,
                    keylen,
                    deadline,
                );
                match out {
                    Ok(v) => TypedArray::new(ctx.clone(), v),
                    Err(msg) => Err(Exception::throw_message(&ctx, &msg)),
                }
            },
        )?,
    )?;

    host.set(
        "random",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, n: f64| -> rquickjs::Result<TypedArray<'js, u8>> {
                if !(0.0..=MAX_RANDOM_BYTES as f64).contains(&n) {
                    return Err(Exception::throw_range(
                        &ctx,
                        "randomBytes: size out of range",
                    ));
                }
                TypedArray::new(ctx.clone(), crypto::random(n as usize))
            },
        )?,
    )?;

    host.set(
        "uuid",
        Function::new(ctx.clone(), || uuid::Uuid::new_v4().to_string())?,
    )?;

    host.set(
        "safeEqual",
        Function::new(ctx.clone(), |a: String, b: String| {
            crypto::timing_safe_equal(&bytes::latin1(&a), &bytes::latin1(&b))
        })?,
    )?;

    let st = state.clone();
    host.set(
        "bcryptHash",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  password: String,
                  salt_or_rounds: String|
                  -> rquickjs::Result<String> {
                let io = st.borrow().io.blocking_runner();
                io.run(move || bcrypt::hash(&password, &salt_or_rounds))
                    .and_then(|r| r)
                    .map_err(|msg| Exception::throw_message(&ctx, &msg))
            },
        )?,
    )?;

    let st = state.clone();
    host.set(
        "bcryptCompare",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, password: String, hash: String| -> rquickjs::Result<bool> {
                let io = st.borrow().io.blocking_runner();
                io.run(move || bcrypt::compare(&password, &hash))
                    .and_then(|r| r)
                    .map_err(|msg| Exception::throw_message(&ctx, &msg))
            },
        )?,
    )?;

    host.set(
        "bcryptSalt",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, rounds: Opt<f64>| -> rquickjs::Result<String> {
                bcrypt::gen_salt(rounds.0).map_err(|msg| Exception::throw_message(&ctx, &msg))
            },
        )?,
    )?;

    host.set(
        "urlParse",
        Function::new(ctx.clone(), |input: String, base: Opt<String>| {
            urls::parse(&input, base.0.as_deref())
        })?,
    )?;

    host.set(
        "urlSet",
        Function::new(ctx.clone(), |href: String, prop: String, value: String| {
            urls::set(&href, &prop, &value)
        })?,
    )?;

    Ok(host)
}
