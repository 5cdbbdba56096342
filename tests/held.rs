//! Behaviours that no other test held: each test here fails on a small, realistic change to the
//! code (a mutant) that every other test let through (mutation-testing reviews).

#![cfg(not(target_arch = "wasm32"))]

use fc_invoke::acs3::{Credentials, PayloadHash, SignableRequest};
use fc_invoke::fc::retry::RetryPolicy;
use fc_invoke::fc::{service_error, CustomCall, Endpoint, InvokeMeta};
use fc_invoke::http::Url;

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
fn t38_t39_hosts_fetch_would_not_reach_are_refused() {
    assert!(Endpoint::for_region("123", "cn-").is_err(), "a DNS label cannot end in '-'");
    assert!(Url::parse("http://[1234]/", "u").is_err(), "an IPv6 literal has a ':'");
}
