//! Presets of the `sql` connector: the lookup query, column map and hash
//! format of a common platform's own user table, so its database migrates
//! lazily with a DSN and a name. `"preset": "wordpress"` fills
//! `lookup_query`, `columns` and `hash_format` (any of them given in the
//! settings wins); `table_prefix` replaces the platform's default table
//! prefix, `realm` names the Keycloak realm.
//!
//! The queries are plain SQL that MySQL/MariaDB, PostgreSQL and SQLite all
//! run; each leaves out users the platform itself would not let log in
//! (blocked, inactive, anonymous or bot rows).

use serde_json::{Map, Value, json};

use super::config::FIELD;

/// One platform.
pub struct Preset {
    /// The `preset` value.
    pub name: &'static str,
    /// The platform, for messages and the README.
    pub platform: &'static str,
    /// The default table prefix; `None`: the platform has none to change.
    pub prefix: Option<&'static str>,
    /// Needs `realm` (Keycloak).
    pub realm: bool,
    build: fn(&str, &str) -> Value,
}

/// Every preset.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "wordpress",
        platform: "WordPress",
        prefix: Some("wp_"),
        realm: false,
        build: wordpress,
    },
    Preset {
        name: "drupal7",
        platform: "Drupal 7",
        prefix: Some(""),
        realm: false,
        build: drupal7,
    },
    Preset {
        name: "phpbb",
        platform: "phpBB 3",
        prefix: Some("phpbb_"),
        realm: false,
        build: phpbb,
    },
    Preset {
        name: "django",
        platform: "Django (django.contrib.auth)",
        prefix: None,
        realm: false,
        build: django,
    },
    Preset {
        name: "magento2",
        platform: "Magento 2 / Adobe Commerce customers",
        prefix: Some(""),
        realm: false,
        build: magento2,
    },
    Preset {
        name: "joomla",
        platform: "Joomla",
        prefix: Some("jos_"),
        realm: false,
        build: joomla,
    },
    Preset {
        name: "nextcloud",
        platform: "Nextcloud",
        prefix: Some("oc_"),
        realm: false,
        build: nextcloud,
    },
    Preset {
        name: "keycloak",
        platform: "Keycloak",
        prefix: None,
        realm: true,
        build: keycloak,
    },
    Preset {
        name: "vbulletin",
        platform: "vBulletin 3/4",
        prefix: Some(""),
        realm: false,
        build: vbulletin,
    },
    Preset {
        name: "smf",
        platform: "Simple Machines Forum 2.0/2.1",
        prefix: Some("smf_"),
        realm: false,
        build: smf,
    },
];

/// The settings a preset adds; the rest are the connector's own.
pub const KEYS: &[&str] = &["preset", "table_prefix", "realm"];

/// The settings with the preset's `lookup_query`, `columns` and
/// `hash_format` filled in (those given win) and the preset keys removed.
/// Without `preset`, `table_prefix` and `realm` are refused.
pub fn apply(obj: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = obj.clone();
    let name = match out.remove("preset") {
        None | Some(Value::Null) => {
            if let Some(k) = ["table_prefix", "realm"]
                .into_iter()
                .find(|k| obj.contains_key(*k))
            {
                return Err(format!(
                    "{FIELD}.{k} is a setting of presets; set {FIELD}.preset too."
                ));
            }
            return Ok(out);
        }
        Some(Value::String(n)) => n,
        Some(_) => {
            return Err(format!(
                "{FIELD}.preset must be a preset name ({}).",
                names()
            ));
        }
    };
    let preset = PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
        let known = PRESETS
            .iter()
            .map(|p| format!("{} ({})", p.name, p.platform))
            .collect::<Vec<_>>();
        format!(
            "{FIELD}.preset \"{name}\" is not a preset (presets: {}).",
            known.join(", ")
        )
    })?;
    let prefix = match (out.remove("table_prefix"), preset.prefix) {
        (None | Some(Value::Null), Some(d)) => d.to_string(),
        (None | Some(Value::Null), None) => String::new(),
        (Some(_), None) => {
            return Err(format!(
                "{FIELD}.table_prefix: the {} preset reads tables without a prefix; write lookup_query yourself to read other tables.",
                preset.name
            ));
        }
        (Some(Value::String(p)), Some(_))
            if p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            p
        }
        (Some(_), Some(_)) => {
            return Err(format!(
                "{FIELD}.table_prefix must be letters, digits and underscores (e.g. \"wp_\"), at most 64."
            ));
        }
    };
    let realm = match (out.remove("realm"), preset.realm) {
        (Some(Value::String(r)), true)
            if !r.is_empty()
                && r.len() <= 255
                && !r.chars().any(|c| c == '\'' || c == '\\' || c.is_control()) =>
        {
            r
        }
        (None | Some(Value::Null), true) => {
            return Err(format!(
                "{FIELD}.realm is required by the {} preset: the name of the realm whose users migrate.",
                preset.name
            ));
        }
        (Some(_), true) => {
            return Err(format!(
                "{FIELD}.realm must be a realm name (no quotes, backslashes or control characters)."
            ));
        }
        (None | Some(Value::Null), false) => String::new(),
        (Some(_), false) => {
            return Err(format!(
                "{FIELD}.realm is a setting of the keycloak preset only."
            ));
        }
    };
    let filled = (preset.build)(&prefix, &realm);
    for key in ["lookup_query", "columns", "hash_format"] {
        if !out.contains_key(key) {
            out.insert(key.into(), filled[key].clone());
        }
    }
    Ok(out)
}

