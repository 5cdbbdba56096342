//! Alibaba Cloud's V3 signature, ACS3-HMAC-SHA256, with no knowledge of any one service.
//!
//! request → [`CanonicalRequest`] → [`StringToSign`] → signature → headers. [`sign`] returns
//! everything to send and changes nothing, so nothing is ever half-signed. The clock and the
//! nonce are inputs: the same inputs always give the same signature.

use crate::prelude::*;
pub mod canonical;
pub mod credentials;
pub mod date;
pub mod encode;
pub mod payload;

pub use canonical::{CanonicalRequest, StringToSign, ALGORITHM};
pub use credentials::{Credentials, Secret};
pub use date::AcsDate;
pub use payload::{PayloadHash, PayloadHasher};

use crate::error::Error;
use crate::http::{normalize_header_name, normalize_header_value, normalize_method, Url};
use crate::text::concat;
use canonical::{canonical_query, canonical_uri, is_signed_header};
use core::fmt;
use encode::push_hex_lower;

/// Headers the signer owns; a caller setting one would make the signature lie.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "authorization",
    "content-length",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-security-token",
    "x-acs-accesskey-id",
];

/// A request to sign, normalised exactly as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignableRequest {
    method: String,
    url: Url,
    /// Merged (one entry per name) and sorted by name.
    headers: Vec<(String, String)>,
    payload_hash: PayloadHash,
    /// The canonical URI and query string, computed once: a request is signed again on every
    /// retry.
    canonical_uri: String,
    canonical_query: String,
}

impl SignableRequest {
    /// Validates and normalises a request: the method as fetch sends it and the headers by
    /// [`merge_headers`]. Headers the signer or fetch owns (`host`, `authorization`,
    /// `content-length`, the `x-acs-*` it adds) are refused.
    pub fn new(method: &str, url: Url, headers: &[(String, String)], payload_hash: PayloadHash) -> Result<Self, Error> {
        let method = normalize_method(method)?;
        let headers = canonical::sorted(merge_headers(headers)?);
        if let Some((name, _)) = headers.iter().find(|(n, _)| RESERVED_HEADERS.contains(&n.as_str())) {
            return Err(Error::invalid("headers", concat(&["`", name, "` is set by the signer and cannot be given"])));
        }
        let (canonical_uri, canonical_query) = (canonical_uri(url.path()), canonical_query(url.query()));
        Ok(SignableRequest { method, url, headers, payload_hash, canonical_uri, canonical_query })
    }

    /// The method, as sent.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The body's hash.
    pub fn payload_hash(&self) -> &PayloadHash {
        &self.payload_hash
    }
}

/// The most headers a request may have, those it gets from its options (content-type,
/// `x-fc-*`) included: more than servers take (Node's takes 2000 lines with
/// the request's own), few enough that merging them, names compared pairwise, stays quick: a web
/// app passing its users' headers on made the signing of 100,000 of them block for 21 s.
pub const MAX_HEADERS: usize = 1000;

/// Header names lower-cased, values trimmed at the ends, and names that differ only in case
/// merged as the SDK canonicalises them: signed headers' values sorted and joined by `,`
/// (and sent that way, so the service sees what was signed), others joined by `, ` in order.
/// More than [`MAX_HEADERS`] are refused.
pub fn merge_headers(headers: &[(String, String)]) -> Result<Vec<(String, String)>, Error> {
    if headers.len() > MAX_HEADERS {
        return Err(Error::invalid("headers", "must be at most 1000 in all"));
    }
    let mut merged: Vec<(String, Vec<&str>)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = normalize_header_name(name)?;
        let value = normalize_header_value(&name, value)?;
        match merged.iter_mut().find(|(n, _)| *n == name) {
            // A signed header's values are kept sorted as they come (the same order as a sort,
            // as equal values are alike): a sort of &str here would be a second ~3 KB sort
            // instantiation in the .wasm. The search above is already linear per header.
            Some((_, values)) if is_signed_header(&name) => {
                // Walked back into place from the end (the values stay few).
                values.push(value);
                let mut at = values.len() - 1;
                while at > 0 && values.get(at - 1).is_some_and(|v| *v > value) {
                    values.swap(at - 1, at);
                    at -= 1;
                }
            }
            Some((_, values)) => values.push(value),
            None => merged.push((name, vec![value])),
        }
    }
    Ok(merged
        .into_iter()
        .map(|(name, values)| {
            // Not `values.join(…)`: its generic copy loop is 1.1 KB of .wasm, for one call site.
            let separator = if is_signed_header(&name) { "," } else { ", " };
            let mut value = String::new();
            for (i, part) in values.iter().enumerate() {
                if i > 0 {
                    value.push_str(separator);
                }
                value.push_str(part);
            }
            (name, value)
        })
        .collect())
}

