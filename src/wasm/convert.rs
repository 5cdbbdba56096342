//! Conversions between JS values and the core's types: options in, results and errors out.

use crate::acs3::{AcsDate, Credentials};
use crate::error::Error;
use crate::fc::retry::RetryPolicy;
use js_sys::{Object, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A short, safe description of a thrown JS value (its `message`, and `cause.code` if any).
pub fn js_message(value: &JsValue) -> String {
    let field = |v: &JsValue, name: &str| Reflect::get(v, &JsValue::from_str(name)).ok().and_then(|m| m.as_string());
    let mut message = match value.as_string() {
        Some(s) => s,
        None => field(value, "message").unwrap_or_else(|| "unknown error".to_owned()),
    };
    let cause = Reflect::get(value, &JsValue::from_str("cause")).unwrap_or(JsValue::UNDEFINED);
    if let Some(code) = field(&cause, "code") {
        message = format!("{message} ({code})");
    } else if let Some(inner) = field(&cause, "message") {
        message = format!("{message}: {inner}");
    }
    message.chars().take(300).collect()
}

/// The rejection value the JS face turns into an `FcError`: an `Error` with `code`, `status`,
/// `requestId` and `argument` set.
pub fn error_to_js(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("FcError");
    let set = |name: &str, value: JsValue| {
        let _ = Reflect::set(&js, &JsValue::from_str(name), &value);
    };
    set("code", JsValue::from_str(error.code()));
    if let Some(status) = error.status() {
        set("status", JsValue::from(status));
    }
    if let Some(id) = error.request_id() {
        set("requestId", JsValue::from_str(id));
    }
    if let Error::InvalidArgument { argument, .. } = error {
        set("argument", JsValue::from_str(argument));
    }
    js.into()
}

/// An options object's known keys. serde-wasm-bindgen reads only the fields it knows, so
/// unknown keys (typos such as `invocationtype`) are caught by comparing against this list.
pub trait Fields {
    /// The camelCase names JS may use.
    const NAMES: &'static [&'static str];
}

/// Reads `options` (an object, `undefined` or `null`) into `T`; errors name `argument`.
pub fn from_js<T: for<'de> Deserialize<'de> + Default + Fields>(
    options: JsValue,
    argument: &'static str,
) -> Result<T, Error> {
    if options.is_undefined() || options.is_null() {
        return Ok(T::default());
    }
    if !options.is_object() {
        return Err(Error::invalid(argument, "must be an object"));
    }
    for key in Object::keys(options.unchecked_ref::<Object>()).iter().filter_map(|k| k.as_string()) {
        if !T::NAMES.contains(&key.as_str()) {
            return Err(Error::invalid(
                argument,
                format!("unknown option `{key}`; expected one of {}", T::NAMES.join(", ")),
            ));
        }
    }
    serde_wasm_bindgen::from_value(options).map_err(|e| Error::invalid(argument, e.to_string()))
}

fn string_field(object: &JsValue, name: &str) -> Result<Option<String>, Error> {
    let value = Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or_else(|| Error::credentials(format!("{name} must be a string")))
}

/// Milliseconds since the epoch from a `Date`, an ISO string or a number; `None` for undefined.
pub fn time_ms(value: &JsValue, argument: &'static str) -> Result<Option<f64>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let ms = if let Some(date) = value.dyn_ref::<js_sys::Date>() {
        date.get_time()
    } else if let Some(n) = value.as_f64() {
        n
    } else if let Some(s) = value.as_string() {
        // The exact x-acs-date form first: it needs no JS Date parsing.
        match AcsDate::parse(&s) {
            Ok(d) => d.unix_seconds() as f64 * 1000.0,
            Err(_) => js_sys::Date::parse(&s),
        }
    } else {
        f64::NAN
    };
    if ms.is_finite() {
        Ok(Some(ms))
    } else {
        Err(Error::invalid(argument, "must be a Date, a date string or milliseconds since the epoch"))
    }
}

/// Credentials from a JS object `{ accessKeyId, accessKeySecret, securityToken?, expiration? }`,
/// with the expiration in epoch milliseconds.
pub fn credentials_from_js(value: &JsValue) -> Result<(Credentials, Option<f64>), Error> {
    if !value.is_object() {
        return Err(Error::credentials("expected an object with accessKeyId and accessKeySecret"));
    }
    let id = string_field(value, "accessKeyId")?.unwrap_or_default();
    let secret = string_field(value, "accessKeySecret")?.unwrap_or_default();
    let token = string_field(value, "securityToken")?;
    let expiration_value = Reflect::get(value, &JsValue::from_str("expiration")).unwrap_or(JsValue::UNDEFINED);
    let expiration = time_ms(&expiration_value, "credentials.expiration")
        .map_err(|_| Error::credentials("expiration must be a Date, an ISO date string or epoch milliseconds"))?;
    Ok((Credentials::new(id, secret, token)?, expiration))
}

/// A plain object from name/value pairs.
pub fn object_from_pairs(pairs: &[(String, String)]) -> Object {
    let object = Object::new();
    for (name, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    object
}

/// `FcClient` options.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    pub endpoint: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub credentials: JsValue,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub fetch: JsValue,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub retry: JsValue,
}

impl Fields for ClientConfig {
    const NAMES: &'static [&'static str] = &["endpoint", "accountId", "region", "credentials", "fetch", "retry"];
}

