//! The small part of HTTP the signer needs: methods, header names and values, and URLs,
//! each normalised the way `fetch` will put it on the wire, so what we sign is what is sent.

use crate::acs3::credentials::header_safe;
use crate::acs3::encode::percent_decode;
use crate::error::Error;
use crate::prelude::*;
use crate::text::{concat, decimal};

/// RFC 9110 `tchar`: what a method or a header name may contain.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// A request method as `fetch` sends it: the six standard methods are upper-cased
/// whatever their case (fetch does the same), others are kept as given.
pub fn normalize_method(method: &str) -> Result<String, Error> {
    if !is_token(method) || method.len() > 32 {
        return Err(Error::invalid("method", "must be an HTTP method token such as GET or POST"));
    }
    let upper = method.to_ascii_uppercase();
    match upper.as_str() {
        "CONNECT" | "TRACE" | "TRACK" => Err(Error::invalid("method", "CONNECT, TRACE and TRACK cannot be sent")),
        "DELETE" | "GET" | "HEAD" | "OPTIONS" | "POST" | "PUT" => Ok(upper),
        _ => Ok(method.to_owned()),
    }
}

/// A header name, lower-cased; an error names the header but never echoes its value.
pub fn normalize_header_name(name: &str) -> Result<String, Error> {
    if !is_token(name) || name.len() > 256 {
        return Err(Error::invalid("headers", "a header name must be an HTTP token (letters, digits, -, _ …)"));
    }
    Ok(name.to_ascii_lowercase())
}

/// A header value trimmed at its ends (inner spaces kept), as fetch and the signature both see it.
pub fn normalize_header_value<'a>(name: &str, value: &'a str) -> Result<&'a str, Error> {
    if !header_safe(value) {
        return Err(Error::invalid(
            "headers",
            concat(&[
                "the value of header `",
                name,
                "` must be printable ASCII (no CR, LF or other control characters)",
            ]),
        ));
    }
    // `value` is header-safe, so the only ASCII whitespace trim_ascii can meet is space and tab;
    // it works on bytes, where trim_matches decodes chars from both ends (size, time).
    Ok(value.trim_ascii())
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (local servers, tests).
    Http,
    /// HTTPS.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// An absolute `http(s)` URL, parsed strictly and normalised as fetch would send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    scheme: Scheme,
    /// The host and, when it is not the scheme's default, `:port`.
    authority: String,
    path: String,
    query: Vec<(String, String)>,
}

/// Characters a path may hold literally: RFC 3986 `pchar` plus `/`; `%` only as an escape.
fn is_path_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b)
}

fn valid_encoded_path(path: &str) -> bool {
    let b = path.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
            i += 3;
        } else if is_path_char(c) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Whether a path has a `.` or `..` segment (also as `%2e`): fetch resolves those, so it would
/// send another path than the one signed. (Byte slices, not `str::split`: this is smaller wasm.)
fn has_dot_segment(path: &str) -> bool {
    path.as_bytes().split(|&b| b == b'/').any(|segment| {
        let mut rest = segment;
        let mut dots = 0;
        loop {
            rest = match rest {
                [] => return dots == 1 || dots == 2,
                [b'.', more @ ..] | [b'%', b'2', b'e' | b'E', more @ ..] => more,
                _ => return false,
            };
            dots += 1;
        }
    })
}

fn valid_reg_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        && !host.starts_with('.')
        && !host.as_bytes().windows(2).any(|w| w == b"..")
        && numeric_host_is_canonical_ipv4(host.as_bytes())
}

/// A host whose last label is a number is an IPv4 address to fetch, which rewrites short and
/// hex forms (`127.1` → `127.0.0.1`) and refuses others (`a.123`); only the form fetch sends
/// unchanged is accepted, so that the signed host is the one sent.
fn numeric_host_is_canonical_ipv4(host: &[u8]) -> bool {
    let last = host.rsplit(|&b| b == b'.').find(|label| !label.is_empty()).unwrap_or_default();
    let numeric = last.iter().all(u8::is_ascii_digit) || matches!(last, [b'0', b'x' | b'X', ..]);
    if !numeric {
        return true;
    }
    // Four decimal numbers 0–255 without leading zeros (compared as text: no integer parsing).
    let mut octets = 0;
    for p in host.split(|&b| b == b'.') {
        let ok = p.iter().all(u8::is_ascii_digit)
            && match p {
                [_] => true,
                [b'1'..=b'9', _] => true,
                [b'1'..=b'2', _, _] => p <= b"255".as_slice(),
                _ => false,
            };
        octets += 1;
        if !ok || octets > 4 {
            return false;
        }
    }
    octets == 4
}

