//! The only async orchestration: credentials → sign → send → read the answer, over a small
//! [`Host`] trait, so the whole invoke path runs under plain `cargo test` with a scripted host.

use crate::acs3::{AcsDate, Credentials, PayloadHash, SignedRequest};
use crate::error::Error;
use crate::fc::{service_error, ApiRequest, Endpoint, InvokeFunction, InvokeMeta};

/// Credentials are refreshed this long before the expiration their provider reported, so a
/// token never expires between signing and the service checking it.
pub const CREDENTIALS_REFRESH_MARGIN_MS: f64 = 60_000.0;

/// Whether cached credentials may still be used at `now_ms`. Credentials without an expiration
/// are never reused: their provider is asked again on every call.
pub fn credentials_fresh(expiration_ms: Option<f64>, now_ms: f64) -> bool {
    expiration_ms.is_some_and(|exp| now_ms + CREDENTIALS_REFRESH_MARGIN_MS < exp)
}

/// What the client needs from the place it runs: a clock, randomness, credentials, a digest
/// and a way to send. The wasm layer implements it over `fetch`; tests script it.
#[allow(async_fn_in_trait)] // single-threaded hosts (wasm) need no Send bound
pub trait Host {
    /// The host's request body (a JS `Uint8Array` in the wasm host): never copied by the core.
    type Body;
    /// The host's response, with its body already read.
    type Response: HostResponse;
    /// What cancels a call (an `AbortSignal` in the wasm host).
    type Cancel;

    /// Milliseconds since the Unix epoch, by the host's clock.
    fn now_ms(&self) -> f64;
    /// A fresh random nonce.
    fn nonce(&self) -> String;
    /// The body's SHA-256 (a host may use its native digest).
    async fn payload_hash(&self, body: &Self::Body) -> Result<PayloadHash, Error>;
    /// Credentials fit to sign with now (cached or refreshed by the host).
    async fn credentials(&self) -> Result<Credentials, Error>;
    /// Sends a signed request and reads the whole answer.
    async fn send(
        &self,
        request: &SignedRequest,
        body: &Self::Body,
        attempt: &Attempt<'_, Self::Cancel>,
    ) -> Result<Self::Response, Error>;
}

/// A response as the core reads it.
pub trait HostResponse {
    /// HTTP status.
    fn status(&self) -> u16;
    /// A header's value (case-insensitive name).
    fn header(&self, name: &str) -> Option<String>;
    /// A top-level string field of the body parsed as JSON, or `None` (not JSON, no such field).
    fn json_field(&self, name: &str) -> Option<String>;
}

/// Limits of one attempt, passed to [`Host::send`].
#[derive(Debug)]
pub struct Attempt<'a, C> {
    /// Give up after this many milliseconds.
    pub timeout_ms: Option<u64>,
    /// The caller's cancellation.
    pub cancel: Option<&'a C>,
}

/// Per-call options.
#[derive(Debug)]
pub struct CallOptions<'a, C> {
    /// Timeout of each attempt, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// The caller's cancellation.
    pub cancel: Option<&'a C>,
}

impl<C> Default for CallOptions<'_, C> {
    fn default() -> Self {
        CallOptions { timeout_ms: None, cancel: None }
    }
}

/// The answer to an invocation: FC's metadata and the host's response (body included).
#[derive(Debug)]
pub struct Invocation<R> {
    /// HTTP status: 200 for Sync, 202 for Async.
    pub status: u16,
    /// Request id, log tail, function error, async task id.
    pub meta: InvokeMeta,
    /// The host's response.
    pub response: R,
}

/// A Function Compute client over a host.
#[derive(Debug)]
pub struct Client<H> {
    host: H,
    endpoint: Endpoint,
}

impl<H: Host> Client<H> {
    /// A client for `endpoint`.
    pub fn new(host: H, endpoint: Endpoint) -> Self {
        Client { host, endpoint }
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Invokes a function. Options are validated before the body is hashed or anything sent.
    pub async fn invoke_function(
        &self,
        options: &InvokeFunction<'_>,
        body: &H::Body,
        call: &CallOptions<'_, H::Cancel>,
    ) -> Result<Invocation<H::Response>, Error> {
        options.validate()?;
        let payload = self.host.payload_hash(body).await?;
        let api = options.to_request(&self.endpoint, payload)?;
        let response = self.call(&api, body, call).await?;
        let meta = InvokeMeta::from_headers(|name| response.header(name));
        Ok(Invocation { status: response.status(), meta, response })
    }

    /// Signs and sends any FC API request; a non-2xx answer becomes [`Error::Service`].
    pub async fn call(
        &self,
        api: &ApiRequest,
        body: &H::Body,
        call: &CallOptions<'_, H::Cancel>,
    ) -> Result<H::Response, Error> {
        let credentials = self.host.credentials().await?;
        let date = AcsDate::from_unix_millis(self.host.now_ms())?;
        let signed = api.sign(&credentials, date, &self.host.nonce())?;
        let attempt = Attempt { timeout_ms: call.timeout_ms, cancel: call.cancel };
        let response = self.host.send(&signed, body, &attempt).await?;
        let status = response.status();
        if (200..300).contains(&status) {
            Ok(response)
        } else {
            Err(Error::Service(Box::new(service_error(status, |n| response.header(n), |f| response.json_field(f)))))
        }
    }
}

#[cfg(test)]
pub(crate) mod scripted {
    //! A host whose answers are scripted, for tests of the orchestration.

    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Runs a future whose every await is immediately ready (the scripted host never waits).
    pub fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    #[derive(Debug, Clone, Default)]
    pub struct Answer {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub json: Vec<(String, String)>,
    }

