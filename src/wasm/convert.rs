//! Conversions between JS values and the core's types: options in, results and errors out.

use crate::acs3::{AcsDate, Credentials};
use crate::error::Error;
use crate::fc::retry::RetryPolicy;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The rejection value the JS face turns into an `FcError`: an `Error` with `code`, `status`,
/// `requestId`, `argument` and the host's original error as `cause` set.
pub fn error_to_js(error: &Error) -> JsValue {
    let argument = match error {
        Error::InvalidArgument { argument, .. } => Some(*argument),
        _ => None,
    };
    let cause = error.cause().and_then(|c| c.downcast_ref::<JsValue>()).cloned().unwrap_or(JsValue::UNDEFINED);
    super::host::fc_error(&error.to_string(), error.code(), error.status(), error.request_id(), argument, &cause)
}

/// One field of a JS object as [`Fields`] read it.
enum Field {
    Absent,
    Text(String),
    Bool(bool),
    /// Anything else (a number, an object, a function…), fetched only when asked for: numbers
    /// do not come as text, which would pull a float parser into the wasm.
    Other,
}

/// An options object, read in one crossing into JS (`readFields` in host.js) instead of several
/// per field. Unknown keys are refused, so a typo such as `invocationtype` is an error instead of
/// a silently ignored option.
///
/// The typed readers do not fail one by one: they keep the first error, which [`Fields::check`]
/// returns once every field is read. One check instead of an early return per field spares each
/// reader the code that drops the fields read before it.
pub struct Fields {
    object: JsValue,
    /// Each name with its field, split once: lookups would otherwise re-split `names`.
    fields: Vec<(&'static str, Field)>,
    argument: &'static str,
    error: Option<Error>,
}

impl Fields {
    /// `value` must be an object, `undefined` or `null`, with no keys outside `names`.
    pub fn new(value: JsValue, argument: &'static str, names: &'static str) -> Result<Self, Error> {
        Self::read(value, argument, names, false)
    }

    /// Like [`Fields::new`], but other keys are allowed (and ignored).
    pub fn open(value: JsValue, argument: &'static str, names: &'static str) -> Result<Self, Error> {
        Self::read(value, argument, names, true)
    }

    fn read(value: JsValue, argument: &'static str, names: &'static str, open: bool) -> Result<Self, Error> {
        let encoded = super::host::read_fields(&value, names, open);
        let fields = match encoded.strip_prefix('{') {
            Some(rest) => decode_fields(rest, names).ok_or_else(|| Error::invalid(argument, "could not be read"))?,
            None if encoded == "u" => Vec::new(),
            None => {
                return Err(if let Some(key) = encoded.strip_prefix('!') {
                    Error::invalid(argument, format!("unknown option `{key}`; expected one of {names}"))
                } else if let Some(message) = encoded.strip_prefix('e') {
                    Error::invalid(argument, format!("could not be read: {message}"))
                } else {
                    Error::invalid(argument, "must be an object")
                })
            }
        };
        Ok(Fields { object: value, fields, argument, error: None })
    }

    /// The first error met while reading, if any.
    pub fn check(&mut self) -> Result<(), Error> {
        self.error.take().map_or(Ok(()), Err)
    }

    /// Keeps `error` unless an earlier one is kept already.
    pub fn fail(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    fn field(&mut self, key: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|(name, _)| *name == key).map(|(_, field)| field)
    }

    #[inline(never)]
    fn mistyped(&mut self, key: &str, kind: &str) {
        let error = Error::invalid(self.argument, format!("`{key}` must be {kind}"));
        self.fail(error);
    }

    /// The raw value (`undefined` when absent).
    pub fn value(&mut self, key: &str) -> JsValue {
        match self.field(key) {
            None | Some(Field::Absent) => JsValue::UNDEFINED,
            Some(Field::Text(s)) => JsValue::from_str(s),
            Some(Field::Bool(b)) => JsValue::from_bool(*b),
            Some(Field::Other) => Reflect::get(&self.object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED),
        }
    }

    /// A string field (taken: each field is read once).
    pub fn string(&mut self, key: &str) -> Option<String> {
        match self.field(key) {
            None | Some(Field::Absent) => None,
            Some(Field::Text(s)) => Some(std::mem::take(s)),
            Some(_) => {
                self.mistyped(key, "a string");
                None
            }
        }
    }

    /// A number field.
    pub fn number(&mut self, key: &str) -> Option<f64> {
        if matches!(self.field(key), None | Some(Field::Absent)) {
            return None;
        }
        let n = self.value(key).as_f64();
        if n.is_none() {
            self.mistyped(key, "a number");
        }
        n
    }

    /// A boolean field.
    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.field(key) {
            None | Some(Field::Absent) => None,
            Some(Field::Bool(b)) => Some(*b),
            Some(_) => {
                self.mistyped(key, "true or false");
                None
            }
        }
    }

