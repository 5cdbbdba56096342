//! [`CallPort`]: where the JS driver (host.js `drive`) reports on the calls of one client. The
//! driver says what happened to call `id` (an answer, a failure, credentials, a wait that ended);
//! the port passes it to the call and answers with the next step as one string, which the driver
//! splits. One port per client, made with it: a JS object per call would cost a wrapper and a
//! finalizer registration on every call.

use super::convert::error_to_js;
use super::host::{self, push_signed_lines, Kind};
use crate::acs3::Credentials;
use crate::client::{Call, Client, HostResponse, Next};
use crate::error::{Cause, Error};
use crate::prelude::*;
use crate::text::{concat, decimal, push_decimal};
use alloc::rc::Rc;
use core::cell::RefCell;
use wasm_bindgen::prelude::*;

/// How a step failed, as the driver reports it (host.js has the same numbers).
mod stage {
    /// Nothing was sent: fetch threw, or the connection was refused.
    pub const NOT_SENT: u8 = 0;
    /// fetch rejected after it may have sent the request.
    pub const MAYBE_SENT: u8 = 1;
    /// The request was sent; reading the answer failed.
    pub const SENT: u8 = 2;
    /// The answer was a redirect, which is never followed.
    pub const REDIRECT: u8 = 3;
    /// The step's own timer ran out.
    pub const TIMED_OUT: u8 = 4;
    /// The caller's signal aborted.
    pub const ABORTED: u8 = 5;
    /// The credentials provider failed.
    pub const PROVIDER: u8 = 6;
}

/// Where a Rust caller awaiting the driver finds a failed call's [`Error`] (the Rust API).
pub type FailureSlot = Rc<RefCell<Option<Error>>>;

/// A call in progress.
struct Entry {
    call: Call,
    kind: Kind,
    failure: Option<FailureSlot>,
}

/// A client and its calls in progress (a slab: ids are indices, reused once a call ends).
pub struct Calls {
    client: RefCell<Client>,
    entries: RefCell<Vec<Option<Entry>>>,
}

impl Calls {
    pub fn new(client: Client) -> Rc<Self> {
        Rc::new(Calls { client: RefCell::new(client), entries: RefCell::new(Vec::new()) })
    }

    /// The client, to build a call with (or change its settings).
    pub fn client(&self) -> Result<core::cell::RefMut<'_, Client>, Error> {
        self.client.try_borrow_mut().map_err(|_| busy())
    }

    /// Adds a call; its id for the driver.
    pub fn add(&self, call: Call, kind: Kind, failure: Option<FailureSlot>) -> Result<u32, Error> {
        let mut entries = self.entries.try_borrow_mut().map_err(|_| busy())?;
        let entry = Some(Entry { call, kind, failure });
        let id = match entries.iter().position(Option::is_none) {
            Some(free) => {
                if let Some(slot) = entries.get_mut(free) {
                    *slot = entry;
                }
                free
            }
            None => {
                entries.push(entry);
                entries.len() - 1
            }
        };
        u32::try_from(id).map_err(|_| Error::invalid("call", "too many calls in progress"))
    }

    /// Runs `event` on call `id` and encodes what comes next: the step's string, or the
    /// `FcError` of a failed call (a value, not a throw: see [`CallPort`]).
    fn step(&self, id: u32, event: impl FnOnce(&mut Entry, &mut Client) -> Next) -> JsValue {
        let (Ok(mut entries), Ok(mut client)) = (self.entries.try_borrow_mut(), self.client.try_borrow_mut()) else {
            return error_to_js(&busy());
        };
        let Some(entry) = entries.get_mut(id as usize).and_then(Option::as_mut) else {
            return error_to_js(&Error::invalid("call", "is not in progress"));
        };
        let next = event(entry, &mut client);
        encode(next, entry).map_or_else(|error| error, |step| JsValue::from_str(&step))
    }
}

fn busy() -> Error {
    Error::invalid("call", "its client is busy with another step")
}

/// The step for the driver: a letter, then what it needs, lines separated by `\n`:
/// `S<timeout>\n<method>\n<url>\n<name>\n<value>…` send, `C<timeout>` ask for credentials,
/// `W<ms>` wait, `R` resume at once, `G\n<method>\n<url>\n<name>\n<value>…` signed,
/// `D` done, `A` done (accepted by an earlier attempt). A failure is thrown.
fn encode(next: Next, entry: &mut Entry) -> Result<String, JsValue> {
    let mut out = String::new();
    let signed = match next {
        Next::Send { request, timeout_ms } => {
            out.push('S');
            if let Some(ms) = timeout_ms {
                push_decimal(&mut out, ms);
            }
            request
        }
        Next::Signed(request) => {
            out.push('G');
            request
        }
        Next::Credentials { timeout_ms } => {
            out.push('C');
            if let Some(ms) = timeout_ms {
                push_decimal(&mut out, ms);
            }
            return Ok(out);
        }
        Next::Wait { ms } => {
            out.push('W');
            push_decimal(&mut out, ms);
            return Ok(out);
        }
        Next::Resume => return Ok("R".to_owned()),
        Next::Done { accepted_earlier } => return Ok(if accepted_earlier { "A" } else { "D" }.to_owned()),
        Next::Failed(error) => return Err(fail(entry, error)),
    };
    out.push('\n');
    push_signed_lines(&mut out, &signed);
    Ok(out)
}