    impl HostResponse for Answer {
        fn status(&self) -> u16 {
            self.status
        }
        fn header(&self, name: &str) -> Option<String> {
            self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
        }
        fn json_field(&self, name: &str) -> Option<String> {
            self.json.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
        }
    }

    #[derive(Debug, Default)]
    pub struct ScriptedHost {
        pub now_ms: f64,
        pub credentials: Option<Credentials>,
        pub answers: RefCell<VecDeque<Result<Answer, Error>>>,
        pub sent: RefCell<Vec<SignedRequest>>,
        pub nonces: RefCell<u32>,
    }

    impl Host for ScriptedHost {
        type Body = Vec<u8>;
        type Response = Answer;
        type Cancel = ();

        fn now_ms(&self) -> f64 {
            self.now_ms
        }
        fn nonce(&self) -> String {
            let mut n = self.nonces.borrow_mut();
            *n += 1;
            format!("nonce-{n}")
        }
        async fn payload_hash(&self, body: &Vec<u8>) -> Result<PayloadHash, Error> {
            Ok(PayloadHash::of_bytes(body))
        }
        async fn credentials(&self) -> Result<Credentials, Error> {
            self.credentials.clone().ok_or_else(|| Error::credentials("none scripted"))
        }
        async fn send(
            &self,
            request: &SignedRequest,
            _body: &Vec<u8>,
            _attempt: &Attempt<'_, ()>,
        ) -> Result<Answer, Error> {
            self.sent.borrow_mut().push(request.clone());
            self.answers
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| Err(Error::Network { message: "no answer scripted".into(), maybe_sent: false }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scripted::*;
    use super::*;
    use crate::fc::InvocationType;

    fn host(answers: Vec<Result<Answer, Error>>) -> ScriptedHost {
        ScriptedHost {
            now_ms: 1_700_000_000_123.0,
            credentials: Credentials::new("id", "secret", Some("token".into())).ok(),
            answers: std::cell::RefCell::new(answers.into()),
            ..Default::default()
        }
    }

    fn endpoint() -> Endpoint {
        Endpoint::parse("http://127.0.0.1:9000").expect("valid")
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn invokes_and_reads_metadata() {
        let answer = Answer {
            status: 202,
            headers: pairs(&[("X-Fc-Request-Id", "r1"), ("x-fc-async-task-id", "t1")]),
            json: vec![],
        };
        let client = Client::new(host(vec![Ok(answer)]), endpoint());
        let opts = InvokeFunction {
            function_name: "f",
            invocation_type: InvocationType::Async,
            async_task_id: Some("t1"),
            ..Default::default()
        };
        let out = block_on(client.invoke_function(&opts, &b"hi".to_vec(), &CallOptions::default())).expect("ok");
        assert_eq!(out.status, 202);
        assert_eq!(out.meta.request_id.as_deref(), Some("r1"));
        assert_eq!(out.meta.async_task_id.as_deref(), Some("t1"));
        let sent = client.host().sent.borrow();
        assert_eq!(sent.len(), 1);
        let first = sent.first().expect("one request");
        assert_eq!(first.header("x-acs-date"), Some("2023-11-14T22:13:20Z"));
        assert_eq!(first.header("x-acs-signature-nonce"), Some("nonce-1"));
        assert_eq!(first.header("x-acs-security-token"), Some("token"));
        assert_eq!(first.header("x-acs-content-sha256"), Some(PayloadHash::of_bytes(b"hi").as_str()));
    }

    #[test]
    fn error_answers_become_service_errors() {
        let answer = Answer {
            status: 403,
            headers: pairs(&[("x-fc-request-id", "r9")]),
            json: pairs(&[("Code", "SignatureNotMatch"), ("Message", "nope")]),
        };
        let client = Client::new(host(vec![Ok(answer)]), endpoint());
        let opts = InvokeFunction { function_name: "f", ..Default::default() };
        let err = block_on(client.invoke_function(&opts, &vec![], &CallOptions::default())).expect_err("403");
        assert_eq!(err.code(), "SignatureNotMatch");
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.request_id(), Some("r9"));
    }

    #[test]
    fn credentials_are_reused_until_shortly_before_expiration() {
        assert!(credentials_fresh(Some(1_000_000.0), 1_000_000.0 - CREDENTIALS_REFRESH_MARGIN_MS - 1.0));
        assert!(!credentials_fresh(Some(1_000_000.0), 1_000_000.0 - CREDENTIALS_REFRESH_MARGIN_MS));
        assert!(!credentials_fresh(Some(1_000_000.0), 2_000_000.0));
        assert!(!credentials_fresh(None, 0.0), "no expiration: ask every time");
    }

    #[test]
    fn bad_options_send_nothing() {
        let client = Client::new(host(vec![]), endpoint());
        let opts = InvokeFunction { function_name: "no/slash", ..Default::default() };
        let err = block_on(client.invoke_function(&opts, &vec![], &CallOptions::default())).expect_err("invalid");
        assert_eq!(err.code(), "InvalidArgument");
        assert!(client.host().sent.borrow().is_empty());
    }
}
