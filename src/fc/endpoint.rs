//! Where Function Compute 3.0 listens: `https://{accountId}.{regionId}.fc.aliyuncs.com`, or any
//! explicit endpoint (a proxy, a local server).

use crate::error::Error;
use crate::http::Url;
use crate::prelude::*;
use crate::text::concat;

/// A validated endpoint: scheme, host and port only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    origin: String,
    /// The root URL, parsed once: InvokeFunction, the hot path, takes its URL from it without
    /// formatting and parsing a string on every call.
    root: Url,
}

/// A DNS label of the kind account and region ids are: ASCII letters, digits and `-`,
/// 1 to 63 characters, not starting or ending with `-`.
fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl Endpoint {
    /// The public endpoint of an account in a region, e.g. `https://123.cn-hangzhou.fc.aliyuncs.com`.
    pub fn for_region(account_id: &str, region: &str) -> Result<Self, Error> {
        if !is_dns_label(account_id) {
            return Err(Error::invalid(
                "accountId",
                "must be your Alibaba Cloud account id (digits), e.g. 1234567890123456",
            ));
        }
        if !is_dns_label(region) || region.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "region",
                "must be a region id such as cn-hangzhou (lower-case letters, digits, '-')",
            ));
        }
        Self::parse(&concat(&["https://", account_id, ".", region, ".fc.aliyuncs.com"]))
    }

    /// An explicit endpoint URL, `http://` or `https://`, with no path beyond `/`, no query and
    /// no user info: FC's paths start at the root, and a path prefix would be signed but not
    /// seen by the service.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let trimmed = url.trim_ascii();
        let parsed = Url::parse(trimmed, "endpoint")?;
        if parsed.path() != "/" || !parsed.query().is_empty() || trimmed.contains('?') || trimmed.contains('#') {
            return Err(Error::invalid(
                "endpoint",
                "must be scheme://host[:port] only, without a path, query or fragment",
            ));
        }
        Ok(Endpoint { origin: parsed.origin(), root: parsed })
    }

    /// `scheme://host[:port]`, no trailing slash.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The URL of `encoded_path` (percent-encoded, from the root) on this endpoint.
    pub(crate) fn url(&self, encoded_path: String) -> Url {
        self.root.with_path(encoded_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_endpoints() {
        let e = Endpoint::for_region("1234567890123456", "cn-hangzhou").expect("valid");
        assert_eq!(e.origin(), "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com");
        for (account, region) in [
            ("", "cn-hangzhou"),
            ("12/3", "cn-hangzhou"),
            ("123", ""),
            ("123", "CN-hangzhou"),
            ("123", "cn.hangzhou"),
            ("123", "-cn"),
        ] {
            assert!(Endpoint::for_region(account, region).is_err(), "{account:?} {region:?}");
        }
    }

    #[test]
    fn explicit_endpoints() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:9000").map(|e| e.origin().to_owned()),
            Ok("http://127.0.0.1:9000".to_owned())
        );
        assert_eq!(
            Endpoint::parse("https://FC.example.com:443/").map(|e| e.origin().to_owned()),
            Ok("https://fc.example.com".to_owned())
        );
        for bad in ["", "127.0.0.1:9000", "https://h/prefix", "https://h/?a=1", "https://h/#x", "https://u@h", "ws://h"]
        {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
