//! The only async orchestration: credentials → sign → send → read the answer, over a small
//! [`Host`] trait, so the whole invoke path runs under plain `cargo test` with a scripted host.

use crate::acs3::{AcsDate, Credentials, PayloadHash, SignableRequest, SignedRequest, SigningParams};
use crate::error::Error;
use crate::fc::async_task::{self, ListAsyncTasks};
use crate::fc::retry::{decide, may_have_run, Attempts, Decision, Repeatable, RetryPolicy};
use crate::fc::{service_error, ApiRequest, CustomCall, Endpoint, InvocationType, InvokeFunction, InvokeMeta};
use std::cell::Cell;

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
    /// A random number in `[0, 1)` (backoff jitter; need not be cryptographic).
    fn random(&self) -> f64;
    /// Waits `ms` milliseconds, or fails with [`Error::Aborted`] as soon as `cancel` fires.
    async fn sleep(&self, ms: u64, cancel: Option<&Self::Cancel>) -> Result<(), Error>;
    /// The body's SHA-256 (a host may use its native digest).
    async fn payload_hash(&self, body: &Self::Body) -> Result<PayloadHash, Error>;
    /// Credentials fit to sign with at `now_ms` (corrected clock): cached ones while fresh
    /// (see [`credentials_fresh`]), fetched anew when stale or when `force_refresh`. Waiting for
    /// them is part of the attempt: its timeout and cancellation apply.
    async fn credentials(
        &self,
        now_ms: f64,
        force_refresh: bool,
        attempt: &Attempt<'_, Self::Cancel>,
    ) -> Result<Credentials, Error>;
    /// Whether [`Host::credentials`] can give others than those it gave (a provider, not
    /// static keys): when not, an expired token is final.
    fn can_refresh_credentials(&self) -> bool;
    /// Sends a signed request (with `body`, if any) and reads the whole answer.
    async fn send(
        &self,
        request: &SignedRequest,
        body: Option<&Self::Body>,
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
    /// Time for the whole call, retries and waits included, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// The caller's cancellation.
    pub cancel: Option<&'a C>,
    /// This call's retry policy (the client's when `None`).
    pub retry: Option<RetryPolicy>,
    /// The caller declares the call safe to repeat even where it may already have run.
    pub idempotent: bool,
}

impl<C> Default for CallOptions<'_, C> {
    fn default() -> Self {
        CallOptions { timeout_ms: None, deadline_ms: None, cancel: None, retry: None, idempotent: false }
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
    retry: RetryPolicy,
    /// Server time minus host time, learnt from a clock-skew rejection; added to every signature.
    clock_offset_ms: Cell<f64>,
}

/// What one successful call gives back.
#[derive(Debug)]
struct Sent<R> {
    response: R,
    /// A retried Async invocation found its task already accepted by an earlier attempt.
    accepted_earlier: bool,
}

impl<H: Host> Client<H> {
    /// A client for `endpoint` with the default retry policy.
    pub fn new(host: H, endpoint: Endpoint) -> Self {
        Client { host, endpoint, retry: RetryPolicy::default(), clock_offset_ms: Cell::new(0.0) }
    }

    /// Replaces the client's retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The host's clock corrected by what the service told us (milliseconds since the epoch).
    pub fn now_ms(&self) -> f64 {
        self.host.now_ms() + self.clock_offset_ms.get()
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
        let with_task_id = options.invocation_type == InvocationType::Async && options.async_task_id.is_some();
        let repeatable = if with_task_id || call.idempotent { Repeatable::Safe } else { Repeatable::OnlyIfNotRun };
        let sent = self.send_with_retries(&api, Some(body), call, repeatable, with_task_id).await?;
        let response = sent.response;
        let mut meta = InvokeMeta::from_headers(|name| response.header(name));
        if sent.accepted_earlier {
            // The task id is ours; FC has it queued once, from the earlier attempt.
            meta.async_task_id = options.async_task_id.map(str::to_owned);
            return Ok(Invocation { status: 202, meta, response });
        }
        Ok(Invocation { status: response.status(), meta, response })
    }

