//! `x-acs-content-sha256` / HashedPayload: the lower-case hex SHA-256 of the exact body bytes.

use super::encode::hex_lower;
use crate::error::Error;
use crate::prelude::*;
use sha2::{Digest, Sha256};

/// The hex SHA-256 of a request body, computed here or handed in by a host that hashed the
/// body itself (with its native digest), in which case the core never sees the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadHash(String);

impl PayloadHash {
    /// The hash of the empty body, `e3b0c442…b855`.
    pub fn empty() -> Self {
        // A constant: many requests have no body (tested against the digest below).
        PayloadHash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned())
    }

    /// Hashes `body`.
    pub fn of_bytes(body: &[u8]) -> Self {
        PayloadHash(hex_lower(&Sha256::digest(body)))
    }

    /// A hash computed elsewhere: 64 hex digits (upper case is accepted and lower-cased).
    pub fn from_hex(hex: &str) -> Result<Self, Error> {
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(PayloadHash(hex.to_ascii_lowercase()))
        } else {
            Err(Error::invalid("payloadHash", "must be the 64-digit hex SHA-256 of the body"))
        }
    }

    /// The 64 lower-case hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashes a body that arrives in pieces (a host can copy a large buffer in chunks and never
/// hold it twice).
#[derive(Debug, Clone, Default)]
pub struct PayloadHasher(Sha256);

impl PayloadHasher {
    /// A hasher with nothing fed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next piece of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        self.0.update(chunk);
    }

    /// The hash of everything fed.
    pub fn finish(self) -> PayloadHash {
        PayloadHash(hex_lower(&self.0.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // The empty-string digest is quoted in the reference; "test" is from openapi-util's own test.
        assert_eq!(PayloadHash::empty().as_str(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(PayloadHash::empty(), PayloadHash::of_bytes(&[]));
        assert_eq!(
            PayloadHash::of_bytes(b"test").as_str(),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }

    #[test]
    fn chunked_equals_whole() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut hasher = PayloadHasher::new();
        for chunk in body.chunks(333) {
            hasher.update(chunk);
        }
        assert_eq!(hasher.finish(), PayloadHash::of_bytes(&body));
    }

    #[test]
    fn precomputed_is_validated() {
        let upper = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_eq!(PayloadHash::from_hex(upper), Ok(PayloadHash::empty()));
        assert!(PayloadHash::from_hex("").is_err());
        assert!(PayloadHash::from_hex(&"g".repeat(64)).is_err());
        assert!(PayloadHash::from_hex(&"a".repeat(63)).is_err());
    }
}
