#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Several real `tern serve` processes on one fresh PostgreSQL database, as
//! a production deployment runs them: a user's first login on two instances
//! at once makes one user; an import whose instance is SIGKILLed is finished
//! by another with every row applied once, and one whose instance is stopped
//! (SIGTERM) is handed over at once; a long export runs once; the
//! Management API rate limit and a brute-force block hold across instances;
//! a signing key rotated on one is served and verified by the other; a
//! session ended and a refresh token revoked on one are refused by the
//! other at once.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{PgDb, Tern, curl, get, patch_json, post_json, user_total};

/// Instances sharing a database share the secrets key.
const SECRETS_KEY: &str = "5f3c1b0a9e8d7c6b5a49382716051f2e3d4c5b6a79880716253443526170819a";

fn instance(db: &PgDb, dir: &std::path::Path, env: &[(&str, &str)]) -> Tern {
    // Behind one load balancer: one public URL, so one issuer and audience.
    let mut all = vec![
        ("TERN_SECRETS_KEY", SECRETS_KEY),
        ("TERN_PUBLIC_URL", "https://tern.instances.test"),
    ];
    all.extend_from_slice(env);
    Tern::launch(dir, Some(&db.url()), &all, &[], false)
}

/// A value of a metric series on an instance's metrics listener (0 when absent).
fn metric(addr: &str, series: &str) -> f64 {
    let out = std::process::Command::new("curl")
        .args(["-sS", &format!("http://{addr}/metrics")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn wait_job(t: &Tern, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (_, j) = get(&format!("{}/api/v2/jobs/{id}", t.base), token);
        if j["status"] == "completed" || j["status"] == "failed" {
            return j;
        }
        assert!(Instant::now() < deadline, "job {id} did not end: {j}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn upload(t: &Tern, token: &str, file: &std::path::Path, connection_id: &str, hold: bool) -> Value {
    let auth = format!("authorization: Bearer {token}");
    let users = format!("users=@{}", file.display());
    let conn = format!("connection_id={connection_id}");
    let mut args = vec![
        "-H",
        auth.as_str(),
        "-F",
        users.as_str(),
        "-F",
        conn.as_str(),
    ];
    args.extend(["-F", "send_completion_email=false"]);
    if hold {
        args.extend(["-F", "tern_wait_ms=10000"]);
    }
    let url = format!("{}/api/v2/jobs/users-imports", t.base);
    args.push(url.as_str());
    let (code, job) = curl(&args);
    assert_eq!(code, 202, "{job}");
    job
}

/// An import of 6 000 users (`{prefix}{i}`) uploaded to `a` and seen
/// processing, at least 5 % done and not finished: (token, job id).
fn import_under_way(a: &Tern, dir: &std::path::Path, prefix: &str) -> (String, String) {
    let info = a.info();
    let token = a.token(&info);
    let rows: Vec<Value> = (0..6000)
        .map(|i| json!({"email": format!("{prefix}{i}@{prefix}.example"), "user_id": format!("{prefix}{i}")}))
        .collect();
    let file = dir.join("users.json");
    std::fs::write(&file, serde_json::to_vec(&rows).unwrap()).unwrap();
    let job = upload(
        a,
        &token,
        &file,
        info["connection_id"].as_str().unwrap(),
        false,
    );
    let id = job["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, j) = get(&format!("{}/api/v2/jobs/{id}", a.base), &token);
        assert_ne!(j["status"], "completed", "finished too soon: {j}");
        if j["status"] == "processing" && j["percentage_done"].as_u64().unwrap_or(0) >= 5 {
            return (token, id);
        }
        assert!(Instant::now() < deadline, "never got going: {j}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The job of [`import_under_way`], finished on `b`: every row inserted,
/// each once.
fn finished_once(b: &Tern, token: &str, id: &str) {
    let done = wait_job(b, token, id);
    assert_eq!(
        done["summary"],
        json!({"failed": 0, "updated": 0, "inserted": 6000, "total": 6000}),
        "{done}"
    );
    assert_eq!(
        user_total(&b.base, token),
        6000,
        "each row applied exactly once"
    );
}

#[test]
fn a_first_login_on_two_instances_at_once_makes_one_user() {
    let db = PgDb::create("tern_inst_login");
    let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = instance(&db, da.path(), &[]);
    let b = instance(&db, dbb.path(), &[]);
    let info = a.info();
    let token = a.token(&info);
    let (code, app) = post_json(
        &format!("{}/api/v2/clients", a.base),
        Some(&token),
        &json!({"name": "app", "app_type": "regular_web",
                "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}),
    );
    assert_eq!(code, 201, "{app}");
    // The legacy store answers slowly, so the logins overlap.
    let login = "function login(email, password, callback) {
      setTimeout(function () {
        callback(null, {user_id: 'legacy-7', email: email, name: 'Seven'});
      }, 300);
    }";
    let (code, conn) = post_json(
        &format!("{}/api/v2/connections", a.base),
        Some(&token),
        &json!({"name": "legacy", "strategy": "auth0", "enabled_clients": [app["client_id"]],
                "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                            "customScripts": {"login": login}}}),
    );
    assert_eq!(code, 201, "{conn}");
    let body = json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "client_id": app["client_id"], "client_secret": app["client_secret"], "realm": "legacy",
        "username": "seven@legacy.example", "password": "seven-of-nine-7"});
    let logins: Vec<_> = (0..6)
        .map(|i| {
            let url = format!("{}/oauth/token", if i % 2 == 0 { &a.base } else { &b.base });
            let body = body.clone();
            std::thread::spawn(move || post_json(&url, None, &body))
        })
        .collect();
    for l in logins {
        let (code, r) = l.join().unwrap();
        assert_eq!(code, 200, "every concurrent first login succeeds: {r}");
    }
    let (_, users) = get(
        &format!(
            "{}/api/v2/users?include_totals=true&q=email:%22seven@legacy.example%22",
            b.base
        ),
        &token,
    );
    assert_eq!(users["total"], 1, "{users}");
    assert_eq!(users["users"][0]["user_id"], "auth0|legacy-7");
}

#[test]
fn an_import_whose_instance_is_killed_is_finished_by_another_once() {
    let db = PgDb::create("tern_inst_import");
    let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let env = [
        ("TERN_IMPORT__BATCH_SIZE", "10"),
        ("TERN_IMPORT__LEASE_SECS", "1"),
        ("TERN_IMPORT__MAX_FILE_BYTES", "20000000"),
    ];
    let mut a = instance(&db, da.path(), &env);
    let (token, id) = import_under_way(&a, da.path(), "kill");
    // The other instance is up before the kill; it takes over once the
    // dead one's lease runs out.
    let b = instance(&db, dbb.path(), &env);
    a.kill();
    finished_once(&b, &token, &id);
}

/// SIGTERM hands the job back as the instance drains: another takes it over
/// at once, long before the lease (ten minutes here) would have run out.
#[test]
fn an_import_whose_instance_is_stopped_is_handed_over_at_once() {
    let db = PgDb::create("tern_inst_handover");
    let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let env = [
        ("TERN_IMPORT__BATCH_SIZE", "10"),
        ("TERN_IMPORT__LEASE_SECS", "600"),
        ("TERN_IMPORT__MAX_FILE_BYTES", "20000000"),
    ];
    let mut a = instance(&db, da.path(), &env);
    let (token, id) = import_under_way(&a, da.path(), "handover");
    let b = instance(&db, dbb.path(), &env);
    let status = a.terminate();
    assert!(status.success(), "a drained instance exits 0: {status}");
    let (_, j) = get(&format!("{}/api/v2/jobs/{id}", b.base), &token);
    assert_ne!(j["status"], "completed", "the stop came mid-job: {j}");
    // wait_job gives up after 300 s: without the hand-back, b could only
    // claim the job after its 600 s lease.
    finished_once(&b, &token, &id);
}

#[test]
fn a_long_export_runs_once_across_instances() {
    let db = PgDb::create("tern_inst_export");
    let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // A lease far shorter than the export: only renewal keeps it on one runner.
    let env = [
        ("TERN_IMPORT__LEASE_SECS", "1"),
        ("TERN_IMPORT__MAX_FILE_BYTES", "20000000"),
        ("TERN_METRICS__LISTEN", "127.0.0.1:0"),
    ];
    // The metrics listeners need known ports: pick free ones.
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string()
    };
    let (ma, mb) = (port(), port());
    let mut env_a = env.to_vec();
    env_a[2] = ("TERN_METRICS__LISTEN", ma.as_str());
    let mut env_b = env.to_vec();
    env_b[2] = ("TERN_METRICS__LISTEN", mb.as_str());
    let a = instance(&db, da.path(), &env_a);
    let b = instance(&db, dbb.path(), &env_b);
    let info = a.info();
    let token = a.token(&info);
    const USERS: usize = 30_000;
    let rows: Vec<Value> = (0..USERS)
        .map(|i| json!({"email": format!("e{i}@export.example"), "user_metadata": {"n": i}}))
        .collect();
    let file = da.path().join("users.json");
    std::fs::write(&file, serde_json::to_vec(&rows).unwrap()).unwrap();
    let imported = upload(
        &a,
        &token,
        &file,
        info["connection_id"].as_str().unwrap(),
        true,
    );
    let imported = wait_job(&a, &token, imported["id"].as_str().unwrap());
    assert_eq!(imported["summary"]["inserted"], USERS, "{imported}");

    let (code, job) = post_json(
        &format!("{}/api/v2/jobs/users-exports", b.base),
        Some(&token),
        &json!({"connection_id": info["connection_id"], "format": "json",
                "fields": [{"name": "email"}, {"name": "user_metadata.n"}]}),
    );
    assert_eq!(code, 200, "{job}");
    let done = wait_job(&b, &token, job["id"].as_str().unwrap());
    assert_eq!(done["status"], "completed", "{done}");
    let series = "tern_job_claims_total{type=\"users_export\"}";
    assert_eq!(
        metric(&ma, series) + metric(&mb, series),
        1.0,
        "the export was claimed (run) more than once"
    );
    let out = dbb.path().join("export.json.gz");
    // The signed link names the public URL; fetch it from an instance directly.
    let link = done["location"]
        .as_str()
        .unwrap()
        .replace("https://tern.instances.test", &b.base);
    let (code, _) = curl(&["-o", out.to_str().unwrap(), &link]);
    assert_eq!(code, 200);
    let text = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&out)
        .output()
        .unwrap()
        .stdout;
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), USERS, "one line per user, none twice");
}

/// A client allowed the password-realm grant, enabled on the database
/// connection, and a user of that connection with `password`.
fn password_client(t: &Tern, token: &str, info: &Value, email: &str, password: &str) -> Value {
    let (code, app) = post_json(
        &format!("{}/api/v2/clients", t.base),
        Some(token),
        &json!({"name": "app", "app_type": "regular_web",
                "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}),
    );
    assert_eq!(code, 201, "{app}");
    let conn = info["connection_id"].as_str().unwrap();
    let (code, c) = patch_json(
        &format!("{}/api/v2/connections/{conn}", t.base),
        token,
        &json!({"enabled_clients": [app["client_id"]]}),
    );
    assert_eq!(code, 200, "{c}");
    let (code, u) = post_json(
        &format!("{}/api/v2/users", t.base),
        Some(token),
        &json!({"connection": "Username-Password-Authentication", "email": email,
                "password": password}),
    );
    assert_eq!(code, 201, "{u}");
    app
}

fn password_login(t: &Tern, app: &Value, email: &str, password: &str) -> (u16, Value) {
    post_json(
        &format!("{}/oauth/token", t.base),
        None,
        &json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                "client_id": app["client_id"], "client_secret": app["client_secret"],
                "realm": "Username-Password-Authentication",
                "username": email, "password": password}),
    )
}

#[test]
fn the_management_api_rate_limit_holds_across_instances() {
    let db = PgDb::create("tern_inst_rate");
    let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // 20 requests per window of 80 000 s: the window cannot end mid-test.
    let env = [
        ("TERN_RATE_LIMIT__BURST", "20"),
        ("TERN_RATE_LIMIT__PER_SECOND", "0.00025"),
    ];
    let a = instance(&db, da.path(), &env);
    let b = instance(&db, dbb.path(), &env);
    let info = a.info();
    let token = a.token(&info);
    // Requests alternate between the instances: the allowance is one.
    let codes: Vec<u16> = (0..30)
        .map(|i| {
            let t = if i % 2 == 0 { &a } else { &b };
            get(&format!("{}/api/v2/clients", t.base), &token).0
        })
        .collect();
    let want: Vec<u16> = (0..30).map(|i| if i < 20 { 200 } else { 429 }).collect();
    assert_eq!(codes, want, "one allowance of 20 for the client over both");
}

#[test]
fn a_brute_force_block_made_on_one_instance_holds_on_another() {
    let db = PgDb::create("tern_inst_brute");
    let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = instance(&db, da.path(), &[]);
    let b = instance(&db, dbb.path(), &[]);
    let info = a.info();
    let token = a.token(&info);
    let (code, s) = patch_json(
        &format!("{}/api/v2/attack-protection/brute-force-protection", a.base),
        &token,
        &json!({"max_attempts": 3}),
    );
    assert_eq!((code, &s["max_attempts"]), (200, &json!(3)), "{s}");
    let (email, password) = ("ann@brute.example", "Secret-123-Ann");
    let app = password_client(&a, &token, &info, email, password);
    // Before: the right password works on B.
    let (code, r) = password_login(&b, &app, email, password);
    assert_eq!(code, 200, "{r}");
    // Three failures, all on A (from the same address, 127.0.0.1)…
    for _ in 0..3 {
        let (code, r) = password_login(&a, &app, email, "wrong-password");
        assert_eq!(code, 403, "{r}");
    }
    // …block the right password on B.
    let (code, r) = password_login(&b, &app, email, password);
    assert_eq!(code, 429, "{r}");
    assert_eq!(r["error"], "too_many_attempts", "{r}");
}

#[test]
fn a_signing_key_rotated_on_one_instance_is_served_and_verified_by_another() {
    let db = PgDb::create("tern_inst_keys");
    let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // B rereads the keys every second (the default is 30 s).
    let a = instance(&db, da.path(), &[]);
    let b = instance(&db, dbb.path(), &[("TERN_KEYS__RELOAD_SECS", "1")]);
    let info = a.info();
    let token = a.token(&info);
    let kids = |t: &Tern| -> Vec<String> {
        let (code, jwks) = curl(&[&format!("{}/.well-known/jwks.json", t.base)]);
        assert_eq!(code, 200);
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    let before = kids(&b);
    let (code, rotated) = post_json(
        &format!("{}/api/v2/keys/signing/rotate", a.base),
        Some(&token),
        &json!({}),
    );
    assert_eq!(code, 201, "{rotated}");
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    assert!(!before.contains(&new_kid));
    assert!(kids(&a).contains(&new_kid), "served at once where rotated");
    // B serves it after its next reload.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kids(&b).contains(&new_kid) {
        assert!(Instant::now() < deadline, "B never served {new_kid}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The key rotated in is current on both: tokens either signs carry it
    // and the other accepts them.
    let (code, keys) = get(&format!("{}/api/v2/keys/signing", a.base), &token);
    assert_eq!(code, 200, "{keys}");
    let current = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["current"] == true)
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let kid_of = |jwt: &str| -> Value {
        let header = jwt.split('.').next().unwrap();
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()["kid"].clone()
    };
    for (signer, verifier) in [(&a, &b), (&b, &a)] {
        let fresh = signer.token(&info);
        assert_eq!(
            kid_of(&fresh),
            current.as_str(),
            "signed by {}",
            signer.base
        );
        let (code, r) = get(&format!("{}/api/v2/clients", verifier.base), &fresh);
        assert_eq!(code, 200, "{r}");
    }
}

/// The public URL every instance stands behind (see [`instance`]).
const PUBLIC_URL: &str = "https://tern.instances.test";
const CALLBACK: &str = "https://app.example/callback";

/// One browser behind the load balancer: its cookies go with it to
/// whichever instance answers (kept by name, `Secure` ones too although
/// the test speaks plain http to the listeners); redirects are not followed.
struct Browser {
    http: reqwest::Client,
    jar: std::collections::BTreeMap<String, String>,
}

/// An answer's status, `Location` and body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: Default::default(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let r = req
            .header(reqwest::header::COOKIE, cookies.join("; "))
            .send()
            .await
            .unwrap();
        for c in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") || value.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.into(), value.into());
            }
        }
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        Answer {
            status: r.status().as_u16(),
            location,
            body: r.text().await.unwrap(),
        }
    }

    /// GET `path` on instance `t`, then Tern's own redirects there (under the
    /// public URL, or relative) until an answer that is not one, or a
    /// redirect to the application.
    async fn visit(&mut self, t: &Tern, path: &str) -> Answer {
        let mut a = self.send(self.http.get(format!("{}{path}", t.base))).await;
        for _ in 0..10 {
            let Some(loc) = a.location.clone() else {
                return a;
            };
            let loc = loc.strip_prefix(PUBLIC_URL).unwrap_or(&loc).to_string();
            if !loc.starts_with('/') {
                return a;
            }
            a = self.send(self.http.get(format!("{}{loc}", t.base))).await;
        }
        a
    }

    /// The code flow through `t`'s hosted login; the code.
    async fn sign_in(&mut self, t: &Tern, client_id: &str, email: &str, password: &str) -> String {
        let page = self.visit(t, &authorize(client_id, &[])).await;
        assert_eq!(page.status, 200, "the login page: {}", page.body);
        let needle = "name=\"state\" value=\"";
        let at = page.body.find(needle).expect("a state field") + needle.len();
        let state = &page.body[at..at + page.body[at..].find('"').unwrap()];
        let posted = self
            .send(
                self.http
                    .post(format!("{}/u/login?state={state}", t.base))
                    .form(&[
                        ("state", state),
                        ("username", email),
                        ("password", password),
                    ]),
            )
            .await;
        let mut done = posted;
        if let Some(loc) = done.location.clone()
            && !loc.starts_with(CALLBACK)
        {
            let loc = loc.strip_prefix(PUBLIC_URL).unwrap_or(&loc).to_string();
            done = self.visit(t, &loc).await;
        }
        code_of(&done).unwrap_or_else(|| panic!("no code: {:?} {}", done.location, done.body))
    }

    /// A silent `/authorize` (`prompt=none`) on `t`: the code, or the error
    /// the redirect to the application carries.
    async fn silently(&mut self, t: &Tern, client_id: &str) -> Result<String, String> {
        let a = self
            .visit(t, &authorize(client_id, &[("prompt", "none")]))
            .await;
        let loc = a
            .location
            .clone()
            .unwrap_or_else(|| panic!("no redirect: {}", a.body));
        assert!(loc.starts_with(CALLBACK), "{loc}");
        code_of(&a).ok_or_else(|| param(&loc, "error").unwrap_or_default())
    }
}

fn authorize(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20offline_access&state=s",
        CALLBACK.replace(':', "%3A").replace('/', "%2F")
    );
    for (k, v) in extra {
        q.push_str(&format!("&{k}={v}"));
    }
    q
}

