//! Our signer against values computed by Alibaba Cloud's official SDK (see tests/vectors/generate.mjs
//! and each case's provenance). Every failure names the case and the stage.

#![cfg(not(target_arch = "wasm32"))]

use base64::Engine;
use fc_invoke::acs3::canonical::{canonical_query, canonical_uri};
use fc_invoke::acs3::{
    merge_headers, sign, signature, AcsDate, CanonicalRequest, Credentials, PayloadHash, Secret, SignableRequest,
    SignedRequest, SigningParams, StringToSign,
};
use fc_invoke::fc::{Endpoint, InvocationType, InvokeFunction, LogType};
use fc_invoke::http::Url;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("missing string {key} in {v}"))
}

fn opt(v: &Value, key: &str) -> Option<String> {
    v[key].as_str().map(str::to_owned)
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("array of pairs")
        .iter()
        .map(|p| (p[0].as_str().expect("name").to_owned(), p[1].as_str().expect("value").to_owned()))
        .collect()
}

fn body(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s(v, "bodyBase64")).expect("base64 body")
}

/// Signs a full-request vector input (method, url, headers, body, credentials, date, nonce).
fn sign_input(input: &Value) -> SignedRequest {
    let url = Url::parse(s(input, "url"), "url").expect("url parses");
    let request =
        SignableRequest::new(s(input, "method"), url, &pairs(&input["headers"]), PayloadHash::of_bytes(&body(input)))
            .expect("request is valid");
    let creds = Credentials::new(s(input, "accessKeyId"), s(input, "accessKeySecret"), opt(input, "securityToken"))
        .expect("creds");
    let params = SigningParams {
        action: Some(s(input, "action")),
        version: Some(s(input, "version")),
        date: AcsDate::parse(s(input, "date")).expect("date"),
        nonce: s(input, "nonce"),
    };
    sign(&request, &creds, &params).expect("signs")
}

fn check_stages(case: &str, signed: &SignedRequest, canonical: &str, string_to_sign: &str, authorization: &str) {
    assert_eq!(signed.canonical_request.as_str(), canonical, "{case}: stage canonical-request");
    assert_eq!(signed.string_to_sign.as_str(), string_to_sign, "{case}: stage string-to-sign");
    assert_eq!(signed.header("authorization"), Some(authorization), "{case}: stage authorization");
}

#[test]
fn published_v3_documentation_example() {
    let dir = vectors().join("cases/doc-ecs-runinstances");
    let signed = sign_input(&json(&dir.join("input.json")));
    check_stages(
        "doc-ecs-runinstances",
        &signed,
        &read(&dir.join("canonical-request.txt")),
        &read(&dir.join("string-to-sign.txt")),
        &read(&dir.join("authorization.txt")),
    );
    assert!(read(&dir.join("authorization.txt"))
        .ends_with("Signature=e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"));
}

#[test]
fn openapi_util_stage_case() {
    // Canonicalisation only: an empty path, an empty query value, header names equal but for case.
    let dir = vectors().join("cases/openapi-util-getauthorization");
    let input = json(&dir.join("input.json"));
    let headers = merge_headers(&pairs(&input["headers"])).expect("headers");
    let payload = PayloadHash::from_hex(s(&input, "payloadHash")).expect("hash");
    let canonical = CanonicalRequest::new(
        s(&input, "method"),
        &canonical_uri(s(&input, "path")),
        &canonical_query(&pairs(&input["query"])),
        &headers,
        &payload,
    );
    assert_eq!(canonical.as_str(), read(&dir.join("canonical-request.txt")), "stage canonical-request");
    let sts = StringToSign::new(&canonical);
    assert_eq!(sts.as_str(), read(&dir.join("string-to-sign.txt")), "stage string-to-sign");
    let sig = signature(&Secret::new(s(&input, "accessKeySecret")), &sts).expect("hmac");
    let authorization = format!(
        "ACS3-HMAC-SHA256 Credential={},SignedHeaders={},Signature={sig}",
        s(&input, "accessKeyId"),
        canonical.signed_headers()
    );
    assert_eq!(authorization, read(&dir.join("authorization.txt")), "stage authorization");
    assert!(authorization.ends_with("910e59dd385879346de704a06c96613f8157aa7124e6d1c4f2bdffa1e5588187"));
}

