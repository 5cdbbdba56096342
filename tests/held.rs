//! Behaviours that no other test held: each test here fails on a small, realistic change to the
//! code (a mutant) that every other test let through (mutation-testing reviews).

#![cfg(not(target_arch = "wasm32"))]

use fc_invoke::acs3::Credentials;
use fc_invoke::acs3::{PayloadHash, SignableRequest};
use fc_invoke::client::{Call, CallOptions, Client, CredentialSource, HostResponse, Next};
use fc_invoke::fc::retry::RetryPolicy;
use fc_invoke::fc::{service_error, CustomCall, Endpoint, InvokeFunction, InvokeMeta};
use fc_invoke::http::Url;

struct A {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    json: Vec<(&'static str, &'static str)>,
}
impl HostResponse for A {
    fn status(&self) -> u16 {
        self.status
    }
    fn header(&self, n: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.to_string())
    }
    fn json_field(&self, n: &str) -> Option<String> {
        self.json.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
    }
}
fn client() -> Client {
    let creds = Credentials::new("id", "secret", None).unwrap();
    Client::new(Endpoint::parse("http://127.0.0.1:9000").unwrap(), CredentialSource::Static(creds))
}
/// Drives `call` with `answers`; returns (requests sent, x-acs-date of each, ended ok).
fn drive(client: &mut Client, mut call: Call, mut answers: Vec<A>, now: f64) -> (usize, Vec<String>, bool) {
    answers.reverse();
    let (mut sent, mut dates, mut n) = (0, vec![], 0);
    let mut next = call.resume(client, now, "n0");
    loop {
        next = match next {
            Next::Send { request, .. } => {
                sent += 1;
                dates.push(request.header("x-acs-date").unwrap().to_owned());
                let a = answers.pop().expect("an answer");
                call.answered(client, &a, now, 0.5)
            }
            Next::Wait { .. } | Next::Resume => {
                n += 1;
                call.resume(client, now, &format!("n{n}"))
            }
            Next::Done { .. } => return (sent, dates, true),
            Next::Failed(_) => return (sent, dates, false),
            other => panic!("{other:?}"),
        }
    }
}
fn ok() -> A {
    A { status: 200, headers: vec![], json: vec![("status", "Succeeded")] }
}
fn e500() -> A {
    A { status: 500, headers: vec![], json: vec![("Code", "InternalServerError")] }
}