fn fail(entry: &Entry, error: Error) -> JsValue {
    let js = error_to_js(&error);
    // Only the awaiting Rust caller reads the slot, after this step: it is never borrowed now.
    if let Some(mut slot) = entry.failure.as_ref().and_then(|slot| slot.try_borrow_mut().ok()) {
        *slot = Some(error);
    }
    js
}

/// An answer as the driver hands it over: the status, every header for an error answer
/// (`"name\nvalue\n…"`), and the body parsed as JSON when the driver parsed it.
struct JsAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    json: JsValue,
}

impl HostResponse for JsAnswer {
    fn status(&self) -> u16 {
        self.status
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    fn json_field(&self, name: &str) -> Option<String> {
        let value = host::json_field(&self.json, name);
        // Whole numbers only: formatting floats would pull a large formatter into the wasm.
        value.as_string().or_else(|| {
            value.as_f64().filter(|&n| (0.0..9.0e15).contains(&n) && n == (n as u64) as f64).map(|n| decimal(n as u64))
        })
    }
}

fn is_json_object(value: &JsValue) -> bool {
    value.is_object() && !js_sys::Array::is_array(value)
}

/// The JS face of `Calls`, handed to the driver with each call. Each method answers with one
/// value, the next step's string or the failed call's `FcError` (which the driver throws): a
/// `Result` or a `String` would return several values, for which V8 compiles a wrapper per
/// signature when the module loads (about 0.7 ms each, bench/README.md), where one-value
/// signatures share its generic wrapper.
#[wasm_bindgen]
pub struct CallPort {
    calls: Rc<Calls>,
}

/// Shows nothing: the calls' client holds secret credentials.
impl core::fmt::Debug for CallPort {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CallPort").finish_non_exhaustive()
    }
}

impl CallPort {
    pub(super) fn new(calls: Rc<Calls>) -> Self {
        CallPort { calls }
    }
}

#[wasm_bindgen]
impl CallPort {
    /// Starts call `id`'s next attempt, or goes on once credentials are in.
    pub fn resume(&self, id: u32, now_ms: f64, nonce: &str) -> JsValue {
        self.calls.step(id, |entry, client| entry.call.resume(client, now_ms, nonce))
    }

    /// The answer to a send: `header_lines` for an error answer, `json` when parsed.
    pub fn answered(
        &self,
        id: u32,
        status: u16,
        header_lines: Option<String>,
        json: JsValue,
        now_ms: f64,
        random: f64,
    ) -> JsValue {
        let headers = header_lines.as_deref().map(host::pairs_from_lines).unwrap_or_default();
        let answer = JsAnswer { status, headers, json };
        self.calls.step(id, |entry, client| {
            let next = entry.call.answered(client, &answer, now_ms, random);
            // Task calls answer with FC's JSON document; a 2xx that is not one (a proxy's page)
            // is an error rather than an `undefined` result.
            let done = next == Next::Done { accepted_earlier: false };
            if entry.kind == Kind::Json && done && !is_json_object(&answer.json) {
                let status = decimal(u64::from(status));
                let message = concat(&["the answer (status ", &status, ") is not the JSON object FC sends"]);
                return Next::Failed(Error::network(message, true));
            }
            next
        })
    }

    /// A step of call `id` that failed at `stage` with the JS `error` it threw.
    pub fn failed(&self, id: u32, stage: u8, error: JsValue, now_ms: f64, random: f64) -> JsValue {
        self.calls.step(id, |entry, client| {
            let error = match stage {
                stage::TIMED_OUT => Error::Timeout { after_ms: entry.call.step_timeout_ms().unwrap_or(0) },
                stage::ABORTED => Error::Aborted,
                stage::REDIRECT => Error::Redirect { message: host::js_message(&error) },
                stage::PROVIDER => {
                    let message = concat(&["the credentials provider failed: ", &host::js_message(&error)]);
                    Error::credentials(message).with_cause(Cause::new(error))
                }
                stage::NOT_SENT | stage::MAYBE_SENT | stage::SENT => {
                    Error::network(host::js_message(&error), stage != stage::NOT_SENT).with_cause(Cause::new(error))
                }
                _ => Error::invalid("stage", "is not one the driver reports"),
            };
            entry.call.failed(client, error, now_ms, random)
        })
    }

    /// What the credentials provider answered for call `id`, read by the JS face: the keys and
    /// their expiration (epoch ms), or why the answer is unusable.
    #[allow(clippy::too_many_arguments)]
    pub fn credentials(
        &self,
        id: u32,
        access_key_id: Option<String>,
        access_key_secret: Option<String>,
        security_token: Option<String>,
        expiration_ms: Option<f64>,
        unusable: Option<String>,
        now_ms: f64,
        nonce: &str,
    ) -> JsValue {
        let credentials = match unusable {
            Some(reason) => Err(Error::credentials(reason)),
            None => Credentials::new(
                access_key_id.unwrap_or_default(),
                access_key_secret.unwrap_or_default(),
                security_token,
            ),
        };
        self.calls.step(id, |entry, client| match credentials {
            Ok(credentials) => {
                client.set_credentials(credentials, expiration_ms);
                entry.call.resume(client, now_ms, nonce)
            }
            Err(error) => entry.call.failed(client, error, now_ms, 0.0),
        })
    }

    /// Forgets call `id`, whatever its state: the driver's last word on every call.
    pub fn end(&self, id: u32) {
        if let Ok(mut entries) = self.calls.entries.try_borrow_mut() {
            if let Some(slot) = entries.get_mut(id as usize) {
                *slot = None;
            }
        }
    }
}
