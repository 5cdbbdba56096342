//! The JS host, as the Rust side of the wasm layer sees it: the imports from host.js (the driver
//! that runs calls over `fetch`, the nonce, errors) and the body a call hashes. Everything is
//! taken from the global scope (`globalThis`), never from `window`, so the same code runs in
//! browsers, Workers, Deno and Node.

use crate::acs3::SignedRequest;
#[cfg(feature = "js-api")]
use crate::acs3::{PayloadHash, PayloadHasher};
use crate::prelude::*;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/wasm/host.js")]
extern "C" {
    /// Runs call `id` of `port` (a [`super::CallPort`]) to its end over `fetch` (undefined: the
    /// global one), asking `provider` for credentials when the call says so; resolves to the
    /// result of `kind` (see [`Kind`]).
    #[allow(clippy::too_many_arguments)]
    pub fn drive(
        port: &JsValue,
        id: u32,
        kind: u8,
        body: Option<Uint8Array>,
        signal: &JsValue,
        fetch: &JsValue,
        provider: &JsValue,
        task_id: Option<String>,
    ) -> Promise;
    /// `globalThis.fetch` (js_sys::global's search for the global object costs more .wasm).
    #[wasm_bindgen(js_name = globalFetch)]
    pub fn global_fetch() -> JsValue;
    #[wasm_bindgen(js_name = randomNonce)]
    pub fn random_nonce() -> String;
    /// Field `name` of an answer's parsed JSON: a string (of at most 64 KB), a number, or
    /// undefined.
    #[wasm_bindgen(js_name = jsonField)]
    pub fn json_field(json: &JsValue, name: &str) -> JsValue;
    /// A short, safe description of a thrown JS value.
    #[wasm_bindgen(js_name = jsMessage)]
    pub fn js_message(value: &JsValue) -> String;
    #[wasm_bindgen(js_name = fcError)]
    pub fn fc_error(
        message: &str,
        code: &str,
        status: Option<u16>,
        request_id: Option<&str>,
        argument: Option<&str>,
        cause: &JsValue,
    ) -> JsValue;
}

/// What a driven call resolves to (host.js has the same numbers). The Rust API drives only
/// invocations; the other kinds are the JS face's (feature `js-api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "js-api"), allow(dead_code))]
#[repr(u8)]
pub enum Kind {
    /// `invokeFunction`'s result object.
    Invoke = 0,
    /// FC's JSON document (task calls).
    Json = 1,
    /// Nothing (`stopAsyncTask`).
    Nothing = 2,
    /// `{ status, requestId, headers, body }` (`request`).
    Response = 3,
    /// `"method\nurl\nname\nvalue\n…"` of a request that is only signed.
    Signed = 4,
}

/// Bodies are hashed from JS memory in pieces of this size, so a large body never exists twice.
#[cfg(feature = "js-api")]
const HASH_CHUNK: u32 = 64 * 1024;

/// `"name\nvalue\n…"`: headers cross into JS as one string (names and values hold no newlines).
fn push_header_lines(out: &mut String, headers: &[(String, String)]) {
    out.reserve(headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (name, value) in headers {
        for part in [name.as_str(), "\n", value.as_str(), "\n"] {
            out.push_str(part);
        }
    }
}

/// `"name\nvalue\n…"` back into pairs.
pub fn pairs_from_lines(lines: &str) -> Vec<(String, String)> {
    let mut parts = lines.split('\n');
    let mut pairs = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    pairs
}

/// `"method\nurl\nname\nvalue\n…"` of a signed request, which the JS face splits.
#[cfg(feature = "js-api")]
pub fn signed_lines(signed: &SignedRequest) -> String {
    let mut out = String::with_capacity(signed.url.len() + 1024);
    push_signed_lines(&mut out, signed);
    out
}

/// Appends [`signed_lines`] of `signed` to `out`.
pub fn push_signed_lines(out: &mut String, signed: &SignedRequest) {
    for part in [signed.method.as_str(), "\n", &signed.url, "\n"] {
        out.push_str(part);
    }
    push_header_lines(out, &signed.headers);
}

/// A request body held in JS memory, with its SHA-256 when the JS face computed it natively
/// (node:crypto, Web Crypto), which beats SHA-256 in wasm for all but small bodies.
#[cfg(feature = "js-api")]
pub struct JsBody {
    pub bytes: Uint8Array,
    pub hash: Option<PayloadHash>,
}

#[cfg(feature = "js-api")]
impl JsBody {
    /// `bytes` (none: empty) and an optional hex SHA-256 of them.
    pub fn new(bytes: Option<Uint8Array>, hash: Option<String>) -> Result<JsBody, crate::Error> {
        let hash = hash.map(|hex| PayloadHash::from_hex(&hex)).transpose()?;
        Ok(JsBody { bytes: bytes.unwrap_or_else(|| Uint8Array::new_with_length(0)), hash })
    }

    /// The body's SHA-256: the one given, or computed here.
    pub fn payload_hash(&self) -> PayloadHash {
        self.hash.clone().unwrap_or_else(|| wasm_payload_hash(&self.bytes))
    }

    /// The bytes to send with `method`: none when empty or for GET and HEAD, which fetch sends
    /// without a body.
    pub fn to_send(&self, method: &str) -> Option<Uint8Array> {
        (self.bytes.length() > 0 && !matches!(method, "GET" | "HEAD")).then(|| self.bytes.clone())
    }
}

/// The SHA-256 of a body held in JS memory, computed in wasm in pieces, so that a large body
/// never exists twice.
#[cfg(feature = "js-api")]
fn wasm_payload_hash(body: &Uint8Array) -> PayloadHash {
    let len = body.length();
    if len == 0 {
        return PayloadHash::empty();
    }
    let mut hasher = PayloadHasher::new();
    let mut offset = 0;
    while offset < len {
        let end = len.min(offset.saturating_add(HASH_CHUNK)); // bodies near 4 GiB
                                                              // A fresh Vec per piece: `copy_to` into one reused buffer asserts the lengths, which
                                                              // costs the .wasm std's assertion message machinery.
        hasher.update(&body.subarray(offset, end).to_vec());
        offset = end;
    }
    hasher.finish()
}
