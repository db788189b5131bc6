#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! `tern import` end to end: a real server on 127.0.0.1:0 (SQLite in a temp
//! dir), the real `tern` binary as a subprocess speaking only the public API.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};
use tern_server::bootstrap::BootstrapInfo;
use tern_server::{Config, RunningServer};
use tokio::io::AsyncWriteExt;

/// bcrypt of "hello", cost 10 (Auth0's documented example).
const BCRYPT: &str = "$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K";

struct Server {
    server: Option<RunningServer>,
    /// The temp dir; the data dir is `<root>/tern-data`, so the CLI run with
    /// `root` as its working directory finds the default bootstrap file.
    root: tempfile::TempDir,
    base: String,
    info: BootstrapInfo,
    http: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        Self::with_rate_limit(10_000).await
    }

    /// A server whose Management API allows `per_second` requests a
    /// second (windows of one second).
    async fn with_rate_limit(per_second: u32) -> Self {
        let root = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: root.path().join("tern-data"),
            ..Config::default()
        };
        config.rate_limit.burst = per_second;
        config.rate_limit.per_second = f64::from(per_second);
        config.password_hash.argon2_memory_kib = 1024;
        config.password_hash.argon2_iterations = 1;
        let server = tern_server::start(config).await.unwrap();
        let info = server.bootstrap.clone().unwrap();
        let base = format!("http://{}", server.addr);
        Self {
            server: Some(server),
            root,
            base,
            info,
            http: reqwest::Client::new(),
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    async fn token(&self) -> String {
        let r: Value = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .json(&json!({"grant_type": "client_credentials", "client_id": self.info.client_id,
                          "client_secret": self.info.client_secret, "audience": self.info.audience}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["access_token"].as_str().unwrap().to_string()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let t = self.token().await;
        let r = self
            .http
            .get(format!("{}/api/v2{path}", self.base))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Every user of the tenant, counted exactly: the connections' migration
    /// reports (`GET /users?include_totals` stops counting at 1000, as Auth0's does).
    async fn user_count(&self) -> u64 {
        let (s, conns) = self.get("/connections").await;
        assert_eq!(s, 200, "{conns}");
        let mut total = 0;
        for c in conns.as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let (s, r) = self.get(&format!("/connections/{id}/migration")).await;
            assert_eq!(s, 200, "{r}");
            total += r["total_users"].as_u64().unwrap();
        }
        total
    }

    /// `tern import FILE` into the default connection of this server, in
    /// jobs of at most `max_file_bytes`, `jobs` at a time (credentials from
    /// the default bootstrap file).
    fn chunked_import(&self, file: &str, max_file_bytes: &str, jobs: &str) -> Vec<String> {
        strings(&[
            file,
            "--connection",
            "Username-Password-Authentication",
            "--url",
            &self.base,
            "--max-file-bytes",
            max_file_bytes,
            "--jobs",
            jobs,
        ])
    }

    /// Credentials as flags (audience left to discovery).
    fn flags(&self) -> Vec<String> {
        vec![
            "--domain".into(),
            self.base.clone(),
            "--client-id".into(),
            self.info.client_id.clone(),
            "--client-secret".into(),
            self.info.client_secret.clone(),
        ]
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The original indexes of the `row N: …` lines.
    fn error_rows(&self) -> Vec<usize> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("row "))
            .map(|l| l.split(':').next().unwrap().parse().unwrap())
            .collect()
    }
    fn line(&self, prefix: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in\n{}", self.stdout))
    }
}

/// Run `tern import ARGS` in `cwd` with a clean environment plus `env`.
async fn tern_import(cwd: &Path, args: &[String], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tern"));
    cmd.arg("import")
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = tokio::spawn(async move {
        let _ = input.write_all(&data).await;
    });
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        child.wait_with_output(),
    )
    .await
    .expect("tern import finishes")
    .unwrap();
    writer.await.unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_array_goes_in_chunks_and_errors_name_original_rows() {
    let s = Server::start().await;
    let mut rows: Vec<Value> = (0..5000)
        .map(|i| {
            json!({"email": format!("user{i}@example.com"), "user_id": format!("u{i}"),
                   "given_name": format!("User {i}"), "user_metadata": {"n": i},
                   "password_hash": BCRYPT})
        })
        .collect();
    rows[7] = json!({"email": "not-an-email"});
    rows[1234]["favourite_colour"] = json!("blue");
    rows[2500] = json!("just a string");
    rows[3333]["email"] = json!("user10@example.com"); // already imported by an earlier job
    rows[4999]["email_verified"] = json!("yes");
    let file = s.root.path().join("users.json");
    let bytes = serde_json::to_vec_pretty(&rows).unwrap();
    assert!(bytes.len() > 500_000, "bigger than several 100 kB chunks");
    std::fs::write(&file, &bytes).unwrap();

    // Credentials from ./tern-data/bootstrap.json; --url says how to reach the server.
    // Three jobs at once against the server's limit of two exercises the 429 retries.
    let args = s.chunked_import("users.json", "100000", "3");
    let run = tern_import(s.root.path(), &args, &[], b"").await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let got: BTreeSet<usize> = run.error_rows().into_iter().collect();
    assert_eq!(
        got,
        BTreeSet::from([7, 1234, 2500, 3333, 4999]),
        "{}",
        run.stdout
    );
    assert_eq!(run.error_rows().len(), 5, "one error each: {}", run.stdout);
    assert!(run.stdout.contains("row 7: INVALID_FORMAT email: "));
    assert!(
        run.stdout
            .contains("row 1234: OBJECT_ADDITIONAL_PROPERTIES favourite_colour: ")
    );
    assert!(run.stdout.contains("row 2500: INVALID_TYPE: "));
    assert!(run.stdout.contains("row 3333: DUPLICATED_USER email: "));
    assert!(
        run.stdout
            .contains("row 4999: INVALID_TYPE email_verified: ")
    );
    assert_eq!(
        run.line("  total"),
        "  total 5000, inserted 4995, updated 0, failed 5"
    );
    let jobs: u64 = run
        .line("  jobs")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(',')
        .parse()
        .unwrap();
    assert!(jobs >= 6, "{}", run.stdout);
    assert!(run.stderr.contains("rows applied") || run.stderr.contains("applied"));

    assert_eq!(s.user_count().await, 4995);
    let (st, u) = s.get("/users/auth0%7Cu4998").await;
    assert_eq!(
        (st, u["email"].as_str()),
        (200, Some("user4998@example.com"))
    );
    assert_eq!(u["user_metadata"], json!({"n": 4998}));
    let (st, _) = s.get("/users/auth0%7Cu1234").await;
    assert_eq!(st, 404);
    s.stop().await;
}

/// Against a rate limit it would overrun, `tern import` waits for the end
/// of a window its answers say is spent instead of meeting 429s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_is_paced_not_met() {
    let s = Server::with_rate_limit(3).await;
    let rows: Vec<Value> = (0..1_500)
        .map(|i| json!({"email": format!("paced{i}@example.com"), "email_verified": true}))
        .collect();
    let file = s.root.path().join("paced.json");
    std::fs::write(&file, serde_json::to_vec(&rows).unwrap()).unwrap();
    // Ten jobs of about 5 000 bytes, one at a time: at least eleven requests
    // (the connection's lookup, an upload per job), three a second allowed.
    let args = s.chunked_import("paced.json", "5000", "1");
    let run = tern_import(s.root.path(), &args, &[], b"").await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.line("  total"),
        "  total 1500, inserted 1500, updated 0, failed 0"
    );
    let jobs = run.line("  jobs ");
    assert!(
        jobs.ends_with("waits after HTTP 429: 0"),
        "{jobs}\n{}",
        run.stdout
    );
    let count: u64 = jobs
        .trim_start_matches("  jobs ")
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(count > 6, "more requests than two windows allow: {jobs}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_from_stdin_then_upsert() {
    let s = Server::start().await;
    let env = [
        ("TERN_URL", s.base.as_str()),
        ("TERN_CLIENT_ID", s.info.client_id.as_str()),
        ("TERN_CLIENT_SECRET", s.info.client_secret.as_str()),
        ("TERN_AUDIENCE", s.info.audience.as_str()),
    ];
    let ndjson = "{\"email\": \"a@example.com\", \"given_name\": \"A\"}\n\n{not json\n{\"email\": \"b@example.com\", \"custom_password_hash\": {\"algorithm\": \"sha256\", \"hash\": {\"value\": \"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\", \"encoding\": \"hex\"}}}\r\n{\"email\": \"bad\"}\n";
    let args = strings(&["-", "--connection", "Username-Password-Authentication"]);
    let run = tern_import(s.root.path(), &args, &env, ndjson.as_bytes()).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.error_rows(), vec![1, 3], "{}", run.stdout);
    assert!(
        run.stdout
            .contains("row 1: INVALID_JSON: line 3 is not valid JSON"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("row 3: INVALID_FORMAT email: "));
    assert_eq!(
        run.line("  total"),
        "  total 4, inserted 2, updated 0, failed 2"
    );

    let file = s.root.path().join("again.ndjson");
    std::fs::write(
        &file,
        "{\"email\": \"a@example.com\", \"given_name\": \"A2\"}\n{\"email\": \"c@example.com\"}\n",
    )
    .unwrap();
    let args = strings(&[
        "again.ndjson",
        "--connection",
        "Username-Password-Authentication",
        "--upsert",
    ]);
    let run = tern_import(s.root.path(), &args, &env, b"").await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.line("  total"),
        "  total 2, inserted 1, updated 1, failed 0"
    );
    let (_, u) = s.get("/users-by-email?email=a%40example.com").await;
    assert_eq!(u[0]["given_name"], "A2");
    assert_eq!(s.user_count().await, 3);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing() {
    let s = Server::start().await;
    let rows: Vec<Value> = (0..300)
        .map(|i| json!({"email": format!("dry{i}@example.com")}))
        .collect();
    let file = s.root.path().join("dry.json");
    std::fs::write(&file, serde_json::to_vec(&rows).unwrap()).unwrap();
    let mut args = strings(&[
        file.to_str().unwrap(),
        "--connection",
        "Username-Password-Authentication",
        "--dry-run",
        "--max-file-bytes",
        "4096",
    ]);
    args.extend(s.flags()); // no audience: discovered from the issuer
    let run = tern_import(Path::new("/"), &args, &[], b"").await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("DRY RUN: nothing was written"));
    assert_eq!(
        run.line("  total"),
        "  total 300, inserted 300, updated 0, failed 0"
    );
    assert_eq!(s.user_count().await, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth0_export_imports_with_its_ids() {
    let s = Server::start().await;
    let export = [
        json!({"user_id": "auth0|507f1f77bcf86cd799439020", "email": "Jane@Example.com", "email_verified": true,
               "name": "Jane Doe", "given_name": "Jane", "nickname": "jane", "picture": "https://s.gravatar.com/avatar/x.png",
               "created_at": "2021-04-01T10:00:00.000Z", "updated_at": "2024-01-01T10:00:00.000Z",
               "identities": [{"connection": "Username-Password-Authentication", "user_id": "507f1f77bcf86cd799439020", "provider": "auth0", "isSocial": false}],
               "last_login": "2024-01-01T10:00:00.000Z", "last_ip": "10.0.0.1", "logins_count": 12,
               "app_metadata": {"plan": "gold"}, "user_metadata": {"lang": "fr"}}),
        json!({"user_id": "auth0|abc", "email": "joe@example.com", "email_verified": false, "picture": "avatar.png",
               "family_name": null, "username": "joe", "created_at": "2021-04-01T10:00:00.000Z", "identities": []}),
    ];
    let text: String = export.iter().map(|v| format!("{v}\n")).collect();
    let file = s.root.path().join("export.json");
    std::fs::write(&file, text).unwrap();
    let mut args = strings(&[
        file.to_str().unwrap(),
        "--connection",
        "Username-Password-Authentication",
    ]);
    args.extend(s.flags());
    // As is, the export does not fit the import schema…
    let run = tern_import(Path::new("/"), &args, &[], b"").await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("row 0: OBJECT_ADDITIONAL_PROPERTIES identities: ")
    );
    // …converted, it does.
    args.push("--from-auth0-export".into());
    let run = tern_import(Path::new("/"), &args, &[], b"").await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.line("  total"),
        "  total 2, inserted 2, updated 0, failed 0"
    );
    let (st, u) = s.get("/users/auth0%7C507f1f77bcf86cd799439020").await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["email"], "jane@example.com");
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["app_metadata"], json!({"plan": "gold"}));
    assert_eq!(u["picture"], "https://s.gravatar.com/avatar/x.png");
    assert_ne!(u["logins_count"], 12);
    let (st, u) = s.get("/users/auth0%7Cabc").await;
    assert_eq!((st, u["username"].as_str()), (200, Some("joe")));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_connection_errors_exit_2() {
    let s = Server::start().await;
    let empty = tempfile::tempdir().unwrap();
    let file = s.root.path().join("one.json");
    std::fs::write(&file, r#"[{"email": "one@example.com"}]"#).unwrap();
    let f = file.to_str().unwrap();
    let conn = "Username-Password-Authentication";

    // No flags, no environment, no ./tern-data/bootstrap.json.
    let run = tern_import(empty.path(), &strings(&[f, "--connection", conn]), &[], b"").await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("missing credentials")
            && run.stderr.contains("--client-id")
            && run.stderr.contains("bootstrap.json"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    // An explicit bootstrap file that does not exist.
    let run = tern_import(
        empty.path(),
        &strings(&[f, "--connection", conn, "--bootstrap", "nope.json"]),
        &[],
        b"",
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read nope.json"),
        "{}",
        run.stderr
    );
    // Missing --connection is a clap usage error.
    let run = tern_import(empty.path(), &strings(&[f]), &[], b"").await;
    assert_eq!(run.code, 2);
    // Wrong secret, unknown connection, unreadable file, nobody listening.
    let mut args = strings(&[f, "--connection", conn]);
    args.extend(s.flags());
    let mut bad = args.clone();
    bad[8] = "wrong".into();
    let run = tern_import(empty.path(), &bad, &[], b"").await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot get a token"), "{}", run.stderr);
    let mut bad = args.clone();
    bad[2] = "no-such-connection".into();
    let run = tern_import(empty.path(), &bad, &[], b"").await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("there is no connection named \"no-such-connection\""),
        "{}",
        run.stderr
    );
    let mut bad = args.clone();
    bad[0] = "/nonexistent/users.json".into();
    let run = tern_import(empty.path(), &bad, &[], b"").await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot open /nonexistent/users.json"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut bad = args.clone();
    bad[4] = format!("127.0.0.1:{port}");
    bad.extend(strings(&["--audience", &s.info.audience]));
    let run = tern_import(empty.path(), &bad, &[], b"").await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
    // A broken JSON array stops the run with 2 after the rows before it.
    std::fs::write(&file, r#"[{"email": "ok@example.com"}, {"email": "#).unwrap();
    let run = tern_import(empty.path(), &args, &[], b"").await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("not a valid JSON array"),
        "{}",
        run.stderr
    );
    assert_eq!(s.user_count().await, 1, "the row before the break went in");
    // Sanity: the good file works with the same flags.
    std::fs::write(&file, r#"[{"email": "one@example.com"}]"#).unwrap();
    let run = tern_import(empty.path(), &args, &[], b"").await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    s.stop().await;
}

impl Server {
    /// A new machine-to-machine client granted only `scopes` on the
    /// Management API: (client id, secret).
    async fn client_with(&self, scopes: &[&str]) -> (String, String) {
        let t = self.token().await;
        let post = |path: &str, body: Value| {
            self.http
                .post(format!("{}/api/v2{path}", self.base))
                .bearer_auth(&t)
                .json(&body)
                .send()
        };
        let r = post(
            "/clients",
            json!({"name": "importer", "app_type": "non_interactive"}),
        )
        .await
        .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let client: Value = r.json().await.unwrap();
        let id = client["client_id"].as_str().unwrap().to_string();
        let r = post(
            "/client-grants",
            json!({"client_id": id, "audience": self.info.audience, "scope": scopes}),
        )
        .await
        .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        (id, client["client_secret"].as_str().unwrap().to_string())
    }

    /// `tern import FILE` into the default connection with a client's
    /// credentials, plus `extra` arguments.
    async fn import_as(&self, client: &(String, String), file: &Path, extra: &[&str]) -> Run {
        let mut args = strings(&[
            file.to_str().unwrap(),
            "--connection",
            "Username-Password-Authentication",
            "--domain",
            &self.base,
            "--client-id",
            &client.0,
            "--client-secret",
            &client.1,
        ]);
        args.extend(strings(extra));
        tern_import(Path::new("/"), &args, &[], b"").await
    }

    /// The names of the tenant's roles, sorted.
    async fn role_names(&self) -> Vec<String> {
        let (s, roles) = self.get("/roles").await;
        assert_eq!(s, 200, "{roles}");
        let mut names: Vec<String> = roles
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }
}

/// A client granted what imports needed before rows carried roles: a file
/// naming roles is refused with a message that says what to do, and
/// `--no-roles` imports its users without them — a plain file and a
/// Keycloak export alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_roles_imports_for_a_client_without_the_role_scopes() {
    let s = Server::start().await;
    let client = s
        .client_with(&["create:users", "read:users", "read:connections"])
        .await;
    let rows = json!([
        {"email": "ann@example.com", "tern_roles": ["editor", {"name": "viewer"}]},
        {"email": "bob@example.com"},
        {"email": "cid@example.com", "tern_roles": ["editor"]},
    ]);
    let file = s.root.path().join("roles.json");
    std::fs::write(&file, rows.to_string()).unwrap();

    let refused = s.import_as(&client, &file, &[]).await;
    assert_eq!(refused.code, 2, "{}\n{}", refused.stdout, refused.stderr);
    for needed in ["insufficient", "create:role_members", "--no-roles"] {
        assert!(
            refused.stderr.to_lowercase().contains(needed),
            "{needed}: {}",
            refused.stderr
        );
    }
    assert_eq!(s.user_count().await, 0);

    let run = s.import_as(&client, &file, &["--no-roles"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.line("  total"),
        "  total 3, inserted 3, updated 0, failed 0"
    );
    let said: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("--no-roles"))
        .collect();
    assert_eq!(said, ["tern import: --no-roles: roles left out of 2 rows"]);
    assert_eq!(s.user_count().await, 3);
    assert!(s.role_names().await.is_empty());

    // Every user of the realm export holds a realm role; none comes over.
    let realm =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/platforms/keycloak-realm.json");
    let refused = s.import_as(&client, &realm, &["--from", "keycloak"]).await;
    assert_eq!(refused.code, 2, "{}\n{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("--no-roles"), "{}", refused.stderr);
    let run = s
        .import_as(&client, &realm, &["--from", "keycloak", "--no-roles"])
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.line("  total"),
        "  total 5, inserted 5, updated 0, failed 0"
    );
    assert!(
        run.stderr
            .contains("tern import: --no-roles: roles left out of 5 rows"),
        "{}",
        run.stderr
    );
    assert_eq!(s.user_count().await, 8);
    assert!(s.role_names().await.is_empty());
    s.stop().await;
}

/// A dry run says which roles the file would create and how many it would
/// give, over several jobs, and writes none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_names_the_roles_it_would_create() {
    let s = Server::start().await;
    let t = s.token().await;
    let r = s
        .http
        .post(format!("{}/api/v2/roles", s.base))
        .bearer_auth(&t)
        .json(&json!({"name": "editor"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let rows: Vec<Value> = (0..60)
        .map(|i| {
            json!({"email": format!("role{i}@example.com"),
                   "tern_roles": ["editor", format!("team-{}", i % 3)]})
        })
        .collect();
    let file = s.root.path().join("dry-roles.json");
    std::fs::write(&file, serde_json::to_vec(&rows).unwrap()).unwrap();
    let mut args = strings(&[
        file.to_str().unwrap(),
        "--connection",
        "Username-Password-Authentication",
        "--dry-run",
        "--max-file-bytes",
        "2048",
    ]);
    args.extend(s.flags());
    let run = tern_import(Path::new("/"), &args, &[], b"").await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let jobs: u32 = run.line("  jobs ")["  jobs ".len()..]
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(jobs > 1, "the findings of several jobs add up: {jobs}");
    assert_eq!(
        run.line("  roles:"),
        "  roles: would create 3 (team-0, team-1, team-2), would give 120"
    );
    assert_eq!(s.role_names().await, ["editor"]);
    assert_eq!(s.user_count().await, 0);
    s.stop().await;
}
