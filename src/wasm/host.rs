//! The JS host: the clock, the nonce, credentials and `fetch`, all taken from the global scope
//! (`globalThis`), never from `window`, so the same code runs in browsers, Workers, Deno and Node.

use super::convert::credentials_from_js;
use crate::acs3::{Credentials, PayloadHash, PayloadHasher, SignedRequest};
use crate::client::{credentials_fresh, Attempt, Host, HostResponse};
use crate::error::{Cause, Error};
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use std::cell::{OnceCell, RefCell};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

#[wasm_bindgen(module = "/src/wasm/host.js")]
extern "C" {
    /// One attempt's AbortController, fed by a timer and the caller's signal (see host.js).
    type AttemptStop;
    #[wasm_bindgen(catch, constructor)]
    fn new(timeout_ms: Option<f64>, cancel: Option<AbortSignal>) -> Result<AttemptStop, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn signal(this: &AttemptStop) -> AbortSignal;
    /// 0 while running, else [`STOPPED_BY_TIMER`] or [`STOPPED_BY_CALLER`].
    #[wasm_bindgen(method, getter)]
    fn stopped(this: &AttemptStop) -> u8;
    #[wasm_bindgen(method)]
    fn dispose(this: &AttemptStop);
    /// Resolves to `true` after `ms`, or to `false` as soon as `cancel` aborts.
    #[wasm_bindgen(js_name = sleep)]
    fn sleep_js(ms: f64, cancel: Option<AbortSignal>) -> Promise;
    /// `fetch` undefined: the global one, looked up on each call.
    fn exchange(
        fetch: &JsValue,
        url: &str,
        method: &str,
        header_lines: &str,
        body: Option<Uint8Array>,
        signal: Option<AbortSignal>,
    ) -> Promise;
    /// Calls the credentials provider: its answer as a native promise (a throw rejects it).
    #[wasm_bindgen(js_name = callProvider)]
    fn call_provider(provider: &Function) -> Promise;
    /// `promise`, or a rejection as soon as `signal` aborts.
    #[wasm_bindgen(js_name = orAbort)]
    fn or_abort(promise: &Promise, signal: &AbortSignal) -> Promise;
    /// Whether the `aborted` getter of something that passed `instanceof AbortSignal` works.
    #[wasm_bindgen(js_name = isReadableSignal)]
    pub fn is_readable_signal(signal: &AbortSignal) -> bool;
    #[wasm_bindgen(js_name = randomNonce)]
    fn random_nonce_js() -> String;
    #[wasm_bindgen(js_name = linesFromPairs)]
    fn lines_from_pairs(pairs: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = readFields)]
    pub fn read_fields(value: &JsValue, names: &str, open: bool) -> String;
    /// A short, safe description of a thrown JS value.
    #[wasm_bindgen(js_name = jsMessage)]
    fn js_message(value: &JsValue) -> String;
    #[wasm_bindgen(js_name = fcError)]
    pub fn fc_error(
        message: &str,
        code: &str,
        status: Option<u16>,
        request_id: Option<&str>,
        argument: Option<&str>,
        cause: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = responseResult)]
    pub fn response_result(status: u16, request_id: Option<String>, headers: &JsValue, body: &Uint8Array) -> JsValue;
    #[wasm_bindgen(js_name = parseJson)]
    fn parse_json(bytes: &Uint8Array) -> Option<JsValue>;
    #[wasm_bindgen(js_name = signedResult)]
    fn signed_result(method: &str, url: &str, header_lines: &str) -> JsValue;
    #[wasm_bindgen(js_name = invokeResult)]
    pub fn invoke_result(
        status: u16,
        headers: &JsValue,
        body: &Uint8Array,
        request_id: Option<String>,
        log_result: Option<String>,
        function_error: Option<String>,
        async_task_id: Option<String>,
    ) -> JsValue;
}

/// Bodies are hashed from JS memory in pieces of this size, so a large body never exists twice.
const HASH_CHUNK: u32 = 64 * 1024;

/// Where credentials come from.
pub enum CredentialSource {
    /// Fixed credentials, validated once.
    Static(Credentials),
    /// An async JS function, cached until shortly before the expiration it reports.
    Provider(ProviderCache),
}

/// A credential provider with its cache; concurrent calls share one pending refresh.
pub struct ProviderCache {
    provider: Function,
    cached: RefCell<Option<(Credentials, Option<f64>)>>,
    pending: RefCell<Option<Promise>>,
}

impl ProviderCache {
    pub fn new(provider: Function) -> Self {
        ProviderCache { provider, cached: RefCell::new(None), pending: RefCell::new(None) }
    }

