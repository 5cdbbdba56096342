//! The wasm-bindgen layer: the only module that names wasm_bindgen, js_sys or web_sys. It reads
//! JS values into the core's types, runs the core over the JS host, and hands results back.
//! It holds no signing logic.

mod convert;
mod host;
mod rust_api;

pub use rust_api::{FcClient, InvokeResponse};

use crate::acs3::{self, AcsDate, SignableRequest, SigningParams};
use crate::client::{CallOptions, Client, HostResponse};
use crate::error::Error;
use crate::fc::async_task::{ListAsyncTasks, SortOrder};
use crate::fc::{CustomCall, Endpoint, InvocationType, InvokeFunction, LogType, API_VERSION};
use crate::http::Url;
use convert::{
    epoch_ms, error_to_js, millis, retry_policy, time_ms, CallFields, ClientConfig, InvokeOptions, ListOptions,
    RequestOptions, RequestToSign, SignOptions, TaskOptions, WaitOptions,
};
use host::{CredentialSource, JsBody, JsHost, JsResponse, ProviderCache};
use js_sys::{Function, Promise};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

fn endpoint_from(config: &ClientConfig) -> Result<Endpoint, Error> {
    match (&config.endpoint, &config.account_id, &config.region) {
        (Some(url), _, _) => Endpoint::parse(url),
        (None, Some(account), Some(region)) => Endpoint::for_region(account, region),
        _ => Err(Error::invalid("endpoint", "give either endpoint, or accountId and region")),
    }
}

fn credential_source(value: &JsValue) -> Result<CredentialSource, Error> {
    match value.dyn_ref::<Function>() {
        Some(provider) => Ok(CredentialSource::Provider(ProviderCache::new(provider.clone()))),
        None if value.is_undefined() || value.is_null() => Err(Error::credentials(
            "missing: give { accessKeyId, accessKeySecret, securityToken? } or an async provider function",
        )),
        None => Ok(CredentialSource::Static(convert::credentials_from_js(value)?.0)),
    }
}

fn signal_from(value: &JsValue) -> Result<Option<AbortSignal>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .dyn_ref::<AbortSignal>()
        .filter(|signal| host::is_readable_signal(signal))
        .cloned()
        .map(Some)
        .ok_or_else(|| Error::invalid("signal", "must be an AbortSignal"))
}

/// A Function Compute client bound to one endpoint and one credential source.
#[wasm_bindgen]
pub struct WasmClient {
    inner: Rc<Client<JsHost>>,
}

#[wasm_bindgen]
impl WasmClient {
    /// `{ endpoint | accountId + region, credentials, fetch? }`; throws `FcError` on bad config.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<WasmClient, JsValue> {
        let build = || -> Result<WasmClient, Error> {
            let config = ClientConfig::read(config)?;
            let endpoint = endpoint_from(&config)?;
            let host = JsHost::new(&config.fetch, credential_source(&config.credentials)?)?;
            let mut client = Client::new(host, endpoint);
            if let Some(policy) = retry_policy(&config.retry)? {
                client = client.with_retry(policy);
            }
            Ok(WasmClient { inner: Rc::new(client) })
        };
        build().map_err(|e| error_to_js(&e))
    }

    /// Invokes `function_name`; resolves to `{ status, requestId, headers, body, log,
    /// functionError, asyncTaskId }` or rejects with an `FcError`-shaped error.
    #[wasm_bindgen(js_name = invokeFunction)]
    /// `body` (bytes, with `bodyHash`, its hex SHA-256, when the JS face hashed it natively)
    /// and `headers` (pairs) come converted by the JS face; `options` is the caller's object,
    /// read for everything else.
    pub fn invoke_function(
        &self,
        function_name: JsValue,
        options: JsValue,
        body: JsValue,
        body_hash: Option<String>,
        headers: JsValue,
    ) -> Promise {
        self.spawn(Job::Invoke { function_name, options, body, body_hash, headers })
    }

    /// GetAsyncTask; resolves to the task (parsed JSON).
    #[wasm_bindgen(js_name = getAsyncTask)]
    pub fn get_async_task(&self, function_name: JsValue, task_id: JsValue, options: JsValue) -> Promise {
        self.spawn(Job::Task { function_name, task_id, options, stop: false })
    }

    /// StopAsyncTask; resolves to `undefined`.
    #[wasm_bindgen(js_name = stopAsyncTask)]
    pub fn stop_async_task(&self, function_name: JsValue, task_id: JsValue, options: JsValue) -> Promise {
        self.spawn(Job::Task { function_name, task_id, options, stop: true })
    }

    /// ListAsyncTasks; resolves to `{ tasks, nextToken }` (parsed JSON).
    #[wasm_bindgen(js_name = listAsyncTasks)]
    pub fn list_async_tasks(&self, function_name: JsValue, options: JsValue) -> Promise {
        self.spawn(Job::List { function_name, options })
    }

    /// Polls until the task ends; resolves to the final task (parsed JSON).
    #[wasm_bindgen(js_name = waitForAsyncTask)]
    pub fn wait_for_async_task(&self, function_name: JsValue, task_id: JsValue, options: JsValue) -> Promise {
        self.spawn(Job::Wait { function_name, task_id, options })
    }

    /// Any FC 3.0 API call; resolves to `{ status, requestId, headers, body }`.
    pub fn request(&self, options: JsValue, body_hash: Option<String>) -> Promise {
        self.spawn(Job::Request { options, body_hash })
    }

    /// Signs a request for an HTTP trigger (no action or version) with the client's credentials
    /// and clock; resolves to `{ method, url, headers }`.
    #[wasm_bindgen(js_name = signTrigger)]
    pub fn sign_trigger(
        &self,
        method: JsValue,
        url: JsValue,
        headers: JsValue,
        body: JsValue,
        body_hash: Option<String>,
    ) -> Promise {
        self.spawn(Job::Trigger { method, url, headers, body, body_hash })
    }
}

