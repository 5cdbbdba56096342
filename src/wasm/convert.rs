//! Conversions between JS values and the core's types: options in, results and errors out.

use crate::acs3::{AcsDate, Credentials};
use crate::error::Error;
use crate::fc::retry::RetryPolicy;
use js_sys::{Object, Reflect};
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

/// An options object read field by field with js-sys. Unknown keys are refused, so a typo such
/// as `invocationtype` is an error instead of a silently ignored option.
pub struct Fields {
    object: Option<JsValue>,
    /// The keys the object has: absent ones are answered without crossing into JS.
    keys: Vec<String>,
    argument: &'static str,
}

impl Fields {
    /// `value` must be an object, `undefined` or `null`, with no keys outside `names`.
    pub fn new(value: JsValue, argument: &'static str, names: &[&str]) -> Result<Self, Error> {
        if value.is_undefined() || value.is_null() {
            return Ok(Fields { object: None, keys: Vec::new(), argument });
        }
        if !value.is_object() {
            return Err(Error::invalid(argument, "must be an object"));
        }
        let keys: Vec<String> =
            Object::keys(value.unchecked_ref::<Object>()).iter().filter_map(|k| k.as_string()).collect();
        if let Some(key) = keys.iter().find(|k| !names.contains(&k.as_str())) {
            return Err(Error::invalid(
                argument,
                format!("unknown option `{key}`; expected one of {}", names.join(", ")),
            ));
        }
        Ok(Fields { object: Some(value), keys, argument })
    }

    /// The raw value (`undefined` when absent).
    pub fn value(&self, key: &str) -> JsValue {
        match &self.object {
            Some(o) if self.keys.iter().any(|k| k == key) => {
                Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
            }
            _ => JsValue::UNDEFINED,
        }
    }

    fn typed<T>(&self, key: &str, kind: &str, read: impl Fn(&JsValue) -> Option<T>) -> Result<Option<T>, Error> {
        let value = self.value(key);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        read(&value).map(Some).ok_or_else(|| Error::invalid(self.argument, format!("`{key}` must be {kind}")))
    }

    /// A string field.
    pub fn string(&self, key: &str) -> Result<Option<String>, Error> {
        self.typed(key, "a string", JsValue::as_string)
    }

    /// A number field.
    pub fn number(&self, key: &str) -> Result<Option<f64>, Error> {
        self.typed(key, "a number", JsValue::as_f64)
    }

    /// A boolean field.
    pub fn boolean(&self, key: &str) -> Result<Option<bool>, Error> {
        self.typed(key, "true or false", JsValue::as_bool)
    }

    /// A whole number field from 0 to `max`.
    pub fn integer(&self, key: &str, max: u32) -> Result<Option<u32>, Error> {
        let kind = format!("a whole number from 0 to {max}");
        self.typed(key, &kind, |v| {
            v.as_f64().filter(|n| n.fract() == 0.0 && (0.0..=f64::from(max)).contains(n)).map(|n| n as u32)
        })
    }

    /// `[name, value]` string pairs (the JS face has already turned objects and Headers into
    /// pairs); errors name the field itself (`headers`, `query`).
    pub fn pairs(&self, key: &'static str) -> Result<Vec<(String, String)>, Error> {
        let value = self.value(key);
        if value.is_undefined() || value.is_null() {
            return Ok(Vec::new());
        }
        super::host::pairs_from_js(&value).ok_or_else(|| {
            Error::invalid(key, "must be [name, value] string pairs with no CR or LF in names or values")
        })
    }
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

/// `FcClient` options.
pub struct ClientConfig {
    pub endpoint: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub credentials: JsValue,
    pub fetch: JsValue,
    pub retry: JsValue,
}

impl ClientConfig {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let f = Fields::new(value, "options", &["endpoint", "accountId", "region", "credentials", "fetch", "retry"])?;
        Ok(ClientConfig {
            endpoint: f.string("endpoint")?,
            account_id: f.string("accountId")?,
            region: f.string("region")?,
            credentials: f.value("credentials"),
            fetch: f.value("fetch"),
            retry: f.value("retry"),
        })
    }
}

/// `invokeFunction` options, but for `body` and `headers`, which the JS face converts and
/// passes on their own.
pub struct InvokeOptions {
    pub qualifier: Option<String>,
    pub invocation_type: Option<String>,
    pub log_type: Option<String>,
    pub async_task_id: Option<String>,
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    pub deadline_ms: Option<f64>,
    pub retry: JsValue,
    pub idempotent: bool,
}

impl InvokeOptions {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let names = [
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
        let f = Fields::new(value, "options", &names)?;
        Ok(InvokeOptions {
            qualifier: f.string("qualifier")?,
            invocation_type: f.string("invocationType")?,
            log_type: f.string("logType")?,
            async_task_id: f.string("asyncTaskId")?,
            signal: f.value("signal"),
            timeout_ms: f.number("timeoutMs")?,
            deadline_ms: f.number("deadlineMs")?,
            retry: f.value("retry"),
            idempotent: f.boolean("idempotent")?.unwrap_or(false),
        })
    }
}

