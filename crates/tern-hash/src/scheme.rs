//! The catalogue of schemes and their stable names.

use crate::digest::Digest;

/// A password-hash scheme. `name()` is stable and lower-case; Tern uses it in
/// statistics and in `tern hash identify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// bcrypt `$2a$`, `$2b$`, `$2y$` — `"bcrypt"`.
    Bcrypt,
    /// Argon2id PHC string — `"argon2id"`.
    Argon2id,
    /// Argon2i PHC string — `"argon2i"`.
    Argon2i,
    /// Argon2d PHC string — `"argon2d"`.
    Argon2d,
    /// scrypt PHC string `$scrypt$ln=,r=,p=$` — `"scrypt"`.
    Scrypt,
    /// PBKDF2 PHC string `$pbkdf2-<digest>$i=,l=$` — `"pbkdf2-sha256"` etc.
    Pbkdf2(Digest),
    /// passlib's PBKDF2 (`$pbkdf2$`, `$pbkdf2-sha256$`, `$pbkdf2-sha512$` with
    /// bare rounds and the ab64 alphabet) — `"passlib-pbkdf2-sha256"` etc.
    PasslibPbkdf2(Digest),
    /// md5-crypt `$1$` — `"md5-crypt"`.
    Md5Crypt,
    /// Apache's md5-crypt variant `$apr1$` — `"apr1-md5-crypt"`.
    Apr1Md5Crypt,
    /// sha256-crypt `$5$` — `"sha256-crypt"`.
    Sha256Crypt,
    /// sha512-crypt `$6$` — `"sha512-crypt"`.
    Sha512Crypt,
    /// phpass portable hash `$P$` / `$H$` (WordPress, phpBB) — `"phpass"`.
    Phpass,
    /// Drupal 7 `$S$` (sha512 phpass variant) — `"drupal7"`.
    Drupal7,
    /// Drupal 7 `U$…`: a Drupal 6 md5 hash re-hashed by Drupal 7 —
    /// `"drupal7-upgraded"`.
    Drupal7Upgraded,
    /// Django `pbkdf2_sha256$` — `"django-pbkdf2-sha256"`.
    DjangoPbkdf2Sha256,
    /// Django `pbkdf2_sha1$` — `"django-pbkdf2-sha1"`.
    DjangoPbkdf2Sha1,
    /// Django `bcrypt_sha256$` — `"django-bcrypt-sha256"`.
    DjangoBcryptSha256,
    /// Django `bcrypt$` — `"django-bcrypt"`.
    DjangoBcrypt,
    /// Django `argon2$` — `"django-argon2"`.
    DjangoArgon2,
    /// Django `scrypt$` — `"django-scrypt"`.
    DjangoScrypt,
    /// Django legacy `sha1$salt$hex` — `"django-sha1"`.
    DjangoSha1,
    /// Django legacy `md5$salt$hex` — `"django-md5"`.
    DjangoMd5,
    /// RFC 2307 LDAP `{MD5}`, `{SSHA512}`, ... — `"ldap-md5"`, `"ldap-ssha512"`.
    Ldap {
        /// The digest.
        digest: Digest,
        /// `{S…}` schemes append a salt to the password and to the digest.
        salted: bool,
    },
    /// ASP.NET Identity v2 (marker byte 0x00) — `"aspnet-identity-v2"`.
    AspNetIdentityV2,
    /// ASP.NET Identity v3 (marker byte 0x01) — `"aspnet-identity-v3"`.
    AspNetIdentityV3,
    /// Atlassian Crowd/Jira/Confluence `{PKCS5S2}` — `"atlassian-pbkdf2-sha1"`.
    AtlassianPbkdf2Sha1,
    /// OpenLDAP/passlib `{PBKDF2}`, `{PBKDF2-SHA256}`, `{PBKDF2-SHA512}` —
    /// `"ldap-pbkdf2-sha1"` etc. (SHA-1, SHA-256 and SHA-512 only).
    LdapPbkdf2(Digest),
    /// `{CRYPT}` wrapping a crypt string Tern reads — `"ldap-crypt"`.
    LdapCrypt,
    /// MySQL 4.1+ `PASSWORD()` `*`+40 hex — `"mysql41"`.
    Mysql41,
    /// SQL Server 2000 `0x0100…` (two digests) — `"mssql2000"`.
    Mssql2000,
    /// SQL Server 2005 `0x0100…` — `"mssql2005"`.
    Mssql2005,
    /// Oracle 11g `S:`+60 hex — `"oracle11"`.
    Oracle11,
    /// NetBSD `$sha1$` — `"sha1-crypt"`.
    Sha1Crypt,
    /// FreeBSD `$3$$` NT hash — `"bsd-nthash"`.
    BsdNtHash,
    /// passlib `$bcrypt-sha256$` (v1 and v2) — `"bcrypt-sha256"`.
    BcryptSha256,
    /// GRUB `grub.pbkdf2.sha512.` — `"grub-pbkdf2-sha512"`.
    GrubPbkdf2Sha512,
    /// Cryptacular `$p5k2$` — `"cta-pbkdf2-sha1"`.
    CtaPbkdf2Sha1,
    /// Dwayne Litzenberger's `$p5k2$` — `"dlitz-pbkdf2-sha1"`.
    DlitzPbkdf2Sha1,
    /// FSHP `{FSHP<v>|<salt>|<rounds>}` — `"fshp"`.
    Fshp,
    /// WordPress 6.8+ `$wp$2y$` — `"wordpress-bcrypt"`.
    WordPressBcrypt,
    /// Nextcloud `1|`, `2|`, `3|` over bcrypt/argon2 — `"nextcloud"`.
    Nextcloud,
    /// Traditional Unix DES crypt (13 characters) — `"des-crypt"`.
    DesCrypt,
    /// BSDi extended DES crypt (`_` + 19 characters) — `"bsdi-crypt"`.
    BsdiCrypt,
    /// Solaris `$md5$` — `"sun-md5-crypt"`.
    SunMd5Crypt,
    /// `tern_password_hash` `firebase-scrypt` — `"firebase-scrypt"`.
    FirebaseScrypt,
    /// `tern_password_hash` `magento2` — `"magento2"`.
    Magento2,
    /// `tern_password_hash` `joomla` (MD5 hash:salt) — `"joomla-md5"`.
    Joomla,
    /// `tern_password_hash` `keycloak` with PBKDF2 — `"keycloak-pbkdf2-sha256"` etc.
    KeycloakPbkdf2(Digest),
    /// `tern_password_hash` `keycloak` with Argon2 — `"keycloak-argon2"`.
    KeycloakArgon2,
    /// `tern_password_hash` `devise-bcrypt` (peppered) — `"devise-bcrypt"`.
    DeviseBcrypt,
    /// `tern_password_hash` `vbulletin` — `"vbulletin-md5"`.
    VBulletin,
    /// `tern_password_hash` `smf` — `"smf-sha1"`.
    Smf,
    /// `tern_password_hash` `smf` with a bcrypt hash (SMF 2.1) — `"smf-bcrypt"`.
    SmfBcrypt,
    /// `tern_password_hash` `discourse` — `"discourse-pbkdf2-sha256"`.
    DiscoursePbkdf2Sha256,
    /// An Auth0 `custom_password_hash` object that is not a plain
    /// self-describing string — `"auth0-custom-sha256"`, `"auth0-custom-hmac-sha1"`, ...
    Auth0Custom(CustomAlgorithm),
}