#[test]
fn differential_against_openapi_core() {
    let file = json(&vectors().join("differential/openapi-core-1.0.8.json"));
    let cases = file["cases"].as_array().expect("cases");
    assert!(cases.len() >= 300, "expected hundreds of generated cases, found {}", cases.len());
    for case in cases {
        let name = s(case, "name");
        let (input, expected) = (&case["input"], &case["expected"]);
        let signed = sign_input(input);
        assert_eq!(signed.header("x-acs-content-sha256"), Some(s(expected, "payloadHash")), "{name}: payload hash");
        check_stages(
            name,
            &signed,
            s(expected, "canonicalRequest"),
            s(expected, "stringToSign"),
            s(expected, "authorization"),
        );
    }
}

#[test]
fn invoke_function_as_the_official_client_sends_it() {
    let file = json(&vectors().join("fc20230330-invoke/cases.json"));
    let cases = file["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    for case in cases {
        let name = s(case, "name");
        let (input, sent) = (&case["input"], &case["sent"]);
        let sent_headers = sent["headers"].as_object().expect("headers");
        // The official client adds a header naming its credential provider; we pass it through as
        // an extra header so that the signed header sets are the same.
        let extra: Vec<(String, String)> = sent_headers
            .iter()
            .filter(|(n, _)| n.as_str() == "x-acs-credentials-provider")
            .map(|(n, v)| (n.clone(), v.as_str().expect("value").to_owned()))
            .collect();
        let invocation_type = opt(input, "invocationType").map(|t| InvocationType::parse(&t).expect("type"));
        let log_type = opt(input, "logType").map(|t| LogType::parse(&t).expect("log type"));
        let qualifier = opt(input, "qualifier");
        let task = opt(input, "asyncTaskId");
        let opts = InvokeFunction {
            function_name: s(input, "functionName"),
            qualifier: qualifier.as_deref(),
            invocation_type: invocation_type.unwrap_or_default(),
            log_type: log_type.unwrap_or_default(),
            async_task_id: task.as_deref(),
            headers: &extra,
        };
        let endpoint = Endpoint::parse(s(input, "endpoint")).expect("endpoint");
        let call = opts.to_request(&endpoint, PayloadHash::of_bytes(&body(input))).expect("valid options");
        let creds = Credentials::new(s(input, "accessKeyId"), s(input, "accessKeySecret"), opt(input, "securityToken"))
            .expect("creds");
        let signed =
            call.sign(&creds, AcsDate::parse(s(input, "date")).expect("date"), s(input, "nonce")).expect("signs");

        assert_eq!(signed.method, s(sent, "method"), "{name}: method");
        // Before the headers: a wrong host shows as such, not only as a signature mismatch.
        let sent_host = sent_headers["host"].as_str().expect("the official client sent a host header");
        let host_line = format!("\nhost:{sent_host}\n");
        assert!(
            signed.canonical_request.as_str().contains(&host_line),
            "{name}: the host the client sent ({sent_host}) is the one we signed:\n{}",
            signed.canonical_request
        );
        assert_eq!(signed.url, format!("{}{}", s(input, "endpoint"), s(sent, "path")), "{name}: url");
        for (header, value) in sent_headers {
            let value = value.as_str().expect("value");
            if header.starts_with("x-acs-")
                || header.starts_with("x-fc-")
                || header == "content-type"
                || header == "authorization"
            {
                assert_eq!(signed.header(header), Some(value), "{name}: header {header}");
            }
        }
        assert_eq!(signed.header("host"), None, "{name}: host is left to the HTTP stack");
        if invocation_type.is_none() {
            assert_eq!(signed.header("x-fc-invocation-type"), Some("Sync"), "{name}: default invocation type");
        }
    }
}