/// What the V3 signature needs besides the request: the API's action and version, the time
/// and a fresh random nonce.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    /// `x-acs-action`, e.g. `InvokeFunction`; `None` for requests that are not API calls
    /// (an HTTP trigger with signature authentication).
    pub action: Option<&'a str>,
    /// `x-acs-version`, e.g. `2023-03-30`; `None` like `action`.
    pub version: Option<&'a str>,
    /// `x-acs-date`.
    pub date: AcsDate,
    /// `x-acs-signature-nonce`: unique per request (replay protection).
    pub nonce: &'a str,
}

/// A signed request: send `method` to `url` with exactly `headers` (plus the body whose hash
/// was signed). `host` is signed as the URL's authority and is not in `headers`: every HTTP
/// stack sets it from the URL, and browsers forbid setting it.
///
/// `Debug` shows the STS token's value as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The method.
    pub method: String,
    /// The absolute URL: the path as given (a literal `+` keeps its meaning, where the signed
    /// form has `%20`, as the official SDK does), the query in its canonical form.
    pub url: String,
    /// Every header to send, lower-case names, `authorization` included.
    pub headers: Vec<(String, String)>,
    /// The canonical request that was signed (for debugging a mismatch).
    pub canonical_request: CanonicalRequest,
    /// The string to sign.
    pub string_to_sign: StringToSign,
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = (self.headers.iter())
            .map(|(name, value)| (name.as_str(), if name == "x-acs-security-token" { "<redacted>" } else { value }))
            .collect();
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("canonical_request", &self.canonical_request)
            .field("string_to_sign", &self.string_to_sign)
            .finish()
    }
}

impl SignedRequest {
    /// The value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn signer_value<'a>(argument: &'static str, value: &'a str) -> Result<&'a str, Error> {
    let ok = !value.is_empty() && value.len() <= 256 && value.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(value)
    } else {
        Err(Error::invalid(argument, "must be 1 to 256 printable ASCII characters without spaces"))
    }
}

/// The lower-case hex HMAC-SHA256 of the string to sign, keyed by the AccessKey secret.
pub fn signature(secret: &Secret, string_to_sign: &StringToSign) -> Result<String, Error> {
    use hmac::{KeyInit, Mac};
    let mut mac = credentials::HmacSha256::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| Error::credentials("accessKeySecret cannot be used as an HMAC key"))?;
    mac.update(string_to_sign.as_str().as_bytes());
    Ok(encode::hex_lower(&mac.finalize().into_bytes()))
}