/// The `algorithm` of an Auth0 `custom_password_hash` object kept as an
/// object (see [`Scheme::Auth0Custom`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomAlgorithm {
    /// `md4` digest.
    Md4,
    /// `md5` digest.
    Md5,
    /// `sha1` digest.
    Sha1,
    /// `sha256` digest.
    Sha256,
    /// `sha512` digest.
    Sha512,
    /// `hmac` with its digest.
    Hmac(Digest),
    /// `scrypt` with parameters in the object.
    Scrypt,
    /// `bcrypt` with an extra salt or a password encoding.
    Bcrypt,
    /// `argon2` with a password encoding.
    Argon2,
    /// `pbkdf2` with a password encoding.
    Pbkdf2,
    /// `ldap` with a password encoding.
    Ldap,
}

macro_rules! by_digest {
    ($d:expr, $prefix:literal) => {
        match $d {
            Digest::Md4 => concat!($prefix, "md4"),
            Digest::Md5 => concat!($prefix, "md5"),
            Digest::Ripemd160 => concat!($prefix, "ripemd160"),
            Digest::Sha1 => concat!($prefix, "sha1"),
            Digest::Sha224 => concat!($prefix, "sha224"),
            Digest::Sha256 => concat!($prefix, "sha256"),
            Digest::Sha384 => concat!($prefix, "sha384"),
            Digest::Sha512 => concat!($prefix, "sha512"),
            Digest::Whirlpool => concat!($prefix, "whirlpool"),
        }
    };
}