fn names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The usual column map: the query's aliases are the profile's fields.
fn columns(optional: &[&str]) -> Value {
    let mut c = json!({"user_id": "id", "email": "email", "password_hash": "password_hash"});
    for f in optional {
        c[*f] = Value::String((*f).to_string());
    }
    c
}

fn wordpress(p: &str, _: &str) -> Value {
    // WordPress keeps phpass `$P$`, 6.8+ `$wp$2y$` and bcrypt from plugins
    // (all self-describing), and very old accounts as a bare MD5, which
    // WordPress itself still accepts.
    json!({
        "lookup_query": format!(
            "SELECT ID AS id, user_email AS email, user_pass AS password_hash, NULLIF(display_name, '') AS name, \
             user_nicename AS nickname, CASE WHEN user_pass LIKE '$%' THEN 'crypt' ELSE 'md5' END AS hash_scheme \
             FROM {p}users WHERE lower(user_email) = lower(:identifier) OR user_login = :identifier"),
        "columns": columns(&["name", "nickname"]),
        "hash_format": {"column": "hash_scheme", "map": {
            "crypt": "auto",
            "md5": {"algorithm": "md5", "hash": {"encoding": "hex"}}}},
    })
}

fn drupal7(p: &str, _: &str) -> Value {
    // `$S$`, `U$S$` (Drupal 6 MD5 rehashed) and imported `$P$`/`$H$`.
    // uid 0 is the anonymous user; status 0 is blocked.
    json!({
        "lookup_query": format!(
            "SELECT uid AS id, mail AS email, pass AS password_hash, name AS nickname FROM {p}users \
             WHERE uid > 0 AND status = 1 AND (lower(mail) = lower(:identifier) OR name = :identifier)"),
        "columns": columns(&["nickname"]),
        "hash_format": "auto",
    })
}

fn phpbb(p: &str, _: &str) -> Value {
    // 3.1+ bcrypt `$2y$` and argon2, 3.0 phpass `$H$`. user_type 0 is a
    // normal user and 3 a founder; 1 (inactive) and 2 (bots, anonymous)
    // cannot log in.
    json!({
        "lookup_query": format!(
            "SELECT user_id AS id, user_email AS email, user_password AS password_hash, username AS nickname \
             FROM {p}users WHERE user_type IN (0, 3) AND (lower(user_email) = lower(:identifier) OR username_clean = lower(:identifier))"),
        "columns": columns(&["nickname"]),
        "hash_format": "auto",
    })
}

fn django(_: &str, _: &str) -> Value {
    // Django's hashers are self-describing; an unusable password ("!…")
    // is no password.
    json!({
        "lookup_query":
            "SELECT id, email, CASE WHEN password LIKE '!%' THEN NULL ELSE password END AS password_hash, \
             username AS nickname, NULLIF(first_name, '') AS given_name, NULLIF(last_name, '') AS family_name \
             FROM auth_user WHERE is_active AND (lower(email) = lower(:identifier) OR username = :identifier)",
        "columns": columns(&["nickname", "given_name", "family_name"]),
        "hash_format": "auto",
    })
}

fn magento2(p: &str, _: &str) -> Value {
    json!({
        "lookup_query": format!(
            "SELECT entity_id AS id, email, password_hash, NULLIF(firstname, '') AS given_name, NULLIF(lastname, '') AS family_name \
             FROM {p}customer_entity WHERE lower(email) = lower(:identifier)"),
        "columns": columns(&["given_name", "family_name"]),
        "hash_format": {"algorithm": "magento2"},
    })
}

fn joomla(p: &str, _: &str) -> Value {
    // Joomla 3+ bcrypt (and phpass, argon2); 1.5–2.5 MD5 `hash:salt`.
    json!({
        "lookup_query": format!(
            "SELECT id, email, password AS password_hash, NULLIF(name, '') AS name, username AS nickname, \
             CASE WHEN password LIKE '$%' THEN 'crypt' ELSE 'md5' END AS hash_scheme \
             FROM {p}users WHERE block = 0 AND (lower(email) = lower(:identifier) OR username = :identifier)"),
        "columns": columns(&["name", "nickname"]),
        "hash_format": {"column": "hash_scheme", "map": {"crypt": "auto", "md5": {"algorithm": "joomla"}}},
    })
}

fn nextcloud(p: &str, _: &str) -> Value {
    // `1|$2y$…`, `3|$argon2id$…` and plain bcrypt; the email is a user
    // preference.
    json!({
        "lookup_query": format!(
            "SELECT u.uid AS id, e.configvalue AS email, u.password AS password_hash, NULLIF(u.displayname, '') AS name \
             FROM {p}users u LEFT JOIN {p}preferences e ON e.userid = u.uid AND e.appid = 'settings' AND e.configkey = 'email' \
             WHERE u.uid_lower = lower(:identifier) OR lower(e.configvalue) = lower(:identifier)"),
        "columns": columns(&["name"]),
        "hash_format": "auto",
    })
}

