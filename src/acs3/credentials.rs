//! AccessKey and STS credentials, which never print their secret parts.

use crate::error::Error;
use crate::prelude::*;
use core::fmt;
use hmac::{KeyInit, Mac};

/// HMAC-SHA256, the signature's MAC.
pub(crate) type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A string that must not leak: `Debug` shows `<redacted>` and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it (the HMAC key, a header value).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// AccessKey credentials, optionally temporary (STS) with a security token. Cloning is cheap
/// (shared), as every request clones them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(alloc::sync::Arc<Parts>);

struct Parts {
    access_key_id: String,
    access_key_secret: Secret,
    security_token: Option<Secret>,
    /// The MAC keyed with the secret, cloned for each signature: keying hashes two blocks,
    /// paid once here rather than on every request.
    mac: HmacSha256,
}

impl PartialEq for Parts {
    fn eq(&self, other: &Self) -> bool {
        // The MAC is derived from the secret.
        (&self.access_key_id, &self.access_key_secret, &self.security_token)
            == (&other.access_key_id, &other.access_key_secret, &other.security_token)
    }
}

impl Eq for Parts {}

/// An AccessKey id appears in the `Authorization` header as `Credential=<id>,`: it must be
/// header-safe and hold no `,` or space that would change how that header parses.
fn valid_access_key_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && id.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

/// A header value we can send as-is: printable ASCII or tab, no CR/LF (fetch rejects the rest).
pub(crate) fn header_safe(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

impl Credentials {
    /// Validated credentials. An empty `security_token` counts as none.
    ///
    /// Errors never contain the secret or the token.
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<String>,
        security_token: Option<String>,
    ) -> Result<Self, Error> {
        let access_key_id = access_key_id.into();
        let access_key_secret = access_key_secret.into();
        if access_key_id.trim_ascii().is_empty() {
            return Err(Error::credentials("accessKeyId is empty"));
        }
        if !valid_access_key_id(&access_key_id) {
            return Err(Error::credentials("accessKeyId must be printable ASCII without spaces or commas"));
        }
        if access_key_secret.is_empty() {
            return Err(Error::credentials("accessKeySecret is empty"));
        }
        let security_token = security_token.filter(|t| !t.is_empty());
        if let Some(token) = &security_token {
            if !header_safe(token) || token.trim_ascii() != token {
                return Err(Error::credentials(
                    "securityToken must be printable ASCII with no leading or trailing spaces",
                ));
            }
        }
        let mac = HmacSha256::new_from_slice(access_key_secret.as_bytes())
            .map_err(|_| Error::credentials("accessKeySecret cannot be used as an HMAC key"))?;
        Ok(Credentials(alloc::sync::Arc::new(Parts {
            access_key_id,
            access_key_secret: Secret(access_key_secret),
            security_token: security_token.map(Secret),
            mac,
        })))
    }

    /// The AccessKey id (not secret: it travels in the `Authorization` header).
    pub fn access_key_id(&self) -> &str {
        &self.0.access_key_id
    }

    /// The AccessKey secret, the HMAC key.
    pub fn access_key_secret(&self) -> &Secret {
        &self.0.access_key_secret
    }

    /// The STS security token, for temporary credentials.
    pub fn security_token(&self) -> Option<&Secret> {
        self.0.security_token.as_ref()
    }

    /// The raw HMAC-SHA256 of `message` keyed by the secret.
    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.0.mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.0.access_key_id)
            .field("access_key_secret", &self.0.access_key_secret)
            .field("security_token", &self.0.security_token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secret_and_token() {
        let creds = Credentials::new("LTAIid", "s3cr3t-value", Some("t0ken-value".into())).expect("valid");
        let shown = format!("{creds:?} {creds:#?}");
        assert!(shown.contains("LTAIid"));
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(!shown.contains("t0ken-value"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn empty_token_means_none() {
        let creds = Credentials::new("id", "secret", Some(String::new())).expect("valid");
        assert!(creds.security_token().is_none());
    }

    #[test]
    fn rejects_bad_credentials_without_echoing_secrets() {
        let cases: [(&str, &str, Option<&str>); 6] = [
            ("", "secret-xyz", None),
            ("  ", "secret-xyz", None),
            ("id", "", None),
            ("id,x", "secret-xyz", None),
            ("id", "secret-xyz", Some("tok\r\nen-xyz")),
            ("id", "secret-xyz", Some(" token-xyz")),
        ];
        for (id, secret, token) in cases {
            let err = Credentials::new(id, secret, token.map(str::to_owned)).expect_err("invalid");
            assert_eq!(err.code(), "CredentialsError");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("secret-xyz") && !shown.contains("en-xyz"), "{shown}");
        }
    }
}