    /// Signs and sends any FC API request, retrying per policy; a non-2xx answer becomes
    /// [`Error::Service`]. `repeatable` says whether a request that may have run can be repeated.
    pub async fn call(
        &self,
        api: &ApiRequest,
        body: Option<&H::Body>,
        call: &CallOptions<'_, H::Cancel>,
        repeatable: Repeatable,
    ) -> Result<H::Response, Error> {
        Ok(self.send_with_retries(api, body, call, repeatable, false).await?.response)
    }

    /// Any FC 3.0 API call (see [`CustomCall`]). GET and HEAD are repeatable; others only when
    /// `call.idempotent`.
    pub async fn request(
        &self,
        custom: &CustomCall<'_>,
        body: Option<&H::Body>,
        call: &CallOptions<'_, H::Cancel>,
    ) -> Result<H::Response, Error> {
        let payload = match body {
            Some(b) => self.host.payload_hash(b).await?,
            None => PayloadHash::empty(),
        };
        let api = custom.to_request(&self.endpoint, payload, body.is_some())?;
        let read = matches!(api.request.method(), "GET" | "HEAD");
        let repeatable = if read || call.idempotent { Repeatable::Safe } else { Repeatable::OnlyIfNotRun };
        self.call(&api, body, call, repeatable).await
    }

    /// GetAsyncTask: the task's state and result (JSON).
    pub async fn get_async_task(
        &self,
        function_name: &str,
        task_id: &str,
        qualifier: Option<&str>,
        call: &CallOptions<'_, H::Cancel>,
    ) -> Result<H::Response, Error> {
        let api = async_task::get_async_task(&self.endpoint, function_name, task_id, qualifier)?;
        self.call(&api, None, call, Repeatable::Safe).await
    }

    /// StopAsyncTask. Not repeated after a failure that may have reached FC: a second stop of a
    /// stopped task answers `AsyncTaskAlreadyFinished`, which would hide that the first worked.
    pub async fn stop_async_task(
        &self,
        function_name: &str,
        task_id: &str,
        qualifier: Option<&str>,
        call: &CallOptions<'_, H::Cancel>,
    ) -> Result<H::Response, Error> {
        let api = async_task::stop_async_task(&self.endpoint, function_name, task_id, qualifier)?;
        self.call(&api, None, call, Repeatable::OnlyIfNotRun).await
    }

    /// ListAsyncTasks: one page (JSON `{ tasks, nextToken }`).
    pub async fn list_async_tasks(
        &self,
        function_name: &str,
        options: &ListAsyncTasks<'_>,
        call: &CallOptions<'_, H::Cancel>,
    ) -> Result<H::Response, Error> {
        let api = async_task::list_async_tasks(&self.endpoint, function_name, options)?;
        self.call(&api, None, call, Repeatable::Safe).await
    }

    /// Polls GetAsyncTask until the task reaches a terminal state, waiting `interval_ms` at first
    /// and doubling up to `max_interval_ms`. `call.deadline_ms` bounds the whole wait
    /// ([`Error::Timeout`]); `call.cancel` stops it ([`Error::Aborted`]).
    pub async fn wait_for_async_task(
        &self,
        function_name: &str,
        task_id: &str,
        qualifier: Option<&str>,
        interval_ms: u64,
        max_interval_ms: u64,
        call: &CallOptions<'_, H::Cancel>,
    ) -> Result<H::Response, Error> {
        let api = async_task::get_async_task(&self.endpoint, function_name, task_id, qualifier)?;
        let deadline = call.deadline_ms.map(|ms| (self.host.now_ms() + ms as f64, ms));
        // At least 1 ms: with 0 the doubling would stay at 0 and poll without pause.
        let interval_ms = interval_ms.max(1);
        let mut interval = interval_ms;
        loop {
            let remaining = deadline.map(|(at, _)| (at - self.host.now_ms()).max(1.0) as u64);
            let each = CallOptions {
                timeout_ms: call.timeout_ms,
                deadline_ms: remaining,
                cancel: call.cancel,
                retry: call.retry,
                idempotent: false,
            };
            let response = self.call(&api, None, &each, Repeatable::Safe).await?;
            match response.json_field("status") {
                Some(status) if async_task::is_terminal_status(&status) => return Ok(response),
                Some(_) => {}
                // Not a task document (a proxy's page): polling again would not end.
                None => return Err(Error::network("the GetAsyncTask answer has no task status", true)),
            }
            if let Some((at, total)) = deadline {
                if self.host.now_ms() + interval as f64 >= at {
                    return Err(Error::Timeout { after_ms: total });
                }
            }
            self.host.sleep(interval, call.cancel).await?;
            interval = interval.saturating_mul(2).min(max_interval_ms.max(interval_ms));
        }
    }

