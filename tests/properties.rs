//! Property tests: no input makes the core panic, every failure is a typed error, and what we
//! send re-signs to the same signature (normalisation is idempotent).
//!
//! Inputs are built mostly from valid parts (a method from a list, a URL from valid hosts, ports
//! and percent-encoded segments, a numeric account id, a known region …), with garbage mixed into
//! a minority of cases, so most cases reach the success-path checks. A case with no garbage in it
//! must sign. Each of the two generated tests counts the cases that reached those checks and
//! fails below half: a generator that drifts into producing only rejected inputs would otherwise
//! leave them unexercised and still pass.

#![cfg(not(target_arch = "wasm32"))]

use fc_invoke::acs3::{sign, AcsDate, Credentials, PayloadHash, SignableRequest, SigningParams};
use fc_invoke::fc::{Endpoint, InvocationType, InvokeFunction, LogType};
use fc_invoke::http::Url;
use fc_invoke::Error;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::atomic::{AtomicU32, Ordering};

const CODES: &[&str] = &["InvalidArgument", "CredentialsError"];

/// SHA-256 of no bytes (`sha256sum < /dev/null`).
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Headers the signer adds, so a caller re-sending a signed request must leave them out.
const SIGNER_HEADERS: &[&str] = &[
    "authorization",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-security-token",
    "x-acs-accesskey-id",
];

fn typed(err: &Error) -> bool {
    CODES.contains(&err.code()) && !err.to_string().is_empty()
}

/// Runs `test` on `cases` values of `strategy`. `test` returns whether the case reached its
/// success-path checks (`Ok(false)`: rejected with a typed error). Fails if any case fails, or if
/// fewer than half of the cases reached the success path.
fn run_counting<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<bool, TestCaseError>) {
    let (total, reached) = (AtomicU32::new(0), AtomicU32::new(0));
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let outcome = runner.run(&strategy, |value| {
        total.fetch_add(1, Ordering::Relaxed);
        if test(value)? {
            reached.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let (total, reached) = (total.into_inner(), reached.into_inner());
    assert!(total >= cases, "ran {total} of {cases} cases");
    assert!(2 * reached >= total, "only {reached} of {total} cases reached the success-path checks");
}

/// Percent-encodes every byte but ASCII letters and digits, in upper- or lower-case hex.
fn encode(text: &str, lower: bool) -> String {
    text.bytes()
        .map(|b| match (b.is_ascii_alphanumeric(), lower) {
            (true, _) => char::from(b).to_string(),
            (false, false) => format!("%{b:02X}"),
            (false, true) => format!("%{b:02x}"),
        })
        .collect()
}

/// Mostly URL-ish strings, with arbitrary Unicode mixed in: garbage for the URL parser.
fn garbage_url() -> impl Strategy<Value = String> {
    prop_oneof![
        "(https?|HTTP|ftp)://[a-zA-Z0-9.\\-\\[\\]:@]{0,20}(:[0-9]{0,6})?(/[a-zA-Z0-9%+*~ !'()é/.-]{0,20}){0,4}(\\?[a-z0-9=&%+ é]{0,20})?(#.{0,5})?",
        ".{0,40}",
    ]
}

/// A valid host as written (letters in either case) and the authority's host fetch sends.
fn host() -> impl Strategy<Value = (String, String)> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9_-]{0,10}[a-zA-Z0-9])?";
    let tld = prop::sample::select(vec!["com", "cn", "fc.aliyuncs.com", "local", "example", "COM"]);
    prop_oneof![
        4 => (prop::collection::vec(label, 0..4), tld).prop_map(|(labels, tld)| {
            let mut host = labels.join(".");
            if !host.is_empty() {
                host.push('.');
            }
            host.push_str(tld);
            host
        }),
        1 => (1u8..=255, 0u8..=255, 0u8..=255, 0u8..=255).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        1 => prop::sample::select(vec!["localhost", "LocalHost", "[::1]", "[2001:db8::7]", "127.0.0.1"])
            .prop_map(str::to_owned),
    ]
    .prop_map(|host| {
        let lower = host.to_ascii_lowercase();
        (host, lower)
    })
}

