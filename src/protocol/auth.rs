//! mysql_native_password, checked against the stored SHA1(SHA1(password)).

use rand::Rng;
use sha1::{Digest, Sha1};

/// 20 random salt bytes, printable ASCII without `$` and NUL, as MySQL
/// servers send them (some clients treat the salt as a C string).
pub fn new_salt() -> [u8; 20] {
    let mut rng = rand::rng();
    let mut salt = [0u8; 20];
    for byte in &mut salt {
        loop {
            let b: u8 = rng.random_range(0x21..0x7f);
            if b != b'$' {
                *byte = b;
                break;
            }
        }
    }
    salt
}

/// Whether `response` (SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw)))) proves the
/// password whose double SHA1 is `stored`. An empty response proves the
/// empty password.
pub fn verify_native(salt: &[u8; 20], response: &[u8], stored: &[u8; 20]) -> bool {
    if response.is_empty() {
        return *stored == crate::config::double_sha1(b"");
    }
    if response.len() != 20 {
        return false;
    }
    let mut hasher = Sha1::new();
    hasher.update(salt);
    hasher.update(stored);
    let mask = hasher.finalize();
    let mut candidate = [0u8; 20];
    for i in 0..20 {
        candidate[i] = response[i] ^ mask[i];
    }
    let check: [u8; 20] = Sha1::digest(candidate).into();
    // Constant-time comparison: no early exit on the first differing byte.
    check
        .iter()
        .zip(stored.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::double_sha1;

    #[test]
    fn accepts_the_client_scramble_and_rejects_others() {
        let salt = new_salt();
        assert!(salt.iter().all(|&b| b != 0 && b != b'$'));
        let stored = double_sha1(b"app_pw");
        let response = mysql_common::scramble::scramble_native(&salt, b"app_pw").unwrap();
        assert!(verify_native(&salt, &response, &stored));
        let wrong = mysql_common::scramble::scramble_native(&salt, b"nope").unwrap();
        assert!(!verify_native(&salt, &wrong, &stored));
        assert!(!verify_native(&salt, b"", &stored));
        assert!(verify_native(&salt, b"", &double_sha1(b"")));
        assert!(!verify_native(&salt, b"short", &stored));
    }
}