    /// Signs a request that is not an API call (an HTTP trigger with signature authentication)
    /// with the client's credentials and clock, without sending it.
    pub async fn sign(&self, request: &SignableRequest) -> Result<SignedRequest, Error> {
        let now = self.now_ms();
        let credentials = self.host.credentials(now, false, &Attempt { timeout_ms: None, cancel: None }).await?;
        let params = SigningParams {
            action: None,
            version: None,
            date: AcsDate::from_unix_millis(now)?,
            nonce: &self.host.nonce(),
        };
        crate::acs3::sign(request, &credentials, &params)
    }

    async fn send_with_retries(
        &self,
        api: &ApiRequest,
        body: Option<&H::Body>,
        call: &CallOptions<'_, H::Cancel>,
        repeatable: Repeatable,
        task_id_dedup: bool,
    ) -> Result<Sent<H::Response>, Error> {
        let policy = call.retry.unwrap_or(self.retry);
        let deadline = call.deadline_ms.map(|ms| (self.host.now_ms() + ms as f64, ms));
        let mut attempts = Attempts::default();
        let mut force_refresh = false;
        // Whether an earlier attempt may have reached FC, and so may have queued the task.
        let mut may_be_queued = false;
        loop {
            let mut timeout_ms = call.timeout_ms;
            if let Some((at, total)) = deadline {
                let remaining = at - self.host.now_ms();
                if remaining <= 0.0 {
                    return Err(Error::Timeout { after_ms: total });
                }
                timeout_ms = Some(timeout_ms.map_or(remaining as u64, |t| t.min(remaining as u64)).max(1));
            }
            attempts.made += 1;
            let error = match self.attempt(api, body, call.cancel, timeout_ms, force_refresh).await {
                Ok(response) => return Ok(Sent { response, accepted_earlier: false }),
                Err((error, response)) => {
                    // A retry of an Async invocation whose task id is already taken, after an
                    // attempt that may have reached FC: that attempt queued it (FC de-duplicates
                    // by task id). After attempts that provably did not, the id was taken before
                    // this call, and the conflict is the caller's.
                    if task_id_dedup && may_be_queued && error.code() == "AsyncTaskAlreadyExists" {
                        if let Some(response) = response {
                            return Ok(Sent { response, accepted_earlier: true });
                        }
                    }
                    may_be_queued |= may_have_run(&error);
                    error
                }
            };
            force_refresh = false;
            let now = self.host.now_ms();
            match decide(&policy, repeatable, &attempts, &error, self.host.random(), now) {
                Decision::GiveUp => return Err(error),
                Decision::CorrectClock { offset_ms } => {
                    self.clock_offset_ms.set(offset_ms);
                    attempts.clock_corrected = true;
                }
                Decision::RefreshCredentials if !self.host.can_refresh_credentials() => return Err(error),
                Decision::RefreshCredentials => {
                    force_refresh = true;
                    attempts.credentials_refreshed = true;
                }
                Decision::RetryAfter { delay_ms } => {
                    if deadline.is_some_and(|(at, _)| now + delay_ms as f64 >= at) {
                        return Err(error);
                    }
                    self.host.sleep(delay_ms, call.cancel).await?;
                }
            }
        }
    }

