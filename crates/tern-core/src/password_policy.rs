//! Auth0's password strength levels (`options.passwordPolicy` of a database
//! connection), applied when a password is set through Tern. Passwords that
//! arrive as legacy hashes are not re-checked: users keep what they had.

/// Check `password` against the connection's policy; `Err` says what is missing.
pub fn check(policy: Option<&str>, password: &str) -> Result<(), String> {
    let len = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    let n_classes = classes.iter().filter(|b| **b).count();
    let (min_len, rule): (usize, &str) = match policy.unwrap_or("none") {
        "low" => (6, ""),
        "fair" => (8, "lower case letters, upper case letters and numbers"),
        "good" => (
            8,
            "at least 3 of: lower case letters, upper case letters, numbers, special characters",
        ),
        "excellent" => (
            10,
            "at least 3 of: lower case letters, upper case letters, numbers, special characters; no more than 2 identical characters in a row",
        ),
        _ => (1, ""),
    };
    if len < min_len {
        return Err(format!(
            "Password is too weak: at least {min_len} characters are required."
        ));
    }
    let ok = match policy.unwrap_or("none") {
        "fair" => classes[0] && classes[1] && classes[2],
        "good" => n_classes >= 3,
        "excellent" => n_classes >= 3 && !has_triple(password),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Password is too weak: it must contain {rule}."))
    }
}

/// What the policy asks for, in a sentence for a person choosing a password;
/// `None` when it asks for nothing.
pub fn requirements(policy: Option<&str>) -> Option<&'static str> {
    match policy.unwrap_or("none") {
        "low" => Some("At least 6 characters."),
        "fair" => {
            Some("At least 8 characters, with lower case letters, upper case letters and numbers.")
        }
        "good" => Some(
            "At least 8 characters, with at least 3 of: lower case letters, upper case letters, numbers, special characters.",
        ),
        "excellent" => Some(
            "At least 10 characters, with at least 3 of: lower case letters, upper case letters, numbers, special characters; no character more than twice in a row.",
        ),
        _ => None,
    }
}

fn has_triple(p: &str) -> bool {
    let c: Vec<char> = p.chars().collect();
    c.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn levels() {
        let cases = [
            (None, "a", true),
            (Some("low"), "abcde", false),
            (Some("low"), "abcdef", true),
            (Some("fair"), "abcdefgh", false),
            (Some("fair"), "abcDEF12", true),
            (Some("good"), "abcdefg1", false),
            (Some("good"), "abcdef1!", true),
            (Some("excellent"), "aaaBBB111!", false),
            (Some("excellent"), "abcBCD123!", true),
        ];
        for (policy, pw, ok) in cases {
            assert_eq!(check(policy, pw).is_ok(), ok, "{policy:?} {pw}");
        }
    }
}
