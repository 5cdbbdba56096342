//! InvokeFunction: `POST /2023-03-30/functions/{functionName}/invocations`.

use super::names::{validate_async_task_id, validate_function_name, validate_qualifier};
use super::{ApiRequest, Endpoint, API_VERSION};
use crate::acs3::encode::percent_encode;
use crate::acs3::{PayloadHash, SignableRequest};
use crate::error::Error;
use crate::prelude::*;
use crate::text::concat;

/// Sync waits for the function's answer; Async queues the event and answers 202 at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvocationType {
    /// Wait for the result.
    #[default]
    Sync,
    /// Queue the event.
    Async,
}

impl InvocationType {
    /// `Sync` or `Async`, as the `x-fc-invocation-type` header spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationType::Sync => "Sync",
            InvocationType::Async => "Async",
        }
    }

    /// Parses `Sync` or `Async` (exactly).
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "Sync" => Ok(InvocationType::Sync),
            "Async" => Ok(InvocationType::Async),
            _ => Err(Error::invalid("invocationType", "must be \"Sync\" or \"Async\"")),
        }
    }
}

/// Whether FC returns the tail of the function's log with the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogType {
    /// No log.
    #[default]
    None,
    /// The last 4 KB of log, base64, in `x-fc-log-result`.
    Tail,
}

impl LogType {
    /// `None` or `Tail`, as the `x-fc-log-type` header spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogType::None => "None",
            LogType::Tail => "Tail",
        }
    }

    /// Parses `None` or `Tail` (exactly).
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "None" => Ok(LogType::None),
            "Tail" => Ok(LogType::Tail),
            _ => Err(Error::invalid("logType", "must be \"None\" or \"Tail\"")),
        }
    }
}

/// Headers InvokeFunction's options own; given as extra headers they would contradict them.
const OPTION_HEADERS: &[&str] = &["x-fc-invocation-type", "x-fc-log-type", "x-fc-async-task-id"];

/// The options of one InvokeFunction call.
#[derive(Debug, Clone, Copy, Default)]
pub struct InvokeFunction<'a> {
    /// The function's name.
    pub function_name: &'a str,
    /// A version or alias (`qualifier` query parameter).
    pub qualifier: Option<&'a str>,
    /// Sync (default) or Async.
    pub invocation_type: InvocationType,
    /// None (default) or Tail.
    pub log_type: LogType,
    /// The async task id, for Async invocations.
    pub async_task_id: Option<&'a str>,
    /// Extra headers to send (a `content-type` here replaces `application/octet-stream`).
    pub headers: &'a [(String, String)],
}

