//! The Rust API for code compiled to wasm32 (workers-rs, Leptos, Yew…): the same client the JS
//! package uses, over the host's global `fetch`, with Rust types in and out.
//!
//! ```no_run
//! # async fn run() -> Result<(), fc_invoke::Error> {
//! use fc_invoke::acs3::Credentials;
//! use fc_invoke::fc::{Endpoint, InvocationType, InvokeFunction};
//! use fc_invoke::wasm::FcClient;
//!
//! let client = FcClient::new(
//!     Endpoint::for_region("1234567890123456", "cn-hangzhou")?,
//!     Credentials::new("LTAI…", "secret", None)?,
//! )?;
//! let res = client
//!     .invoke_function(&InvokeFunction { function_name: "my-func", ..Default::default() }, b"event")
//!     .await?;
//! assert_eq!(res.status, 200);
//! let text = String::from_utf8_lossy(&res.body);
//! # let _ = (text, InvocationType::Async);
//! # Ok(()) }
//! ```

use super::host::{CredentialSource, JsHost};
use crate::acs3::Credentials;
use crate::client::{CallOptions, Client};
use crate::error::Error;
use crate::fc::retry::RetryPolicy;
use crate::fc::{Endpoint, InvokeFunction};
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;

/// The answer to an invocation, in Rust types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeResponse {
    /// 200 for Sync, 202 for Async.
    pub status: u16,
    /// `x-fc-request-id`.
    pub request_id: Option<String>,
    /// The decoded log tail (`LogType::Tail`).
    pub log: Option<String>,
    /// Set when the function itself failed (`x-fc-error-type`).
    pub function_error: Option<String>,
    /// The async task id (Async).
    pub async_task_id: Option<String>,
    /// Every response header, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The function's answer.
    pub body: Vec<u8>,
}

/// A Function Compute client for Rust code running in a JS host.
pub struct FcClient {
    inner: Client<JsHost>,
}

impl FcClient {
    /// A client over the host's global `fetch`, with the default retry policy.
    pub fn new(endpoint: Endpoint, credentials: Credentials) -> Result<Self, Error> {
        let host = JsHost::new(&JsValue::UNDEFINED, CredentialSource::Static(credentials))?;
        Ok(FcClient { inner: Client::new(host, endpoint) })
    }

    /// Replaces the retry policy.
    pub fn with_retry(self, retry: RetryPolicy) -> Self {
        FcClient { inner: self.inner.with_retry(retry) }
    }

    /// Invokes a function with `body` as its event.
    pub async fn invoke_function(&self, options: &InvokeFunction<'_>, body: &[u8]) -> Result<InvokeResponse, Error> {
        let body = super::host::JsBody { bytes: Uint8Array::from(body), hash: None };
        let out = self.inner.invoke_function(options, &body, &CallOptions::default()).await?;
        Ok(InvokeResponse {
            status: out.status,
            log: out.meta.log(),
            request_id: out.meta.request_id,
            function_error: out.meta.function_error,
            async_task_id: out.meta.async_task_id,
            body: out.response.body.to_vec(),
            headers: out.response.headers,
        })
    }
}
