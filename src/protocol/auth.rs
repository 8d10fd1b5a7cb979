//! Password checks: mysql_native_password against the stored
//! SHA1(SHA1(password)), caching_sha2_password's fast path against the
//! stored SHA256(SHA256(password)), and a clear password (caching_sha2's
//! full authentication, over TLS or RSA) against either.

use crate::config::{double_sha1, double_sha256, User};
use rand::Rng;
use sha1::{Digest, Sha1};
use sha2::Sha256;

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
        return *stored == double_sha1(b"");
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
    same(&check, stored)
}

/// Whether `response` (SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + salt))
/// proves the password whose double SHA256 is `stored`.
pub fn verify_sha2_scramble(salt: &[u8; 20], response: &[u8], stored: &[u8; 32]) -> bool {
    if response.len() != 32 {
        return false;
    }
    let mut hasher = Sha256::new();
    hasher.update(stored);
    hasher.update(salt);
    let mask = hasher.finalize();
    let mut candidate = [0u8; 32];
    for i in 0..32 {
        candidate[i] = response[i] ^ mask[i];
    }
    let check: [u8; 32] = Sha256::digest(candidate).into();
    same(&check, stored)
}

/// Whether a clear password is `user`'s.
pub fn verify_clear(user: &User, password: &[u8]) -> bool {
    match (&user.password_sha2, &user.password_sha1) {
        (Some(sha2), _) => same(&double_sha256(password), sha2),
        (None, Some(sha1)) => same(&double_sha1(password), sha1),
        (None, None) => false,
    }
}

/// Whether `user`'s password is the empty one.
pub fn has_empty_password(user: &User) -> bool {
    verify_clear(user, b"")
}

/// Constant-time comparison: no early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The password a client sent RSA-encrypted: it XORed `password\0` with
/// the salt (repeated) before encrypting.
pub fn unmask_rsa_password(decrypted: &[u8], salt: &[u8; 20]) -> Vec<u8> {
    let mut clear: Vec<u8> = decrypted
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ salt[i % salt.len()])
        .collect();
    if clear.last() == Some(&0) {
        clear.pop();
    }
    clear
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn caching_sha2_fast_path_accepts_the_client_scramble_only() {
        let salt = new_salt();
        let stored = double_sha256(b"app_pw");
        let response = mysql_common::scramble::scramble_sha256(&salt, b"app_pw").unwrap();
        assert!(verify_sha2_scramble(&salt, &response, &stored));
        let wrong = mysql_common::scramble::scramble_sha256(&salt, b"nope").unwrap();
        assert!(!verify_sha2_scramble(&salt, &wrong, &stored));
        assert!(!verify_sha2_scramble(&salt, &response[..31], &stored));
    }

    #[test]
    fn clear_passwords_check_against_either_hash() {
        let both = User {
            name: "u".into(),
            password_sha1: Some(double_sha1(b"pw")),
            password_sha2: Some(double_sha256(b"pw")),
            schemas: vec![],
            admin: false,
            privileges: crate::config::Privileges::ALL,
        };
        let sha1_only = User {
            password_sha2: None,
            ..both.clone()
        };
        for user in [&both, &sha1_only] {
            assert!(verify_clear(user, b"pw"));
            assert!(!verify_clear(user, b"pw2"));
            assert!(!has_empty_password(user));
        }
        let salt = [7u8; 20];
        let masked: Vec<u8> = b"pw\0"
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ salt[i % 20])
            .collect();
        assert_eq!(unmask_rsa_password(&masked, &salt), b"pw");
    }
}
