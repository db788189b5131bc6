//! Where the machine's CPU went during a measurement, from `/proc`: a
//! process's CPU time (all its threads, gone ones included), a set of its
//! threads' time on a CPU and time runnable but waiting for one
//! (`schedstat`, nanoseconds), and PostgreSQL's backends serving one
//! database. Read before and after a run; the differences say what each
//! part cost, which the machine's drifting speed blurs far less than
//! throughput does.

use std::collections::HashMap;
use std::process::Command;

/// Linux reports `utime`/`stime` in USER_HZ ticks, 100 a second on every
/// architecture Tern builds for.
const TICKS_PER_SEC: f64 = 100.0;

/// CPU seconds a process has used so far, all its threads (ended ones
/// included).
pub fn process_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The name (in parentheses) may hold spaces: fields count after it.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / TICKS_PER_SEC,
        _ => 0.0,
    }
}

/// Seconds on a CPU and seconds runnable but waiting for one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sched {
    pub run: f64,
    pub wait: f64,
}

impl std::ops::Add for Sched {
    type Output = Sched;
    fn add(self, o: Sched) -> Sched {
        Sched {
            run: self.run + o.run,
            wait: self.wait + o.wait,
        }
    }
}

impl std::ops::Sub for Sched {
    type Output = Sched;
    fn sub(self, o: Sched) -> Sched {
        Sched {
            run: self.run - o.run,
            wait: self.wait - o.wait,
        }
    }
}

fn schedstat(path: &str) -> Option<Sched> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut f = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some(Sched {
        run: f.next()??.max(0.0) / 1e9,
        wait: f.next()??.max(0.0) / 1e9,
    })
}

/// The threads of `pid` whose name starts with `prefix`, summed.
pub fn threads(pid: u32, prefix: &str) -> Sched {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Sched::default();
    };
    dir.flatten()
        .map(|task| task.path())
        .filter(|path| {
            std::fs::read_to_string(path.join("comm"))
                .is_ok_and(|name| name.trim_end().starts_with(prefix))
        })
        .filter_map(|path| schedstat(&path.join("schedstat").to_string_lossy()))
        .fold(Sched::default(), |sum, s| sum + s)
}

/// Each PostgreSQL backend serving `database` now, with its CPU seconds.
pub fn backends(pg_url: &str, database: &str) -> HashMap<u32, f64> {
    // The name is the bench's own (`tern_bench_<hex>`), safe to inline.
    let out = Command::new("psql")
        .arg(pg_url)
        .args([
            "-Atc",
            &format!("SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"),
        ])
        .output();
    let Ok(out) = out else {
        return HashMap::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<u32>().ok())
        .filter_map(|pid| Some((pid, schedstat(&format!("/proc/{pid}/schedstat"))?.run)))
        .collect()
}

/// CPU seconds the backends used between two readings of [`backends`]: a
/// backend that started in between counts from zero; one that ended in
/// between is lost (the pool keeps its connections, so that is rare).
pub fn backends_used(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, s)| s - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}