fn keycloak(_: &str, realm: &str) -> Value {
    // Keycloak stores usernames and emails in lower case; the password
    // credential's two JSON documents make a `keycloak` object.
    json!({
        "lookup_query": format!(
            "SELECT u.id, u.email, CASE WHEN u.email_verified THEN 1 ELSE 0 END AS email_verified, \
             u.first_name AS given_name, u.last_name AS family_name, u.username AS nickname, \
             c.secret_data AS password_hash, c.credential_data \
             FROM user_entity u JOIN realm r ON r.id = u.realm_id \
             LEFT JOIN credential c ON c.user_id = u.id AND c.type = 'password' \
             WHERE r.name = '{realm}' AND u.enabled AND u.service_account_client_link IS NULL \
             AND (u.email = lower(:identifier) OR u.username = lower(:identifier))"),
        "columns": columns(&["email_verified", "given_name", "family_name", "nickname"]),
        "hash_format": {"algorithm": "keycloak", "credentialData": {"column": "credential_data"}},
    })
}

fn vbulletin(p: &str, _: &str) -> Value {
    json!({
        "lookup_query": format!(
            "SELECT userid AS id, email, password AS password_hash, salt, username AS nickname FROM {p}user \
             WHERE lower(email) = lower(:identifier) OR username = :identifier"),
        "columns": columns(&["nickname"]),
        "hash_format": {"algorithm": "vbulletin", "salt": {"column": "salt"}},
    })
}

fn smf(p: &str, _: &str) -> Value {
    // SMF 2.0 hashes SHA-1(lower(member_name) ‖ password), 2.1 bcrypt of
    // the same (the `smf` object reads both); is_activated 1 is an active
    // account.
    json!({
        "lookup_query": format!(
            "SELECT id_member AS id, email_address AS email, passwd AS password_hash, member_name, \
             NULLIF(real_name, '') AS name FROM {p}members \
             WHERE is_activated = 1 AND (lower(email_address) = lower(:identifier) OR member_name = :identifier)"),
        "columns": columns(&["name"]),
        "hash_format": {"algorithm": "smf", "params": {"username": {"column": "member_name"}}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::sql::config;

    fn with(extra: Value) -> Value {
        let mut c = json!({"type": "sql", "dsn": "mysql://ro@db.internal/site"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    #[test]
    fn every_preset_makes_a_valid_configuration() {
        for p in PRESETS {
            let realm = if p.realm { json!("acme") } else { Value::Null };
            let c = config::parse(&with(json!({"preset": p.name, "realm": realm})))
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(c.lookup.sql.contains('?'), "{}: {}", p.name, c.lookup.sql);
            if let Some(prefix) = p.prefix {
                let c =
                    config::parse(&with(json!({"preset": p.name, "table_prefix": "x9_"}))).unwrap();
                assert!(c.lookup.sql.contains("x9_"), "{}", p.name);
                assert!(
                    prefix.is_empty() || !c.lookup.sql.contains(prefix),
                    "{}",
                    p.name
                );
            }
        }
    }

    #[test]
    fn given_settings_win_over_the_preset() {
        let c = config::parse(&with(
            json!({"preset": "drupal7", "hash_format": "drupal7"}),
        ))
        .unwrap();
        assert_eq!(c.hash.columns(), Vec::<String>::new());
        assert!(matches!(
            c.hash,
            super::super::hash_format::HashFormat::One(super::super::hash_format::Single::Scheme(
                tern_hash::Scheme::Drupal7
            ))
        ));
        let c = config::parse(&with(json!({"preset": "vbulletin"}))).unwrap();
        assert_eq!(c.hash.columns(), vec!["salt".to_string()]);
    }

    #[test]
    fn mistakes_name_their_setting() {
        for (extra, want) in [
            (
                json!({"preset": "wordpres"}),
                "preset \"wordpres\" is not a preset (presets: wordpress",
            ),
            (json!({"preset": 3}), "preset must be a preset name"),
            (
                json!({"table_prefix": "wp_"}),
                "table_prefix is a setting of presets",
            ),
            (
                json!({"preset": "wordpress", "table_prefix": "wp; DROP"}),
                "table_prefix must be letters",
            ),
            (
                json!({"preset": "django", "table_prefix": "x_"}),
                "the django preset reads tables without a prefix",
            ),
            (
                json!({"preset": "keycloak"}),
                "realm is required by the keycloak preset",
            ),
            (
                json!({"preset": "keycloak", "realm": "a' OR '1"}),
                "realm must be a realm name",
            ),
            (
                json!({"preset": "joomla", "realm": "x"}),
                "realm is a setting of the keycloak preset only",
            ),
        ] {
            let e = config::parse(&with(extra.clone())).unwrap_err();
            assert!(e.contains(want), "{extra}: {e}");
        }
    }
}
