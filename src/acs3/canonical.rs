//! The two intermediate texts of the signature, each a type whose `Display` is its exact bytes.

use super::encode::{percent_encode, push_hex_lower};
use super::payload::PayloadHash;
use crate::prelude::*;
use core::fmt;
use sha2::{Digest, Sha256};

/// The signature algorithm's name, first in the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Whether a (lower-case) header name takes part in the signature: `host`, `content-type`
/// and every `x-acs-*`, as the official SDK signs them.
pub fn is_signed_header(name: &str) -> bool {
    name == "host" || name == "content-type" || name.starts_with("x-acs-")
}

/// `items` in ascending order. A heapsort (std's `BinaryHeap`) rather than `sort_unstable`:
/// the latter's quicksort is ~3.5 KB of .wasm; for the few headers and query pairs signed
/// here a heapsort is as fast, and still O(n log n). Equal elements are alike, so the order
/// is exactly `sort_unstable`'s.
pub(crate) fn sorted<T: Ord>(items: Vec<T>) -> Vec<T> {
    alloc::collections::BinaryHeap::from(items).into_sorted_vec()
}

/// CanonicalURI from a percent-encoded path, with the SDK's replacements:
/// `+`→`%20`, `*`→`%2A`, `%7E`→`~`.
pub fn canonical_uri(encoded_path: &str) -> String {
    let mut out = String::with_capacity(encoded_path.len() + 8);
    let mut rest = encoded_path;
    while let Some(c) = rest.chars().next() {
        match c {
            '+' => out.push_str("%20"),
            '*' => out.push_str("%2A"),
            '%' if rest.starts_with("%7E") => {
                out.push('~');
                rest = rest.get(2..).unwrap_or_default();
            }
            c => out.push(c),
        }
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    out
}

/// CanonicalQueryString from decoded pairs: sorted by key then value (byte order) as they
/// are, then each percent-encoded as `key=value` (`key=` for an empty value), joined by `&`.
/// Sorted before encoding, as the docs order the steps and the official SDK sorts its raw
/// keys (`Object.keys(query).sort()`): encoding first would move `{` (`%7B`) before `a`.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in sorted(pairs.to_vec()).iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

/// `METHOD\nCanonicalURI\nCanonicalQueryString\nCanonicalHeaders\nSignedHeaders\nHashedPayload`.
///
/// `Display` and `Debug` show the STS token's value as `<redacted>` (they end up in logs); the
/// exact bytes are [`CanonicalRequest::as_str`].
#[derive(Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    text: String,
    signed_headers: String,
}

impl CanonicalRequest {
    /// Builds the canonical request. `headers` must already be lower-cased, trimmed and merged
    /// (one entry per name): this only sorts them, when they are not, and uses the signed ones.
    /// ([`super::sign`] calls `CanonicalRequest::from_sorted` directly.)
    pub fn new(
        method: &str,
        canonical_uri: &str,
        canonical_query: &str,
        headers: &[(String, String)],
        payload_hash: &PayloadHash,
    ) -> Self {
        let owned;
        let headers = if headers.is_sorted() {
            headers
        } else {
            owned = sorted(headers.to_vec());
            &owned
        };
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        Self::from_sorted(method, canonical_uri, canonical_query, &headers, payload_hash)
    }

    /// [`CanonicalRequest::new`] from headers already sorted by name.
    pub(crate) fn from_sorted(
        method: &str,
        canonical_uri: &str,
        canonical_query: &str,
        headers: &[(&str, &str)],
        payload_hash: &PayloadHash,
    ) -> Self {
        let signed = || headers.iter().filter(|(n, _)| is_signed_header(n));
        let mut signed_headers = String::with_capacity(160);
        let mut text = String::with_capacity(
            64 + canonical_uri.len()
                + canonical_query.len()
                + signed().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>() * 2,
        );
        for part in [method, "\n", canonical_uri, "\n", canonical_query, "\n"] {
            text.push_str(part);
        }
        for (name, value) in signed() {
            for part in [name, ":", value, "\n"] {
                text.push_str(part);
            }
            if !signed_headers.is_empty() {
                signed_headers.push(';');
            }
            signed_headers.push_str(name);
        }
        for part in ["\n", signed_headers.as_str(), "\n", payload_hash.as_str()] {
            text.push_str(part);
        }
        CanonicalRequest { text, signed_headers }
    }