impl Scheme {
    /// The schemes a self-describing hash string can have (every scheme but
    /// [`Scheme::Auth0Custom`]), for configuration that names one.
    pub fn self_describing() -> impl Iterator<Item = Scheme> {
        const FIXED: [Scheme; 43] = [
            Scheme::Bcrypt,
            Scheme::Argon2id,
            Scheme::Argon2i,
            Scheme::Argon2d,
            Scheme::Scrypt,
            Scheme::Md5Crypt,
            Scheme::Apr1Md5Crypt,
            Scheme::Sha256Crypt,
            Scheme::Sha512Crypt,
            Scheme::Phpass,
            Scheme::Drupal7,
            Scheme::Drupal7Upgraded,
            Scheme::DjangoPbkdf2Sha256,
            Scheme::DjangoPbkdf2Sha1,
            Scheme::DjangoBcryptSha256,
            Scheme::DjangoBcrypt,
            Scheme::DjangoArgon2,
            Scheme::DjangoScrypt,
            Scheme::DjangoSha1,
            Scheme::DjangoMd5,
            Scheme::AspNetIdentityV2,
            Scheme::AspNetIdentityV3,
            Scheme::AtlassianPbkdf2Sha1,
            Scheme::LdapPbkdf2(Digest::Sha1),
            Scheme::LdapPbkdf2(Digest::Sha256),
            Scheme::LdapPbkdf2(Digest::Sha512),
            Scheme::LdapCrypt,
            Scheme::Mysql41,
            Scheme::Mssql2000,
            Scheme::Mssql2005,
            Scheme::Oracle11,
            Scheme::Sha1Crypt,
            Scheme::BsdNtHash,
            Scheme::BcryptSha256,
            Scheme::GrubPbkdf2Sha512,
            Scheme::CtaPbkdf2Sha1,
            Scheme::DlitzPbkdf2Sha1,
            Scheme::Fshp,
            Scheme::WordPressBcrypt,
            Scheme::Nextcloud,
            Scheme::DesCrypt,
            Scheme::BsdiCrypt,
            Scheme::SunMd5Crypt,
        ];
        FIXED
            .into_iter()
            .chain(Digest::ALL.into_iter().flat_map(|d| {
                [
                    Scheme::Pbkdf2(d),
                    Scheme::PasslibPbkdf2(d),
                    Scheme::Ldap {
                        digest: d,
                        salted: false,
                    },
                    Scheme::Ldap {
                        digest: d,
                        salted: true,
                    },
                ]
            }))
    }

    /// The self-describing scheme called `name` (see [`Scheme::name`]).
    pub fn from_name(name: &str) -> Option<Scheme> {
        Self::self_describing().find(|s| s.name() == name)
    }