/// Two lists sorted by name, merged into one sorted list.
fn merge_by_name<'a>(
    a: impl IntoIterator<Item = (&'a str, &'a str)>,
    b: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    let mut out = Vec::with_capacity(16);
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0 <= y.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// Signs `request`: adds `x-acs-*` headers (and the STS pair with temporary credentials),
/// computes the signature and returns everything to send. Pure: no clock, no randomness.
pub fn sign(
    request: &SignableRequest,
    credentials: &Credentials,
    params: &SigningParams<'_>,
) -> Result<SignedRequest, Error> {
    let nonce = signer_value("nonce", params.nonce)?;
    let action = params.action.map(|a| signer_value("action", a)).transpose()?;
    let version = params.version.map(|v| signer_value("version", v)).transpose()?;
    let date = params.date.to_bytes();
    let date = core::str::from_utf8(&date).unwrap_or_default(); // ASCII digits
    let token = credentials.security_token().map(Secret::expose);
    // The signer's own headers, in name order; none is a request header (see RESERVED_HEADERS).
    let own = [
        ("host", Some(request.url.authority())),
        ("x-acs-accesskey-id", token.map(|_| credentials.access_key_id())),
        ("x-acs-action", action),
        ("x-acs-content-sha256", Some(request.payload_hash.as_str())),
        ("x-acs-date", Some(date)),
        ("x-acs-security-token", token),
        ("x-acs-signature-nonce", Some(nonce)),
        ("x-acs-version", version),
    ];
    let given = request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let all = merge_by_name(given, own.into_iter().filter_map(|(name, value)| Some((name, value?))));
    let canonical_request = CanonicalRequest::from_sorted(
        &request.method,
        &request.canonical_uri,
        &request.canonical_query,
        &all,
        &request.payload_hash,
    );
    let string_to_sign = StringToSign::new(&canonical_request);
    let mut authorization = String::with_capacity(128 + canonical_request.signed_headers().len());
    for part in [
        ALGORITHM,
        " Credential=",
        credentials.access_key_id(),
        ",SignedHeaders=",
        canonical_request.signed_headers(),
        ",Signature=",
    ] {
        authorization.push_str(part);
    }
    push_hex_lower(&credentials.mac(string_to_sign.as_str().as_bytes()), &mut authorization);
    // Everything but host (signed, never sent by us), with authorization in its place.
    let mut headers = Vec::with_capacity(all.len());
    let mut authorization = Some(authorization);
    for (name, value) in all.into_iter().filter(|(name, _)| *name != "host") {
        if name > "authorization" {
            headers.extend(authorization.take().map(|a| ("authorization".to_owned(), a)));
        }
        headers.push((name.to_owned(), value.to_owned()));
    }
    headers.extend(authorization.map(|a| ("authorization".to_owned(), a)));
    let mut url = String::with_capacity(16 + request.url.authority().len() + request.url.path().len());
    request.url.push_origin(&mut url);
    url.push_str(request.url.path());
    if !request.canonical_query.is_empty() {
        url.push('?');
        url.push_str(&request.canonical_query);
    }
    Ok(SignedRequest { method: request.method.clone(), url, headers, canonical_request, string_to_sign })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn date() -> AcsDate {
        AcsDate::parse("2023-10-26T09:01:01Z").expect("valid")
    }

    #[test]
    fn at_most_max_headers_are_taken() {
        let many = |n: usize| (0..n).map(|i| (format!("x-h{i}"), "v".to_owned())).collect::<Vec<_>>();
        let url = || Url::parse("https://h.example/", "url").expect("valid");
        let fits = SignableRequest::new("GET", url(), &many(MAX_HEADERS), PayloadHash::empty());
        assert_eq!(fits.map(|r| r.headers.len()).ok(), Some(MAX_HEADERS));
        let over = SignableRequest::new("GET", url(), &many(MAX_HEADERS + 1), PayloadHash::empty());
        assert!(matches!(over, Err(Error::InvalidArgument { argument: "headers", .. })), "{over:?}");
    }

    #[test]
    fn reproduces_the_v3_documentation_example() {
        // Alibaba Cloud "V3 request body & signature" page, ECS RunInstances example; reproduced
        // with @alicloud/openapi-core 1.0.8 getAuthorization (tests/vectors/doc-ecs-runinstances/).
        let url = Url::parse(
            "https://ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
            "url",
        )
        .expect("valid");
        let request = SignableRequest::new("POST", url, &[], PayloadHash::empty()).expect("valid");
        let creds = Credentials::new("YourAccessKeyId", "YourAccessKeySecret", None).expect("valid");
        let params = SigningParams {
            action: Some("RunInstances"),
            version: Some("2014-05-26"),
            date: date(),
            nonce: "d410180a5abf7fe235dd9b74aca91fc0",
        };
        let signed = sign(&request, &creds, &params).expect("signs");
        assert_eq!(
            signed.header("authorization"),
            Some(
                "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;\
                 x-acs-date;x-acs-signature-nonce;x-acs-version,\
                 Signature=e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"
            )
        );
        assert_eq!(signed.header("host"), None, "host is signed, not sent");
    }

    #[test]
    fn sts_credentials_add_token_and_key_id() {
        let url = Url::parse("http://127.0.0.1:9000/x", "url").expect("valid");
        let request = SignableRequest::new("GET", url, &[], PayloadHash::empty()).expect("valid");
        let creds = Credentials::new("STS.id", "secret", Some("the-token".into())).expect("valid");
        let params = SigningParams { action: Some("A"), version: Some("V"), date: date(), nonce: "n" };
        let signed = sign(&request, &creds, &params).expect("signs");
        assert_eq!(signed.header("x-acs-security-token"), Some("the-token"));
        assert_eq!(signed.header("x-acs-accesskey-id"), Some("STS.id"));
        assert!(signed.canonical_request.as_str().contains("\nhost:127.0.0.1:9000\n"));
        assert!(signed.canonical_request.signed_headers().contains("x-acs-accesskey-id;x-acs-action"));
        assert!(signed.canonical_request.signed_headers().contains("x-acs-security-token"));
        assert!(signed.canonical_request.as_str().contains("\nx-acs-security-token:the-token\n"));
        // What may be logged hides the token.
        let canonical = signed.canonical_request.to_string();
        assert!(canonical.contains("\nx-acs-security-token:<redacted>\nx-acs-signature-nonce:n\n"), "{canonical}");
        for shown in [canonical, format!("{signed:?}"), format!("{signed:#?}")] {
            assert!(!shown.contains("the-token"), "{shown}");
            assert!(shown.contains("STS.id"), "{shown}");
        }
    }

    #[test]
    fn headers_merge_case_insensitively_like_the_sdk() {
        let url = Url::parse("https://h/", "url").expect("valid");
        let headers = h(&[("x-acs-test", " http "), ("X-ACS-TEST", "https"), ("X-Fc-A", "2"), ("x-fc-a", "1")]);
        let request = SignableRequest::new("get", url, &headers, PayloadHash::empty()).expect("valid");
        let params = SigningParams { action: Some("A"), version: Some("V"), date: date(), nonce: "n" };
        let creds = Credentials::new("id", "secret", None).expect("valid");
        let signed = sign(&request, &creds, &params).expect("signs");
        assert_eq!(signed.method, "GET");
        assert_eq!(signed.header("x-acs-test"), Some("http,https"));
        assert_eq!(signed.header("x-fc-a"), Some("2, 1"), "unsigned headers keep their order");
        assert!(signed.canonical_request.as_str().contains("\nx-acs-test:http,https\n"));
        let many = h(&[
            ("x-acs-m", "c"),
            ("X-Acs-M", "a"),
            ("x-acs-m", "b"),
            ("x-acs-m", "a"),
            ("x-fc-b", "z"),
            ("x-fc-b", "y"),
        ]);
        let merged = merge_headers(&many).expect("valid");
        assert_eq!(merged, h(&[("x-acs-m", "a,a,b,c"), ("x-fc-b", "z, y")]));
        // Every order of the same values merges to the sorted list.
        let values = ["b", "a", "c", "a", "ab"];
        for i in 0..5usize.pow(5) {
            let order: Vec<usize> = (0..5).map(|d| i / 5usize.pow(d) % 5).collect();
            let mut seen = order.clone();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() < 5 {
                continue; // not a permutation
            }
            let given: Vec<(String, String)> = order.iter().map(|&k| ("x-acs-m".into(), values[k].into())).collect();
            assert_eq!(merge_headers(&given).expect("valid"), h(&[("x-acs-m", "a,a,ab,b,c")]), "{order:?}");
        }
    }

    #[test]
    fn reserved_headers_and_bad_params_are_refused() {
        let url = Url::parse("https://h/", "url").expect("valid");
        for name in ["Host", "Authorization", "x-acs-date", "X-Acs-Security-Token", "content-length"] {
            let err = SignableRequest::new("GET", url.clone(), &h(&[(name, "v")]), PayloadHash::empty());
            assert!(matches!(err, Err(Error::InvalidArgument { argument: "headers", .. })), "{name}");
        }
        let request = SignableRequest::new("GET", url, &[], PayloadHash::empty()).expect("valid");
        let creds = Credentials::new("id", "secret", None).expect("valid");
        for (action, version, nonce) in
            [("", "V", "n"), ("A", "", "n"), ("A", "V", ""), ("A", "V", "a b"), ("A\n", "V", "n")]
        {
            let params = SigningParams { action: Some(action), version: Some(version), date: date(), nonce };
            assert!(sign(&request, &creds, &params).is_err());
        }
        // Without action and version (an HTTP trigger), neither header is sent or signed.
        let params = SigningParams { action: None, version: None, date: date(), nonce: "n" };
        let signed = sign(&request, &creds, &params).expect("signs");
        assert_eq!(signed.header("x-acs-action"), None);
        assert_eq!(
            signed.canonical_request.signed_headers(),
            "host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce"
        );
    }

    #[test]
    fn path_is_sent_as_given_and_query_in_canonical_form() {
        let url = Url::parse("https://h/a+b*/c%7E?z=1&a=x+y&m", "url").expect("valid");
        let request = SignableRequest::new("GET", url, &[], PayloadHash::empty()).expect("valid");
        let creds = Credentials::new("id", "secret", None).expect("valid");
        let params = SigningParams { action: Some("A"), version: Some("V"), date: date(), nonce: "n" };
        let signed = sign(&request, &creds, &params).expect("signs");
        // Sending the signed path would turn a literal `+` into a space; the server derives the
        // same canonical path from either form.
        assert_eq!(signed.url, "https://h/a+b*/c%7E?a=x%20y&m=&z=1");
        assert!(signed.canonical_request.as_str().starts_with("GET\n/a%20b%2A/c~\na=x%20y&m=&z=1\n"));
    }
}