fn valid_ipv6_literal(host: &str) -> bool {
    host.len() > 2
        && host.starts_with('[')
        && host.ends_with(']')
        && host.get(1..host.len() - 1).is_some_and(|inner| {
            inner.contains(':') && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        })
}

/// Splits a query string into decoded pairs, as `URLSearchParams` does (`+` is a space,
/// a key without `=` has the empty value, empty pieces are skipped).
pub fn parse_query(query: &str, argument: &'static str) -> Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let decode = |s: &str| {
            percent_decode(s, true).ok_or_else(|| {
                Error::invalid(argument, "the query holds a malformed %-escape or bytes that are not UTF-8")
            })
        };
        pairs.push((decode(key)?, decode(value)?));
    }
    Ok(pairs)
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL. `argument` names the input in errors.
    ///
    /// The host is lower-cased and a default port dropped (fetch does both); a path must
    /// already be percent-encoded; the query is decoded into pairs; a fragment is dropped.
    /// What fetch would rewrite otherwise (`.`/`..` segments, IPv4 in short or hex form) is
    /// refused: the signature covers the host and path as given. IPv6 must be in its canonical
    /// (RFC 5952) form for the same reason; the JS face checks that with the runtime's URL parser
    /// (js/core.js `ipv6AsSent`), which the Rust API leaves to its caller.
    pub fn parse(text: &str, argument: &'static str) -> Result<Url, Error> {
        let bad = |reason: &str| Error::invalid(argument, reason.to_owned());
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(text, "https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(text, "http://") {
            (Scheme::Http, rest)
        } else {
            return Err(bad("must be an absolute http:// or https:// URL"));
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        // split_at_checked, not split_at: the panicking one pulls in core's slice_error_fail
        // and char Debug (~3 KB of .wasm) for an index that is always a boundary here.
        let (authority, path) =
            before_query.find('/').and_then(|at| before_query.split_at_checked(at)).unwrap_or((before_query, ""));
        if authority.contains('@') {
            return Err(bad("must not contain a user name or password"));
        }
        let (host, port_text) = if authority.starts_with('[') {
            match authority.find(']').and_then(|end| authority.split_at_checked(end + 1)) {
                Some((host, "")) => (host, None),
                Some((host, after)) => (
                    host,
                    Some(after.strip_prefix(':').ok_or_else(|| bad("has text between the IPv6 address and ':'"))?),
                ),
                None => return Err(bad("has an unterminated IPv6 address")),
            }
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let host = host.to_ascii_lowercase();
        if !(valid_reg_name(&host) || valid_ipv6_literal(&host)) {
            return Err(bad("must have a host name made of ASCII letters, digits, '-' and '.' (use the punycode form of international names)"));
        }
        let port = match port_text {
            None | Some("") => None,
            Some(p) => {
                let n: u16 = p
                    .parse()
                    .ok()
                    .filter(|n| *n != 0 && p.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| bad("has a port that is not a number from 1 to 65535"))?;
                Some(n).filter(|n| *n != scheme.default_port())
            }
        };
        if !valid_encoded_path(path) {
            return Err(bad("has a path that is not percent-encoded (spaces, quotes, non-ASCII or a bad %-escape)"));
        }
        if has_dot_segment(path) {
            return Err(bad("has a '.' or '..' path segment, which fetch would resolve (send the resolved path)"));
        }
        let path = if path.is_empty() { "/".to_owned() } else { path.to_owned() };
        let query = parse_query(query, argument)?;
        let authority = match port {
            Some(port) => concat(&[&host, ":", &decimal(port.into())]),
            None => host,
        };
        Ok(Url { scheme, authority, path, query })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host and, when it is not the scheme's default, the port: the `Host` header's value.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `scheme://authority`, no trailing slash.
    pub fn origin(&self) -> String {
        let mut out = String::with_capacity(8 + self.authority.len() + self.path.len());
        self.push_origin(&mut out);
        out
    }

    /// Appends `scheme://authority` to `out`.
    pub fn push_origin(&self, out: &mut String) {
        for part in [self.scheme.as_str(), "://", &self.authority] {
            out.push_str(part);
        }
    }

    /// The percent-encoded path, `/` at least.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The same origin with `encoded_path` (percent-encoded, from the root, as the crate's own
    /// builders make it) and no query.
    pub(crate) fn with_path(&self, encoded_path: String) -> Url {
        debug_assert!(encoded_path.starts_with('/') && encoded_path.bytes().all(|b| is_path_char(b) || b == b'%'));
        Url { scheme: self.scheme, authority: self.authority.clone(), path: encoded_path, query: Vec::new() }
    }

    /// The URL with `pairs` appended to its query.
    pub fn with_query(mut self, pairs: &[(String, String)]) -> Self {
        self.query.extend_from_slice(pairs);
        self
    }

    /// The decoded query pairs, in their original order.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        text.get(prefix.len()..)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_normalise_like_fetch() {
        assert_eq!(normalize_method("post").as_deref(), Ok("POST"));
        assert_eq!(normalize_method("Get").as_deref(), Ok("GET"));
        assert_eq!(normalize_method("patch").as_deref(), Ok("patch"), "fetch leaves PATCH's case alone");
        assert!(normalize_method("").is_err());
        assert!(normalize_method("GET POST").is_err());
        assert!(normalize_method("TRACE").is_err());
    }

    #[test]
    fn header_values_trim_ends_only_and_refuse_control_characters() {
        assert_eq!(normalize_header_value("x", "  a  b \t"), Ok("a  b"));
        assert!(normalize_header_value("x", "a\r\nb").is_err());
        assert!(normalize_header_value("x", "a\0b").is_err());
        assert!(normalize_header_value("x", "é").is_err());
        assert!(normalize_header_name("x-acs-Foo").is_ok_and(|n| n == "x-acs-foo"));
        assert!(normalize_header_name("bad name").is_err());
        assert!(normalize_header_name("").is_err());
    }

    #[test]
    fn parses_and_normalises_urls() {
        let url = Url::parse("HTTPS://Example.COM:443/a/b%20c?x=1&y=a+b&z&&w=%E4%B8%AD#frag", "url").expect("valid");
        assert_eq!(url.scheme(), Scheme::Https);
        assert_eq!(url.authority(), "example.com");
        assert_eq!(url.path(), "/a/b%20c");
        let q: Vec<(&str, &str)> = url.query().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(q, [("x", "1"), ("y", "a b"), ("z", ""), ("w", "中")]);

        let local = Url::parse("http://127.0.0.1:9000", "endpoint").expect("valid");
        assert_eq!(local.authority(), "127.0.0.1:9000");
        assert_eq!(local.path(), "/");
        assert_eq!(local.origin(), "http://127.0.0.1:9000");

        let v6 = Url::parse("http://[::1]:8080/x", "endpoint").expect("valid");
        assert_eq!(v6.authority(), "[::1]:8080");
        assert_eq!(Url::parse("http://[::1]/x", "endpoint").map(|u| u.authority().to_owned()), Ok("[::1]".to_owned()));
        assert_eq!(Url::parse("http://h:80/", "u").map(|u| u.authority().to_owned()), Ok("h".to_owned()));
        // Dots inside a segment, numeric labels before the last, and plain IPv4 are sent as is.
        for good in [
            "https://h/a..b/.c/d.",
            "https://1234567890.cn-hangzhou.fc.aliyuncs.com/",
            "http://10.0.0.255:1/",
            "http://199.0.250.9/",
        ] {
            assert_eq!(Url::parse(good, "u").map(|u| u.origin() + u.path()), Ok(good.to_owned()));
        }
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "",
            "ftp://x",
            "//x",
            "https://",
            "https://user:pw@host/",
            "https://ho st/",
            "https://host:0/",
            "https://host:65536/",
            "https://host:12a/",
            "https://[::1/",
            "http://[::1]x:9000/p",
            "https://h/a/../b",
            "https://h/a/./b",
            "https://h/a/%2E%2e/b",
            "https://h/..",
            "http://127.1:9000/",
            "http://0x7f.0.0.1/",
            "http://127.000.0.1/",
            "http://256.0.0.1/",
            "http://1.2.3.260/",
            "http://1.2.3.4.5/",
            "https://a.123/",
            "http://[::1]9000/p",
            "https://host/a b",
            "https://host/é",
            "https://host/%zz",
            "https://host/?q=%FF",
            "https://bücher.de/",
            "https://a..b/",
        ] {
            assert!(Url::parse(bad, "url").is_err(), "{bad:?} should be rejected");
        }
    }
}
