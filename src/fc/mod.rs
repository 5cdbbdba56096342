//! Function Compute 3.0 knowledge: which requests its API takes and how to build them.
//! Pure: builds [`ApiRequest`]s that [`crate::acs3`] signs.

use crate::prelude::*;
pub mod async_task;
pub mod endpoint;
pub mod invoke;
pub mod names;
pub mod response;
pub mod retry;

pub use endpoint::Endpoint;
pub use invoke::{InvocationType, InvokeFunction, LogType};
pub use response::{service_error, InvokeMeta};

use crate::acs3::{self, AcsDate, Credentials, PayloadHash, SignableRequest, SignedRequest, SigningParams};
use crate::error::Error;
use crate::http::Url;
use crate::text::concat;

/// The FC 3.0 API version, sent as `x-acs-version` and first in every path.
pub const API_VERSION: &str = "2023-03-30";

/// One call of the FC 3.0 API, ready to sign: its action name and the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// `x-acs-action`, e.g. `InvokeFunction`.
    pub action: String,
    /// The request as it will be sent.
    pub request: SignableRequest,
}

/// Any FC 3.0 API call, for what has no wrapper yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomCall<'a> {
    /// The method.
    pub method: &'a str,
    /// Percent-encoded, from the root, may carry a query: `/2023-03-30/functions`.
    pub path: &'a str,
    /// Query pairs added to the path's.
    pub query: &'a [(String, String)],
    /// Extra headers.
    pub headers: &'a [(String, String)],
    /// `x-acs-action`, e.g. `ListFunctions`.
    pub action: &'a str,
}

impl CustomCall<'_> {
    /// Builds the request; a body without a content type is sent as `application/json`, the type
    /// FC's API takes.
    pub fn to_request(
        &self,
        endpoint: &Endpoint,
        payload_hash: PayloadHash,
        has_body: bool,
    ) -> Result<ApiRequest, Error> {
        if !self.path.starts_with('/') {
            return Err(Error::invalid("path", "must start with '/', e.g. /2023-03-30/functions"));
        }
        if self.action.is_empty() {
            return Err(Error::invalid("action", "is required, e.g. \"ListFunctions\""));
        }
        let bodiless = self.method.eq_ignore_ascii_case("GET") || self.method.eq_ignore_ascii_case("HEAD");
        if bodiless && has_body && payload_hash != PayloadHash::empty() {
            // fetch refuses to send it, and the signed hash would not be of what is sent.
            return Err(Error::invalid("body", "a GET or HEAD request has no body"));
        }
        let url = Url::parse(&concat(&[endpoint.origin(), self.path]), "path")?.with_query(self.query);
        let mut headers = self.headers.to_vec();
        if has_body && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        let request = SignableRequest::new(self.method, url, &headers, payload_hash)?;
        Ok(ApiRequest { action: self.action.to_owned(), request })
    }
}

impl ApiRequest {
    /// Signs the call with the given time and nonce.
    pub fn sign(&self, credentials: &Credentials, date: AcsDate, nonce: &str) -> Result<SignedRequest, Error> {
        let params = SigningParams { action: Some(&self.action), version: Some(API_VERSION), date, nonce };
        acs3::sign(&self.request, credentials, &params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_get_or_head_with_a_body_is_refused() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9000").expect("valid");
        for method in ["GET", "head"] {
            let call =
                CustomCall { method, path: "/2023-03-30/functions", action: "ListFunctions", ..CustomCall::default() };
            let with_body = call.to_request(&endpoint, PayloadHash::of_bytes(b"x"), true);
            assert_eq!(
                with_body.map_err(|e| e.to_string()).err().as_deref(),
                Some("invalid body: a GET or HEAD request has no body")
            );
            assert!(call.to_request(&endpoint, PayloadHash::empty(), true).is_ok(), "an empty body is no body");
            assert!(call.to_request(&endpoint, PayloadHash::empty(), false).is_ok());
        }
        let post = CustomCall { method: "POST", path: "/x", action: "A", ..CustomCall::default() };
        assert!(post.to_request(&endpoint, PayloadHash::of_bytes(b"x"), true).is_ok());
    }
}