#[test]
fn t10_payload_hash_must_be_exactly_64_digits() {
    assert!(PayloadHash::from_hex(&"a".repeat(65)).is_err());
    assert!(PayloadHash::from_hex(&"a".repeat(128)).is_err(), "a SHA-512 is not a SHA-256");
}
#[test]
fn t13_log_tail_is_standard_padded_base64() {
    // "a~~~" is YX5+fg== (Buffer.from("a~~~").toString("base64")): '+' and padding.
    let meta = InvokeMeta { log_result: Some("YX5+fg==".into()), ..InvokeMeta::default() };
    assert_eq!(meta.log().as_deref(), Some("a~~~"));
}
#[test]
fn t19_every_signer_header_is_refused() {
    let url = Url::parse("https://h/", "url").unwrap();
    for name in ["x-acs-content-sha256", "x-acs-signature-nonce", "x-acs-action", "x-acs-version", "x-acs-accesskey-id"]
    {
        let h = vec![(name.to_owned(), "v".to_owned())];
        assert!(SignableRequest::new("GET", url.clone(), &h, PayloadHash::empty()).is_err(), "{name}");
    }
}
#[test]
fn t21_a_second_clock_correction_replaces_the_first() {
    let mut c = client();
    c.set_retry(RetryPolicy::none());
    let skew = |date| A { status: 403, headers: vec![("date", date)], json: vec![("Code", "RequestTimeTooSkewed")] };
    let local = 1_795_604_400_000.0 - 3_600_000.0; // an hour slow
    let inv = InvokeFunction { function_name: "f", ..InvokeFunction::default() };
    let call = |c: &Client| Call::invoke(c, &inv, PayloadHash::empty(), &CallOptions::default(), local).unwrap();
    let k = call(&c);
    let first = drive(&mut c, k, vec![skew("Wed, 25 Nov 2026 11:00:00 GMT"), ok()], local);
    assert_eq!(first.1.last().map(String::as_str), Some("2026-11-25T11:00:00Z"));
    // The server's clock is later found two hours ahead of the host: the offset is 2 h, not 1 h + 2 h.
    let k = call(&c);
    let second = drive(&mut c, k, vec![skew("Wed, 25 Nov 2026 12:00:00 GMT"), ok()], local);
    assert_eq!(second.1.last().map(String::as_str), Some("2026-11-25T12:00:00Z"));
}
#[test]
fn t23_a_custom_calls_own_content_type_is_kept_whatever_its_case() {
    let h = vec![("Content-Type".to_owned(), "text/plain".to_owned())];
    let call = CustomCall { method: "POST", path: "/x", action: "A", headers: &h, ..CustomCall::default() };
    let req = call
        .to_request(&Endpoint::parse("http://127.0.0.1:9000").unwrap(), PayloadHash::of_bytes(b"hi"), true)
        .unwrap();
    let signed = req
        .sign(&Credentials::new("id", "s", None).unwrap(), fc_invoke::acs3::AcsDate::from_unix_seconds(0).unwrap(), "n")
        .unwrap();
    assert_eq!(signed.header("content-type"), Some("text/plain"));
}
#[test]
fn t29_stop_is_not_repeated_even_when_declared_idempotent() {
    let mut c = client();
    let o = CallOptions { idempotent: true, ..CallOptions::default() };
    let call = Call::stop_async_task(&c, "f", "t1", None, &o, 0.0).unwrap();
    assert_eq!(drive(&mut c, call, vec![e500(), ok()], 0.0).0, 1);
}
#[test]
fn t30_get_async_task_is_retried_after_a_500() {
    let mut c = client();
    let call = Call::get_async_task(&c, "f", "t1", None, &CallOptions::default(), 0.0).unwrap();
    let (sent, _, done) = drive(&mut c, call, vec![e500(), ok()], 0.0);
    assert_eq!((sent, done), (2, true));
}
#[test]
fn t31_ipv4_with_a_leading_zero_is_refused() {
    assert!(Url::parse("http://10.0.0.01/", "u").is_err(), "fetch sends 10.0.0.1");
}
#[test]
fn t33_query_splits_at_the_first_equals() {
    let u = Url::parse("https://h/?nextToken=abc==", "u").unwrap();
    assert_eq!(u.query(), [("nextToken".to_owned(), "abc==".to_owned())]);
}
#[test]
fn t34_an_empty_code_is_no_code() {
    let e = service_error(500, |_| None, |f| (f == "Code").then(String::new));
    assert_eq!(e.code, "ServiceError");
}
#[test]
fn t35_policy_delay_is_bounded() {
    assert!(RetryPolicy::new(3, 100, 600_001).is_err());
}
#[test]
fn t42_a_custom_head_is_a_read_and_retried() {
    let mut c = client();
    let custom = CustomCall { method: "HEAD", path: "/x", action: "A", ..CustomCall::default() };
    let call = Call::request(&c, &custom, PayloadHash::empty(), false, &CallOptions::default(), 0.0).unwrap();
    let (sent, _, done) = drive(&mut c, call, vec![e500(), ok()], 0.0);
    assert_eq!((sent, done), (2, true));
}
#[test]
fn t38_t39_hosts_fetch_would_not_reach_are_refused() {
    assert!(Endpoint::for_region("123", "cn-").is_err(), "a DNS label cannot end in '-'");
    assert!(Url::parse("http://[1234]/", "u").is_err(), "an IPv6 literal has a ':'");
}

#[test]
fn t27_a_poll_answered_without_a_task_status_fails_rather_than_polls_forever() {
    let mut c = client();
    let call = Call::wait_for_async_task(&c, "f", "t1", None, 10, 100, &CallOptions::default(), 0.0).unwrap();
    let not_a_task = A { status: 200, headers: vec![], json: vec![] };
    let (sent, _, done) = drive(&mut c, call, vec![not_a_task], 0.0);
    assert_eq!((sent, done), (1, false));
}
