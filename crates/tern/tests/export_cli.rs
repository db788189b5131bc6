#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `tern export` end to end: the real `tern serve` as a subprocess (SQLite in
//! a temp dir, or a fresh PostgreSQL database), users put in with the real
//! `tern import`, a second connection made through the Management API, and
//! the real `tern export` downloading and un-gzipping the job's file.
//!
//! The server keeps its defaults (rate limit included) and its default public
//! URL `https://127.0.0.1:<port>` while listening in plain HTTP, so every
//! download also proves the CLI fetches our own signed link through the
//! address it reaches the API at.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const MAIN: &str = "Username-Password-Authentication";
const LEGACY: &str = "legacy-db";
/// Users imported into each connection.
const MAIN_USERS: usize = 30;

/// A `tern serve` child, killed when dropped.
struct Server {
    child: Child,
    base: String,
    /// The temp dir; the data dir is `<root>/tern-data`, so the CLI run with
    /// `root` as its working directory finds the default bootstrap file.
    root: tempfile::TempDir,
    info: Value,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(db: Option<&str>) -> Self {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("tern-data");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tern"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data);
        if let Some(url) = db {
            cmd.args(["--database-url", url]);
        }
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TERN_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        let info: Value =
            serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).unwrap()).unwrap();
        Self {
            child,
            base: format!("http://{addr}"),
            root,
            info,
        }
    }

    fn s(&self, k: &str) -> String {
        self.info[k].as_str().unwrap().to_string()
    }

    /// Credentials as environment variables (audience as in bootstrap.json).
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TERN_URL", self.base.clone()),
            ("TERN_CLIENT_ID", self.s("client_id")),
            ("TERN_CLIENT_SECRET", self.s("client_secret")),
            ("TERN_AUDIENCE", self.s("audience")),
        ]
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let http = reqwest::Client::new();
        let t: Value = http
            .post(format!("{}/oauth/token", self.base))
            .json(&json!({"grant_type": "client_credentials", "client_id": self.info["client_id"],
                          "client_secret": self.info["client_secret"], "audience": self.info["audience"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut req = http
            .request(method, format!("{}/api/v2{path}", self.base))
            .bearer_auth(t["access_token"].as_str().unwrap());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }
}

/// Run `tern SUBCOMMAND ARGS` in `cwd` with a clean environment plus `env`.
async fn tern(cwd: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("tern finishes")
    .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn emails(rows: &[Value], key: &str) -> BTreeSet<String> {
    rows.iter()
        .map(|r| r[key].as_str().unwrap().to_string())
        .collect()
}

async fn scenario(db: Option<&str>) {
    let s = Server::start(db);
    let root = s.root.path().to_path_buf();
    let env = s.env();

    // A second connection, made through the API, enabled for the admin client.
    let (st, legacy) = s
        .api(
            reqwest::Method::POST,
            "/connections",
            Some(
                json!({"name": LEGACY, "strategy": "auth0", "enabled_clients": [s.s("client_id")]}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{legacy}");
    let legacy_id = legacy["id"].as_str().unwrap().to_string();

    // Users in, through `tern import` (credentials from ./tern-data/bootstrap.json).
    let main_users: Vec<Value> = (0..MAIN_USERS)
        .map(|i| json!({"email": format!("m{i}@example.com"), "user_id": format!("m{i}"),
                        "given_name": format!("Main {i}"), "user_metadata": {"plan": if i % 2 == 0 { "pro" } else { "free" }}}))
        .collect();
    std::fs::write(
        root.join("main.json"),
        serde_json::to_vec(&main_users).unwrap(),
    )
    .unwrap();
    let legacy_users = [
        json!({"email": "formula@example.com", "user_id": "f1", "name": "=HYPERLINK(\"http://evil.example\",\"x\")",
               "user_metadata": {"plan": "gold"}}),
        json!({"email": "comma@example.com", "user_id": "c1", "name": "Doe, \"Jo\"", "user_metadata": {"plan": "free"}}),
        json!({"email": "plain@example.com", "user_id": "p1"}),
    ];
    std::fs::write(
        root.join("legacy.json"),
        serde_json::to_vec(&legacy_users).unwrap(),
    )
    .unwrap();
    for (file, conn) in [("main.json", MAIN), ("legacy.json", LEGACY)] {
        let run = tern(
            &root,
            &["import", file, "--connection", conn, "--url", &s.base],
            &[],
        )
        .await;
        assert_eq!(run.code, 0, "import {file}: {}\n{}", run.text(), run.stderr);
    }

    // NDJSON of one connection, default fields, into a file; credentials from the environment.
    let run = tern(
        Path::new("/"),
        &[
            "export",
            "--connection",
            MAIN,
            "--format",
            "json",
            "-o",
            root.join("main.ndjson").to_str().unwrap(),
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "the file went to -o, not stdout");
    assert!(
        run.stderr
            .contains(&format!("tern export: {MAIN_USERS} users (json)")),
        "{}",
        run.stderr
    );
    let rows = ndjson(&std::fs::read_to_string(root.join("main.ndjson")).unwrap());
    assert_eq!(rows.len(), MAIN_USERS);
    let expected: BTreeSet<String> = (0..MAIN_USERS)
        .map(|i| format!("m{i}@example.com"))
        .collect();
    assert_eq!(emails(&rows, "email"), expected);
    let m3 = rows
        .iter()
        .find(|r| r["email"] == "m3@example.com")
        .unwrap();
    assert_eq!(m3["user_id"], "auth0|m3");
    assert_eq!(m3["given_name"], "Main 3");
    assert_eq!(m3["email_verified"], false);
    assert!(
        m3.get("user_metadata").is_none(),
        "not a default field: {m3}"
    );
    assert!(m3["created_at"].as_str().unwrap().ends_with('Z'));

    // CSV of the other connection by id, to stdout, chosen fields, renamed.
    let run = tern(
        &root,
        &[
            "export",
            "--connection-id",
            &legacy_id,
            "--format",
            "csv",
            "--url",
            &s.base,
            "--fields",
            "email,name,user_metadata.plan",
            "--field",
            "email=Email address",
            "--field",
            "user_id=id",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("tern export: 3 users (csv)"),
        "{}",
        run.stderr
    );
    let text = run.text();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        r#""'Email address","'name","'user_metadata.plan","'id""#
    );
    let got: BTreeSet<&str> = lines.collect();
    // Every string is quoted and starts with `'`, so a spreadsheet shows the
    // formula as text; quotes inside are doubled.
    let want = BTreeSet::from([
        r#""'formula@example.com","'=HYPERLINK(""http://evil.example"",""x"")","'gold","'auth0|f1""#,
        r#""'comma@example.com","'Doe, ""Jo""","'free","'auth0|c1""#,
        // Auth0 fills `name` from the email; the empty cell is the missing plan.
        r#""'plain@example.com","'plain@example.com",,"'auth0|p1""#,
    ]);
    assert_eq!(got, want, "{text}");

    // Every connection, NDJSON with a renamed key, at most 5, kept gzip'd;
    // credentials as flags, audience discovered.
    let gz = root.join("some.ndjson.gz");
    let run = tern(
        Path::new("/"),
        &[
            "export",
            "--limit",
            "5",
            "--fields",
            "email",
            "--field",
            "email=mail",
            "--gzip",
            "-o",
            gz.to_str().unwrap(),
            "--domain",
            &s.base,
            "--client-id",
            &s.s("client_id"),
            "--client-secret",
            &s.s("client_secret"),
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("tern export: 5 users (json, gzip)"),
        "{}",
        run.stderr
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let rows = ndjson(&text);
    assert_eq!(rows.len(), 5, "{text}");
    assert!(
        rows.iter()
            .all(|r| r.as_object().unwrap().keys().eq(["mail"])),
        "{text}"
    );

    // No connection, no limit: everybody.
    let run = tern(
        &root,
        &["export", "--url", &s.base, "--fields", "email"],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(ndjson(&run.text()).len(), MAIN_USERS + legacy_users.len());

    // Refusals: exit 2, the reason shown, no output file left behind.
    let out = root.join("refused.csv");
    let o = out.to_str().unwrap();
    let refusals: [(&[&str], &str); 4] = [
        (
            &["--connection", "no-such-connection"],
            "there is no connection named \"no-such-connection\"",
        ),
        // The server's own messages, from its error envelope.
        (
            &["--connection-id", "con_AAAAAAAAAAAAAAAA"],
            "the server refused the export: HTTP 400: The connection does not exist.",
        ),
        (
            &["--connection-id", "legacy"],
            "HTTP 400: Payload validation error: 'String does not match pattern",
        ),
        (
            &["--format", "csv", "--fields", "email,app_metadata"],
            "HTTP 400: Payload validation error: CSV exports cannot hold the whole object 'app_metadata'",
        ),
    ];
    for (extra, message) in refusals {
        let mut args = vec!["export", "--url", &s.base, "-o", o];
        args.extend_from_slice(extra);
        let run = tern(&root, &args, &[]).await;
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
        assert!(!out.exists());
        let leftovers: Vec<PathBuf> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".tern-export")
            })
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    // Usage errors before any request.
    for bad in [
        &["export", "--limit", "0"][..],
        &["export", "--format", "xml"],
        &["export", "--field", "email"],
        &[
            "export",
            "--connection",
            MAIN,
            "--connection-id",
            &legacy_id,
        ],
    ] {
        let run = tern(&root, bad, &[]).await;
        assert_eq!(run.code, 2, "{bad:?}: {}", run.stderr);
    }
    let empty = tempfile::tempdir().unwrap();
    let run = tern(empty.path(), &["export"], &[]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing credentials"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_sqlite() {
    scenario(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_postgres() {
    let base = std::env::var("TERN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!(
        "tern_export_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let psql = |sql: &str| {
        Command::new("psql")
            .args([&format!("{base}/postgres"), "-qc", sql])
            .status()
            .unwrap()
            .success()
    };
    assert!(psql(&format!("CREATE DATABASE {name}")));
    /// Drops the database however the test ends.
    struct Cleanup<F: Fn()>(F);
    impl<F: Fn()> Drop for Cleanup<F> {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    let _cleanup = Cleanup(|| {
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    });
    scenario(Some(&format!("{base}/{name}"))).await;
}