/// The arguments of one exported async call, as they came from JS.
enum Job {
    Invoke {
        function_name: JsValue,
        options: JsValue,
        body: JsValue,
        body_hash: Option<String>,
        headers: JsValue,
    },
    /// GetAsyncTask, or StopAsyncTask when `stop`.
    Task {
        function_name: JsValue,
        task_id: JsValue,
        options: JsValue,
        stop: bool,
    },
    List {
        function_name: JsValue,
        options: JsValue,
    },
    Wait {
        function_name: JsValue,
        task_id: JsValue,
        options: JsValue,
    },
    Request {
        options: JsValue,
        body_hash: Option<String>,
    },
    Trigger {
        method: JsValue,
        url: JsValue,
        headers: JsValue,
        body: JsValue,
        body_hash: Option<String>,
    },
}

impl WasmClient {
    /// Runs `job` as a promise that resolves with its value or rejects with an `FcError`-shaped
    /// error. Every exported call goes through this one future type, so the wasm holds one
    /// state machine and one copy of the promise glue instead of one per export.
    fn spawn(&self, job: Job) -> Promise {
        let client = Rc::clone(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move { run(&client, job).await.map_err(|e| error_to_js(&e)) })
    }
}

async fn run(client: &Client<JsHost>, job: Job) -> Result<JsValue, Error> {
    match job {
        Job::Invoke { function_name, options, body, body_hash, headers } => {
            let name = text_arg(&function_name, "functionName")?;
            let body = JsBody::from_js(&body, body_hash)?;
            let options = InvokeOptions::read(options)?;
            let headers = convert::string_pairs(&headers, "headers")?;
            let invocation_type = options.invocation_type.as_deref().map(InvocationType::parse).transpose()?;
            let log_type = options.log_type.as_deref().map(LogType::parse).transpose()?;
            let signal = signal_from(&options.call.signal)?;
            let call = attempt_options(&options.call, signal.as_ref())?;
            let request = InvokeFunction {
                function_name: &name,
                qualifier: options.qualifier.as_deref(),
                invocation_type: invocation_type.unwrap_or_default(),
                log_type: log_type.unwrap_or_default(),
                async_task_id: options.async_task_id.as_deref(),
                headers: &headers,
            };
            let out = client.invoke_function(&request, &body, &call).await?;
            let meta = out.meta;
            Ok(host::invoke_result(
                out.status,
                &out.response.js_headers,
                &out.response.body,
                meta.request_id,
                meta.log_result,
                meta.function_error,
                meta.async_task_id,
            ))
        }
        Job::Task { function_name, task_id, options, stop } => {
            let (name, task) = (text_arg(&function_name, "functionName")?, text_arg(&task_id, "taskId")?);
            let options = TaskOptions::read(options)?;
            let signal = signal_from(&options.signal)?;
            let call = call_options(options.timeout_ms, None, signal.as_ref(), &options.retry, false)?;
            let qualifier = options.qualifier.as_deref();
            if stop {
                client.stop_async_task(&name, &task, qualifier, &call).await?;
                Ok(JsValue::UNDEFINED)
            } else {
                client.get_async_task(&name, &task, qualifier, &call).await?.json_object()
            }
        }
        Job::List { function_name, options } => {
            let name = text_arg(&function_name, "functionName")?;
            let options = ListOptions::read(options)?;
            let signal = signal_from(&options.signal)?;
            let call = call_options(options.timeout_ms, None, signal.as_ref(), &options.retry, false)?;
            let list = ListAsyncTasks {
                qualifier: options.qualifier.as_deref(),
                status: options.status.as_deref(),
                prefix: options.prefix.as_deref(),
                started_time_begin: epoch_ms(options.started_time_begin, "startedTimeBegin")?,
                started_time_end: epoch_ms(options.started_time_end, "startedTimeEnd")?,
                limit: options.limit,
                next_token: options.next_token.as_deref(),
                sort_order_by_time: options.sort_order_by_time.as_deref().map(SortOrder::parse).transpose()?,
                include_payload: options.include_payload,
            };
            client.list_async_tasks(&name, &list, &call).await?.json_object()
        }
        Job::Wait { function_name, task_id, options } => {
            let (name, task) = (text_arg(&function_name, "functionName")?, text_arg(&task_id, "taskId")?);
            let options = WaitOptions::read(options)?;
            let signal = signal_from(&options.signal)?;
            let call = call_options(None, options.timeout_ms, signal.as_ref(), &JsValue::UNDEFINED, false)?;
            let interval = millis(options.poll_interval_ms, "pollIntervalMs")?.unwrap_or(500);
            let max_interval = millis(options.max_poll_interval_ms, "maxPollIntervalMs")?.unwrap_or(5_000);
            let qualifier = options.qualifier.as_deref();
            let done = client.wait_for_async_task(&name, &task, qualifier, interval, max_interval, &call).await?;
            done.json_object()
        }
        Job::Request { options, body_hash } => {
            let options = RequestOptions::read(options)?;
            let signal = signal_from(&options.call.signal)?;
            let call = attempt_options(&options.call, signal.as_ref())?;
            let body = if options.body.is_undefined() || options.body.is_null() {
                None
            } else {
                Some(JsBody::from_js(&options.body, body_hash)?)
            };
            let custom = CustomCall {
                method: options.method.as_deref().unwrap_or("GET"),
                path: options
                    .path
                    .as_deref()
                    .ok_or_else(|| Error::invalid("path", "is required, e.g. /2023-03-30/functions"))?,
                query: &options.query,
                headers: &options.headers,
                action: options.action.as_deref().unwrap_or_default(),
            };
            let response = client.request(&custom, body.as_ref(), &call).await?;
            Ok(response_object(&response))
        }
        Job::Trigger { method, url, headers, body, body_hash } => {
            let method = text_arg(&method, "method")?;
            let url = Url::parse(&text_arg(&url, "url")?, "url")?;
            let headers = convert::string_pairs(&headers, "headers")?;
            let payload = JsBody::from_js(&body, body_hash)?.payload_hash();
            let signed = client.sign(&SignableRequest::new(&method, url, &headers, payload)?).await?;
            Ok(host::signed_object(&signed))
        }
    }
}