/// A valid path segment, as written in the URL: literal `pchar`s, or arbitrary text
/// percent-encoded. Never `.` or `..` (fetch would resolve those).
fn segment() -> impl Strategy<Value = String> {
    let not_dots = |s: String| if !s.is_empty() && s.bytes().all(|b| b == b'.') { s + "x" } else { s };
    prop_oneof![
        "[a-zA-Z0-9_~!$&'()*+,;=:@.-]{0,10}".prop_map(not_dots),
        (".{0,6}", any::<bool>()).prop_map(move |(text, lower)| encode(&not_dots(text), lower)),
    ]
}

/// A query string: pairs of arbitrary text, percent-encoded (spaces sometimes as `+`).
fn query() -> impl Strategy<Value = String> {
    prop::collection::vec((".{0,6}", ".{0,8}", any::<bool>()), 0..4).prop_map(|pairs| {
        let piece = |text: &str, plus: bool| {
            if plus {
                text.split(' ').map(|part| encode(part, false)).collect::<Vec<_>>().join("+")
            } else {
                encode(text, true)
            }
        };
        pairs
            .iter()
            .map(|(k, v, plus)| format!("{}={}", piece(k, *plus), piece(v, *plus)))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// A valid absolute URL with what the signed request must show for it.
#[derive(Debug, Clone)]
struct ValidUrl {
    text: String,
    /// `scheme://host[:port]` as written.
    written_origin: String,
    /// `scheme://authority` as fetch sends it: lower case, no default port.
    origin: String,
    /// The host and any non-default port: the `host` line of the canonical request.
    authority: String,
    /// The path as sent (`/` at least).
    path: String,
}

fn valid_url() -> impl Strategy<Value = ValidUrl> {
    let scheme = prop::sample::select(vec!["http", "https", "HTTP", "Https"]);
    let port = prop_oneof![
        3 => Just(None::<u16>),
        3 => (1u16..=65535).prop_map(Some),
        1 => prop::sample::select(vec![Some(80), Some(443)]),
    ];
    let path = prop::collection::vec(segment(), 0..5)
        .prop_map(|segments| segments.iter().map(|s| format!("/{s}")).collect::<String>());
    let fragment = prop::option::of("#.{0,5}");
    (scheme, host(), port, path, prop::option::of(query()), fragment).prop_map(
        |(scheme, (host, lower_host), port, path, query, fragment)| {
            let scheme_lower = scheme.to_ascii_lowercase();
            let default = if scheme_lower == "http" { 80 } else { 443 };
            let mut written_origin = format!("{scheme}://{host}");
            if let Some(port) = port {
                written_origin.push_str(&format!(":{port}"));
            }
            let mut text = format!("{written_origin}{path}");
            if let Some(query) = &query {
                text.push('?');
                text.push_str(query);
            }
            if let Some(fragment) = &fragment {
                text.push_str(fragment);
            }
            let authority = match port.filter(|p| *p != default) {
                Some(port) => format!("{lower_host}:{port}"),
                None => lower_host,
            };
            let path = if path.is_empty() { "/".to_owned() } else { path };
            ValidUrl { text, written_origin, origin: format!("{scheme_lower}://{authority}"), authority, path }
        },
    )
}

/// Extra headers a caller may give: valid names and printable ASCII values.
fn valid_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        "x-acs-meta-[a-z0-9]{1,6}",
        "X-Acs-[A-Za-z]{5,8}",
        "x-fc-[a-z0-9-]{1,8}",
        "X-Custom-[A-Za-z0-9]{1,5}",
        prop::sample::select(vec!["content-type", "Content-Type"]).prop_map(str::to_owned),
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}-x",
    ];
    prop::collection::vec((name, "[ -~\t]{0,20}"), 0..6)
}