    /// A whole number field from 0 to `max`.
    pub fn integer(&mut self, key: &str, max: u32) -> Option<u32> {
        if matches!(self.field(key), None | Some(Field::Absent)) {
            return None;
        }
        let n = self.value(key).as_f64();
        let whole = n.filter(|n| n.fract() == 0.0 && (0.0..=f64::from(max)).contains(n)).map(|n| n as u32);
        if whole.is_none() {
            self.mistyped(key, &format!("a whole number from 0 to {max}"));
        }
        whole
    }

    /// `[name, value]` string pairs (the JS face has already turned objects and Headers into
    /// pairs); errors name the field itself (`headers`, `query`).
    pub fn pairs(&mut self, key: &'static str) -> Vec<(String, String)> {
        string_pairs(&self.value(key), key).unwrap_or_else(|error| {
            self.fail(error);
            Vec::new()
        })
    }
}

/// `[name, value]` string pairs free of CR and LF (the JS face turns objects and Headers into
/// pairs); `undefined` or `null` is none. Errors name `argument` (`headers`, `query`).
pub fn string_pairs(value: &JsValue, argument: &'static str) -> Result<Vec<(String, String)>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    super::host::pairs_from_js(value).ok_or_else(|| {
        Error::invalid(argument, "must be [name, value] string pairs with no CR or LF in names or values")
    })
}

/// Decodes `readFields`' encoding of the fields `names` (`", "`-separated): per field a tag, `-`
/// (absent), `o` (other), `t`/`f` or `s<UTF-16 length>:<text>`. `None` if it does not parse.
fn decode_fields(mut rest: &str, names: &'static str) -> Option<Vec<(&'static str, Field)>> {
    let mut fields = Vec::with_capacity(16);
    // A char pattern: splitting on ", " would pull a substring searcher into the wasm.
    for name in names.split(',').map(str::trim_ascii_start) {
        let tag = rest.chars().next()?;
        rest = rest.get(1..)?;
        let field = match tag {
            '-' => Field::Absent,
            'o' => Field::Other,
            't' => Field::Bool(true),
            'f' => Field::Bool(false),
            's' => {
                let colon = rest.find(':')?;
                let units: usize = rest.get(..colon)?.parse().ok()?;
                rest = rest.get(colon + 1..)?;
                // The length counts UTF-16 units, as JS does: bytes when ASCII (nearly always),
                // else walk the chars to the byte offset.
                let end = match rest.as_bytes().get(..units) {
                    Some(head) if head.is_ascii() => units,
                    _ => {
                        let (mut taken, mut end) = (0, 0);
                        for c in rest.chars() {
                            if taken >= units {
                                break;
                            }
                            taken += c.len_utf16();
                            end += c.len_utf8();
                        }
                        if taken != units {
                            return None;
                        }
                        end
                    }
                };
                let text = rest.get(..end)?.to_owned();
                rest = rest.get(end..)?;
                Field::Text(text)
            }
            _ => return None,
        };
        fields.push((name, field));
    }
    rest.is_empty().then_some(fields)
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

/// Credentials from a JS object `{ accessKeyId, accessKeySecret, securityToken?, expiration? }`
/// (other keys, as in an STS answer, are ignored), with the expiration in epoch milliseconds.
pub fn credentials_from_js(value: &JsValue) -> Result<(Credentials, Option<f64>), Error> {
    const NAMES: &str = "accessKeyId, accessKeySecret, securityToken, expiration";
    let shape = || Error::credentials("expected an object with accessKeyId and accessKeySecret");
    if value.is_undefined() || value.is_null() {
        return Err(shape());
    }
    let mut f = Fields::open(value.clone(), "credentials", NAMES).map_err(|_| shape())?;
    let mut text = |name: &str| match (f.string(name), f.check()) {
        (_, Err(_)) => Err(Error::credentials(format!("{name} must be a string"))),
        (text, Ok(())) => Ok(text),
    };
    let (id, secret, token) = (text("accessKeyId")?, text("accessKeySecret")?, text("securityToken")?);
    let expiration = time_ms(&f.value("expiration"), "credentials.expiration")
        .map_err(|_| Error::credentials("expiration must be a Date, an ISO date string or epoch milliseconds"))?;
    Ok((Credentials::new(id.unwrap_or_default(), secret.unwrap_or_default(), token)?, expiration))
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
        let mut f = Fields::new(value, "options", "endpoint, accountId, region, credentials, fetch, retry")?;
        let out = ClientConfig {
            endpoint: f.string("endpoint"),
            account_id: f.string("accountId"),
            region: f.string("region"),
            credentials: f.value("credentials"),
            fetch: f.value("fetch"),
            retry: f.value("retry"),
        };
        f.check()?;
        Ok(out)
    }
}

/// The options that govern one call's attempts, which `invokeFunction` and `request` share.
pub struct CallFields {
    pub signal: JsValue,
    pub timeout_ms: Option<f64>,
    pub deadline_ms: Option<f64>,
    pub retry: JsValue,
    pub idempotent: bool,
}

