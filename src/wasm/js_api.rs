//! The exports the npm package's JS face (js/core.js) calls: `newClient`, `WasmClient`'s
//! methods and `signRequest`. Behind the feature `js-api`, which the npm build enables, so that a
//! Rust program's own wasm-bindgen exports do not share one JS namespace with them.

use super::convert::{epoch_ms, error_to_js, lines, millis, retry_policy, whole};
use super::host::{self, JsBody, Kind};
use super::{fetch_from, Build, Io, Started, WasmClient};
use crate::acs3::{self, AcsDate, Credentials, PayloadHash, SignableRequest, SigningParams};
use crate::client::{Call, CallOptions, Client, CredentialSource};
use crate::error::Error;
use crate::fc::async_task::{ListAsyncTasks, SortOrder};
use crate::fc::{CustomCall, Endpoint, InvocationType, InvokeFunction, LogType, API_VERSION};
use crate::http::Url;
use crate::prelude::*;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;

impl WasmClient {
    /// Builds a call with `build` and hands it to the driver with the caller's `signal` and the
    /// call's options (`call`, see [`super::call_options`]): a promise of its result, or a rejection with
    /// the `FcError` that kept it from starting. Every exported call goes through here.
    fn start(&self, signal: JsValue, call: &[f64], build: Build<'_>) -> Promise {
        self.drive(signal, call, build, None).unwrap_or_else(|e| Promise::reject(&error_to_js(&e)))
    }
}

/// [`WasmClient::new`] for JS: the client, or the `FcError` of a bad setting (one value, not a
/// `Result`: see [`super::CallPort`]).
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
    /// The [`CallPort`](super::CallPort) its calls report to, for the JS face to free with the client where
    /// nothing else would: without a FinalizationRegistry (workerd before its 2025-05-05
    /// compatibility date) neither JS object frees its Rust side.
    #[wasm_bindgen(getter)]
    pub fn port(&self) -> JsValue {
        self.port.clone()
    }

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
                    // FC's range, which the core checks too: a fraction gets the same message.
                    limit: whole(limit, "limit", 1, 100)?,
                    next_token: next_token.as_deref(),
                    sort_order_by_time: sort_order_by_time.as_deref().map(SortOrder::parse).transpose()?,
                    include_payload,
                };
                let call = Call::list_async_tasks(client, &function_name, &list, options, now)?;
                Ok(Started { call, kind: Kind::Json, body: None, task_id: None })
            }),
        )
    }

    /// Polls until the task ends; resolves to the final task (parsed JSON). `call`'s timeout
    /// (the caller's `timeoutMs`) bounds the whole wait: it is the wait's deadline.
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
                // A first pause given alone, longer than the default maximum, is not cut to it.
                let max_interval = millis(max_poll_interval_ms, "maxPollIntervalMs")?.unwrap_or(interval.max(5_000));
                let qualifier = qualifier.as_deref();
                let whole = CallOptions { deadline_ms: options.timeout_ms, timeout_ms: None, ..*options };
                let call = Call::wait_for_async_task(
                    client,
                    &function_name,
                    &task_id,
                    qualifier,
                    interval,
                    max_interval,
                    &whole,
                    now,
                )?;
                Ok(Started { call, kind: Kind::Json, body: None, task_id: None })
            }),
        )
    }

    /// Any FC 3.0 API call; resolves to `{ status, requestId, headers, body }`. `path` may carry
    /// a query (the JS face writes the caller's there); `header_lines` are `"name\nvalue\n…"`;
    /// `body` is undefined for none.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &self,
        method: Option<String>,
        path: Option<String>,
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
                let headers = lines(header_lines.as_deref());
                let custom = CustomCall {
                    method: method.as_deref().unwrap_or("GET"),
                    path: path
                        .as_deref()
                        .ok_or_else(|| Error::invalid("path", "is required, e.g. /2023-03-30/functions"))?,
                    query: &[],
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
/// of the signed request, or its `FcError` (one value, not a `Result`: see [`super::CallPort`]). The
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