    /// Stable lower-case name, e.g. `"bcrypt"`, `"argon2id"`,
    /// `"pbkdf2-sha256"`, `"django-pbkdf2-sha256"`, `"ldap-ssha"`,
    /// `"auth0-custom-sha256"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bcrypt => "bcrypt",
            Self::Argon2id => "argon2id",
            Self::Argon2i => "argon2i",
            Self::Argon2d => "argon2d",
            Self::Scrypt => "scrypt",
            Self::Pbkdf2(d) => by_digest!(d, "pbkdf2-"),
            Self::PasslibPbkdf2(d) => by_digest!(d, "passlib-pbkdf2-"),
            Self::Md5Crypt => "md5-crypt",
            Self::Apr1Md5Crypt => "apr1-md5-crypt",
            Self::Sha256Crypt => "sha256-crypt",
            Self::Sha512Crypt => "sha512-crypt",
            Self::Phpass => "phpass",
            Self::Drupal7 => "drupal7",
            Self::Drupal7Upgraded => "drupal7-upgraded",
            Self::DjangoPbkdf2Sha256 => "django-pbkdf2-sha256",
            Self::DjangoPbkdf2Sha1 => "django-pbkdf2-sha1",
            Self::DjangoBcryptSha256 => "django-bcrypt-sha256",
            Self::DjangoBcrypt => "django-bcrypt",
            Self::DjangoArgon2 => "django-argon2",
            Self::DjangoScrypt => "django-scrypt",
            Self::DjangoSha1 => "django-sha1",
            Self::DjangoMd5 => "django-md5",
            Self::Ldap {
                digest,
                salted: false,
            } => match digest {
                Digest::Sha1 => "ldap-sha",
                d => by_digest!(d, "ldap-"),
            },
            Self::Ldap {
                digest,
                salted: true,
            } => match digest {
                Digest::Sha1 => "ldap-ssha",
                Digest::Md5 => "ldap-smd5",
                d => by_digest!(d, "ldap-s"),
            },
            Self::AspNetIdentityV2 => "aspnet-identity-v2",
            Self::AspNetIdentityV3 => "aspnet-identity-v3",
            Self::AtlassianPbkdf2Sha1 => "atlassian-pbkdf2-sha1",
            Self::LdapPbkdf2(d) => by_digest!(d, "ldap-pbkdf2-"),
            Self::LdapCrypt => "ldap-crypt",
            Self::Mysql41 => "mysql41",
            Self::Mssql2000 => "mssql2000",
            Self::Mssql2005 => "mssql2005",
            Self::Oracle11 => "oracle11",
            Self::Sha1Crypt => "sha1-crypt",
            Self::BsdNtHash => "bsd-nthash",
            Self::BcryptSha256 => "bcrypt-sha256",
            Self::GrubPbkdf2Sha512 => "grub-pbkdf2-sha512",
            Self::CtaPbkdf2Sha1 => "cta-pbkdf2-sha1",
            Self::DlitzPbkdf2Sha1 => "dlitz-pbkdf2-sha1",
            Self::Fshp => "fshp",
            Self::WordPressBcrypt => "wordpress-bcrypt",
            Self::Nextcloud => "nextcloud",
            Self::DesCrypt => "des-crypt",
            Self::BsdiCrypt => "bsdi-crypt",
            Self::SunMd5Crypt => "sun-md5-crypt",
            Self::FirebaseScrypt => "firebase-scrypt",
            Self::Magento2 => "magento2",
            Self::Joomla => "joomla-md5",
            Self::KeycloakPbkdf2(d) => by_digest!(d, "keycloak-pbkdf2-"),
            Self::KeycloakArgon2 => "keycloak-argon2",
            Self::DeviseBcrypt => "devise-bcrypt",
            Self::VBulletin => "vbulletin-md5",
            Self::Smf => "smf-sha1",
            Self::SmfBcrypt => "smf-bcrypt",
            Self::DiscoursePbkdf2Sha256 => "discourse-pbkdf2-sha256",
            Self::Auth0Custom(a) => match a {
                CustomAlgorithm::Md4 => "auth0-custom-md4",
                CustomAlgorithm::Md5 => "auth0-custom-md5",
                CustomAlgorithm::Sha1 => "auth0-custom-sha1",
                CustomAlgorithm::Sha256 => "auth0-custom-sha256",
                CustomAlgorithm::Sha512 => "auth0-custom-sha512",
                CustomAlgorithm::Hmac(d) => by_digest!(d, "auth0-custom-hmac-"),
                CustomAlgorithm::Scrypt => "auth0-custom-scrypt",
                CustomAlgorithm::Bcrypt => "auth0-custom-bcrypt",
                CustomAlgorithm::Argon2 => "auth0-custom-argon2",
                CustomAlgorithm::Pbkdf2 => "auth0-custom-pbkdf2",
                CustomAlgorithm::Ldap => "auth0-custom-ldap",
            },
        }
    }
}

impl std::fmt::Display for Scheme {
    /// Writes [`Scheme::name`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
