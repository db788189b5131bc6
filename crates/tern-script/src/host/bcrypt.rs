//! `bcrypt` / `bcryptjs` on the `bcrypt` crate.

use base64::Engine;

/// Highest accepted cost: each step doubles the work (cost 16 ≈ a few seconds).
pub(crate) const MAX_COST: u32 = 16;
const MIN_COST: u32 = 4;

const BCRYPT_B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &bcrypt_alphabet(),
    base64::engine::general_purpose::NO_PAD,
);

const fn bcrypt_alphabet() -> base64::alphabet::Alphabet {
    match base64::alphabet::Alphabet::new(
        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    ) {
        Ok(a) => a,
        Err(_) => panic!("invalid bcrypt alphabet"),
    }
}

/// `genSaltSync(rounds)`: `$2b$NN$` + 22 salt characters.
pub(crate) fn gen_salt(rounds: Option<f64>) -> Result<String, String> {
    let cost = cost_of(rounds.unwrap_or(10.0))?;
    let salt = super::crypto::random(16);
    let encoded = BCRYPT_B64.encode(&salt);
    Ok(format!("$2b${cost:02}${}", &encoded[..22]))
}

fn cost_of(rounds: f64) -> Result<u32, String> {
    if !rounds.is_finite() || rounds.fract() != 0.0 {
        return Err("Invalid rounds".into());
    }
    let cost = rounds.clamp(MIN_COST as f64, 31.0) as u32;
    if cost > MAX_COST {
        return Err(format!(
            "bcrypt cost {cost} exceeds the sandbox maximum of {MAX_COST}"
        ));
    }
    Ok(cost)
}

/// `hashSync(password, saltOrRounds)`; `salt_or_rounds` is a number as text or a salt.
pub(crate) fn hash(password: &str, salt_or_rounds: &str) -> Result<String, String> {
    if let Ok(rounds) = salt_or_rounds.trim().parse::<f64>() {
        let cost = cost_of(rounds)?;
        return bcrypt::hash(password, cost).map_err(|e| e.to_string());
    }
    // A salt string: $2a$10$ + 22 chars.
    let parts: Vec<&str> = salt_or_rounds.split('$').collect();
    let Some(salt_text) = parts.get(3).and_then(|p| p.get(..22)) else {
        return Err(
            "Invalid salt. Salt must be in the form of: $Vers$log2(NumRounds)$saltvalue".into(),
        );
    };
    let version = match parts[1] {
        "2a" => bcrypt::Version::TwoA,
        "2b" => bcrypt::Version::TwoB,
        "2y" => bcrypt::Version::TwoY,
        "2x" => bcrypt::Version::TwoX,
        _ => return Err("Invalid salt version".into()),
    };
    let cost = cost_of(
        parts[2]
            .parse::<f64>()
            .map_err(|_| "Invalid salt rounds".to_owned())?,
    )?;
    let raw = BCRYPT_B64
        .decode(salt_text)
        .map_err(|_| "Invalid salt".to_owned())?;
    let salt: [u8; 16] = raw
        .get(..16)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| "Invalid salt".to_owned())?;
    bcrypt::hash_with_salt(password, cost, salt)
        .map(|h| h.format_for_version(version))
        .map_err(|e| e.to_string())
}

/// `compareSync(password, hash)`: false for malformed hashes (like node's bcrypt).
pub(crate) fn compare(password: &str, hash: &str) -> Result<bool, String> {
    let cost = hash.split('$').nth(2).and_then(|c| c.parse::<u32>().ok());
    match cost {
        Some(c) if c > MAX_COST => Err(format!(
            "bcrypt cost {c} exceeds the sandbox maximum of {MAX_COST}"
        )),
        Some(_) => Ok(bcrypt::verify(password, hash).unwrap_or(false)),
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salt_and_hash() {
        let salt = gen_salt(Some(4.0)).unwrap();
        assert!(salt.starts_with("$2b$04$"));
        assert_eq!(salt.len(), 29);
        let h = hash("secret", &salt).unwrap();
        assert!(h.starts_with(&salt));
        assert!(compare("secret", &h).unwrap());
        assert!(!compare("other", &h).unwrap());
        let h2 = hash("secret", "4").unwrap();
        assert!(compare("secret", &h2).unwrap());
        assert!(!compare("secret", "not a hash").unwrap());
        assert!(hash("x", "20").is_err());
    }
}