fn param(url: &str, key: &str) -> Option<String> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
}

fn code_of(a: &Answer) -> Option<String> {
    a.location
        .as_deref()
        .filter(|l| l.starts_with(CALLBACK))
        .and_then(|l| param(l, "code"))
}

/// The tokens `code` buys at `t`.
fn exchange(t: &Tern, app: &Value, code: &str) -> Value {
    let (status, tokens) = post_json(
        &format!("{}/oauth/token", t.base),
        None,
        &json!({"grant_type": "authorization_code", "client_id": app["client_id"],
                "client_secret": app["client_secret"], "code": code,
                "redirect_uri": CALLBACK}),
    );
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// The status and error of a refresh at `t`.
fn refresh_at(t: &Tern, app: &Value, refresh_token: &Value) -> (u16, Value) {
    let (status, body) = post_json(
        &format!("{}/oauth/token", t.base),
        None,
        &json!({"grant_type": "refresh_token", "client_id": app["client_id"],
                "client_secret": app["client_secret"], "refresh_token": refresh_token}),
    );
    (status, body["error"].clone())
}

fn sid_of(tokens: &Value) -> String {
    let payload = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An operator on A ends sessions and revokes refresh tokens; B, sharing
/// the database behind the same load balancer, refuses them on the very
/// next request (no per-process cache outlives a revocation): a silent
/// `/authorize` answers `login_required`, `/oauth/token` `invalid_grant`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_or_token_revoked_on_one_instance_is_refused_by_another() {
    let db = PgDb::create("tern_inst_sessions");
    let (da, dbb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = instance(&db, da.path(), &[]);
    let b = instance(&db, dbb.path(), &[]);
    let info = a.info();
    let token = a.token(&info);
    let (email, password) = ("ann@sessions.example", "Secret-123-Ann");
    let (code, app) = post_json(
        &format!("{}/api/v2/clients", a.base),
        Some(&token),
        &json!({"name": "web", "app_type": "regular_web", "callbacks": [CALLBACK],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_post"}),
    );
    assert_eq!(code, 201, "{app}");
    let client_id = app["client_id"].as_str().unwrap().to_string();
    let conn = info["connection_id"].as_str().unwrap();
    let (code, c) = patch_json(
        &format!("{}/api/v2/connections/{conn}", a.base),
        &token,
        &json!({"enabled_clients": [client_id]}),
    );
    assert_eq!(code, 200, "{c}");
    let (code, u) = post_json(
        &format!("{}/api/v2/users", a.base),
        Some(&token),
        &json!({"connection": "Username-Password-Authentication", "email": email,
                "password": password}),
    );
    assert_eq!(code, 201, "{u}");
    let mgmt = |method: &str, path: &str| {
        curl(&[
            "-X",
            method,
            "-H",
            &format!("authorization: Bearer {token}"),
            &format!("{}/api/v2{path}", a.base),
        ])
        .0
    };

    // Deleted on A: B no longer signs the browser in; its refresh token
    // stays valid (as Auth0's), until revoked on A, then B refuses it.
    let mut one = Browser::new();
    let code = one.sign_in(&a, &client_id, email, password).await;
    let tokens = exchange(&a, &app, &code);
    assert!(
        one.silently(&b, &client_id).await.is_ok(),
        "B knows A's session"
    );
    assert_eq!(refresh_at(&b, &app, &tokens["refresh_token"]).0, 200);
    assert_eq!(
        mgmt("DELETE", &format!("/sessions/{}", sid_of(&tokens))),
        202
    );
    assert_eq!(
        one.silently(&b, &client_id).await,
        Err("login_required".to_string())
    );
    assert_eq!(refresh_at(&b, &app, &tokens["refresh_token"]).0, 200);
    let (code, listed) = get(
        &format!(
            "{}/api/v2/users/{}/refresh-tokens",
            a.base,
            u["user_id"].as_str().unwrap()
        ),
        &token,
    );
    assert_eq!(code, 200, "{listed}");
    let id = listed["tokens"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(mgmt("DELETE", &format!("/refresh-tokens/{id}")), 202);
    assert_eq!(
        refresh_at(&b, &app, &tokens["refresh_token"]),
        (403, json!("invalid_grant"))
    );

    // Revoked on A: the session and its refresh token, both refused by B.
    let mut two = Browser::new();
    let code = two.sign_in(&a, &client_id, email, password).await;
    let tokens = exchange(&a, &app, &code);
    assert!(two.silently(&b, &client_id).await.is_ok());
    assert_eq!(refresh_at(&b, &app, &tokens["refresh_token"]).0, 200);
    assert_eq!(
        mgmt("POST", &format!("/sessions/{}/revoke", sid_of(&tokens))),
        202
    );
    assert_eq!(
        two.silently(&b, &client_id).await,
        Err("login_required".to_string())
    );
    assert_eq!(
        refresh_at(&b, &app, &tokens["refresh_token"]),
        (403, json!("invalid_grant"))
    );
}