impl CallFields {
    /// Reads them from options whose names include `signal, timeoutMs, deadlineMs, retry,
    /// idempotent`.
    fn read(f: &mut Fields) -> Self {
        CallFields {
            signal: f.value("signal"),
            timeout_ms: f.number("timeoutMs"),
            deadline_ms: f.number("deadlineMs"),
            retry: f.value("retry"),
            idempotent: f.boolean("idempotent").unwrap_or(false),
        }
    }
}

/// `invokeFunction` options, but for `body` and `headers`, which the JS face converts and
/// passes on their own.
pub struct InvokeOptions {
    pub qualifier: Option<String>,
    pub invocation_type: Option<String>,
    pub log_type: Option<String>,
    pub async_task_id: Option<String>,
    pub call: CallFields,
}

impl InvokeOptions {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let names = concat!(
            "qualifier, invocationType, logType, asyncTaskId, headers, body, signal, timeoutMs, deadlineMs, ",
            "retry, idempotent"
        );
        let mut f = Fields::new(value, "options", names)?;
        let out = InvokeOptions {
            qualifier: f.string("qualifier"),
            invocation_type: f.string("invocationType"),
            log_type: f.string("logType"),
            async_task_id: f.string("asyncTaskId"),
            call: CallFields::read(&mut f),
        };
        f.check()?;
        Ok(out)
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
    let mut f = Fields::new(value.clone(), "retry", "maxAttempts, baseDelayMs, maxDelayMs")?;
    let default = RetryPolicy::default();
    let max_attempts = f.integer("maxAttempts", 1000).unwrap_or(default.max_attempts);
    let base_delay_ms = f.integer("baseDelayMs", 600_000).map_or(default.base_delay_ms, u64::from);
    let max_delay_ms = f.integer("maxDelayMs", 600_000).map_or(default.max_delay_ms, u64::from);
    f.check()?;
    RetryPolicy::new(max_attempts, base_delay_ms, max_delay_ms).map(Some)
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
        let mut f = Fields::new(value, "request", "method, url, headers, body, payloadHash")?;
        let out = RequestToSign {
            method: f.string("method"),
            url: f.string("url").unwrap_or_else(|| {
                f.fail(Error::invalid("url", "is required"));
                String::new()
            }),
            headers: f.pairs("headers"),
            body: f.value("body"),
            payload_hash: f.string("payloadHash"),
        };
        f.check()?;
        Ok(out)
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
        let mut f = Fields::new(value, "options", "action, version, date, nonce")?;
        let out = SignOptions {
            action: f.string("action"),
            version: f.string("version"),
            date: f.value("date"),
            nonce: f.string("nonce"),
        };
        f.check()?;
        Ok(out)
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
        let mut f = Fields::new(value, "options", "qualifier, signal, timeoutMs, retry")?;
        let out = TaskOptions {
            qualifier: f.string("qualifier"),
            signal: f.value("signal"),
            timeout_ms: f.number("timeoutMs"),
            retry: f.value("retry"),
        };
        f.check()?;
        Ok(out)
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
        let names = concat!(
            "qualifier, status, prefix, startedTimeBegin, startedTimeEnd, limit, nextToken, sortOrderByTime, ",
            "includePayload, signal, timeoutMs, retry"
        );
        let mut f = Fields::new(value, "options", names)?;
        let out = ListOptions {
            qualifier: f.string("qualifier"),
            status: f.string("status"),
            prefix: f.string("prefix"),
            started_time_begin: f.number("startedTimeBegin"),
            started_time_end: f.number("startedTimeEnd"),
            limit: f.integer("limit", 1_000_000),
            next_token: f.string("nextToken"),
            sort_order_by_time: f.string("sortOrderByTime"),
            include_payload: f.boolean("includePayload"),
            signal: f.value("signal"),
            timeout_ms: f.number("timeoutMs"),
            retry: f.value("retry"),
        };
        f.check()?;
        Ok(out)
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
        let mut f = Fields::new(value, "options", "qualifier, signal, pollIntervalMs, maxPollIntervalMs, timeoutMs")?;
        let out = WaitOptions {
            qualifier: f.string("qualifier"),
            signal: f.value("signal"),
            poll_interval_ms: f.number("pollIntervalMs"),
            max_poll_interval_ms: f.number("maxPollIntervalMs"),
            timeout_ms: f.number("timeoutMs"),
        };
        f.check()?;
        Ok(out)
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
    pub call: CallFields,
}

impl RequestOptions {
    pub fn read(value: JsValue) -> Result<Self, Error> {
        let names = "method, path, query, headers, body, action, signal, timeoutMs, deadlineMs, retry, idempotent";
        let mut f = Fields::new(value, "options", names)?;
        let out = RequestOptions {
            method: f.string("method"),
            path: f.string("path"),
            query: f.pairs("query"),
            headers: f.pairs("headers"),
            body: f.value("body"),
            action: f.string("action"),
            call: CallFields::read(&mut f),
        };
        f.check()?;
        Ok(out)
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
