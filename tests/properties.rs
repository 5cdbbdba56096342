//! Property tests: no input makes the core panic, every failure is a typed error, and what we
//! send re-signs to the same signature (normalisation is idempotent).

#![cfg(not(target_arch = "wasm32"))]

use fc_invoke::acs3::{sign, AcsDate, Credentials, PayloadHash, SignableRequest, SigningParams};
use fc_invoke::fc::{Endpoint, InvocationType, InvokeFunction, LogType};
use fc_invoke::http::Url;
use fc_invoke::Error;
use proptest::prelude::*;

const CODES: &[&str] = &["InvalidArgument", "CredentialsError"];

fn typed(err: &Error) -> bool {
    CODES.contains(&err.code()) && !err.to_string().is_empty()
}

/// Mostly URL-ish strings, with arbitrary Unicode mixed in.
fn urlish() -> impl Strategy<Value = String> {
    prop_oneof![
        "(https?|HTTP|ftp)://[a-zA-Z0-9.\\-\\[\\]:@]{0,20}(:[0-9]{0,6})?(/[a-zA-Z0-9%+*~ !'()é/.-]{0,20}){0,4}(\\?[a-z0-9=&%+ é]{0,20})?(#.{0,5})?",
        ".{0,40}",
    ]
}

fn header_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        ("(x-acs-|x-fc-|X-ACS-|content-type|host|)[a-zA-Z0-9 _\\-\n]{0,8}", "[ -~\t\r\né]{0,20}"),
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn signing_arbitrary_requests_never_panics(
        method in "[A-Za-z \\-]{0,8}",
        url in urlish(),
        headers in header_pairs(),
        body in prop::collection::vec(any::<u8>(), 0..64),
        id in "[ -~]{0,12}",
        secret in ".{0,12}",
        token in prop::option::of("[ -~\n]{0,12}"),
        action in "[ -~]{0,12}",
        nonce in "[ -~é]{0,12}",
        seconds in any::<i64>(),
    ) {
        let outcome = (|| -> Result<(), Error> {
            let url = Url::parse(&url, "url")?;
            let request = SignableRequest::new(&method, url, &headers, PayloadHash::of_bytes(&body))?;
            let creds = Credentials::new(id, secret, token)?;
            let params = SigningParams { action: Some(&action), version: Some("2023-03-30"), date: AcsDate::from_unix_seconds(seconds)?, nonce: &nonce };
            let signed = sign(&request, &creds, &params)?;
            // Idempotence: what we send, parsed and signed again, is the same canonical request.
            let again = Url::parse(&signed.url, "url")?;
            let unsigned: Vec<(String, String)> = signed.headers.iter()
                .filter(|(n, _)| !n.starts_with("x-acs-") || n.starts_with("x-acs-meta"))
                .filter(|(n, _)| n != "authorization")
                .cloned().collect();
            let resigned = sign(&SignableRequest::new(&signed.method, again, &unsigned, PayloadHash::of_bytes(&body))?, &creds, &params)?;
            assert_eq!(resigned.url, signed.url);
            Ok(())
        })();
        if let Err(err) = outcome {
            prop_assert!(typed(&err), "untyped error {:?}", err);
        }
    }

    #[test]
    fn building_arbitrary_invocations_never_panics(
        endpoint in urlish(),
        account in "[a-z0-9\\-]{0,10}",
        region in "[a-zA-Z0-9\\-.]{0,10}",
        function_name in "[a-zA-Z0-9_\\-./ ]{0,70}",
        qualifier in prop::option::of("[a-zA-Z0-9_\\- ]{0,10}"),
        task in prop::option::of("[a-zA-Z0-9_\\-.]{0,140}"),
        is_async in any::<bool>(),
        tail in any::<bool>(),
        headers in header_pairs(),
        hash in prop::option::of("[0-9a-fA-Fg]{60,66}"),
    ) {
        let outcome = (|| -> Result<(), Error> {
            let endpoint = if account.is_empty() { Endpoint::parse(&endpoint)? } else { Endpoint::for_region(&account, &region)? };
            let payload = match &hash { Some(h) => PayloadHash::from_hex(h)?, None => PayloadHash::empty() };
            let opts = InvokeFunction {
                function_name: &function_name,
                qualifier: qualifier.as_deref(),
                invocation_type: if is_async { InvocationType::Async } else { InvocationType::Sync },
                log_type: if tail { LogType::Tail } else { LogType::None },
                async_task_id: task.as_deref(),
                headers: &headers,
            };
            let call = opts.to_request(&endpoint, payload)?;
            let creds = Credentials::new("id", "secret", None)?;
            let signed = call.sign(&creds, AcsDate::from_unix_seconds(1_700_000_000)?, "nonce")?;
            assert!(signed.url.contains("/2023-03-30/functions/"));
            assert!(signed.header("authorization").is_some());
            Ok(())
        })();
        if let Err(err) = outcome {
            prop_assert!(typed(&err), "untyped error {:?}", err);
        }
    }

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