    /// Cached credentials while fresh, else the provider's; waiting for it stops with the
    /// attempt's timeout or the caller's signal (the refresh itself goes on for later calls).
    async fn get(
        &self,
        now_ms: f64,
        force_refresh: bool,
        attempt: &Attempt<'_, AbortSignal>,
    ) -> Result<Credentials, Error> {
        if !force_refresh {
            if let Some((creds, expiration)) = self.cached.borrow().as_ref() {
                if credentials_fresh(*expiration, now_ms) {
                    return Ok(creds.clone());
                }
            }
        }
        let guard = AttemptGuard::for_attempt(attempt)?;
        let existing = self.pending.borrow().clone();
        let promise = match existing {
            Some(p) => p,
            None => {
                let p = call_provider(&self.provider);
                *self.pending.borrow_mut() = Some(p.clone());
                p
            }
        };
        let settled = match &guard {
            None => JsFuture::from(promise.clone()).await,
            Some(g) => {
                let waited = JsFuture::from(or_abort(&promise, &g.stop.signal())).await;
                if let Some(stopped) = g.stopped() {
                    return Err(stopped);
                }
                waited
            }
        };
        {
            let mut pending = self.pending.borrow_mut();
            if pending.as_ref().is_some_and(|p| Object::is(p, &promise)) {
                *pending = None;
            }
        }
        let value = settled.map_err(|e| {
            Error::credentials(format!("the credentials provider failed: {}", js_message(&e))).with_cause(Cause::new(e))
        })?;
        let (creds, expiration) = credentials_from_js(&value)?;
        *self.cached.borrow_mut() = Some((creds.clone(), expiration));
        Ok(creds)
    }
}

/// The host every JS runtime gets.
pub struct JsHost {
    /// The caller's fetch; undefined: the global one, looked up on every attempt (so that mocks
    /// and instrumentation installed after the client was made are used).
    fetch: JsValue,
    credentials: CredentialSource,
}

impl JsHost {
    /// `fetch`: the caller's function, or (when undefined) the global one.
    pub fn new(fetch: &JsValue, credentials: CredentialSource) -> Result<Self, Error> {
        let custom = !(fetch.is_undefined() || fetch.is_null());
        let checked = if custom {
            fetch.clone()
        } else {
            Reflect::get(&js_sys::global(), &JsValue::from_str("fetch")).unwrap_or(JsValue::UNDEFINED)
        };
        if !checked.is_function() {
            return Err(Error::invalid("fetch", "must be a function; this runtime has no global fetch, so pass one"));
        }
        Ok(JsHost { fetch: if custom { checked } else { JsValue::UNDEFINED }, credentials })
    }
}

/// `AttemptStop.stopped` values (host.js).
const STOPPED_BY_TIMER: u8 = 1;
const STOPPED_BY_CALLER: u8 = 2;

/// One attempt's own AbortController, fed by the caller's signal and a timer, wired in host.js
/// (no Rust closures to keep alive); dropping it clears the timer and removes the listener, so
/// nothing outlives the attempt.
struct AttemptGuard {
    stop: AttemptStop,
    timeout_ms: u64,
}

impl AttemptGuard {
    /// A guard when the attempt has a timeout or a caller's signal.
    fn for_attempt(attempt: &Attempt<'_, AbortSignal>) -> Result<Option<Self>, Error> {
        match (attempt.timeout_ms, attempt.cancel) {
            (None, None) => Ok(None),
            (timeout, cancel) => Self::new(timeout, cancel).map(Some),
        }
    }

    fn new(timeout_ms: Option<u64>, cancel: Option<&AbortSignal>) -> Result<Self, Error> {
        if cancel.is_some_and(AbortSignal::aborted) {
            return Err(Error::Aborted);
        }
        let stop = AttemptStop::new(timeout_ms.map(|ms| ms as f64), cancel.cloned())
            .map_err(|e| Error::network(js_message(&e), false).with_cause(Cause::new(e)))?;
        Ok(AttemptGuard { stop, timeout_ms: timeout_ms.unwrap_or(0) })
    }

    /// Why the attempt stopped early, if it did.
    fn stopped(&self) -> Option<Error> {
        match self.stop.stopped() {
            STOPPED_BY_CALLER => Some(Error::Aborted),
            STOPPED_BY_TIMER => Some(Error::Timeout { after_ms: self.timeout_ms }),
            _ => None,
        }
    }
}

