//! The end of an import run: every failed row in file order, a summary, and
//! the exit status.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::ImportArgs;
use super::tally::Tally;
use crate::lock;

/// Names of roles a dry run would create shown at most.
const ROLES_SHOWN: usize = 20;

/// A dry run's roles, when its rows name any it would give: the roles it
/// would create (the first few by name) and the grants.
fn roles_line(tally: &Tally) -> String {
    let roles = lock(&tally.dry_run_roles);
    let assign = roles.would_assign;
    if assign == 0 {
        return String::new();
    }
    let names = &roles.would_create;
    let mut shown: Vec<&str> = names.iter().take(ROLES_SHOWN).map(String::as_str).collect();
    if names.len() > ROLES_SHOWN || roles.would_create_more {
        shown.push("…");
    }
    let list = if shown.is_empty() {
        String::new()
    } else {
        format!(" ({})", shown.join(", "))
    };
    let more = if roles.would_create_more {
        " or more"
    } else {
        ""
    };
    format!(
        "  roles: would create {}{more}{list}, would give {assign}\n",
        names.len()
    )
}

/// Print the errors and the summary on stdout; 0 when every row went in,
/// 1 when some failed, 2 when the run stopped early.
pub fn report(
    args: &ImportArgs,
    connection_id: &str,
    tally: &Tally,
    started: Instant,
    waits_429: u64,
    input_error: Option<String>,
) -> ExitCode {
    let mut errors = std::mem::take(&mut *lock(&tally.errors));
    errors.sort_by_key(|(i, _)| *i); // stable: a row's errors keep their order
    let mut out = String::new();
    for (_, line) in &errors {
        out.push_str(line);
        out.push('\n');
    }
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let total = get(&tally.total);
    let failed = get(&tally.failed);
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { total as f64 / secs } else { 0.0 };
    let file = if args.file == "-" {
        "stdin"
    } else {
        &args.file
    };
    out.push_str(&format!(
        "Imported {file} into {} ({connection_id}){}{}\n",
        args.connection,
        if args.upsert { ", upsert" } else { "" },
        if args.dry_run {
            ", DRY RUN: nothing was written"
        } else {
            ""
        },
    ));
    out.push_str(&format!(
        "  total {total}, inserted {}, updated {}, failed {failed}\n",
        get(&tally.inserted),
        get(&tally.updated),
    ));
    out.push_str(&format!(
        "  jobs {}, elapsed {secs:.1} s, {rate:.0} rows/s, waits after HTTP 429: {}\n",
        get(&tally.jobs_done),
        waits_429,
    ));
    let formats = lock(&tally.formats);
    if !formats.is_empty() {
        let list: Vec<String> = formats.iter().map(|(f, n)| format!("{f} {n}")).collect();
        out.push_str(&format!("  password hashes: {}\n", list.join(", ")));
    }
    drop(formats);
    let factors = lock(&tally.factors);
    if !factors.is_empty() {
        let list: Vec<String> = factors.iter().map(|(f, n)| format!("{f} {n}")).collect();
        out.push_str(&format!("  second factors: {}\n", list.join(", ")));
    }
    drop(factors);
    let left = lock(&tally.factors_left);
    for (reason, n) in left.iter() {
        out.push_str(&format!("  second factors left behind: {n} × {reason}\n"));
    }
    drop(left);
    out.push_str(&roles_line(tally));
    print!("{out}");
    if args.no_roles {
        eprintln!(
            "tern import: --no-roles: roles left out of {} rows",
            get(&tally.roles_left_out)
        );
    }
    let fatal = lock(&tally.fatal).take();
    if let Some(msg) = input_error.or(fatal) {
        eprintln!("tern import: stopped: {msg}");
        return ExitCode::from(2);
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