    /// The `;`-joined list of signed header names, sorted.
    pub fn signed_headers(&self) -> &str {
        &self.signed_headers
    }

    /// The exact bytes that are hashed.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The canonical header line that carries the STS token.
const TOKEN_LINE: &str = "x-acs-security-token:";

impl fmt::Display for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.text.split('\n').enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            match line.strip_prefix(TOKEN_LINE) {
                Some(_) => write!(f, "{TOKEN_LINE}<redacted>")?,
                None => f.write_str(line)?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanonicalRequest")
            .field("text", &self.to_string())
            .field("signed_headers", &self.signed_headers)
            .finish()
    }
}

/// `ACS3-HMAC-SHA256\n<hex sha256 of the canonical request>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringToSign(String);

impl StringToSign {
    /// The string to sign for `canonical`.
    pub fn new(canonical: &CanonicalRequest) -> Self {
        let mut text = String::with_capacity(ALGORITHM.len() + 1 + 64);
        text.push_str(ALGORITHM);
        text.push('\n');
        push_hex_lower(&Sha256::digest(canonical.as_str().as_bytes()), &mut text);
        StringToSign(text)
    }

    /// The exact bytes that are HMAC'd.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn uri_replacements_match_the_sdk() {
        assert_eq!(canonical_uri("/a+b*c%7Ed/%7E%7e"), "/a%20b%2Ac~d/~%7e");
        assert_eq!(canonical_uri("/"), "/");
    }

    #[test]
    fn query_is_sorted_and_encoded() {
        let q = pairs(&[("b", "2"), ("a", "x y"), ("A", "*"), ("empty", ""), ("a", "1"), ("k~", "中/")]);
        assert_eq!(canonical_query(&q), "A=%2A&a=1&a=x%20y&b=2&empty=&k~=%E4%B8%AD%2F");
        assert_eq!(canonical_query(&[]), "");
        assert_eq!(canonical_query(&pairs(&[("0", ""), (" ", "")])), "%20=&0=");
        // Keys are sorted as they are, then encoded: the order is the official SDK's
        // `Object.keys({ a: 1, "{": 2, _: "", é: "" }).sort()`, which is `_, a, {, é`.
        let q = pairs(&[("a", "1"), ("{", "2"), ("_", ""), ("é", "")]);
        assert_eq!(canonical_query(&q), "_=&a=1&%7B=2&%C3%A9=");
    }

    #[test]
    fn sorted_equals_sort_unstable() {
        let mut items: Vec<(String, String)> =
            (0..200u32).map(|i| (format!("k{}", i.wrapping_mul(2_654_435_761) % 37), format!("{}", i % 5))).collect();
        let heap = sorted(items.clone());
        items.sort_unstable();
        assert_eq!(heap, items);
        assert_eq!(sorted(Vec::<u8>::new()), []);
    }

    #[test]
    fn canonical_request_layout() {
        let headers = pairs(&[
            ("x-fc-invocation-type", "Sync"),
            ("x-acs-date", "2023-10-26T09:01:01Z"),
            ("host", "h.example"),
            ("content-type", "application/octet-stream"),
        ]);
        let cr = CanonicalRequest::new("POST", "/p", "a=1", &headers, &PayloadHash::empty());
        assert_eq!(cr.signed_headers(), "content-type;host;x-acs-date");
        assert_eq!(
            cr.as_str(),
            "POST\n/p\na=1\ncontent-type:application/octet-stream\nhost:h.example\nx-acs-date:2023-10-26T09:01:01Z\n\n\
             content-type;host;x-acs-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(StringToSign::new(&cr).as_str().starts_with("ACS3-HMAC-SHA256\n"));
        assert_eq!(StringToSign::new(&cr).as_str().len(), ALGORITHM.len() + 1 + 64);
    }
}