/// `retry`: `false` (one attempt), `true`/absent (the default policy) or
/// `{ maxAttempts, baseDelayMs, maxDelayMs }`.
pub fn retry_policy(value: &JsValue) -> Result<Option<RetryPolicy>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if let Some(on) = value.as_bool() {
        return Ok(Some(if on { RetryPolicy::default() } else { RetryPolicy::none() }));
    }
    let f = Fields::new(value.clone(), "retry", &["maxAttempts", "baseDelayMs", "maxDelayMs"])?;
    let default = RetryPolicy::default();
    RetryPolicy::new(
        f.integer("maxAttempts", 1000)?.unwrap_or(default.max_attempts),
        f.integer("baseDelayMs", 600_000)?.map_or(default.base_delay_ms, u64::from),
        f.integer("maxDelayMs", 600_000)?.map_or(default.max_delay_ms, u64::from),
    )
    .map(Some)
}

/// `signRequest`'s request argument.
pub struct RequestToSign {
    pub method: Option<String>,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: JsValue,
    pub payload_hash: Option<String>,
}

impl RequestToSign {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let f = Fields::new(value, "request", &["method", "url", "headers", "body", "payloadHash"])?;
        Ok(RequestToSign {
            method: f.string("method")?,
            url: f.string("url")?.ok_or_else(|| Error::invalid("url", "is required"))?,
            headers: f.pairs("headers")?,
            body: f.value("body"),
            payload_hash: f.string("payloadHash")?,
        })
    }
}

/// `signRequest`'s options.
pub struct SignOptions {
    pub action: Option<String>,
    pub version: Option<String>,
    pub date: JsValue,
    pub nonce: Option<String>,
}

impl SignOptions {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let f = Fields::new(value, "options", &["action", "version", "date", "nonce"])?;
        Ok(SignOptions {
            action: f.string("action")?,
            version: f.string("version")?,
            date: f.value("date"),
            nonce: f.string("nonce")?,
        })
    }
}

/// A time option (`timeoutMs`, `deadlineMs`): a finite, non-negative number of milliseconds.
pub fn millis(value: Option<f64>, argument: &'static str) -> Result<Option<u64>, Error> {
    match value {
        None => Ok(None),
        Some(ms) if (0.0..=2_147_483_647.0).contains(&ms) => Ok(Some(ms as u64)),
        Some(_) => Err(Error::invalid(argument, "must be a number of milliseconds from 0 to 2147483647")),
    }
}

/// The options every task call shares.
pub struct TaskOptions {
    pub qualifier: Option<String>,
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    pub retry: JsValue,
}

impl TaskOptions {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let f = Fields::new(value, "options", &["qualifier", "signal", "timeoutMs", "retry"])?;
        Ok(TaskOptions {
            qualifier: f.string("qualifier")?,
            signal: f.value("signal"),
            timeout_ms: f.number("timeoutMs")?,
            retry: f.value("retry"),
        })
    }
}

/// `listAsyncTasks` options.
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
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    pub retry: JsValue,
}

impl ListOptions {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let names = [
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
        let f = Fields::new(value, "options", &names)?;
        Ok(ListOptions {
            qualifier: f.string("qualifier")?,
            status: f.string("status")?,
            prefix: f.string("prefix")?,
            started_time_begin: f.number("startedTimeBegin")?,
            started_time_end: f.number("startedTimeEnd")?,
            limit: f.integer("limit", 1_000_000)?,
            next_token: f.string("nextToken")?,
            sort_order_by_time: f.string("sortOrderByTime")?,
            include_payload: f.boolean("includePayload")?,
            signal: f.value("signal"),
            timeout_ms: f.number("timeoutMs")?,
            retry: f.value("retry"),
        })
    }
}

/// `waitForAsyncTask` options.
pub struct WaitOptions {
    pub qualifier: Option<String>,
    pub signal: JsValue,
    pub poll_interval_ms: Option<f64>,
    pub max_poll_interval_ms: Option<f64>,
    pub timeout_ms: Option<f64>,
}

impl WaitOptions {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let f = Fields::new(
            value,
            "options",
            &["qualifier", "signal", "pollIntervalMs", "maxPollIntervalMs", "timeoutMs"],
        )?;
        Ok(WaitOptions {
            qualifier: f.string("qualifier")?,
            signal: f.value("signal"),
            poll_interval_ms: f.number("pollIntervalMs")?,
            max_poll_interval_ms: f.number("maxPollIntervalMs")?,
            timeout_ms: f.number("timeoutMs")?,
        })
    }
}

/// `request` options (body already bytes, headers and query already pairs).
pub struct RequestOptions {
    pub method: Option<String>,
    pub path: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: JsValue,
    pub action: Option<String>,
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    pub deadline_ms: Option<f64>,
    pub retry: JsValue,
    pub idempotent: bool,
}

impl RequestOptions {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let names = [
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
        let f = Fields::new(value, "options", &names)?;
        Ok(RequestOptions {
            method: f.string("method")?,
            path: f.string("path")?,
            query: f.pairs("query")?,
            headers: f.pairs("headers")?,
            body: f.value("body"),
            action: f.string("action")?,
            signal: f.value("signal"),
            timeout_ms: f.number("timeoutMs")?,
            deadline_ms: f.number("deadlineMs")?,
            retry: f.value("retry"),
            idempotent: f.boolean("idempotent")?.unwrap_or(false),
        })
    }
}

/// Epoch milliseconds given as a number (a filter of ListAsyncTasks).
pub fn epoch_ms(value: Option<f64>, argument: &'static str) -> Result<Option<u64>, Error> {
    match value {
        None => Ok(None),
        Some(ms) if ms.is_finite() && (0.0..=9.0e15).contains(&ms) => Ok(Some(ms as u64)),
        Some(_) => Err(Error::invalid(argument, "must be milliseconds since the epoch")),
    }
}