fn text_arg(value: &JsValue, argument: &'static str) -> Result<String, Error> {
    value.as_string().ok_or_else(|| Error::invalid(argument, "must be a string"))
}

/// `{ status, requestId, headers, body }` of any answer.
fn response_object(response: &JsResponse) -> JsValue {
    let request_id = response.header("x-fc-request-id");
    host::response_result(response.status, request_id, &response.js_headers, &response.body)
}

/// The CallOptions of a call whose options carry all of [`CallFields`].
fn attempt_options<'a>(
    fields: &CallFields,
    signal: Option<&'a AbortSignal>,
) -> Result<CallOptions<'a, AbortSignal>, Error> {
    call_options(fields.timeout_ms, fields.deadline_ms, signal, &fields.retry, fields.idempotent)
}

fn call_options<'a>(
    timeout_ms: Option<f64>,
    deadline_ms: Option<f64>,
    signal: Option<&'a AbortSignal>,
    retry: &JsValue,
    idempotent: bool,
) -> Result<CallOptions<'a, AbortSignal>, Error> {
    Ok(CallOptions {
        timeout_ms: millis(timeout_ms, "timeoutMs")?,
        deadline_ms: millis(deadline_ms, "deadlineMs")?,
        cancel: signal,
        retry: retry_policy(retry)?,
        idempotent,
    })
}

/// Signs any FC 3.0 request without sending it, synchronously. The date defaults to now and
/// the nonce to a fresh random one; the body's hash is computed here unless `payloadHash` is
/// given (the JS face gives it when the runtime hashes natively).
#[wasm_bindgen(js_name = signRequest)]
pub fn sign_request(request: JsValue, credentials: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    sign(request, credentials, options).map_err(|e| error_to_js(&e))
}

fn sign(request: JsValue, credentials: JsValue, options: JsValue) -> Result<JsValue, Error> {
    let request = RequestToSign::read(request)?;
    let options = SignOptions::read(options)?;
    let (credentials, _) = convert::credentials_from_js(&credentials)?;
    let payload = JsBody::from_js(&request.body, request.payload_hash)?.payload_hash();
    let url = Url::parse(&request.url, "url")?;
    let signable = SignableRequest::new(request.method.as_deref().unwrap_or("GET"), url, &request.headers, payload)?;
    let date_ms = time_ms(&options.date, "date")?.unwrap_or_else(js_sys::Date::now);
    let nonce = options.nonce.unwrap_or_else(host::random_nonce);
    let action =
        options.action.as_deref().ok_or_else(|| Error::invalid("action", "is required, e.g. \"InvokeFunction\""))?;
    let params = SigningParams {
        action: Some(action),
        version: Some(options.version.as_deref().unwrap_or(API_VERSION)),
        date: AcsDate::from_unix_millis(date_ms)?,
        nonce: &nonce,
    };
    let signed = acs3::sign(&signable, &credentials, &params)?;
    Ok(host::signed_object(&signed))
}

// The npm package's allocator (see Cargo.toml); a library must not impose one on Rust users.
#[cfg(feature = "talc")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
