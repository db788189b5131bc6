//! Auth0's default password dictionary: with `password_dictionary.enable`,
//! a connection refuses the 10 000 most common passwords as well as its own
//! `dictionary` entries (Auth0's `en_10k`).
//!
//! The list and the guessing model are zxcvbn's (Dropbox's estimator, as a
//! crate): a password is common when, lower-cased, it is one of the list's
//! first 10 000 entries, or when zxcvbn would guess it in fewer tries than
//! that — which also catches the list's passwords reversed, repeated, in
//! l33t spelling or as keyboard runs (`drowssap`, `P@ssw0rd`, `654321`).

use zxcvbn::matching::patterns::{DictionaryPattern, MatchPattern};

/// How many of the most common passwords are refused (Auth0's `en_10k`).
pub const COMMON_PASSWORDS: usize = 10_000;

/// No entry of the list is this long; longer passwords are not looked up,
/// which also bounds the estimator's work (quadratic in the length).
const LONGEST_CHECKED: usize = 64;

/// Whether `password` is one of the most common passwords, whatever its case.
pub fn is_common_password(password: &str) -> bool {
    let lower = password.to_lowercase();
    let chars = lower.chars().count();
    if chars == 0 || chars > LONGEST_CHECKED {
        return false;
    }
    let estimate = zxcvbn::zxcvbn(&lower, &[]);
    // The estimator's `DictionaryType` is not public; its default is the
    // list of passwords.
    let passwords = DictionaryPattern::default().dictionary_name;
    estimate.guesses() < COMMON_PASSWORDS as u64
        || estimate.sequence().iter().any(|m| {
            m.i == 0
                && m.j + 1 == chars
                && matches!(&m.pattern, MatchPattern::Dictionary(d)
                    if d.dictionary_name == passwords && d.rank <= COMMON_PASSWORDS)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_common_passwords_and_their_variants_are_refused() {
        // Passwords at the top of every published breach list, and simple
        // variants of them.
        for p in [
            "123456",
            "password",
            "Password",
            "qwerty",
            "iloveyou",
            "letmein",
            "football",
            "monkey",
            "dragon",
            "Password1",
            "P@ssw0rd",
            "drowssap",
            "654321",
            "Qwerty123456",
        ] {
            assert!(is_common_password(p), "{p}");
        }
    }

    #[test]
    fn uncommon_passwords_pass() {
        for p in [
            "",
            "correct horse battery staple",
            "Tr0ub4dor&3",
            "xK9#mP2$vL",
            "Blue-Fox-7",
            "Apollo-Guidance-11",
            &"password".repeat(9),
        ] {
            assert!(!is_common_password(p), "{p}");
        }
    }
}