    /// One signed attempt. A service error keeps its response (for the Async dedup case).
    async fn attempt(
        &self,
        api: &ApiRequest,
        body: Option<&H::Body>,
        cancel: Option<&H::Cancel>,
        timeout_ms: Option<u64>,
        force_refresh: bool,
    ) -> Result<H::Response, (Error, Option<H::Response>)> {
        let started = self.host.now_ms();
        let waiting = Attempt { timeout_ms, cancel };
        let credentials = self.host.credentials(self.now_ms(), force_refresh, &waiting).await.map_err(|e| (e, None))?;
        // What is left of the attempt's time once credentials are in.
        let spent = (self.host.now_ms() - started).max(0.0) as u64;
        let timeout_ms = timeout_ms.map(|t| t.saturating_sub(spent).max(1));
        let now = self.now_ms();
        let date = AcsDate::from_unix_millis(now).map_err(|e| (e, None))?;
        let signed = api.sign(&credentials, date, &self.host.nonce()).map_err(|e| (e, None))?;
        let attempt = Attempt { timeout_ms, cancel };
        let response = self.host.send(&signed, body, &attempt).await.map_err(|e| (e, None))?;
        let status = response.status();
        if (200..300).contains(&status) {
            Ok(response)
        } else {
            let error = service_error(status, |n| response.header(n), |f| response.json_field(f));
            Err((Error::Service(Box::new(error)), Some(response)))
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
        pub now_ms: std::cell::Cell<f64>,
        pub credentials: Option<Credentials>,
        pub answers: RefCell<VecDeque<Result<Answer, Error>>>,
        pub sent: RefCell<Vec<SignedRequest>>,
        pub nonces: RefCell<u32>,
        pub sleeps: RefCell<Vec<u64>>,
        pub refreshes: RefCell<u32>,
        /// Static credentials: no refresh possible.
        pub static_credentials: bool,
        pub timeouts: RefCell<Vec<Option<u64>>>,
    }

    impl Host for ScriptedHost {
        type Body = Vec<u8>;
        type Response = Answer;
        type Cancel = ();

        fn now_ms(&self) -> f64 {
            self.now_ms.get()
        }
        fn nonce(&self) -> String {
            let mut n = self.nonces.borrow_mut();
            *n += 1;
            format!("nonce-{n}")
        }
        fn random(&self) -> f64 {
            0.5
        }
        async fn sleep(&self, ms: u64, _cancel: Option<&()>) -> Result<(), Error> {
            self.sleeps.borrow_mut().push(ms);
            self.now_ms.set(self.now_ms.get() + ms as f64);
            Ok(())
        }
        async fn payload_hash(&self, body: &Vec<u8>) -> Result<PayloadHash, Error> {
            Ok(PayloadHash::of_bytes(body))
        }
        async fn credentials(
            &self,
            _now_ms: f64,
            force_refresh: bool,
            _attempt: &Attempt<'_, ()>,
        ) -> Result<Credentials, Error> {
            if force_refresh {
                *self.refreshes.borrow_mut() += 1;
            }
            self.credentials.clone().ok_or_else(|| Error::credentials("none scripted"))
        }
        fn can_refresh_credentials(&self) -> bool {
            !self.static_credentials
        }
        async fn send(
            &self,
            request: &SignedRequest,
            _body: Option<&Vec<u8>>,
            attempt: &Attempt<'_, ()>,
        ) -> Result<Answer, Error> {
            self.sent.borrow_mut().push(request.clone());
            self.timeouts.borrow_mut().push(attempt.timeout_ms);
            self.now_ms.set(self.now_ms.get() + 10.0);
            self.answers.borrow_mut().pop_front().unwrap_or_else(|| Err(Error::network("no answer scripted", false)))
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
            now_ms: std::cell::Cell::new(1_700_000_000_123.0),
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

    fn status(status: u16, code: &str, headers: &[(&str, &str)]) -> Result<Answer, Error> {
        Ok(Answer { status, headers: pairs(headers), json: pairs(&[("Code", code)]) })
    }

    fn ok() -> Result<Answer, Error> {
        Ok(Answer { status: 200, ..Answer::default() })
    }

    fn invoke(
        client: &Client<ScriptedHost>,
        opts: &InvokeFunction<'_>,
        call: &CallOptions<'_, ()>,
    ) -> Result<Invocation<Answer>, Error> {
        block_on(client.invoke_function(opts, &b"x".to_vec(), call))
    }

    const SYNC: InvokeFunction<'static> = InvokeFunction {
        function_name: "f",
        qualifier: None,
        invocation_type: InvocationType::Sync,
        log_type: crate::fc::LogType::None,
        async_task_id: None,
        headers: &[],
    };

    #[test]
    fn throttled_calls_are_retried_and_signed_afresh() {
        let client = Client::new(
            host(vec![
                status(429, "ResourceExhausted", &[]),
                status(503, "ResourceThrottled", &[("retry-after", "1")]),
                ok(),
            ]),
            endpoint(),
        );
        let out = invoke(&client, &SYNC, &CallOptions::default()).expect("third attempt succeeds");
        assert_eq!(out.status, 200);
        let sent = client.host().sent.borrow();
        assert_eq!(sent.len(), 3);
        let nonces: Vec<_> = sent.iter().map(|s| s.header("x-acs-signature-nonce")).collect();
        assert_eq!(nonces, [Some("nonce-1"), Some("nonce-2"), Some("nonce-3")]);
        let sleeps = client.host().sleeps.borrow();
        assert_eq!(sleeps.len(), 2);
        assert_eq!(sleeps.get(1), Some(&1000), "Retry-After: 1 is honoured");
        assert_ne!(sent.first().map(|s| s.header("authorization")), sent.get(2).map(|s| s.header("authorization")));
    }

    #[test]
    fn a_sync_invocation_that_may_have_run_is_not_repeated() {
        for failure in [
            status(500, "InternalServerError", &[]),
            Err(Error::Timeout { after_ms: 5 }),
            Err(Error::network("reset", true)),
        ] {
            let client = Client::new(host(vec![failure, ok()]), endpoint());
            assert!(invoke(&client, &SYNC, &CallOptions::default()).is_err());
            assert_eq!(client.host().sent.borrow().len(), 1);
            // ... unless the caller opts in.
            let client = Client::new(host(vec![status(500, "InternalServerError", &[]), ok()]), endpoint());
            let call = CallOptions { idempotent: true, ..CallOptions::default() };
            assert!(invoke(&client, &SYNC, &call).is_ok());
            assert_eq!(client.host().sent.borrow().len(), 2);
        }
    }

    #[test]
    fn an_async_invocation_with_a_task_id_is_repeated_and_deduplicated() {
        let opts = InvokeFunction { invocation_type: InvocationType::Async, async_task_id: Some("t-1"), ..SYNC };
        let client = Client::new(
            host(vec![Err(Error::network("reset", true)), status(409, "AsyncTaskAlreadyExists", &[])]),
            endpoint(),
        );
        let out = invoke(&client, &opts, &CallOptions::default()).expect("accepted by the first attempt");
        assert_eq!(out.status, 202);
        assert_eq!(out.meta.async_task_id.as_deref(), Some("t-1"));
        // On a first attempt the conflict is the caller's: reported as is.
        let client = Client::new(host(vec![status(409, "AsyncTaskAlreadyExists", &[])]), endpoint());
        assert_eq!(
            invoke(&client, &opts, &CallOptions::default()).map(|o| o.status).map_err(|e| e.code().to_owned()),
            Err("AsyncTaskAlreadyExists".to_owned())
        );
        // After attempts that provably did not reach FC (throttled, refused, an expired token),
        // the id was taken before this call: the conflict is the caller's, not a success.
        for not_queued in [
            status(429, "ResourceExhausted", &[]),
            status(503, "ResourceThrottled", &[]),
            Err(Error::network("ECONNREFUSED", false)),
            status(403, "InvalidSecurityToken.Expired", &[]),
        ] {
            let client = Client::new(host(vec![not_queued, status(409, "AsyncTaskAlreadyExists", &[])]), endpoint());
            let out = invoke(&client, &opts, &CallOptions::default());
            assert_eq!(
                out.map(|o| o.status).map_err(|e| e.code().to_owned()),
                Err("AsyncTaskAlreadyExists".to_owned())
            );
            assert_eq!(client.host().sent.borrow().len(), 2);
        }
        // One attempt that may have arrived among them is enough.
        let client = Client::new(
            host(vec![
                Err(Error::Timeout { after_ms: 1 }),
                status(429, "ResourceExhausted", &[]),
                status(409, "AsyncTaskAlreadyExists", &[]),
            ]),
            endpoint(),
        );
        assert_eq!(invoke(&client, &opts, &CallOptions::default()).map(|o| o.status), Ok(202));
        // Without a task id, an Async invocation that may have arrived is not repeated.
        let no_id = InvokeFunction { invocation_type: InvocationType::Async, ..SYNC };
        let client = Client::new(host(vec![Err(Error::Timeout { after_ms: 1 }), ok()]), endpoint());
        assert!(invoke(&client, &no_id, &CallOptions::default()).is_err());
    }

    #[test]
    fn clock_skew_is_learnt_and_kept() {
        // The host is an hour slow; the server says so once, and later calls sign with its time.
        let h =
            host(vec![status(403, "RequestTimeTooSkewed", &[("date", "Wed, 25 Nov 2026 11:00:00 GMT")]), ok(), ok()]);
        h.now_ms.set(1_795_604_400_000.0 - 3_600_000.0);
        let client = Client::new(h, endpoint()).with_retry(RetryPolicy::none());
        invoke(&client, &SYNC, &CallOptions::default()).expect("corrected");
        invoke(&client, &SYNC, &CallOptions::default()).expect("still corrected");
        let sent = client.host().sent.borrow();
        let dates: Vec<_> = sent.iter().map(|s| s.header("x-acs-date")).collect();
        assert_eq!(dates, [Some("2026-11-25T10:00:00Z"), Some("2026-11-25T11:00:00Z"), Some("2026-11-25T11:00:00Z")]);
    }

    #[test]
    fn an_expired_token_is_refreshed_once() {
        let client = Client::new(host(vec![status(403, "InvalidSecurityToken.Expired", &[]), ok()]), endpoint());
        invoke(&client, &SYNC, &CallOptions::default()).expect("refreshed");
        assert_eq!(*client.host().refreshes.borrow(), 1);
        let client = Client::new(
            host(vec![
                status(403, "InvalidSecurityToken.Expired", &[]),
                status(403, "InvalidSecurityToken.Expired", &[]),
            ]),
            endpoint(),
        );
        assert!(invoke(&client, &SYNC, &CallOptions::default()).is_err());
        assert_eq!(client.host().sent.borrow().len(), 2);
        // Static keys cannot be refreshed: the same token is not sent again.
        let client = Client::new(
            ScriptedHost {
                static_credentials: true,
                ..host(vec![status(403, "InvalidSecurityToken.Expired", &[]), ok()])
            },
            endpoint(),
        );
        let err = invoke(&client, &SYNC, &CallOptions::default()).map(|o| o.status).map_err(|e| e.code().to_owned());
        assert_eq!(err, Err("InvalidSecurityToken.Expired".to_owned()));
        assert_eq!(client.host().sent.borrow().len(), 1);
    }

    #[test]
    fn the_deadline_bounds_attempts_and_waits() {
        let throttled = || status(429, "ResourceExhausted", &[("retry-after", "10")]);
        let client = Client::new(host(vec![throttled(), throttled(), ok()]), endpoint());
        let call = CallOptions { deadline_ms: Some(5_000), timeout_ms: Some(60_000), ..CallOptions::default() };
        let err = invoke(&client, &SYNC, &call).expect_err("a 10 s wait does not fit a 5 s deadline");
        assert_eq!(err.code(), "ResourceExhausted");
        assert!(client.host().sleeps.borrow().is_empty());
        assert_eq!(
            client.host().timeouts.borrow().first(),
            Some(&Some(5_000)),
            "an attempt never outlives the deadline"
        );
    }

    fn task(status: &str) -> Result<Answer, Error> {
        Ok(Answer { status: 200, json: pairs(&[("status", status)]), ..Answer::default() })
    }

    #[test]
    fn waiting_for_a_task_polls_with_backoff_until_it_ends() {
        let client =
            Client::new(host(vec![task("Enqueued"), task("Running"), task("Running"), task("Succeeded")]), endpoint());
        let done =
            block_on(client.wait_for_async_task("f", "t1", None, 100, 300, &CallOptions::default())).expect("ends");
        assert_eq!(done.json_field("status").as_deref(), Some("Succeeded"));
        assert_eq!(*client.host().sleeps.borrow(), [100, 200, 300]);
        let sent = client.host().sent.borrow();
        assert!(sent.iter().all(|s| s.url.ends_with("/2023-03-30/functions/f/async-tasks/t1") && s.method == "GET"));
        // An answer without a status ends the wait with an error instead of polling forever.
        let client = Client::new(host(vec![task("Running"), ok()]), endpoint());
        let err = block_on(client.wait_for_async_task("f", "t1", None, 1, 1, &CallOptions::default()));
        assert_eq!(err.map(|_| ()).map_err(|e| e.code().to_owned()), Err("NetworkError".to_owned()));
        // Intervals of 0 still wait between polls.
        let client = Client::new(host(vec![task("Running"), task("Running"), task("Succeeded")]), endpoint());
        block_on(client.wait_for_async_task("f", "t1", None, 0, 0, &CallOptions::default())).expect("ends");
        assert_eq!(*client.host().sleeps.borrow(), [1, 1]);
    }

    #[test]
    fn waiting_for_a_task_gives_up_at_the_deadline() {
        let running = (0..50).map(|_| task("Running")).collect();
        let client = Client::new(host(running), endpoint());
        let call = CallOptions { deadline_ms: Some(1_000), ..CallOptions::default() };
        let err = block_on(client.wait_for_async_task("f", "t1", None, 100, 100, &call)).expect_err("never ends");
        assert_eq!(err, Error::Timeout { after_ms: 1_000 });
        assert!(client.host().sent.borrow().len() < 12);
    }

    #[test]
    fn a_trigger_request_is_signed_without_action_or_version() {
        let client = Client::new(host(vec![]), endpoint());
        let url = crate::http::Url::parse("https://f-abc.cn-hangzhou.fcapp.run/a?b=1", "url").expect("valid");
        let request = SignableRequest::new("GET", url, &[], PayloadHash::empty()).expect("valid");
        let signed = block_on(client.sign(&request)).expect("signs");
        assert_eq!(signed.header("x-acs-action"), None);
        assert_eq!(signed.header("x-acs-security-token"), Some("token"));
        assert!(signed.header("authorization").is_some_and(|a| a.starts_with("ACS3-HMAC-SHA256 Credential=id,")));
    }

    #[test]
    fn credentials_are_reused_until_shortly_before_expiration() {
        // The documented margin, 60 s, as literals (not the constant under test).
        assert!(credentials_fresh(Some(1_000_000.0), 939_999.0));
        assert!(!credentials_fresh(Some(1_000_000.0), 940_000.0));
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
