//! The wasm-bindgen layer: the only module that names wasm_bindgen or js_sys. It takes the typed
//! arguments the JS face read from the caller's objects (strings, numbers, bytes), starts calls
//! of the core ([`crate::client::Call`]) and hands each to the driver in host.js, which does over
//! `fetch` what the call's steps say and reports back through the client's [`CallPort`]. It
//! holds no signing logic and no retry, timeout or credentials decision; its one check of its
//! own is that a task call's 2xx answer is a JSON object (`call.rs`).

use crate::prelude::*;
mod call;
mod convert;
mod host;
// The Rust API, for Rust programs on wasm32; the npm build has no Rust callers, and leaves out
// the futures machinery it links.
#[cfg(not(feature = "npm"))]
mod rust_api;

pub use call::CallPort;
#[cfg(not(feature = "npm"))]
pub use rust_api::{FcClient, InvokeResponse};

use crate::acs3::{self, AcsDate, Credentials, PayloadHash, SignableRequest, SigningParams};
use crate::client::{Call, CallOptions, Client, CredentialSource};
use crate::error::Error;
use crate::fc::async_task::{ListAsyncTasks, SortOrder};
use crate::fc::{CustomCall, Endpoint, InvocationType, InvokeFunction, LogType, API_VERSION};
use crate::http::Url;
use alloc::rc::Rc;
use call::{Calls, FailureSlot};
use convert::{epoch_ms, error_to_js, lines, millis, retry_policy, whole};
use host::{JsBody, Kind};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;

/// The caller's `fetch`, or undefined for the global one (looked up on every attempt, so that
/// mocks and instrumentation installed after the client was made are used), which must exist.
fn fetch_from(value: &JsValue) -> Result<JsValue, Error> {
    let custom = !(value.is_undefined() || value.is_null());
    let checked = if custom { value.clone() } else { host::global_fetch() };
    if !checked.is_function() {
        return Err(Error::invalid("fetch", "must be a function; this runtime has no global fetch, so pass one"));
    }
    Ok(if custom { checked } else { JsValue::UNDEFINED })
}

/// What a call needs besides its state: the client's I/O.
struct Io {
    /// The caller's fetch, or undefined (the global one).
    fetch: JsValue,
    /// The credentials provider (the JS face's wrapper), or undefined (static credentials).
    provider: JsValue,
}

/// A Function Compute client bound to one endpoint and one credential source.
#[wasm_bindgen]
pub struct WasmClient {
    calls: Rc<Calls>,
    /// The [`CallPort`] the driver reports to, made once.
    port: JsValue,
    io: Io,
}

/// A call built and ready to be driven.
struct Started {
    call: Call,
    kind: Kind,
    body: Option<Uint8Array>,
    /// The task id an Async invocation gave, for its result (see host.js `invokeResult`).
    task_id: Option<String>,
}

/// Builds a call, given the client, the host's clock and the call's options.
type Build<'a> = Box<dyn FnOnce(&Client, f64, &CallOptions) -> Result<Started, Error> + 'a>;

impl WasmClient {
    /// A client from its parts (the Rust API's way in).
    fn with(client: Client, io: Io) -> Self {
        let calls = Calls::new(client);
        let port = CallPort::new(Rc::clone(&calls)).into();
        WasmClient { calls, port, io }
    }

    /// Builds a call with `build` and hands it to the driver with the caller's `signal` and the
    /// call's options (`call`, see [`call_options`]): a promise of its result, or a rejection with
    /// the `FcError` that kept it from starting. Every exported call goes through here.
    fn start(&self, signal: JsValue, call: &[f64], build: Build<'_>) -> Promise {
        self.drive(signal, call, build, None).unwrap_or_else(|e| Promise::reject(&error_to_js(&e)))
    }

    fn drive(
        &self,
        signal: JsValue,
        call: &[f64],
        build: Build<'_>,
        failure: Option<FailureSlot>,
    ) -> Result<Promise, Error> {
        let options = call_options(call)?;
        let Started { call, kind, body, task_id } = build(&*self.calls.client()?, js_sys::Date::now(), &options)?;
        let id = self.calls.add(call, kind, failure)?;
        Ok(host::drive(&self.port, id, kind as u8, body, &signal, &self.io.fetch, &self.io.provider, task_id))
    }
}