/// Header lists with invalid names and values and signer-owned names mixed in.
fn garbage_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        ("(x-acs-|x-fc-|X-ACS-|content-type|host|)[a-zA-Z0-9 _\\-\n]{0,8}", "[ -~\t\r\né]{0,20}"),
        0..6,
    )
}

/// A value from `valid` most of the time, from `garbage` one time in `1 + odds`; and whether it
/// came from `valid`.
fn mostly<T: std::fmt::Debug + Clone + 'static>(
    odds: u32,
    valid: impl Strategy<Value = T> + 'static,
    garbage: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<(T, bool)> {
    prop_oneof![odds => valid.prop_map(|v| (v, true)), 1 => garbage.prop_map(|v| (v, false))].boxed()
}

/// A URL: valid (with what it must sign as) or garbage (nothing known).
fn url() -> impl Strategy<Value = (String, Option<ValidUrl>)> {
    mostly(8, valid_url().prop_map(|u| (u.text.clone(), Some(u))), garbage_url().prop_map(|t| (t, None)))
        .prop_map(|(url, _)| url)
}

#[derive(Debug, Clone)]
struct SignCase {
    method: String,
    url: (String, Option<ValidUrl>),
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    id: String,
    secret: String,
    token: Option<String>,
    action: String,
    nonce: String,
    seconds: i64,
    /// Every part was drawn from its valid strategy: the request must sign.
    valid: bool,
}

fn sign_case() -> impl Strategy<Value = SignCase> {
    let methods =
        ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", "post", "Put", "delete", "patch", "MKCOL"];
    (
        (
            mostly(29, prop::sample::select(methods.to_vec()).prop_map(str::to_owned), "[A-Za-z \\-]{0,8}"),
            url(),
            mostly(29, valid_headers(), garbage_headers()),
            prop::collection::vec(any::<u8>(), 0..64),
        ),
        (
            mostly(29, "[A-Za-z0-9._-]{1,24}", "[ -~]{0,12}"),
            mostly(29, ".{1,16}", ".{0,2}"),
            mostly(29, prop::option::of("[A-Za-z0-9+/=]{1,40}"), prop::option::of("[ -~\n]{0,12}")),
        ),
        (
            mostly(29, "[A-Za-z]{1,20}", "[ -~]{0,12}"),
            mostly(29, "[0-9a-f]{8,32}", "[ -~é]{0,12}"),
            mostly(29, 0..=253_402_300_799i64, any::<i64>()),
        ),
    )
        .prop_map(|((method, url, headers, body), (id, secret, token), (action, nonce, seconds))| SignCase {
            valid: [method.1, headers.1, id.1, secret.1, token.1, action.1, nonce.1, seconds.1].iter().all(|v| *v)
                && url.1.is_some(),
            method: method.0,
            url,
            headers: headers.0,
            body,
            id: id.0,
            secret: secret.0,
            token: token.0,
            action: action.0,
            nonce: nonce.0,
            seconds: seconds.0,
        })
}

/// The method as fetch sends it: the six standard methods upper-cased, others as given.
fn fetch_method(method: &str) -> String {
    let upper = method.to_ascii_uppercase();
    if ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].contains(&upper.as_str()) {
        upper
    } else {
        method.to_owned()
    }
}