/// The error for a rejected fetch or body read: ours if we stopped it, else the network's.
fn failure(guard: Option<&AttemptGuard>, error: &JsValue, maybe_sent: bool) -> Error {
    guard
        .and_then(AttemptGuard::stopped)
        .unwrap_or_else(|| Error::network(js_message(error), maybe_sent).with_cause(Cause::new(error.clone())))
}

impl Drop for AttemptGuard {
    fn drop(&mut self) {
        self.stop.dispose();
    }
}

/// Error codes Node's fetch (undici) gives when no connection was made, so nothing was sent.
const NOT_SENT_CODES: &[&str] =
    &["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"];

fn provably_not_sent(error: &JsValue) -> bool {
    let cause = Reflect::get(error, &JsValue::from_str("cause")).unwrap_or(JsValue::UNDEFINED);
    let code = Reflect::get(&cause, &JsValue::from_str("code")).ok().and_then(|c| c.as_string());
    code.is_some_and(|c| NOT_SENT_CODES.contains(&c.as_str()))
}

/// A fresh random nonce from the host's Web Crypto (see `randomNonce` in host.js).
pub fn random_nonce() -> String {
    random_nonce_js()
}

/// `"name\nvalue\n…"`: headers cross into JS as one string (names and values hold no newlines).
pub fn header_lines(headers: &[(String, String)]) -> String {
    let mut lines = String::with_capacity(headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (name, value) in headers {
        for part in [name.as_str(), "\n", value.as_str(), "\n"] {
            lines.push_str(part);
        }
    }
    lines
}

/// `[[name, value], …]` from JS in one crossing; `None` unless every element is a string pair
/// free of line breaks.
pub fn pairs_from_js(value: &JsValue) -> Option<Vec<(String, String)>> {
    Some(pairs_from_lines(&lines_from_pairs(value)?))
}

/// `"name\nvalue\n…"` back into pairs.
fn pairs_from_lines(lines: &str) -> Vec<(String, String)> {
    let mut parts = lines.split('\n');
    let mut pairs = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    pairs
}

/// `{ method, url, headers }` for JS, built in one call.
pub fn signed_object(signed: &SignedRequest) -> JsValue {
    signed_result(&signed.method, &signed.url, &header_lines(&signed.headers))
}

/// A request body held in JS memory, with its SHA-256 when the JS face computed it natively
/// (node:crypto, Web Crypto), which beats SHA-256 in wasm for all but small bodies.
pub struct JsBody {
    pub bytes: Uint8Array,
    pub hash: Option<PayloadHash>,
}

impl JsBody {
    /// `bytes` (undefined or null: empty) and an optional hex SHA-256 of them.
    pub fn from_js(bytes: &JsValue, hash: Option<String>) -> Result<JsBody, Error> {
        let bytes = if bytes.is_undefined() || bytes.is_null() {
            Uint8Array::new_with_length(0)
        } else {
            bytes
                .dyn_ref::<Uint8Array>()
                .cloned()
                .ok_or_else(|| Error::invalid("body", "must be bytes (Uint8Array)"))?
        };
        let hash = hash.map(|hex| PayloadHash::from_hex(&hex)).transpose()?;
        Ok(JsBody { bytes, hash })
    }

    /// The body's SHA-256: the one given, or computed here.
    pub fn payload_hash(&self) -> PayloadHash {
        self.hash.clone().unwrap_or_else(|| wasm_payload_hash(&self.bytes))
    }
}

/// The SHA-256 of a body held in JS memory, computed in wasm in pieces, so that a large body
/// never exists twice.
fn wasm_payload_hash(body: &Uint8Array) -> PayloadHash {
    let len = body.length();
    if len == 0 {
        return PayloadHash::empty();
    }
    let mut hasher = PayloadHasher::new();
    let mut chunk = vec![0u8; len.min(HASH_CHUNK) as usize];
    let mut offset = 0;
    while offset < len {
        let end = len.min(offset.saturating_add(HASH_CHUNK)); // bodies near 4 GiB
        let piece = chunk.get_mut(..(end - offset) as usize).unwrap_or_default();
        body.subarray(offset, end).copy_to(piece);
        hasher.update(piece);
        offset = end;
    }
    hasher.finish()
}

/// A response whose body has been read into a JS `Uint8Array` (it stays in JS memory).
pub struct JsResponse {
    pub status: u16,
    /// Every header, lower-case names (read once, so lookups do not cross into JS).
    pub headers: Vec<(String, String)>,
    /// The runtime's own `Headers`, handed to JS callers.
    pub js_headers: JsValue,
    pub body: Uint8Array,
    json: OnceCell<Option<JsValue>>,
}

impl JsResponse {
    /// The body as the JSON object FC answers with; a 2xx that is not one (a proxy's page) is an
    /// error rather than an `undefined` result.
    pub fn json_object(&self) -> Result<JsValue, Error> {
        match self.parsed() {
            Some(value) if value.is_object() && !js_sys::Array::is_array(value) => Ok(value.clone()),
            _ => Err(Error::network(
                format!("the answer (status {}) is not the JSON object FC sends", self.status),
                true,
            )),
        }
    }

    fn parsed(&self) -> Option<&JsValue> {
        self.json
            .get_or_init(|| {
                // Error bodies and task documents are small; a large body is not one of them.
                if self.body.length() > 1 << 20 {
                    return None;
                }
                parse_json(&self.body)
            })
            .as_ref()
    }
}

impl HostResponse for JsResponse {
    fn status(&self) -> u16 {
        self.status
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    fn json_field(&self, name: &str) -> Option<String> {
        let value = Reflect::get(self.parsed()?, &JsValue::from_str(name)).ok()?;
        // Whole numbers only: formatting floats would pull a large formatter into the wasm.
        value
            .as_string()
            .or_else(|| value.as_f64().filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15).map(|n| (n as i64).to_string()))
    }
}

impl Host for JsHost {
    type Body = JsBody;
    type Response = JsResponse;
    type Cancel = AbortSignal;

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn nonce(&self) -> String {
        random_nonce()
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    async fn sleep(&self, ms: u64, cancel: Option<&AbortSignal>) -> Result<(), Error> {
        if cancel.is_some_and(AbortSignal::aborted) {
            return Err(Error::Aborted);
        }
        match JsFuture::from(sleep_js(ms as f64, cancel.cloned())).await {
            Ok(slept) if slept.as_bool() == Some(false) => Err(Error::Aborted),
            Ok(_) => Ok(()),
            // Only when the runtime cannot make an AbortController, as for an attempt.
            Err(e) => Err(Error::network(js_message(&e), false).with_cause(Cause::new(e))),
        }
    }

    async fn payload_hash(&self, body: &JsBody) -> Result<PayloadHash, Error> {
        Ok(body.payload_hash())
    }

    async fn credentials(
        &self,
        now_ms: f64,
        force_refresh: bool,
        attempt: &Attempt<'_, AbortSignal>,
    ) -> Result<Credentials, Error> {
        match &self.credentials {
            CredentialSource::Static(creds) => Ok(creds.clone()),
            CredentialSource::Provider(cache) => cache.get(now_ms, force_refresh, attempt).await,
        }
    }

    fn can_refresh_credentials(&self) -> bool {
        matches!(self.credentials, CredentialSource::Provider(_))
    }

    async fn send(
        &self,
        request: &SignedRequest,
        body: Option<&JsBody>,
        attempt: &Attempt<'_, AbortSignal>,
    ) -> Result<JsResponse, Error> {
        // An AbortController costs fetch real work (signal wiring in undici): only when needed.
        let guard = AttemptGuard::for_attempt(attempt)?;
        let header_lines = header_lines(&request.headers);
        let body = body
            .map(|b| &b.bytes)
            .filter(|b| b.length() > 0 && !matches!(request.method.as_str(), "GET" | "HEAD"))
            .cloned();
        let signal = guard.as_ref().map(|g| g.stop.signal());
        let exchanged = exchange(&self.fetch, &request.url, &request.method, &header_lines, body, signal);
        let read = JsFuture::from(exchanged).await.map_err(|rejected| {
            let stage = Reflect::get(&rejected, &JsValue::from_str("stage")).ok().and_then(|s| s.as_string());
            let error = Reflect::get(&rejected, &JsValue::from_str("error")).unwrap_or(rejected);
            match stage.as_deref() {
                Some("redirect") => Error::Redirect { message: js_message(&error) },
                Some("init") => failure(guard.as_ref(), &error, false),
                Some("send") => failure(guard.as_ref(), &error, !provably_not_sent(&error)),
                _ => failure(guard.as_ref(), &error, true),
            }
        })?;
        drop(guard);
        let read = js_sys::Array::from(&read);
        let status = read.get(0).as_f64().map_or(0, |s| s as u16);
        let headers = pairs_from_lines(&read.get(1).as_string().unwrap_or_default());
        Ok(JsResponse {
            status,
            headers,
            js_headers: read.get(2),
            body: read.get(3).unchecked_into(),
            json: OnceCell::new(),
        })
    }
}