/// A call's numeric options as the JS face passes them: `[timeoutMs, deadlineMs, idempotent (1 or
/// 0), …retry]`, NaN for a time not given, then the call's `retry` option as [`retry_policy`]
/// takes it (nothing when the call has none).
fn call_options(numbers: &[f64]) -> Result<CallOptions, Error> {
    let at = |i: usize| numbers.get(i).copied().filter(|n| !n.is_nan());
    Ok(CallOptions {
        timeout_ms: millis(at(0), "timeoutMs")?,
        deadline_ms: millis(at(1), "deadlineMs")?,
        idempotent: at(2) == Some(1.0),
        retry: retry_policy(numbers.get(3..).unwrap_or_default())?,
    })
}

/// [`WasmClient::new`] for JS: the client, or the `FcError` of a bad setting (one value, not a
/// `Result`: see [`CallPort`]).
#[wasm_bindgen(js_name = newClient)]
#[allow(clippy::too_many_arguments)]
pub fn new_client(
    endpoint: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    security_token: Option<String>,
    provider: JsValue,
    fetch: JsValue,
    retry: &[f64],
) -> JsValue {
    let keys = (access_key_id, access_key_secret, security_token);
    WasmClient::new(endpoint, account_id, region, keys, provider, fetch, retry).map_or_else(|e| e, JsValue::from)
}

impl WasmClient {
    /// A client: the endpoint (`endpoint`, or `account_id` and `region`); the credentials: static
    /// `keys` (id, secret, token), or `provider`, the JS face's wrapper of the caller's provider,
    /// which the driver calls when a call asks; `fetch` (undefined: the global one); the retry
    /// policy (`convert::retry_policy`).
    pub fn new(
        endpoint: Option<String>,
        account_id: Option<String>,
        region: Option<String>,
        keys: (Option<String>, Option<String>, Option<String>),
        provider: JsValue,
        fetch: JsValue,
        retry: &[f64],
    ) -> Result<WasmClient, JsValue> {
        let build = || -> Result<WasmClient, Error> {
            let endpoint = match (endpoint, account_id, region) {
                (Some(url), _, _) => Endpoint::parse(&url)?,
                (None, Some(account), Some(region)) => Endpoint::for_region(&account, &region)?,
                _ => return Err(Error::invalid("endpoint", "give either endpoint, or accountId and region")),
            };
            let fetch = fetch_from(&fetch)?;
            let source =
                match (keys, provider.is_function()) {
                    (_, true) => CredentialSource::Provider,
                    ((None, None, _), false) => return Err(Error::credentials(
                        "missing: give { accessKeyId, accessKeySecret, securityToken? } or an async provider function",
                    )),
                    ((id, secret, token), false) => CredentialSource::Static(Credentials::new(
                        id.unwrap_or_default(),
                        secret.unwrap_or_default(),
                        token,
                    )?),
                };
            let mut client = Client::new(endpoint, source);
            if let Some(policy) = retry_policy(retry)? {
                client.set_retry(policy);
            }
            let provider = if provider.is_function() { provider } else { JsValue::UNDEFINED };
            Ok(WasmClient::with(client, Io { fetch, provider }))
        };
        build().map_err(|e| error_to_js(&e))
    }
}

#[wasm_bindgen]
impl WasmClient {
    /// Invokes `function_name`; resolves to `{ status, requestId, headers, body, log,
    /// functionError, asyncTaskId }` or rejects with an `FcError`. `body` comes as bytes, with
    /// `body_hash` (hex SHA-256) when the JS face hashed it natively; `header_lines` as
    /// `"name\nvalue\n…"`.
    #[wasm_bindgen(js_name = invokeFunction)]
    #[allow(clippy::too_many_arguments)]
    pub fn invoke_function(
        &self,
        function_name: String,
        qualifier: Option<String>,
        invocation_type: Option<String>,
        log_type: Option<String>,
        async_task_id: Option<String>,
        header_lines: Option<String>,
        body: Option<Uint8Array>,
        body_hash: Option<String>,
        signal: JsValue,
        call: &[f64],
    ) -> Promise {
        self.start(
            signal,
            call,
            Box::new(move |client, now, options| {
                let body = JsBody::new(body, body_hash)?;
                let headers = lines(header_lines.as_deref());
                let request = InvokeFunction {
                    function_name: &function_name,
                    qualifier: qualifier.as_deref(),
                    invocation_type: invocation_type
                        .as_deref()
                        .map(InvocationType::parse)
                        .transpose()?
                        .unwrap_or_default(),
                    log_type: log_type.as_deref().map(LogType::parse).transpose()?.unwrap_or_default(),
                    async_task_id: async_task_id.as_deref(),
                    headers: &headers,
                };
                // Validated before the body is hashed: a bad name costs no hashing.
                request.validate()?;
                let call = Call::invoke(client, &request, body.payload_hash(), options, now)?;
                Ok(Started { call, kind: Kind::Invoke, body: body.to_send("POST"), task_id: async_task_id })
            }),
        )
    }