/// Signs `case`; on success checks what was signed against what was generated, then re-signs
/// exactly what we would send and requires the same canonical request and signature.
fn check_signing(case: SignCase) -> Result<bool, TestCaseError> {
    let c = &case;
    let creds = || Credentials::new(c.id.clone(), c.secret.clone(), c.token.clone());
    let params = |date| SigningParams { action: Some(&c.action), version: Some("2023-03-30"), date, nonce: &c.nonce };
    let signed = (|| -> Result<_, Error> {
        let url = Url::parse(&c.url.0, "url")?;
        let request = SignableRequest::new(&c.method, url, &c.headers, PayloadHash::of_bytes(&c.body))?;
        sign(&request, &creds()?, &params(AcsDate::from_unix_seconds(c.seconds)?))
    })();
    let signed = match signed {
        Ok(signed) => signed,
        Err(err) => {
            prop_assert!(typed(&err), "untyped error {:?}", err);
            prop_assert!(!c.valid, "a valid request was refused: {}", err);
            return Ok(false);
        }
    };
    prop_assert_eq!(&signed.method, &fetch_method(&c.method));
    let canonical = signed.canonical_request.as_str();
    if let Some(valid) = &c.url.1 {
        let sent = format!("{}{}", valid.origin, valid.path);
        let rest = signed.url.strip_prefix(&sent);
        prop_assert!(rest.is_some_and(|r| r.is_empty() || r.starts_with('?')), "{} sent as {}", c.url.0, signed.url);
        let host_line = format!("\nhost:{}\n", valid.authority);
        prop_assert!(canonical.contains(&host_line), "no {:?} in {}", host_line, canonical);
    }
    let authorization = signed.header("authorization").unwrap_or_default();
    let credential = format!("ACS3-HMAC-SHA256 Credential={},SignedHeaders=", c.id);
    prop_assert!(authorization.starts_with(&credential), "{}", authorization);
    prop_assert_eq!(signed.header("x-acs-signature-nonce"), Some(c.nonce.as_str()));

    // Idempotence: what we send (method, URL, headers but the signer's), signed again with the
    // same credentials, time and nonce, is the same canonical request and signature.
    let resent: Vec<(String, String)> =
        signed.headers.iter().filter(|(n, _)| !SIGNER_HEADERS.contains(&n.as_str())).cloned().collect();
    let resigned = (|| -> Result<_, Error> {
        let url = Url::parse(&signed.url, "url")?;
        let request = SignableRequest::new(&signed.method, url, &resent, PayloadHash::of_bytes(&c.body))?;
        sign(&request, &creds()?, &params(AcsDate::from_unix_seconds(c.seconds)?))
    })();
    let resigned = match resigned {
        Ok(resigned) => resigned,
        Err(err) => return Err(TestCaseError::fail(format!("re-signing {signed:?} failed: {err}"))),
    };
    prop_assert_eq!(resigned.canonical_request.as_str(), canonical);
    prop_assert_eq!(resigned.string_to_sign.as_str(), signed.string_to_sign.as_str());
    prop_assert_eq!(resigned.header("authorization"), Some(authorization));
    prop_assert_eq!(&resigned.url, &signed.url);
    // And the same headers on the wire (fetch strips spaces and tabs at a value's ends; an
    // unsigned header given twice, once empty, is joined as "v, " and sent as "v,").
    let wire = |headers: &[(String, String)]| -> Vec<(String, String)> {
        headers.iter().map(|(n, v)| (n.clone(), v.trim_matches([' ', '\t']).to_owned())).collect()
    };
    prop_assert_eq!(wire(&resigned.headers), wire(&signed.headers));
    Ok(true)
}

#[test]
fn signing_arbitrary_requests_never_panics() {
    run_counting(2000, sign_case(), check_signing);
}

/// Where the invocation goes: a region's endpoint, an explicit one, or garbage for either.
#[derive(Debug, Clone)]
enum Where {
    Region { account: String, region: String },
    Explicit { url: String },
}

