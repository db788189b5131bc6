#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The zero-code Cognito connector, end to end, against moto: AWS is outside
//! our control, so its independent emulator of the Cognito API stands in
//! (`tests/cognito/moto_cognito.py` makes the pool, app clients and users
//! with boto3). Moto checks the SigV4 signature of the administrative calls
//! (ListUsers, AdminUpdateUserAttributes, DescribeUserPool) and, with the
//! fixture's addition of its own check, the SECRET_HASH of InitiateAuth.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::legacy::{PASSWORD_REALM, log_descriptions, password_client, refused_connector};
use common::{Backend, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const REALM: &str = "cognito-users";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/cognito")
}

fn python() -> PathBuf {
    let py = fixtures().join(".venv/bin/python");
    assert!(
        py.exists(),
        "moto (the Cognito emulator these tests run against) is missing: run `bash tests/cognito/install.sh` (scripts/test does)"
    );
    py
}

/// A moto server with the fixture's pool; stopped on drop.
struct Moto {
    child: Option<Child>,
    /// What the fixture printed: endpoint, pool, clients, keys, users.
    info: Value,
}

impl Moto {
    fn start() -> Self {
        let mut child = Command::new(python())
            .arg(fixtures().join("moto_cognito.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Its errors (a failed setup) show in the test output.
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start moto");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("moto fixture printed {line:?}: {e}"));
        Self {
            child: Some(child),
            info,
        }
    }

    fn s(&self, pointer: &str) -> String {
        self.info
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer} in {}", self.info))
            .to_string()
    }

    fn sub(&self, user: &str) -> String {
        self.info["users"][user]["sub"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn connector(&self, client: &str, extra: Value) -> Value {
        let mut c = json!({"type": "cognito", "region": self.s("/region"),
            "user_pool_id": self.s("/user_pool_id"), "client_id": self.s(&format!("/{client}_client_id")),
            "endpoint": format!("{}/", self.s("/endpoint")), "retries": 0});
        if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
            c.extend(extra);
        }
        c
    }

    fn keys(&self) -> Value {
        json!({"AWS_ACCESS_KEY_ID": self.s("/access_key_id"),
               "AWS_SECRET_ACCESS_KEY": self.s("/secret_access_key")})
    }

    /// A user's attributes as boto3 reads them (AdminGetUser, signed by botocore).
    fn attributes(&self, username: &str) -> Value {
        let script = "import boto3, json, sys\n\
            i = json.loads(sys.argv[1])\n\
            c = boto3.client('cognito-idp', endpoint_url=i['endpoint'], region_name=i['region'],\n\
                aws_access_key_id=i['access_key_id'], aws_secret_access_key=i['secret_access_key'])\n\
            u = c.admin_get_user(UserPoolId=i['user_pool_id'], Username=sys.argv[2])\n\
            print(json.dumps({a['Name']: a['Value'] for a in u['UserAttributes']}))";
        let out = Command::new(python())
            .args(["-c", script, &self.info.to_string(), username])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client allowed the password grants and the `cognito-users`
/// connection with this connector; returns (client id, client secret).
async fn cognito_connection(
    h: &Harness,
    t: &str,
    connector: Value,
    configuration: Value,
) -> (String, String) {
    let (cid, client_secret) = password_client(h, t).await;
    let (s, c) = h
        .api(t, Method::POST, "/connections", Some(json!({"name": REALM, "strategy": "auth0", "enabled_clients": [cid],
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "passwordPolicy": "none",
                        "tern_connector": connector, "configuration": configuration.clone()}})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    // The secrets are sealed: never answered back.
    for secret in configuration.as_object().unwrap().values() {
        let secret = secret.as_str().unwrap();
        assert!(!c.to_string().contains(secret), "{secret} answered in {c}");
    }
    (cid, client_secret)
}

async fn login(
    h: &Harness,
    app: &(String, String),
    user: &str,
    password: &str,
) -> (StatusCode, Value) {
    h.token(
        json!({"grant_type": PASSWORD_REALM, "client_id": app.0, "client_secret": app.1,
                   "username": user, "password": password, "realm": REALM, "scope": "openid"}),
    )
    .await
}

async fn stored(h: &Harness, sub: &str) -> Option<tern_core::model::User> {
    h.state()
        .store
        .get_user(h.state().tid(), &format!("auth0|{sub}"))
        .await
        .unwrap()
}

async fn signup(h: &Harness, cid: &str, email: &str) -> (StatusCode, Value) {
    let r = h
        .http
        .post(format!("{}/dbconnections/signup", h.base))
        .json(&json!({"client_id": cid, "connection": REALM, "email": email, "password": "Brand-New-Pass-9"}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// Bad configurations are refused with a message naming what to fix.
async fn connector_validation(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let good = json!({"type": "cognito", "region": "eu-west-1", "user_pool_id": "eu-west-1_AbC123", "client_id": "abc123"});
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    for (connector, configuration, needle) in [
        (
            with("region", json!("Ireland")),
            json!({}),
            "not an AWS region",
        ),
        (
            with("user_pool_id", json!("AbC123")),
            json!({}),
            "user_pool_id",
        ),
        (
            good.clone(),
            json!({"AWS_ACCESS_KEY_ID": "AKIA1"}),
            "or neither",
        ),
        (
            with("migrated_attribute", json!("custom:migrated")),
            json!({}),
            "AWS_ACCESS_KEY_ID",
        ),
        (
            with("endpoint", json!("https://user:pw@vpce.example/")),
            json!({}),
            "bare origin",
        ),
    ] {
        let msg = refused_connector(&h, &t, &connector, &configuration).await;
        assert!(
            msg.contains(needle) && msg.contains("(cognito)"),
            "{needle:?} not in {msg:?}"
        );
    }
    h.stop().await;
}

/// The first login migrates the user (id from `sub`, verified flag, custom
/// attribute), tells Cognito, and the second does not ask Cognito; wrong
/// passwords, unknown users and users Cognito would challenge store nothing;
/// signup asks Cognito (signed ListUsers) whether the address is taken.
async fn users_migrate_from_cognito(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let mut moto = Moto::start();
    let app = cognito_connection(
        &h,
        &t,
        moto.connector("public", json!({"migrated_attribute": "custom:migrated"})),
        moto.keys(),
    )
    .await;
    let ada = moto.sub("ada@example.com");

    let (s, body) = login(&h, &app, "ada@example.com", "Wrong-Horse-1").await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{body}"
    );
    let (s, body) = login(&h, &app, "nobody@example.com", "Whatever-1").await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        stored(&h, &ada).await.is_none(),
        "a refused password stores nothing"
    );

    let (s, body) = login(&h, &app, "ada@example.com", "Correct-Horse-1").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let u = stored(&h, &ada)
        .await
        .expect("migrated under Cognito's sub");
    assert_eq!(u.email.as_deref(), Some("ada@example.com"));
    assert!(u.email_verified);
    assert_eq!(u.given_name.as_deref(), Some("Ada"));
    assert_eq!(u.app_metadata.get("plan"), Some(&json!("gold")));
    assert_eq!(
        moto.attributes("ada@example.com")["custom:migrated"],
        "true"
    );

    let (s, _) = login(&h, &app, "grace@example.com", "Hopper-Compiler-2").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !stored(&h, &moto.sub("grace@example.com"))
            .await
            .unwrap()
            .email_verified
    );

    // Cognito asks an invited user for a new password: not migrated, and why is logged.
    let (s, body) = login(&h, &app, "invited@example.com", "Temporary-Pass-3").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(stored(&h, &moto.sub("invited@example.com")).await.is_none());
    let (s, body) = login(&h, &app, "unconfirmed@example.com", "Never-Confirmed-5").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        stored(&h, &moto.sub("unconfirmed@example.com"))
            .await
            .is_none()
    );
    let failures = log_descriptions(&h, &t, "f").await;
    for why in ["NEW_PASSWORD_REQUIRED", "UserNotConfirmedException"] {
        assert!(
            failures.iter().any(|d| d.contains(why)),
            "{why}: {failures:?}"
        );
    }
    assert!(
        !failures
            .iter()
            .any(|d| d.contains("Temporary-Pass-3") || d.contains("Never-Confirmed-5")),
        "{failures:?}"
    );

    // Signup: ListUsers (signed; moto checks the signature) finds the Cognito user.
    let (s, body) = signup(&h, &app.0, "invited@example.com").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error_description"], "The user already exists");
    let (s, body) = signup(&h, &app.0, "newcomer@example.com").await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // The overview's "N of M": DescribeUserPool's estimate.
    let conn = h
        .state()
        .store
        .get_connection_by_name(h.state().tid(), REALM)
        .await
        .unwrap()
        .unwrap();
    let legacy = h.state().legacy.clone().unwrap();
    let count = legacy.count(h.state().tid(), &conn).await.unwrap();
    assert_eq!(
        count,
        Some(4),
        "ada, grace, the invited and the unconfirmed user"
    );

    // Cognito gone: a migrated user logs in from Tern's own store.
    moto.stop();
    let (s, body) = login(&h, &app, "ada@example.com", "Correct-Horse-1").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = login(&h, &app, "invited@example.com", "Temporary-Pass-3").await;
    assert_eq!(
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "not migrated users need Cognito"
    );
    h.stop().await;
}

/// An app client with a secret: the SECRET_HASH Tern sends is the one
/// Cognito (moto) computes; a wrong secret is the operator's error, not
/// the user's wrong password.
async fn client_secret_hash(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let moto = Moto::start();
    let app = cognito_connection(
        &h,
        &t,
        moto.connector("confidential", json!({})),
        json!({"COGNITO_CLIENT_SECRET": moto.s("/confidential_client_secret")}),
    )
    .await;
    let (s, body) = login(&h, &app, "grace@example.com", "Hopper-Compiler-2").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(stored(&h, &moto.sub("grace@example.com")).await.is_some());
    // Without AWS keys, signup cannot ask Cognito and is refused, not let through.
    let (s, body) = signup(&h, &app.0, "ada@example.com").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let failures = log_descriptions(&h, &t, "fs").await.join("\n");
    assert!(failures.contains("get_user is not supported"), "{failures}");
    h.stop().await;

    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let wrong_secret = "not-the-client-secret-42";
    let app = cognito_connection(
        &h,
        &t,
        moto.connector("confidential", json!({})),
        json!({"COGNITO_CLIENT_SECRET": wrong_secret}),
    )
    .await;
    let (s, body) = login(&h, &app, "ada@example.com", "Correct-Horse-1").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(stored(&h, &moto.sub("ada@example.com")).await.is_none());
    let failures = log_descriptions(&h, &t, "f").await.join("\n");
    assert!(failures.contains("SECRET_HASH"), "{failures}");
    assert!(
        !failures.contains(wrong_secret) && !failures.contains("Correct-Horse-1"),
        "{failures}"
    );
    h.stop().await;
}

/// Moto refuses a lookup signed with the wrong secret access key: the
/// signature is really checked, and the signup is refused, not let through.
async fn a_bad_signature_is_refused(b: Backend) {
    let h = Harness::start(b).await;
    let t = h.admin_token().await;
    let moto = Moto::start();
    let mut keys = moto.keys();
    keys["AWS_SECRET_ACCESS_KEY"] = json!("wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY");
    let app = cognito_connection(&h, &t, moto.connector("public", json!({})), keys).await;
    let (s, body) = signup(&h, &app.0, "newcomer@example.com").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let failures = log_descriptions(&h, &t, "fs").await.join("\n");
    assert!(failures.contains("SignatureDoesNotMatch"), "{failures}");
    assert!(!failures.contains("WRONGKEY"), "{failures}");
    h.stop().await;
}

both_backends!(
    connector_validation,
    users_migrate_from_cognito,
    client_secret_hash,
    a_bad_signature_is_refused
);