/// `invokeFunction` options (the JS face has already turned `body` into bytes and `headers`
/// into pairs).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct InvokeOptions {
    pub qualifier: Option<String>,
    pub invocation_type: Option<String>,
    pub log_type: Option<String>,
    pub async_task_id: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub body: JsValue,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    pub deadline_ms: Option<f64>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub retry: JsValue,
    #[serde(default)]
    pub idempotent: bool,
}

impl Fields for InvokeOptions {
    const NAMES: &'static [&'static str] = &[
        "qualifier",
        "invocationType",
        "logType",
        "asyncTaskId",
        "headers",
        "body",
        "signal",
        "timeoutMs",
        "deadlineMs",
        "retry",
        "idempotent",
    ];
}

/// `retry: { maxAttempts, baseDelayMs, maxDelayMs }` (each optional).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RetryOptions {
    pub max_attempts: Option<u32>,
    pub base_delay_ms: Option<u32>,
    pub max_delay_ms: Option<u32>,
}

impl Fields for RetryOptions {
    const NAMES: &'static [&'static str] = &["maxAttempts", "baseDelayMs", "maxDelayMs"];
}

/// `retry`: `false` (one attempt), `true`/absent (the default policy) or an object.
pub fn retry_policy(value: &JsValue) -> Result<Option<RetryPolicy>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if let Some(on) = value.as_bool() {
        return Ok(Some(if on { RetryPolicy::default() } else { RetryPolicy::none() }));
    }
    let options: RetryOptions = from_js(value.clone(), "retry")?;
    let default = RetryPolicy::default();
    RetryPolicy::new(
        options.max_attempts.unwrap_or(default.max_attempts),
        options.base_delay_ms.map_or(default.base_delay_ms, u64::from),
        options.max_delay_ms.map_or(default.max_delay_ms, u64::from),
    )
    .map(Some)
}

/// `signRequest`'s request argument.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RequestToSign {
    pub method: Option<String>,
    pub url: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub body: JsValue,
    pub payload_hash: Option<String>,
}

impl Fields for RequestToSign {
    const NAMES: &'static [&'static str] = &["method", "url", "headers", "body", "payloadHash"];
}

/// `signRequest`'s options.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SignOptions {
    pub action: Option<String>,
    pub version: Option<String>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub date: JsValue,
    pub nonce: Option<String>,
}

impl Fields for SignOptions {
    const NAMES: &'static [&'static str] = &["action", "version", "date", "nonce"];
}

/// A time option (`timeoutMs`, `deadlineMs`): a finite, non-negative number of milliseconds.
pub fn millis(value: Option<f64>, argument: &'static str) -> Result<Option<u64>, Error> {
    match value {
        None => Ok(None),
        Some(ms) if (0.0..=2_147_483_647.0).contains(&ms) => Ok(Some(ms as u64)),
        Some(_) => Err(Error::invalid(argument, "must be a number of milliseconds from 0 to 2147483647")),
    }
}

/// The options every call shares: per-attempt timeout, cancellation, retry policy.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskOptions {
    pub qualifier: Option<String>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub retry: JsValue,
}

impl Fields for TaskOptions {
    const NAMES: &'static [&'static str] = &["qualifier", "signal", "timeoutMs", "retry"];
}

/// `listAsyncTasks` options.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListOptions {
    pub qualifier: Option<String>,
    pub status: Option<String>,
    pub prefix: Option<String>,
    pub started_time_begin: Option<f64>,
    pub started_time_end: Option<f64>,
    pub limit: Option<u32>,
    pub next_token: Option<String>,
    pub sort_order_by_time: Option<String>,
    pub include_payload: Option<bool>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub retry: JsValue,
}

impl Fields for ListOptions {
    const NAMES: &'static [&'static str] = &[
        "qualifier",
        "status",
        "prefix",
        "startedTimeBegin",
        "startedTimeEnd",
        "limit",
        "nextToken",
        "sortOrderByTime",
        "includePayload",
        "signal",
        "timeoutMs",
        "retry",
    ];
}

/// `waitForAsyncTask` options.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct WaitOptions {
    pub qualifier: Option<String>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub signal: JsValue,
    pub poll_interval_ms: Option<f64>,
    pub max_poll_interval_ms: Option<f64>,
    pub timeout_ms: Option<f64>,
}

impl Fields for WaitOptions {
    const NAMES: &'static [&'static str] = &["qualifier", "signal", "pollIntervalMs", "maxPollIntervalMs", "timeoutMs"];
}

/// `request` options (body already bytes, headers and query already pairs).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    pub method: Option<String>,
    pub path: Option<String>,
    #[serde(default)]
    pub query: Vec<(String, String)>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub body: JsValue,
    pub action: Option<String>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    pub deadline_ms: Option<f64>,
    #[serde(with = "serde_wasm_bindgen::preserve", default)]
    pub retry: JsValue,
    #[serde(default)]
    pub idempotent: bool,
}

impl Fields for RequestOptions {
    const NAMES: &'static [&'static str] = &[
        "method",
        "path",
        "query",
        "headers",
        "body",
        "action",
        "signal",
        "timeoutMs",
        "deadlineMs",
        "retry",
        "idempotent",
    ];
}

/// Epoch milliseconds given as a number (a filter of ListAsyncTasks).
pub fn epoch_ms(value: Option<f64>, argument: &'static str) -> Result<Option<u64>, Error> {
    match value {
        None => Ok(None),
        Some(ms) if ms.is_finite() && (0.0..=9.0e15).contains(&ms) => Ok(Some(ms as u64)),
        Some(_) => Err(Error::invalid(argument, "must be milliseconds since the epoch")),
    }
}
