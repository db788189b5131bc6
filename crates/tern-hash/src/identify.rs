//! Recognising a self-describing hash string by its shape.

use std::sync::Arc;

use crate::bcrypt::BcryptHash;
use crate::ldap::LdapHash;
use crate::modular::ModularHash;
use crate::phc::{Pbkdf2Defaults, parse_argon2, parse_pbkdf2, parse_scrypt};
use crate::phpass::PhpassHash;
use crate::{HashError, Verifier, aspnet, custom, des_crypt, django, explicit, legacy, sun_md5};

/// Every format the identifier knows, in the order it tries them. Listed in
/// [`HashError::Unrecognised`].
pub(crate) const TRIED: &[&str] = &[
    "bcrypt ($2a$, $2b$, $2y$)",
    "argon2 PHC ($argon2id$, $argon2i$, $argon2d$)",
    "scrypt PHC ($scrypt$)",
    "pbkdf2 PHC ($pbkdf2-<digest>$i=..)",
    "passlib pbkdf2 ($pbkdf2$, $pbkdf2-sha256$, $pbkdf2-sha512$)",
    "md5-crypt ($1$)",
    "apr1-md5-crypt ($apr1$)",
    "sha256-crypt ($5$)",
    "sha512-crypt ($6$)",
    "phpass ($P$, $H$)",
    "drupal7 ($S$, U$)",
    "django (pbkdf2_sha256$, pbkdf2_sha1$, bcrypt_sha256$, bcrypt$, argon2$, scrypt$, sha1$, md5$)",
    "ldap ({MD5}, {SMD5}, {SHA}, {SSHA}, {SHA256}, {SSHA256}, {SHA384}, {SSHA384}, {SHA512}, {SSHA512})",
    "aspnet-identity (base64, v2 marker 0x00, v3 marker 0x01)",
    "atlassian ({PKCS5S2})",
    "ldap pbkdf2 ({PBKDF2}, {PBKDF2-SHA256}, {PBKDF2-SHA512})",
    "ldap-crypt ({CRYPT} + a crypt string)",
    "fshp ({FSHPn|salt|rounds})",
    "mysql41 (* + 40 hex)",
    "mssql2000/2005 (0x0100 + hex)",
    "oracle11 (S: + 60 hex)",
    "sha1-crypt ($sha1$)",
    "bsd-nthash ($3$$)",
    "bcrypt-sha256 ($bcrypt-sha256$)",
    "grub-pbkdf2-sha512 (grub.pbkdf2.sha512.)",
    "cta/dlitz pbkdf2 ($p5k2$)",
    "wordpress-bcrypt ($wp$2y$)",
    "nextcloud (1|, 2|, 3| + bcrypt/argon2)",
    "sun-md5-crypt ($md5$, $md5,rounds=N$)",
    "bsdi-crypt (_ + 19 characters)",
    "des-crypt (13 characters)",
    "auth0 custom_password_hash (JSON object)",
];

fn unrecognised() -> HashError {
    HashError::Unrecognised {
        tried: TRIED.to_vec(),
    }
}

fn boxed<V: Verifier + 'static>(v: V) -> Arc<dyn Verifier> {
    Arc::new(v)
}

/// Identify and parse `s`. Returns the verifier and the canonical storage
/// string. `allow_json` admits the JSON storage form of custom objects.
pub(crate) fn identify(
    s: &str,
    allow_json: bool,
) -> Result<(Arc<dyn Verifier>, String), HashError> {
    let s = s.trim();
    if s.starts_with('{') {
        if let Some((word, _)) = s.strip_prefix('{').and_then(|r| r.split_once('}'))
            && legacy::claims_braced(&word.to_ascii_uppercase())
        {
            return Ok((legacy::parse_braced(s)?, s.to_owned()));
        }
        if LdapHash::claims(s) {
            return Ok((boxed(LdapHash::parse(s)?), s.to_owned()));
        }
        if allow_json {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(s)
                && explicit::claims(&v)
            {
                return explicit::parse(&v).map_err(HashError::Custom);
            }
            return custom::parse_storage(s);
        }
        return Err(unrecognised());
    }
    let own = |v: Arc<dyn Verifier>| (v, s.to_owned());
    if let Some(rest) = s.strip_prefix('$') {
        let ident = rest.split('$').next().unwrap_or_default();
        return match ident {
            "2a" | "2b" | "2y" | "2x" | "2" => Ok(own(boxed(BcryptHash::parse(s)?))),
            "argon2id" | "argon2i" | "argon2d" => Ok(own(boxed(parse_argon2(s)?))),
            "scrypt" => Ok(own(boxed(parse_scrypt(s)?))),
            id if id == "pbkdf2" || id.starts_with("pbkdf2-") => Ok(own(boxed(parse_pbkdf2(
                s,
                Pbkdf2Defaults {
                    iterations: None,
                    length: None,
                },
            )?))),
            "1" | "apr1" | "5" | "6" => Ok(own(boxed(ModularHash::parse(s)?))),
            "P" | "H" | "S" => Ok(own(boxed(PhpassHash::parse(s)?))),
            "sha1" => Ok(own(legacy::parse_sha1_crypt(s)?)),
            "3" if s.starts_with("$3$$") => Ok(own(legacy::parse_nthash(s)?)),
            "bcrypt-sha256" => Ok(own(legacy::parse_bcrypt_sha256(s)?)),
            "p5k2" => Ok(own(legacy::parse_p5k2(s)?)),
            "md5" => Ok(own(sun_md5::parse(s)?)),
            id if id.starts_with("md5,rounds=") => Ok(own(sun_md5::parse(s)?)),
            "wp" if s.starts_with("$wp$2") => Ok(own(legacy::parse_wordpress(s)?)),
            _ => Err(unrecognised()),
        };
    }
    if s.starts_with('*') && s.len() == 41 {
        return Ok(own(legacy::parse_mysql41(s)?));
    }
    if s.len() > 6 && s.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("0x0100")) {
        return Ok(own(legacy::parse_mssql(s)?));
    }
    if s.starts_with("S:") && s.len() == 62 {
        return Ok(own(legacy::parse_oracle11(s)?));
    }
    if s.starts_with("grub.pbkdf2.sha512.") {
        return Ok(own(legacy::parse_grub(s)?));
    }
    if legacy::claims_nextcloud(s) {
        return Ok(own(legacy::parse_nextcloud(s)?));
    }
    if s.starts_with("U$") {
        return Ok(own(boxed(PhpassHash::parse(s)?)));
    }
    if let Some((alg, _)) = s.split_once('$')
        && django::ALGORITHMS.contains(&alg)
    {
        return Ok(own(django::parse(s)?));
    }
    if aspnet::claims(s) {
        return Ok(own(boxed(aspnet::parse(s)?)));
    }
    if s.starts_with('_') && s.len() == 20 {
        return Ok(own(des_crypt::parse_bsdi(s)?));
    }
    if des_crypt::claims_des(s) {
        return Ok(own(des_crypt::parse_des(s)?));
    }
    Err(unrecognised())
}