/// The endpoint and, when it is valid by construction, its origin.
fn endpoint() -> impl Strategy<Value = (Where, Option<String>)> {
    let regions = vec!["cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1", "us-west-1", "eu-central-1"];
    let valid = prop_oneof![
        3 => ("[0-9]{1,16}", prop::sample::select(regions)).prop_map(|(account, region)| {
            let origin = format!("https://{account}.{region}.fc.aliyuncs.com");
            (Where::Region { account, region: region.to_owned() }, Some(origin))
        }),
        1 => (valid_url(), prop::sample::select(vec!["", "/", " "])).prop_map(|(u, end)| {
            (Where::Explicit { url: format!("{}{end}", u.written_origin) }, Some(u.origin))
        }),
    ];
    let garbage = prop_oneof![
        ("[a-z0-9\\-]{0,10}", "[a-zA-Z0-9\\-.]{0,10}")
            .prop_map(|(account, region)| (Where::Region { account, region }, None)),
        garbage_url().prop_map(|url| (Where::Explicit { url }, None)),
    ];
    mostly(8, valid, garbage).prop_map(|(endpoint, _)| endpoint)
}

#[derive(Debug, Clone)]
struct InvokeCase {
    endpoint: (Where, Option<String>),
    function_name: String,
    qualifier: Option<String>,
    is_async: bool,
    task: Option<String>,
    tail: bool,
    headers: Vec<(String, String)>,
    hash: Option<String>,
    /// Every part was drawn from its valid strategy: the invocation must sign.
    valid: bool,
}

fn invoke_case() -> impl Strategy<Value = InvokeCase> {
    let identifier =
        |max: usize| prop::string::string_regex(&format!("[A-Za-z_][A-Za-z0-9_-]{{0,{}}}", max - 1)).expect("regex");
    let qualifier = prop_oneof![Just("LATEST".to_owned()), "[0-9]{1,4}", identifier(128)];
    let valid_kind =
        prop_oneof![Just((false, None)), Just((true, None)), identifier(128).prop_map(|task| (true, Some(task))),];
    let garbage_kind = (any::<bool>(), prop::option::of("[a-zA-Z0-9_\\-.]{0,140}"));
    let option_header = prop::sample::select(vec!["x-fc-invocation-type", "X-Fc-Log-Type", "x-fc-async-task-id"]);
    let garbage_headers = prop_oneof![
        garbage_headers(),
        (valid_headers(), option_header).prop_map(|(mut headers, name)| {
            headers.push((name.to_owned(), "Async".to_owned()));
            headers
        }),
    ];
    (
        endpoint(),
        mostly(29, identifier(64), "[a-zA-Z0-9_\\-./ ]{0,70}"),
        mostly(29, prop::option::of(qualifier), prop::option::of("[a-zA-Z0-9_\\- ]{0,10}")),
        mostly(29, valid_kind, garbage_kind),
        any::<bool>(),
        mostly(29, valid_headers(), garbage_headers),
        mostly(29, prop::option::of("[0-9a-fA-F]{64}"), prop::option::of("[0-9a-fA-Fg]{60,66}")),
    )
        .prop_map(|(endpoint, function_name, qualifier, kind, tail, headers, hash)| InvokeCase {
            valid: [function_name.1, qualifier.1, kind.1, headers.1, hash.1].iter().all(|v| *v) && endpoint.1.is_some(),
            endpoint,
            function_name: function_name.0,
            qualifier: qualifier.0,
            is_async: kind.0 .0,
            task: kind.0 .1,
            tail,
            headers: headers.0,
            hash: hash.0,
        })
}

