//! Reading Function Compute's answers: the metadata headers of an invocation and the two
//! shapes of error body. Hosts parse JSON with what they have and hand fields in by name.

use crate::error::ServiceError;
use crate::prelude::*;
use crate::text::{concat, decimal};
use base64::Engine;

/// What FC says about an invocation in its response headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvokeMeta {
    /// `x-fc-request-id`.
    pub request_id: Option<String>,
    /// `x-fc-log-result` as sent: the log tail in base64 (see [`InvokeMeta::log`]). Kept
    /// encoded so a host that decodes natively (the wasm layer: `atob`) leaves the base64
    /// decoder out of its build.
    pub log_result: Option<String>,
    /// `x-fc-error-type`: the function itself failed (status is still 200).
    pub function_error: Option<String>,
    /// `x-fc-async-task-id`, for Async invocations.
    pub async_task_id: Option<String>,
}

impl InvokeMeta {
    /// Reads the metadata through `header` (a case-insensitive lookup the host provides).
    pub fn from_headers(header: impl Fn(&str) -> Option<String>) -> Self {
        InvokeMeta {
            request_id: header("x-fc-request-id"),
            log_result: header("x-fc-log-result"),
            function_error: header("x-fc-error-type").filter(|t| !t.is_empty()),
            async_task_id: header("x-fc-async-task-id"),
        }
    }

    /// The log tail, decoded: UTF-8 with invalid sequences replaced; a value that is not base64
    /// is handed over as it came rather than lost.
    pub fn log(&self) -> Option<String> {
        let b64 = self.log_result.as_deref()?;
        Some(match base64::engine::general_purpose::STANDARD.decode(b64.trim_ascii()) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => b64.to_owned(),
        })
    }
}

/// Builds a [`ServiceError`] from an error answer. `field` looks up a top-level string field of
/// the JSON body (`None` when the body is not JSON); both documented shapes are read:
/// `{Code, Message, RequestId}` and `{errorCode, errorMessage}`.
pub fn service_error(
    status: u16,
    header: impl Fn(&str) -> Option<String>,
    field: impl Fn(&str) -> Option<String>,
) -> ServiceError {
    let code = field("Code")
        .or_else(|| field("errorCode"))
        .or_else(|| field("code"))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "ServiceError".to_owned());
    let message = field("Message")
        .or_else(|| field("errorMessage"))
        .or_else(|| field("message"))
        .unwrap_or_else(|| concat(&["the service answered HTTP ", &decimal(status.into())]));
    ServiceError {
        status,
        code,
        message,
        request_id: header("x-fc-request-id").or_else(|| field("RequestId")).or_else(|| field("requestId")),
        server_date: header("date"),
        retry_after: header("retry-after"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn reads_invocation_metadata() {
        // "FC Invoke Start\nhello é" in base64, computed with `Buffer.from(...).toString("base64")`.
        let headers = [
            ("x-fc-request-id", "req-1"),
            ("x-fc-log-result", "RkMgSW52b2tlIFN0YXJ0CmhlbGxvIMOp"),
            ("x-fc-error-type", "UnhandledInvocationError"),
        ];
        let meta = InvokeMeta::from_headers(lookup(&headers));
        assert_eq!(meta.request_id.as_deref(), Some("req-1"));
        assert_eq!(meta.log().as_deref(), Some("FC Invoke Start\nhello é"));
        assert_eq!(meta.function_error.as_deref(), Some("UnhandledInvocationError"));
        assert_eq!(meta.async_task_id, None);
        assert_eq!(InvokeMeta::from_headers(lookup(&[])), InvokeMeta::default());
        // Bytes 68 ff 69 ("aP9p", from Buffer.toString("base64")): the invalid byte is replaced.
        let lossy = InvokeMeta::from_headers(lookup(&[("x-fc-log-result", "aP9p")]));
        assert_eq!(lossy.log().as_deref(), Some("h\u{fffd}i"));
        let raw = InvokeMeta::from_headers(lookup(&[("x-fc-log-result", "not base64!")]));
        assert_eq!(raw.log().as_deref(), Some("not base64!"));
        // An empty error type (a proxy that sets every header it knows) is no function error.
        let empty = InvokeMeta::from_headers(lookup(&[("x-fc-error-type", "")]));
        assert_eq!(empty.function_error, None);
    }

    #[test]
    fn reads_both_error_shapes() {
        let gateway = service_error(
            403,
            lookup(&[("date", "Wed, 25 Nov 2026 11:00:00 GMT")]),
            lookup(&[("Code", "SignatureNotMatch"), ("Message", "bad"), ("RequestId", "r1")]),
        );
        assert_eq!(
            (gateway.code.as_str(), gateway.message.as_str(), gateway.request_id.as_deref()),
            ("SignatureNotMatch", "bad", Some("r1"))
        );
        assert_eq!(gateway.server_date.as_deref(), Some("Wed, 25 Nov 2026 11:00:00 GMT"));

        let fc = service_error(
            404,
            lookup(&[("x-fc-request-id", "r2")]),
            lookup(&[("errorCode", "FunctionNotFound"), ("errorMessage", "no")]),
        );
        assert_eq!(
            (fc.code.as_str(), fc.message.as_str(), fc.request_id.as_deref()),
            ("FunctionNotFound", "no", Some("r2"))
        );

        let bare = service_error(502, lookup(&[("retry-after", "3")]), |_| None);
        assert_eq!(bare.code, "ServiceError");
        assert!(bare.message.contains("502"));
        assert_eq!(bare.retry_after.as_deref(), Some("3"));
    }
}