impl InvokeFunction<'_> {
    /// Checks the options without building anything (cheap: call it before hashing a body).
    pub fn validate(&self) -> Result<(), Error> {
        validate_function_name(self.function_name)?;
        if let Some(q) = self.qualifier {
            validate_qualifier(q)?;
        }
        if let Some(id) = self.async_task_id {
            validate_async_task_id(id)?;
            if self.invocation_type != InvocationType::Async {
                return Err(Error::invalid("asyncTaskId", "is only meaningful with invocationType \"Async\""));
            }
        }
        Ok(())
    }

    /// Validates the options and builds the request; `payload_hash` is the body's SHA-256.
    pub fn to_request(&self, endpoint: &Endpoint, payload_hash: PayloadHash) -> Result<ApiRequest, Error> {
        self.validate()?;
        let mut headers = Vec::with_capacity(self.headers.len() + 4);
        let mut has_content_type = false;
        for (name, value) in self.headers {
            let lower = name.to_ascii_lowercase();
            if OPTION_HEADERS.contains(&lower.as_str()) {
                return Err(Error::invalid(
                    "headers",
                    concat(&["`", &lower, "` is set from the invoke options; use those"]),
                ));
            }
            has_content_type |= lower == "content-type";
            headers.push((name.clone(), value.clone()));
        }
        if !has_content_type {
            headers.push(("content-type".to_owned(), "application/octet-stream".to_owned()));
        }
        headers.push(("x-fc-invocation-type".to_owned(), self.invocation_type.as_str().to_owned()));
        headers.push(("x-fc-log-type".to_owned(), self.log_type.as_str().to_owned()));
        if let Some(id) = self.async_task_id {
            headers.push(("x-fc-async-task-id".to_owned(), id.to_owned()));
        }
        let mut path = String::with_capacity(64 + self.function_name.len());
        for part in ["/", API_VERSION, "/functions/", &percent_encode(self.function_name), "/invocations"] {
            path.push_str(part);
        }
        let mut url = endpoint.url(path);
        if let Some(q) = self.qualifier {
            url = url.with_query(&[("qualifier".to_owned(), q.to_owned())]);
        }
        let request = SignableRequest::new("POST", url, &headers, payload_hash)?;
        Ok(ApiRequest { action: "InvokeFunction".to_owned(), request })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acs3::{AcsDate, Credentials};

    fn endpoint() -> Endpoint {
        Endpoint::for_region("123456789", "cn-hangzhou").expect("valid")
    }

    #[test]
    fn builds_and_signs_an_invocation() {
        let extra = vec![("X-Custom".to_owned(), " v ".to_owned())];
        let opts = InvokeFunction {
            function_name: "my-func",
            qualifier: Some("LATEST"),
            invocation_type: InvocationType::Async,
            log_type: LogType::Tail,
            async_task_id: Some("task_1"),
            headers: &extra,
        };
        let call = opts.to_request(&endpoint(), PayloadHash::of_bytes(b"event")).expect("valid");
        assert_eq!(call.action, "InvokeFunction");
        let creds = Credentials::new("id", "secret", None).expect("valid");
        let date = AcsDate::parse("2024-01-02T03:04:05Z").expect("valid");
        let signed = call.sign(&creds, date, "nonce-1").expect("signs");
        assert_eq!(signed.method, "POST");
        assert_eq!(
            signed.url,
            "https://123456789.cn-hangzhou.fc.aliyuncs.com/2023-03-30/functions/my-func/invocations?qualifier=LATEST"
        );
        assert_eq!(signed.header("content-type"), Some("application/octet-stream"));
        assert_eq!(signed.header("x-fc-invocation-type"), Some("Async"));
        assert_eq!(signed.header("x-fc-log-type"), Some("Tail"));
        assert_eq!(signed.header("x-fc-async-task-id"), Some("task_1"));
        assert_eq!(signed.header("x-custom"), Some("v"));
        assert_eq!(signed.header("x-acs-action"), Some("InvokeFunction"));
        assert_eq!(signed.header("x-acs-version"), Some("2023-03-30"));
        assert_eq!(signed.header("x-acs-date"), Some("2024-01-02T03:04:05Z"));
        assert_eq!(signed.header("x-acs-content-sha256"), Some(PayloadHash::of_bytes(b"event").as_str()));
        assert!(signed.canonical_request.as_str().contains("\nhost:123456789.cn-hangzhou.fc.aliyuncs.com\n"));
        assert_eq!(
            signed.canonical_request.signed_headers(),
            "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
    }

    #[test]
    fn content_type_can_be_replaced() {
        let extra = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        let opts = InvokeFunction { function_name: "f", headers: &extra, ..Default::default() };
        let call = opts.to_request(&endpoint(), PayloadHash::empty()).expect("valid");
        let creds = Credentials::new("id", "secret", None).expect("valid");
        let signed = call.sign(&creds, AcsDate::from_unix_seconds(0).expect("valid"), "n").expect("signs");
        assert_eq!(signed.header("content-type"), Some("application/json"));
    }

    #[test]
    fn refuses_bad_options_before_signing() {
        let bad_header = vec![("x-fc-invocation-type".to_owned(), "Async".to_owned())];
        let cases: Vec<(InvokeFunction<'_>, &str)> = vec![
            (InvokeFunction { function_name: "bad/name", ..Default::default() }, "functionName"),
            (InvokeFunction { function_name: "f", qualifier: Some("a b"), ..Default::default() }, "qualifier"),
            (
                InvokeFunction {
                    function_name: "f",
                    invocation_type: InvocationType::Async,
                    async_task_id: Some("1bad"),
                    ..Default::default()
                },
                "asyncTaskId",
            ),
            (InvokeFunction { function_name: "f", async_task_id: Some("ok"), ..Default::default() }, "asyncTaskId"),
            (InvokeFunction { function_name: "f", headers: &bad_header, ..Default::default() }, "headers"),
        ];
        for (opts, argument) in cases {
            match opts.to_request(&endpoint(), PayloadHash::empty()) {
                Err(Error::InvalidArgument { argument: a, .. }) => assert_eq!(a, argument),
                other => panic!("{argument}: expected InvalidArgument, got {other:?}"),
            }
        }
    }

    #[test]
    fn enums_parse_their_header_spelling() {
        assert_eq!(InvocationType::parse("Async"), Ok(InvocationType::Async));
        assert!(InvocationType::parse("async").is_err());
        assert_eq!(LogType::parse("Tail"), Ok(LogType::Tail));
        assert!(LogType::parse("tail").is_err());
    }
}