    /// GetAsyncTask, which resolves to the task (parsed JSON), or with `stop`, StopAsyncTask,
    /// which resolves to `undefined`.
    #[wasm_bindgen(js_name = asyncTask)]
    #[allow(clippy::too_many_arguments)]
    pub fn async_task(
        &self,
        stop: bool,
        function_name: String,
        task_id: String,
        qualifier: Option<String>,
        signal: JsValue,
        call: &[f64],
    ) -> Promise {
        self.start(
            signal,
            call,
            Box::new(move |client, now, options| {
                let (name, task, qualifier) = (&function_name, &task_id, qualifier.as_deref());
                let (call, kind) = if stop {
                    (Call::stop_async_task(client, name, task, qualifier, options, now)?, Kind::Nothing)
                } else {
                    (Call::get_async_task(client, name, task, qualifier, options, now)?, Kind::Json)
                };
                Ok(Started { call, kind, body: None, task_id: None })
            }),
        )
    }

    /// ListAsyncTasks; resolves to `{ tasks, nextToken }` (parsed JSON).
    #[wasm_bindgen(js_name = listAsyncTasks)]
    #[allow(clippy::too_many_arguments)]
    pub fn list_async_tasks(
        &self,
        function_name: String,
        qualifier: Option<String>,
        status: Option<String>,
        prefix: Option<String>,
        started_time_begin: Option<f64>,
        started_time_end: Option<f64>,
        limit: Option<f64>,
        next_token: Option<String>,
        sort_order_by_time: Option<String>,
        include_payload: Option<bool>,
        signal: JsValue,
        call: &[f64],
    ) -> Promise {
        self.start(
            signal,
            call,
            Box::new(move |client, now, options| {
                let list = ListAsyncTasks {
                    qualifier: qualifier.as_deref(),
                    status: status.as_deref(),
                    prefix: prefix.as_deref(),
                    started_time_begin: epoch_ms(started_time_begin, "startedTimeBegin")?,
                    started_time_end: epoch_ms(started_time_end, "startedTimeEnd")?,
                    limit: whole(limit, "limit", 1_000_000)?,
                    next_token: next_token.as_deref(),
                    sort_order_by_time: sort_order_by_time.as_deref().map(SortOrder::parse).transpose()?,
                    include_payload,
                };
                let call = Call::list_async_tasks(client, &function_name, &list, options, now)?;
                Ok(Started { call, kind: Kind::Json, body: None, task_id: None })
            }),
        )
    }

    /// Polls until the task ends; resolves to the final task (parsed JSON). `call`'s deadline
    /// bounds the whole wait.
    #[wasm_bindgen(js_name = waitForAsyncTask)]
    #[allow(clippy::too_many_arguments)]
    pub fn wait_for_async_task(
        &self,
        function_name: String,
        task_id: String,
        qualifier: Option<String>,
        poll_interval_ms: Option<f64>,
        max_poll_interval_ms: Option<f64>,
        signal: JsValue,
        call: &[f64],
    ) -> Promise {
        self.start(
            signal,
            call,
            Box::new(move |client, now, options| {
                let interval = millis(poll_interval_ms, "pollIntervalMs")?.unwrap_or(500);
                let max_interval = millis(max_poll_interval_ms, "maxPollIntervalMs")?.unwrap_or(5_000);
                let qualifier = qualifier.as_deref();
                let call = Call::wait_for_async_task(
                    client,
                    &function_name,
                    &task_id,
                    qualifier,
                    interval,
                    max_interval,
                    options,
                    now,
                )?;
                Ok(Started { call, kind: Kind::Json, body: None, task_id: None })
            }),
        )
    }