/// Builds and signs the invocation; on success checks the request against what was generated.
fn check_invocation(case: InvokeCase) -> Result<bool, TestCaseError> {
    let c = &case;
    let signed = (|| -> Result<_, Error> {
        let endpoint = match &c.endpoint.0 {
            Where::Region { account, region } => Endpoint::for_region(account, region)?,
            Where::Explicit { url } => Endpoint::parse(url)?,
        };
        let payload = match &c.hash {
            Some(h) => PayloadHash::from_hex(h)?,
            None => PayloadHash::empty(),
        };
        let opts = InvokeFunction {
            function_name: &c.function_name,
            qualifier: c.qualifier.as_deref(),
            invocation_type: if c.is_async { InvocationType::Async } else { InvocationType::Sync },
            log_type: if c.tail { LogType::Tail } else { LogType::None },
            async_task_id: c.task.as_deref(),
            headers: &c.headers,
        };
        let call = opts.to_request(&endpoint, payload)?;
        let creds = Credentials::new("id", "secret", None)?;
        call.sign(&creds, AcsDate::from_unix_seconds(1_700_000_000)?, "nonce")
    })();
    let signed = match signed {
        Ok(signed) => signed,
        Err(err) => {
            prop_assert!(typed(&err), "untyped error {:?}", err);
            prop_assert!(!c.valid, "a valid invocation was refused: {}", err);
            return Ok(false);
        }
    };
    let mut path = format!("/2023-03-30/functions/{}/invocations", c.function_name);
    if let Some(q) = &c.qualifier {
        path.push_str(&format!("?qualifier={q}"));
    }
    match &c.endpoint.1 {
        Some(origin) => {
            prop_assert_eq!(&signed.url, &format!("{origin}{path}"));
            let authority = origin.split_once("://").map_or("", |(_, a)| a);
            let host_line = format!("\nhost:{authority}\n");
            prop_assert!(signed.canonical_request.as_str().contains(&host_line), "{}", signed.canonical_request);
        }
        None => prop_assert!(signed.url.ends_with(&path), "{} does not end with {}", signed.url, path),
    }
    prop_assert_eq!(&signed.method, "POST");
    prop_assert_eq!(signed.header("x-acs-action"), Some("InvokeFunction"));
    prop_assert_eq!(signed.header("x-acs-version"), Some("2023-03-30"));
    prop_assert_eq!(signed.header("x-acs-date"), Some("2023-11-14T22:13:20Z"));
    let hash = c.hash.as_deref().map_or(EMPTY_SHA256.to_owned(), str::to_ascii_lowercase);
    prop_assert_eq!(signed.header("x-acs-content-sha256"), Some(hash.as_str()));
    prop_assert_eq!(signed.header("x-fc-invocation-type"), Some(if c.is_async { "Async" } else { "Sync" }));
    prop_assert_eq!(signed.header("x-fc-log-type"), Some(if c.tail { "Tail" } else { "None" }));
    prop_assert_eq!(signed.header("x-fc-async-task-id"), c.task.as_deref());
    if !c.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
        prop_assert_eq!(signed.header("content-type"), Some("application/octet-stream"));
    }
    let authorization = signed.header("authorization").unwrap_or_default();
    prop_assert!(authorization.starts_with("ACS3-HMAC-SHA256 Credential=id,SignedHeaders="), "{}", authorization);
    Ok(true)
}

#[test]
fn building_arbitrary_invocations_never_panics() {
    run_counting(2000, invoke_case(), check_invocation);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn secrets_never_appear_in_errors_or_debug(secret in "[a-zA-Z0-9]{16,24}", token in "[a-zA-Z0-9]{16,24}", id in ".{0,6}") {
        match Credentials::new(id, secret.clone(), Some(token.clone())) {
            Ok(creds) => {
                let url = Url::parse("https://h/x", "url").map_err(|e| TestCaseError::fail(e.to_string()))?;
                let request = SignableRequest::new("POST", url, &[], PayloadHash::empty())
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let date = AcsDate::from_unix_seconds(1_700_000_000).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let params = SigningParams { action: None, version: None, date, nonce: "n" };
                let signed = sign(&request, &creds, &params).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(signed.header("x-acs-security-token"), Some(token.as_str()));
                let shown = format!("{creds:?} {signed:?} {}", signed.canonical_request);
                prop_assert!(!shown.contains(&secret) && !shown.contains(&token), "{}", shown);
            }
            Err(err) => {
                let shown = format!("{err} {err:?}");
                prop_assert!(!shown.contains(&secret) && !shown.contains(&token));
            }
        }
    }
}
