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
// The exports the npm package's JS face calls (feature `js-api`, see Cargo.toml).
#[cfg(feature = "js-api")]
mod js_api;

pub use call::CallPort;
// For the wasm tests, which drive the JS face's exports from Rust.
#[cfg(feature = "js-api")]
#[doc(hidden)]
pub use js_api::{new_client, sign_request};
#[cfg(not(feature = "npm"))]
pub use rust_api::{FcClient, InvokeResponse};

use crate::client::{Call, CallOptions, Client};
use crate::error::Error;
use alloc::rc::Rc;
use call::{Calls, FailureSlot};
use convert::{millis, retry_policy};
use host::Kind;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;

/// The caller's `fetch` (a function: the JS face checks it), or undefined for the global one
/// (looked up on every attempt, so that mocks and instrumentation installed after the client was
/// made are used), which must exist.
fn fetch_from(value: &JsValue) -> Result<JsValue, Error> {
    if !(value.is_undefined() || value.is_null()) {
        return Ok(value.clone());
    }
    if !host::global_fetch().is_function() {
        return Err(Error::invalid("fetch", "this runtime has no global fetch; pass one"));
    }
    Ok(JsValue::UNDEFINED)
}

/// What a call needs besides its state: the client's I/O.
struct Io {
    /// The caller's fetch, or undefined (the global one).
    fetch: JsValue,
    /// The credentials provider (the JS face's wrapper), or undefined (static credentials).
    provider: JsValue,
}

/// A Function Compute client bound to one endpoint and one credential source.
#[cfg_attr(feature = "js-api", wasm_bindgen)]
pub struct WasmClient {
    calls: Rc<Calls>,
    /// The [`CallPort`] the driver reports to, made once.
    port: JsValue,
    io: Io,
}

/// Shows nothing: the client's credentials are secret and its JS values opaque.
impl core::fmt::Debug for WasmClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WasmClient").finish_non_exhaustive()
    }
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