    /// Any FC 3.0 API call; resolves to `{ status, requestId, headers, body }`. `query_lines`
    /// and `header_lines` are `"name\nvalue\n…"`; `body` is undefined for none.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &self,
        method: Option<String>,
        path: Option<String>,
        query_lines: Option<String>,
        header_lines: Option<String>,
        action: Option<String>,
        body: Option<Uint8Array>,
        body_hash: Option<String>,
        signal: JsValue,
        call: &[f64],
    ) -> Promise {
        self.start(
            signal,
            call,
            Box::new(move |client, now, options| {
                let has_body = body.is_some();
                let body = JsBody::new(body, body_hash)?;
                let (query, headers) = (lines(query_lines.as_deref()), lines(header_lines.as_deref()));
                let custom = CustomCall {
                    method: method.as_deref().unwrap_or("GET"),
                    path: path
                        .as_deref()
                        .ok_or_else(|| Error::invalid("path", "is required, e.g. /2023-03-30/functions"))?,
                    query: &query,
                    headers: &headers,
                    action: action.as_deref().unwrap_or_default(),
                };
                let payload = if has_body { body.payload_hash() } else { PayloadHash::empty() };
                let call = Call::request(client, &custom, payload, has_body, options, now)?;
                let body = body.to_send(&custom.method.to_ascii_uppercase());
                Ok(Started { call, kind: Kind::Response, body, task_id: None })
            }),
        )
    }

    /// Signs a request for an HTTP trigger (no action or version) with the client's credentials
    /// and clock; resolves to `"method\nurl\nname\nvalue\n…"` of the signed request. `signal`,
    /// the request's, stops a wait for the credentials provider.
    #[wasm_bindgen(js_name = signTrigger)]
    pub fn sign_trigger(
        &self,
        method: String,
        url: String,
        header_lines: Option<String>,
        body: Option<Uint8Array>,
        body_hash: Option<String>,
        signal: JsValue,
    ) -> Promise {
        self.start(
            signal,
            &[],
            Box::new(move |_, _, _| {
                let url = Url::parse(&url, "url")?;
                let headers = lines(header_lines.as_deref());
                let payload = JsBody::new(body, body_hash)?.payload_hash();
                let call = Call::sign(SignableRequest::new(&method, url, &headers, payload)?);
                Ok(Started { call, kind: Kind::Signed, body: None, task_id: None })
            }),
        )
    }
}

/// Signs any FC 3.0 request without sending it, synchronously: `"method\nurl\nname\nvalue\n…"`
/// of the signed request, or its `FcError` (one value, not a `Result`: see [`CallPort`]). The
/// date defaults to now and the nonce to a fresh random one; the body's hash is computed here
/// unless `payload_hash` is given (the JS face gives it when the runtime hashes natively).
#[wasm_bindgen(js_name = signRequest)]
#[allow(clippy::too_many_arguments)]
pub fn sign_request(
    method: Option<String>,
    url: String,
    header_lines: Option<String>,
    body: Option<Uint8Array>,
    payload_hash: Option<String>,
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    security_token: Option<String>,
    action: Option<String>,
    version: Option<String>,
    date_ms: Option<f64>,
    nonce: Option<String>,
) -> JsValue {
    let sign = || -> Result<String, Error> {
        let credentials =
            Credentials::new(access_key_id.unwrap_or_default(), access_key_secret.unwrap_or_default(), security_token)?;
        let payload = JsBody::new(body, payload_hash)?.payload_hash();
        let url = Url::parse(&url, "url")?;
        let headers = lines(header_lines.as_deref());
        let signable = SignableRequest::new(method.as_deref().unwrap_or("GET"), url, &headers, payload)?;
        let nonce = nonce.unwrap_or_else(host::random_nonce);
        let action = action.ok_or_else(|| Error::invalid("action", "is required, e.g. \"InvokeFunction\""))?;
        let params = SigningParams {
            action: Some(&action),
            version: Some(version.as_deref().unwrap_or(API_VERSION)),
            date: AcsDate::from_unix_millis(date_ms.unwrap_or_else(js_sys::Date::now))?,
            nonce: &nonce,
        };
        Ok(host::signed_lines(&acs3::sign(&signable, &credentials, &params)?))
    };
    sign().map_or_else(|e| error_to_js(&e), |signed| JsValue::from_str(&signed))
}

// The npm package's panic handler, in place of std's (see lib.rs): the library does not panic on
// input (clippy denies unwrap, expect, panic and indexing), and a panic aborts anyway, so its
// message, which std would format and then drop, is not worth the code.
#[cfg(feature = "npm")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

// The npm package's allocator (see Cargo.toml); a library must not impose one on Rust users.
#[cfg(feature = "talc")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
