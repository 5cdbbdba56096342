//! The Rust API for code compiled to wasm32 (workers-rs, Leptos, Yew…): the JS package's client,
//! driven over the host's global `fetch`, with Rust types in and out. It offers
//! `invoke_function` with the client's retries; not yet the JS package's per-call timeouts,
//! deadline, abort, `idempotent`, async-task calls or credentials provider, and dropping its
//! future does not cancel the fetch.
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

use super::host::{js_message, Kind};
use super::{fetch_from, Io, Started, WasmClient};
use crate::acs3::{Credentials, PayloadHash};
use crate::client::{Call, CallOptions, Client, CredentialSource};
use crate::error::{Cause, Error};
use crate::fc::retry::RetryPolicy;
use crate::fc::{Endpoint, InvokeFunction};
use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::RefCell;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

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
    inner: WasmClient,
}

/// Shows nothing of the client: its credentials are secret and its JS values opaque (so that a
/// struct holding one can derive `Debug`).
impl core::fmt::Debug for FcClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FcClient").finish_non_exhaustive()
    }
}

impl FcClient {
    /// A client over the host's global `fetch`, with the default retry policy.
    pub fn new(endpoint: Endpoint, credentials: Credentials) -> Result<Self, Error> {
        let io = Io { fetch: fetch_from(&JsValue::UNDEFINED)?, provider: JsValue::UNDEFINED };
        let client = Client::new(endpoint, CredentialSource::Static(credentials));
        Ok(FcClient { inner: WasmClient::with(client, io) })
    }

    /// Replaces the retry policy.
    pub fn with_retry(self, retry: RetryPolicy) -> Self {
        // No call is in flight: they borrow the client, which this takes by value.
        if let Ok(mut client) = self.inner.calls.client() {
            client.set_retry(retry);
        }
        self
    }

    /// Invokes a function with `body` as its event.
    pub async fn invoke_function(&self, options: &InvokeFunction<'_>, body: &[u8]) -> Result<InvokeResponse, Error> {
        let failure = Rc::new(RefCell::new(None));
        let build = Box::new(|client: &Client, now, call: &CallOptions| {
            let call = Call::invoke(client, options, PayloadHash::of_bytes(body), call, now)?;
            let body = (!body.is_empty()).then(|| Uint8Array::from(body));
            let task_id = options.async_task_id.map(str::to_owned);
            Ok(Started { call, kind: Kind::Invoke, body, task_id })
        });
        let promise = self.inner.drive(JsValue::UNDEFINED, &[], build, Some(Rc::clone(&failure)))?;
        let result = JsFuture::from(promise).await.map_err(|thrown| {
            // The call's own error when it failed; anything else is the driver's.
            failure
                .borrow_mut()
                .take()
                .unwrap_or_else(|| Error::network(js_message(&thrown), true).with_cause(Cause::new(thrown)))
        })?;
        let field = |name: &str| Reflect::get(&result, &JsValue::from_str(name)).unwrap_or_default();
        let text = |name: &str| field(name).as_string();
        let mut headers = Vec::new();
        if let Ok(Some(entries)) = js_sys::try_iter(&field("headers")) {
            for entry in entries.flatten() {
                let pair: js_sys::Array = entry.unchecked_into();
                if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                    headers.push((name, value));
                }
            }
        }
        Ok(InvokeResponse {
            status: field("status").as_f64().map_or(0, |s| s as u16),
            request_id: text("requestId"),
            log: text("log"),
            function_error: text("functionError"),
            async_task_id: text("asyncTaskId"),
            headers,
            body: field("body").dyn_into::<Uint8Array>().map(|b| b.to_vec()).unwrap_or_default(),
        })
    }
}
