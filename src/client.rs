//! Calls of the FC API as sans-IO state machines. A [`Call`] says what to do next (fetch
//! credentials, send this signed request, wait) and the host does it and reports back. The
//! call's decisions are made here: retries, timeouts, credential refresh, clock correction, Async
//! de-duplication, polling a task. So plain `cargo test` drives whole calls with scripted answers,
//! and a host (the JS driver in `src/wasm/host.js`) is a loop that makes none of them.
//!
//! ```text
//! resume ──► Credentials ──(set_credentials)──► resume
//!        ──► Send ──► answered | failed ──► Done | Failed | Wait ──► resume | Resume ──► resume
//!        ──► Signed (a request that is only signed)
//! ```

use crate::acs3::{self, AcsDate, Credentials, PayloadHash, SignableRequest, SigningParams};
use crate::error::Error;
use crate::fc::async_task::{self, is_terminal_status, ListAsyncTasks};
use crate::fc::retry::{decide, may_have_run, Attempts, Decision, Repeatable, RetryPolicy};
use crate::fc::{service_error, ApiRequest, CustomCall, Endpoint, InvocationType, InvokeFunction, API_VERSION};
use crate::prelude::*;

/// Credentials are refreshed this long before the expiration their provider reported, so a
/// token never expires between signing and the service checking it.
pub const CREDENTIALS_REFRESH_MARGIN_MS: f64 = 60_000.0;

/// Whether cached credentials may still be used at `now_ms`. Credentials without an expiration
/// are never reused: their provider is asked again on every call.
pub fn credentials_fresh(expiration_ms: Option<f64>, now_ms: f64) -> bool {
    expiration_ms.is_some_and(|exp| now_ms + CREDENTIALS_REFRESH_MARGIN_MS < exp)
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

/// Where a client's credentials come from.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// Fixed credentials: used as they are, never refreshed.
    Static(Credentials),
    /// A provider the host calls when [`Next::Credentials`] asks for it; what it gives is kept
    /// until shortly before its expiration (see [`credentials_fresh`]).
    Provider,
}

#[derive(Debug)]
enum Keys {
    Static(Credentials),
    Provided(Option<(Credentials, Option<f64>)>),
}

/// What every call of one client shares: the endpoint, the retry policy, the credentials, and
/// the clock offset learnt from the service.
#[derive(Debug)]
pub struct Client {
    endpoint: Endpoint,
    retry: RetryPolicy,
    keys: Keys,
    /// Server time minus host time, learnt from a clock-skew rejection; added to every signature.
    clock_offset_ms: f64,
}

impl Client {
    /// A client for `endpoint` with the default retry policy.
    pub fn new(endpoint: Endpoint, credentials: CredentialSource) -> Self {
        let keys = match credentials {
            CredentialSource::Static(c) => Keys::Static(c),
            CredentialSource::Provider => Keys::Provided(None),
        };
        Client { endpoint, retry: RetryPolicy::default(), keys, clock_offset_ms: 0.0 }
    }

    /// Replaces the client's retry policy.
    pub fn set_retry(&mut self, retry: RetryPolicy) {
        self.retry = retry;
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The host's clock (`host_now_ms`) corrected by what the service told us.
    pub fn now_ms(&self, host_now_ms: f64) -> f64 {
        host_now_ms + self.clock_offset_ms
    }

    /// What the provider gave, with its expiration (epoch ms, if it said): the answer to
    /// [`Next::Credentials`]. Ignored by a client with static credentials.
    pub fn set_credentials(&mut self, credentials: Credentials, expiration_ms: Option<f64>) {
        if let Keys::Provided(cached) = &mut self.keys {
            *cached = Some((credentials, expiration_ms));
        }
    }

    /// Credentials fit to sign with at `now_ms` (corrected clock), or `None` when the provider
    /// must be asked: nothing cached, stale, or `force_refresh`.
    fn fresh_credentials(&self, now_ms: f64, force_refresh: bool) -> Option<&Credentials> {
        match &self.keys {
            Keys::Static(c) => Some(c),
            Keys::Provided(Some((c, expiration))) if !force_refresh && credentials_fresh(*expiration, now_ms) => {
                Some(c)
            }
            Keys::Provided(_) => None,
        }
    }

    /// The credentials last given, fresh or not (what the provider just answered).
    fn last_credentials(&self) -> Option<&Credentials> {
        match &self.keys {
            Keys::Static(c) => Some(c),
            Keys::Provided(cached) => cached.as_ref().map(|(c, _)| c),
        }
    }
}

/// Per-call options.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallOptions {
    /// Timeout of each attempt, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Time for the whole call, retries and waits included, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// This call's retry policy (the client's when `None`).
    pub retry: Option<RetryPolicy>,
    /// The caller declares the call safe to repeat even where it may already have run.
    pub idempotent: bool,
}

/// What the host does next for a [`Call`].
#[derive(Debug, PartialEq)]
pub enum Next {
    /// Ask the credentials provider, hand its answer to [`Client::set_credentials`], then call
    /// [`Call::resume`]; a failure goes to [`Call::failed`]. The wait is part of the attempt:
    /// it stops after `timeout_ms` ([`Error::Timeout`]) or when the caller aborts.
    Credentials {
        /// The attempt's time left, in milliseconds.
        timeout_ms: Option<u64>,
    },
    /// Send this request (with the call's body, if any) and read the whole answer, then report
    /// it with [`Call::answered`], or the failure with [`Call::failed`].
    Send {
        /// The signed request.
        request: acs3::SignedRequest,
        /// The attempt's time left, in milliseconds.
        timeout_ms: Option<u64>,
    },
    /// Wait `ms` milliseconds (unless the caller aborts), then call [`Call::resume`].
    Wait {
        /// How long.
        ms: u64,
    },
    /// Call [`Call::resume`] at once: the next attempt fixes what the last one got wrong (the
    /// clock, the credentials), with no wait.
    Resume,
    /// The request of [`Call::sign`], signed; nothing is sent.
    Signed(acs3::SignedRequest),
    /// The call succeeded; its result is the last answer.
    Done {
        /// A retried Async invocation whose task an earlier attempt had queued: the last answer
        /// is FC's 409 for the task id, and the result is that acceptance (202).
        accepted_earlier: bool,
    },
    /// The call failed.
    Failed(Error),
}

#[derive(Debug, Clone, Copy)]
struct Deadline {
    /// When the call began.
    started_ms: f64,
    at_ms: f64,
}

impl Deadline {
    /// The time spent since the call began, for a [`Error::Timeout`] (which may come before the limit).
    fn spent_ms(&self, now_ms: f64) -> u64 {
        (now_ms - self.started_ms).max(0.0) as u64
    }
}

/// Polling a task until it ends: the next interval and its bounds.
#[derive(Debug, Clone, Copy)]
struct Poll {
    next_ms: u64,
    max_ms: u64,
    /// The first interval: also the time the last poll is given before the deadline.
    first_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Between attempts: `resume` starts the next one.
    Idle,
    /// An attempt that began at `started_ms` waits for credentials.
    Credentials { started_ms: f64, timeout_ms: Option<u64> },
    /// An attempt's request is out.
    Sent,
    /// The call has ended.
    Finished,
}

/// One call of the FC API, from its first attempt to its result.
#[derive(Debug)]
pub struct Call {
    /// `x-acs-action`; `None` for a request that is not an API call (an HTTP trigger's).
    action: Option<String>,
    request: SignableRequest,
    /// Only sign: the host sends the request itself (an HTTP trigger's).
    sign_only: bool,
    policy: RetryPolicy,
    repeatable: Repeatable,
    /// An Async invocation with a task id, which FC de-duplicates.
    task_id_dedup: bool,
    poll: Option<Poll>,
    timeout_ms: Option<u64>,
    deadline: Option<Deadline>,
    attempts: Attempts,
    force_refresh: bool,
    /// Whether an attempt of this call may have reached FC, and so may have queued the task.
    may_be_queued: bool,
    /// The timeout of the last step that had one (`Send`, `Credentials`).
    step_timeout_ms: Option<u64>,
    state: State,
}

impl Call {
    /// A call of the API request `api`; `repeatable` says whether it may be sent again after an
    /// attempt that may have reached FC. `now_ms` (the host's clock) starts the deadline.
    pub fn new(client: &Client, api: ApiRequest, options: &CallOptions, repeatable: Repeatable, now_ms: f64) -> Self {
        let policy = options.retry.unwrap_or(client.retry);
        let repeatable = if options.idempotent { Repeatable::Safe } else { repeatable };
        Call::build(Some(api.action), api.request, policy, repeatable, options, now_ms)
    }

    fn build(
        action: Option<String>,
        request: SignableRequest,
        policy: RetryPolicy,
        repeatable: Repeatable,
        options: &CallOptions,
        now_ms: f64,
    ) -> Self {
        Call {
            action,
            request,
            sign_only: false,
            policy,
            repeatable,
            task_id_dedup: false,
            poll: None,
            timeout_ms: options.timeout_ms,
            deadline: options.deadline_ms.map(|ms| Deadline { started_ms: now_ms, at_ms: now_ms + ms as f64 }),
            attempts: Attempts::default(),
            force_refresh: false,
            may_be_queued: false,
            step_timeout_ms: None,
            state: State::Idle,
        }
    }

    /// InvokeFunction, with the body's hash. The options are validated here.
    pub fn invoke(
        client: &Client,
        invoke: &InvokeFunction<'_>,
        payload: PayloadHash,
        options: &CallOptions,
        now_ms: f64,
    ) -> Result<Self, Error> {
        let api = invoke.to_request(client.endpoint(), payload)?;
        // FC de-duplicates an Async invocation by its task id: sending it again is safe.
        let with_task_id = invoke.invocation_type == InvocationType::Async && invoke.async_task_id.is_some();
        let repeatable = if with_task_id { Repeatable::Safe } else { Repeatable::OnlyIfNotRun };
        Ok(Call { task_id_dedup: with_task_id, ..Call::new(client, api, options, repeatable, now_ms) })
    }

    /// Any FC 3.0 API call (see [`CustomCall`]). GET and HEAD are repeatable; others only when
    /// `options.idempotent`.
    pub fn request(
        client: &Client,
        custom: &CustomCall<'_>,
        payload: PayloadHash,
        has_body: bool,
        options: &CallOptions,
        now_ms: f64,
    ) -> Result<Self, Error> {
        let api = custom.to_request(client.endpoint(), payload, has_body)?;
        let read = matches!(api.request.method(), "GET" | "HEAD");
        let repeatable = if read { Repeatable::Safe } else { Repeatable::OnlyIfNotRun };
        Ok(Call::new(client, api, options, repeatable, now_ms))
    }

    /// GetAsyncTask: the task's state and result (JSON).
    pub fn get_async_task(
        client: &Client,
        function_name: &str,
        task_id: &str,
        qualifier: Option<&str>,
        options: &CallOptions,
        now_ms: f64,
    ) -> Result<Self, Error> {
        let api = async_task::get_async_task(client.endpoint(), function_name, task_id, qualifier)?;
        Ok(Call::new(client, api, options, Repeatable::Safe, now_ms))
    }

    /// StopAsyncTask. Not repeated after a failure that may have reached FC: a second stop of a
    /// stopped task answers `AsyncTaskAlreadyFinished`, which would hide that the first worked.
    pub fn stop_async_task(
        client: &Client,
        function_name: &str,
        task_id: &str,
        qualifier: Option<&str>,
        options: &CallOptions,
        now_ms: f64,
    ) -> Result<Self, Error> {
        let api = async_task::stop_async_task(client.endpoint(), function_name, task_id, qualifier)?;
        Ok(Call::new(client, api, &CallOptions { idempotent: false, ..*options }, Repeatable::OnlyIfNotRun, now_ms))
    }

    /// ListAsyncTasks: one page (JSON `{ tasks, nextToken }`).
    pub fn list_async_tasks(
        client: &Client,
        function_name: &str,
        list: &ListAsyncTasks<'_>,
        options: &CallOptions,
        now_ms: f64,
    ) -> Result<Self, Error> {
        let api = async_task::list_async_tasks(client.endpoint(), function_name, list)?;
        Ok(Call::new(client, api, options, Repeatable::Safe, now_ms))
    }

    /// Polls GetAsyncTask until the task reaches a terminal state, waiting `interval_ms` at first
    /// and doubling up to `max_interval_ms`; each poll is a call of its own (its own attempts).
    /// `options.deadline_ms` bounds the whole wait ([`Error::Timeout`]).
    #[allow(clippy::too_many_arguments)]
    pub fn wait_for_async_task(
        client: &Client,
        function_name: &str,
        task_id: &str,
        qualifier: Option<&str>,
        interval_ms: u64,
        max_interval_ms: u64,
        options: &CallOptions,
        now_ms: f64,
    ) -> Result<Self, Error> {
        let mut call = Call::get_async_task(client, function_name, task_id, qualifier, options, now_ms)?;
        // At least 1 ms: with 0 the doubling would stay at 0 and poll without pause. And no pause
        // longer than the maximum, the first included (a maximum under the default first pause,
        // given alone, is a caller who wants the end noticed soon).
        let max_ms = max_interval_ms.max(1);
        let first_ms = interval_ms.clamp(1, max_ms);
        call.poll = Some(Poll { next_ms: first_ms, max_ms, first_ms });
        Ok(call)
    }

    /// Signs a request that is not an API call (an HTTP trigger with signature authentication)
    /// with the client's credentials and clock, without sending it: [`Next::Signed`].
    pub fn sign(request: SignableRequest) -> Self {
        let unsent =
            Call::build(None, request, RetryPolicy::none(), Repeatable::OnlyIfNotRun, &CallOptions::default(), 0.0);
        Call { sign_only: true, ..unsent }
    }

    /// The time limit of the last `Send` or `Credentials` step, for the [`Error::Timeout`] the
    /// host reports when it ran out.
    pub fn step_timeout_ms(&self) -> Option<u64> {
        self.step_timeout_ms
    }

    /// Starts the next attempt, or goes on with the current one once credentials are in.
    /// `now_ms` is the host's clock; `nonce` is fresh and random.
    pub fn resume(&mut self, client: &mut Client, now_ms: f64, nonce: &str) -> Next {
        let (started_ms, timeout_ms) = match self.state {
            State::Idle => {
                let mut timeout_ms = self.timeout_ms;
                if let Some(d) = self.deadline {
                    let remaining = d.at_ms - now_ms;
                    if remaining <= 0.0 {
                        return self.finish(Next::Failed(Error::Timeout { after_ms: d.spent_ms(now_ms) }));
                    }
                    timeout_ms = Some(timeout_ms.map_or(remaining as u64, |t| t.min(remaining as u64)).max(1));
                }
                self.attempts.made += 1;
                if client.fresh_credentials(client.now_ms(now_ms), self.force_refresh).is_none() {
                    self.state = State::Credentials { started_ms: now_ms, timeout_ms };
                    self.step_timeout_ms = timeout_ms;
                    return Next::Credentials { timeout_ms };
                }
                (now_ms, timeout_ms)
            }
            State::Credentials { started_ms, timeout_ms } => (started_ms, timeout_ms),
            State::Sent | State::Finished => return out_of_order("resumed", self.state),
        };
        self.force_refresh = false;
        let Some(credentials) = client.last_credentials().cloned() else {
            let error = Error::credentials("the credentials provider gave none");
            return self.after_failure(client, error, now_ms, 0.0);
        };
        let params = |date| SigningParams {
            action: self.action.as_deref(),
            version: self.action.as_ref().map(|_| API_VERSION),
            date,
            nonce,
        };
        let signed = AcsDate::from_unix_millis(client.now_ms(now_ms))
            .and_then(|date| acs3::sign(&self.request, &credentials, &params(date)));
        let signed = match signed {
            Ok(signed) => signed,
            // Not retryable (a bad nonce, a clock outside 1970..9999): decide() gives up.
            Err(error) => return self.after_failure(client, error, now_ms, 0.0),
        };
        if self.sign_only {
            return self.finish(Next::Signed(signed));
        }
        // What is left of the attempt's time once credentials are in.
        let spent = (now_ms - started_ms).max(0.0) as u64;
        let timeout_ms = timeout_ms.map(|t| t.saturating_sub(spent).max(1));
        self.state = State::Sent;
        self.step_timeout_ms = timeout_ms;
        Next::Send { request: signed, timeout_ms }
    }

    /// The answer to [`Next::Send`]. `random` in `[0, 1)` draws the backoff's jitter.
    pub fn answered(&mut self, client: &mut Client, answer: &impl HostResponse, now_ms: f64, random: f64) -> Next {
        if self.state != State::Sent {
            return out_of_order("answered", self.state);
        }
        let status = answer.status();
        if (200..300).contains(&status) {
            return match self.poll {
                Some(poll) => self.polled(poll, answer, now_ms),
                None => self.finish(Next::Done { accepted_earlier: false }),
            };
        }
        let error = Error::Service(Box::new(service_error(status, |n| answer.header(n), |f| answer.json_field(f))));
        // A retry of an Async invocation whose task id is already taken, after an attempt that
        // may have reached FC: that attempt queued it (FC de-duplicates by task id, and answers
        // a taken one with 409; its docs name no code). After attempts that provably did not,
        // the id was taken before this call, and the conflict is the caller's.
        if self.task_id_dedup && self.may_be_queued && status == 409 {
            return self.finish(Next::Done { accepted_earlier: true });
        }
        self.after_failure(client, error, now_ms, random)
    }

    /// A step that failed: sending or reading (a network error, [`Error::Timeout`],
    /// [`Error::Aborted`]), the credentials provider, or a wait the caller aborted.
    pub fn failed(&mut self, client: &mut Client, error: Error, now_ms: f64, random: f64) -> Next {
        if self.state == State::Finished {
            return out_of_order("failed", self.state);
        }
        self.after_failure(client, error, now_ms, random)
    }

    /// A poll's 2xx answer: the task has ended, or the next poll waits.
    fn polled(&mut self, mut poll: Poll, answer: &impl HostResponse, now_ms: f64) -> Next {
        match answer.json_field("status") {
            Some(status) if is_terminal_status(&status) => return self.finish(Next::Done { accepted_earlier: false }),
            Some(_) => {}
            // Not a task document (a proxy's page): polling again would not end.
            None => {
                let error = Error::network("the GetAsyncTask answer has no task status", true);
                return self.finish(Next::Failed(error));
            }
        }
        let mut wait = poll.next_ms;
        if let Some(d) = self.deadline {
            let remaining = d.at_ms - now_ms;
            if wait as f64 >= remaining {
                // A wait that would pass the deadline is cut short: the last poll comes one first
                // interval before it, with time to be answered. With less left, the wait is over.
                if remaining <= poll.first_ms as f64 {
                    return self.finish(Next::Failed(Error::Timeout { after_ms: d.spent_ms(now_ms) }));
                }
                wait = (remaining - poll.first_ms as f64) as u64;
            }
        }
        poll.next_ms = poll.next_ms.saturating_mul(2).min(poll.max_ms);
        self.poll = Some(poll);
        // The next poll is a call of its own: its attempts start afresh.
        self.attempts = Attempts::default();
        self.may_be_queued = false;
        self.state = State::Idle;
        Next::Wait { ms: wait }
    }

    fn after_failure(&mut self, client: &mut Client, error: Error, now_ms: f64, random: f64) -> Next {
        // Only a request that was out can have reached FC: a provider that failed or timed
        // out, or a wait the caller aborted, sent nothing.
        if self.state == State::Sent {
            self.may_be_queued |= may_have_run(&error);
        }
        self.force_refresh = false;
        self.state = State::Idle;
        match decide(&self.policy, self.repeatable, &self.attempts, &error, random, now_ms) {
            Decision::GiveUp => self.finish(Next::Failed(error)),
            Decision::CorrectClock { offset_ms } => {
                client.clock_offset_ms = offset_ms;
                self.attempts.clock_corrected = true;
                Next::Resume
            }
            Decision::RefreshCredentials if matches!(client.keys, Keys::Static(_)) => self.finish(Next::Failed(error)),
            Decision::RefreshCredentials => {
                self.force_refresh = true;
                self.attempts.credentials_refreshed = true;
                Next::Resume
            }
            Decision::RetryAfter { delay_ms } => match self.deadline {
                // Waiting for a task, a retry that comes too late is the wait's timeout, as a
                // poll that would is; a call's own retries end with the error they retry.
                Some(d) if now_ms + delay_ms as f64 >= d.at_ms => self.finish(Next::Failed(match self.poll {
                    Some(_) => Error::Timeout { after_ms: d.spent_ms(now_ms) },
                    None => error,
                })),
                _ => Next::Wait { ms: delay_ms },
            },
        }
    }

    fn finish(&mut self, next: Next) -> Next {
        self.state = State::Finished;
        next
    }
}

/// A host reporting an event the call is not waiting for: a bug in the host, reported as such
/// rather than acted on.
fn out_of_order(event: &str, state: State) -> Next {
    let reason = match state {
        State::Finished => "the call has already ended",
        State::Sent => "a request is still out",
        _ => "no request is out",
    };
    Next::Failed(Error::invalid("call", crate::text::concat(&[event, " out of order: ", reason])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acs3::SignedRequest;
    use crate::fc::LogType;
    use std::collections::VecDeque;

    #[derive(Debug, Clone, Default, PartialEq)]
    struct Answer {
        status: u16,
        headers: Vec<(String, String)>,
        json: Vec<(String, String)>,
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

    /// A host whose answers are scripted: it does what each step says, in no time except the
    /// 10 ms each request takes and the waits it is told to make.
    #[derive(Debug, Default)]
    struct Script {
        now_ms: f64,
        /// What the provider gives; `None`: it fails.
        provided: Option<Credentials>,
        /// How the provider's first calls fail, before it gives `provided`.
        provider_failures: VecDeque<Error>,
        answers: VecDeque<Result<Answer, Error>>,
        sent: Vec<SignedRequest>,
        timeouts: Vec<Option<u64>>,
        nonces: u32,
        sleeps: Vec<u64>,
        provider_calls: u32,
    }

    impl Script {
        fn new(answers: Vec<Result<Answer, Error>>) -> Self {
            Script { now_ms: 1_700_000_000_123.0, answers: answers.into(), ..Script::default() }
        }

        fn nonce(&mut self) -> String {
            self.nonces += 1;
            format!("nonce-{}", self.nonces)
        }

        /// Runs `call` to its end: the last answer and whether it was accepted earlier.
        fn run(&mut self, client: &mut Client, mut call: Call) -> Result<(Option<Answer>, bool), Error> {
            let mut last = None;
            let nonce = self.nonce();
            let mut next = call.resume(client, self.now_ms, &nonce);
            loop {
                next = match next {
                    Next::Credentials { .. } => {
                        self.provider_calls += 1;
                        if let Some(error) = self.provider_failures.pop_front() {
                            next = call.failed(client, error, self.now_ms, 0.5);
                            continue;
                        }
                        match self.provided.clone() {
                            Some(c) => {
                                client.set_credentials(c, None);
                                let nonce = self.nonce();
                                call.resume(client, self.now_ms, &nonce)
                            }
                            None => call.failed(client, Error::credentials("provider failed"), self.now_ms, 0.5),
                        }
                    }
                    Next::Send { request, timeout_ms } => {
                        self.sent.push(request);
                        self.timeouts.push(timeout_ms);
                        self.now_ms += 10.0;
                        match self
                            .answers
                            .pop_front()
                            .unwrap_or_else(|| Err(Error::network("no answer scripted", false)))
                        {
                            Ok(answer) => {
                                let next = call.answered(client, &answer, self.now_ms, 0.5);
                                last = Some(answer);
                                next
                            }
                            Err(error) => call.failed(client, error, self.now_ms, 0.5),
                        }
                    }
                    Next::Wait { ms } => {
                        self.sleeps.push(ms);
                        self.now_ms += ms as f64;
                        let nonce = self.nonce();
                        call.resume(client, self.now_ms, &nonce)
                    }
                    Next::Resume => {
                        let nonce = self.nonce();
                        call.resume(client, self.now_ms, &nonce)
                    }
                    Next::Signed(request) => {
                        self.sent.push(request);
                        return Ok((None, false));
                    }
                    Next::Done { accepted_earlier } => return Ok((last, accepted_earlier)),
                    Next::Failed(error) => return Err(error),
                }
            }
        }
    }

    fn endpoint() -> Endpoint {
        Endpoint::parse("http://127.0.0.1:9000").expect("valid")
    }

    fn sts() -> Credentials {
        Credentials::new("id", "secret", Some("token".into())).expect("valid")
    }

    fn client() -> Client {
        Client::new(endpoint(), CredentialSource::Static(sts()))
    }

    fn provided() -> Client {
        Client::new(endpoint(), CredentialSource::Provider)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn status(status: u16, code: &str, headers: &[(&str, &str)]) -> Result<Answer, Error> {
        Ok(Answer { status, headers: pairs(headers), json: pairs(&[("Code", code)]) })
    }

    fn ok() -> Result<Answer, Error> {
        Ok(Answer { status: 200, ..Answer::default() })
    }

    const SYNC: InvokeFunction<'static> = InvokeFunction {
        function_name: "f",
        qualifier: None,
        invocation_type: InvocationType::Sync,
        log_type: LogType::None,
        async_task_id: None,
        headers: &[],
    };

    fn invoke(
        client: &mut Client,
        script: &mut Script,
        opts: &InvokeFunction<'_>,
        options: &CallOptions,
    ) -> Result<(Option<Answer>, bool), Error> {
        let call = Call::invoke(client, opts, PayloadHash::of_bytes(b"x"), options, script.now_ms)?;
        script.run(client, call)
    }

    fn code<T>(result: Result<T, Error>) -> Result<T, String> {
        result.map_err(|e| e.code().to_owned())
    }

    #[test]
    fn invokes_and_signs_with_the_hosts_time_and_nonce() {
        let mut client = client();
        let mut script = Script::new(vec![ok()]);
        let opts = InvokeFunction {
            function_name: "f",
            invocation_type: InvocationType::Async,
            async_task_id: Some("t1"),
            ..Default::default()
        };
        let call = Call::invoke(&client, &opts, PayloadHash::of_bytes(b"hi"), &CallOptions::default(), script.now_ms)
            .expect("valid");
        let (answer, accepted_earlier) = script.run(&mut client, call).expect("ok");
        assert_eq!(answer.map(|a| a.status), Some(200));
        assert!(!accepted_earlier);
        assert_eq!(script.sent.len(), 1);
        let first = script.sent.first().expect("one request");
        assert_eq!(first.header("x-acs-date"), Some("2023-11-14T22:13:20Z"));
        assert_eq!(first.header("x-acs-signature-nonce"), Some("nonce-1"));
        assert_eq!(first.header("x-acs-security-token"), Some("token"));
        assert_eq!(first.header("x-acs-action"), Some("InvokeFunction"));
        assert_eq!(first.header("x-acs-version"), Some("2023-03-30"));
        assert_eq!(first.header("x-acs-content-sha256"), Some(PayloadHash::of_bytes(b"hi").as_str()));
        assert_eq!(script.timeouts, [None]);
    }

    #[test]
    fn error_answers_become_service_errors() {
        let answer = Answer {
            status: 403,
            headers: pairs(&[("X-Fc-Request-Id", "r9")]),
            json: pairs(&[("Code", "SignatureNotMatch"), ("Message", "nope")]),
        };
        let mut script = Script::new(vec![Ok(answer)]);
        let err = invoke(&mut client(), &mut script, &SYNC, &CallOptions::default()).expect_err("403");
        assert_eq!(err.code(), "SignatureNotMatch");
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.request_id(), Some("r9"));
    }

    #[test]
    fn throttled_calls_are_retried_and_signed_afresh() {
        let mut script = Script::new(vec![
            status(429, "ResourceExhausted", &[]),
            status(503, "ResourceThrottled", &[("retry-after", "1")]),
            ok(),
        ]);
        invoke(&mut client(), &mut script, &SYNC, &CallOptions::default()).expect("third attempt succeeds");
        assert_eq!(script.sent.len(), 3);
        let nonces: Vec<_> = script.sent.iter().map(|s| s.header("x-acs-signature-nonce")).collect();
        assert_eq!(nonces, [Some("nonce-1"), Some("nonce-2"), Some("nonce-3")]);
        // Full jitter of a 100 ms first backoff at random 0.5; then Retry-After: 1.
        assert_eq!(script.sleeps, [50, 1000]);
        let first = script.sent.first().map(|s| s.header("authorization"));
        assert_ne!(first, script.sent.get(2).map(|s| s.header("authorization")));
    }

    #[test]
    fn a_sync_invocation_that_may_have_run_is_not_repeated() {
        for failure in [
            status(500, "InternalServerError", &[]),
            Err(Error::Timeout { after_ms: 5 }),
            Err(Error::network("reset", true)),
        ] {
            let mut script = Script::new(vec![failure, ok()]);
            assert!(invoke(&mut client(), &mut script, &SYNC, &CallOptions::default()).is_err());
            assert_eq!(script.sent.len(), 1);
            // ... unless the caller opts in.
            let mut script = Script::new(vec![status(500, "InternalServerError", &[]), ok()]);
            let options = CallOptions { idempotent: true, ..CallOptions::default() };
            assert!(invoke(&mut client(), &mut script, &SYNC, &options).is_ok());
            assert_eq!(script.sent.len(), 2);
        }
    }

    #[test]
    fn an_async_invocation_with_a_task_id_is_repeated_and_deduplicated() {
        let opts = InvokeFunction { invocation_type: InvocationType::Async, async_task_id: Some("t-1"), ..SYNC };
        let default = CallOptions::default();
        let mut script =
            Script::new(vec![Err(Error::network("reset", true)), status(409, "AsyncTaskAlreadyExists", &[])]);
        let (answer, accepted_earlier) = invoke(&mut client(), &mut script, &opts, &default).expect("accepted");
        assert!(accepted_earlier);
        assert_eq!(answer.map(|a| a.status), Some(409), "the result is built from FC's conflict answer");
        // FC's task-deduplication page documents the 409, not a code: any code will do.
        let mut script = Script::new(vec![Err(Error::network("reset", true)), status(409, "TaskIdConflict", &[])]);
        assert!(invoke(&mut client(), &mut script, &opts, &default).expect("accepted").1);
        // On a first attempt the conflict is the caller's: reported as is.
        let mut script = Script::new(vec![status(409, "AsyncTaskAlreadyExists", &[])]);
        assert_eq!(code(invoke(&mut client(), &mut script, &opts, &default)), Err("AsyncTaskAlreadyExists".into()));
        // After attempts that provably did not reach FC (throttled, refused, an expired token),
        // the id was taken before this call: the conflict is the caller's, not a success.
        for not_queued in [
            status(429, "ResourceExhausted", &[]),
            status(503, "ResourceThrottled", &[]),
            Err(Error::network("ECONNREFUSED", false)),
            status(403, "InvalidSecurityToken.Expired", &[]),
        ] {
            let mut client = provided();
            let mut script = Script::new(vec![not_queued, status(409, "AsyncTaskAlreadyExists", &[])]);
            script.provided = Some(sts());
            let out = invoke(&mut client, &mut script, &opts, &default);
            assert_eq!(code(out).map(|_| ()), Err("AsyncTaskAlreadyExists".into()));
            assert_eq!(script.sent.len(), 2);
        }
        // A provider that timed out sent nothing: the attempt after it is retried, and its
        // conflict is the caller's too.
        let mut script = Script::new(vec![status(409, "AsyncTaskAlreadyExists", &[])]);
        script.provider_failures.push_back(Error::Timeout { after_ms: 1 });
        script.provided = Some(sts());
        let out = invoke(&mut provided(), &mut script, &opts, &default);
        assert_eq!(code(out).map(|_| ()), Err("AsyncTaskAlreadyExists".into()));
        assert_eq!((script.provider_calls, script.sent.len()), (2, 1));
        // One attempt that may have arrived among them is enough.
        let mut script = Script::new(vec![
            Err(Error::Timeout { after_ms: 1 }),
            status(429, "ResourceExhausted", &[]),
            status(409, "AsyncTaskAlreadyExists", &[]),
        ]);
        assert_eq!(invoke(&mut client(), &mut script, &opts, &default).map(|(_, a)| a), Ok(true));
        // Without a task id, an Async invocation that may have arrived is not repeated.
        let no_id = InvokeFunction { invocation_type: InvocationType::Async, ..SYNC };
        let mut script = Script::new(vec![Err(Error::Timeout { after_ms: 1 }), ok()]);
        assert!(invoke(&mut client(), &mut script, &no_id, &default).is_err());
    }

    #[test]
    fn clock_skew_is_learnt_and_kept() {
        // The host is an hour slow; the server says so once, and later calls sign with its time.
        let mut client = client();
        client.set_retry(RetryPolicy::none());
        let mut script = Script::new(vec![
            status(403, "RequestTimeTooSkewed", &[("date", "Wed, 25 Nov 2026 11:00:00 GMT")]),
            ok(),
            ok(),
        ]);
        script.now_ms = 1_795_604_400_000.0 - 3_600_000.0;
        invoke(&mut client, &mut script, &SYNC, &CallOptions::default()).expect("corrected");
        invoke(&mut client, &mut script, &SYNC, &CallOptions::default()).expect("still corrected");
        let dates: Vec<_> = script.sent.iter().map(|s| s.header("x-acs-date")).collect();
        assert_eq!(dates, [Some("2026-11-25T10:00:00Z"), Some("2026-11-25T11:00:00Z"), Some("2026-11-25T11:00:00Z")]);
        assert!(script.sleeps.is_empty(), "a corrected clock is used at once");
        // A later skew is measured against the host's clock again: the offset is replaced, not
        // added to the first.
        script
            .answers
            .extend([status(403, "RequestTimeTooSkewed", &[("date", "Wed, 25 Nov 2026 12:00:00 GMT")]), ok()]);
        invoke(&mut client, &mut script, &SYNC, &CallOptions::default()).expect("corrected again");
        assert_eq!(script.sent.last().and_then(|s| s.header("x-acs-date")), Some("2026-11-25T12:00:00Z"));
    }

    #[test]
    fn reads_are_retried_after_a_500_and_a_stop_never_is() {
        let mut client = client();
        let failed_once = || Script::new(vec![status(500, "InternalServerError", &[]), ok()]);
        let mut script = failed_once();
        let call =
            Call::get_async_task(&client, "f", "t1", None, &CallOptions::default(), script.now_ms).expect("call");
        script.run(&mut client, call).expect("read again");
        assert_eq!(script.sent.len(), 2, "GetAsyncTask");
        let head = CustomCall { method: "HEAD", path: "/x", action: "A", ..CustomCall::default() };
        let mut script = failed_once();
        let call = Call::request(&client, &head, PayloadHash::empty(), false, &CallOptions::default(), script.now_ms)
            .expect("call");
        script.run(&mut client, call).expect("read again");
        assert_eq!(script.sent.len(), 2, "a custom HEAD");
        // A second stop would answer AsyncTaskAlreadyFinished and hide that the first worked,
        // even for a caller who says the call is idempotent.
        let idempotent = CallOptions { idempotent: true, ..CallOptions::default() };
        let mut script = failed_once();
        let call = Call::stop_async_task(&client, "f", "t1", None, &idempotent, script.now_ms).expect("call");
        assert!(script.run(&mut client, call).is_err());
        assert_eq!(script.sent.len(), 1, "StopAsyncTask");
    }

    #[test]
    fn an_expired_token_is_refreshed_once() {
        let mut client = provided();
        let mut script = Script::new(vec![status(403, "InvalidSecurityToken.Expired", &[]), ok()]);
        script.provided = Some(sts());
        invoke(&mut client, &mut script, &SYNC, &CallOptions::default()).expect("refreshed");
        // Credentials without an expiration are asked for on every attempt; the refresh is one of them.
        assert_eq!(script.provider_calls, 2);
        let mut script = Script::new(vec![
            status(403, "InvalidSecurityToken.Expired", &[]),
            status(403, "InvalidSecurityToken.Expired", &[]),
        ]);
        script.provided = Some(sts());
        assert!(invoke(&mut client, &mut script, &SYNC, &CallOptions::default()).is_err());
        assert_eq!(script.sent.len(), 2);
        // Static keys cannot be refreshed: the same token is not sent again.
        let mut script = Script::new(vec![status(403, "InvalidSecurityToken.Expired", &[]), ok()]);
        let err = invoke(&mut self::client(), &mut script, &SYNC, &CallOptions::default());
        assert_eq!(code(err).map(|_| ()), Err("InvalidSecurityToken.Expired".into()));
        assert_eq!(script.sent.len(), 1);
    }

    #[test]
    fn provided_credentials_are_kept_until_shortly_before_they_expire() {
        let mut client = provided();
        let mut script = Script::new(vec![ok(), ok(), ok()]);
        let expiration = script.now_ms + 120_000.0;
        client.set_credentials(sts(), Some(expiration));
        invoke(&mut client, &mut script, &SYNC, &CallOptions::default()).expect("cached");
        assert_eq!(script.provider_calls, 0);
        // 61 s later the margin is reached: the provider is asked again.
        script.now_ms = expiration - 59_000.0;
        script.provided = Some(sts());
        invoke(&mut client, &mut script, &SYNC, &CallOptions::default()).expect("refreshed");
        assert_eq!(script.provider_calls, 1);
        // A provider that fails fails the call, as a credentials error.
        script.provided = None;
        let err = invoke(&mut client, &mut script, &SYNC, &CallOptions::default());
        assert_eq!(code(err).map(|_| ()), Err("CredentialsError".into()));
    }

    #[test]
    fn waiting_for_credentials_counts_against_the_attempts_timeout() {
        let mut client = provided();
        let call = Call::invoke(
            &client,
            &SYNC,
            PayloadHash::empty(),
            &CallOptions { timeout_ms: Some(100), ..CallOptions::default() },
            0.0,
        )
        .expect("valid");
        let mut call = call;
        assert_eq!(call.resume(&mut client, 1_000.0, "n1"), Next::Credentials { timeout_ms: Some(100) });
        assert_eq!(call.step_timeout_ms(), Some(100));
        client.set_credentials(sts(), None);
        match call.resume(&mut client, 1_030.0, "n2") {
            Next::Send { timeout_ms, .. } => assert_eq!(timeout_ms, Some(70)),
            other => panic!("expected Send, got {other:?}"),
        }
        assert_eq!(call.step_timeout_ms(), Some(70));
        // The host ran out of that time.
        let timeout = Error::Timeout { after_ms: 70 };
        assert_eq!(call.failed(&mut client, timeout.clone(), 1_100.0, 0.5), Next::Failed(timeout));
    }

    #[test]
    fn the_deadline_bounds_attempts_and_waits() {
        let throttled = || status(429, "ResourceExhausted", &[("retry-after", "10")]);
        let mut script = Script::new(vec![throttled(), throttled(), ok()]);
        let options = CallOptions { deadline_ms: Some(5_000), timeout_ms: Some(60_000), ..CallOptions::default() };
        let err = invoke(&mut client(), &mut script, &SYNC, &options).expect_err("a 10 s wait does not fit");
        assert_eq!(err.code(), "ResourceExhausted");
        assert!(script.sleeps.is_empty());
        assert_eq!(script.timeouts.first(), Some(&Some(5_000)), "an attempt never outlives the deadline");
        // A deadline already past fails before anything is sent.
        let mut client = client();
        let mut call = Call::invoke(&client, &SYNC, PayloadHash::empty(), &options, 0.0).expect("valid");
        assert_eq!(call.resume(&mut client, 5_000.0, "n"), Next::Failed(Error::Timeout { after_ms: 5_000 }));
    }

    #[test]
    fn events_out_of_order_are_errors_not_actions() {
        let mut client = client();
        let mut call = Call::invoke(&client, &SYNC, PayloadHash::empty(), &CallOptions::default(), 0.0).expect("valid");
        let answer = Answer { status: 200, ..Answer::default() };
        assert!(matches!(call.answered(&mut client, &answer, 0.0, 0.5), Next::Failed(Error::InvalidArgument { .. })));
        assert!(matches!(call.resume(&mut client, 0.0, "n"), Next::Send { .. }));
        assert!(matches!(call.resume(&mut client, 0.0, "n"), Next::Failed(Error::InvalidArgument { .. })));
        assert_eq!(call.answered(&mut client, &answer, 0.0, 0.5), Next::Done { accepted_earlier: false });
        assert!(matches!(
            call.failed(&mut client, Error::Aborted, 0.0, 0.5),
            Next::Failed(Error::InvalidArgument { .. })
        ));
    }

    fn task(status: &str) -> Result<Answer, Error> {
        Ok(Answer { status: 200, json: pairs(&[("status", status)]), ..Answer::default() })
    }

    fn wait(client: &Client, first: u64, max: u64, options: &CallOptions, now_ms: f64) -> Call {
        Call::wait_for_async_task(client, "f", "t1", None, first, max, options, now_ms).expect("valid")
    }

    #[test]
    fn waiting_for_a_task_polls_with_backoff_until_it_ends() {
        let mut client = client();
        let mut script = Script::new(vec![task("Enqueued"), task("Running"), task("Running"), task("Succeeded")]);
        let call = wait(&client, 100, 300, &CallOptions::default(), script.now_ms);
        let (answer, _) = script.run(&mut client, call).expect("ends");
        assert_eq!(answer.and_then(|a| a.json_field("status")).as_deref(), Some("Succeeded"));
        assert_eq!(script.sleeps, [100, 200, 300]);
        assert!(script
            .sent
            .iter()
            .all(|s| s.url.ends_with("/2023-03-30/functions/f/async-tasks/t1") && s.method == "GET"));
        // An answer without a status ends the wait with an error instead of polling forever.
        let mut script = Script::new(vec![task("Running"), ok()]);
        let call = wait(&client, 1, 1, &CallOptions::default(), script.now_ms);
        assert_eq!(code(script.run(&mut client, call)).map(|_| ()), Err("NetworkError".into()));
        assert_eq!(script.sent.len(), 2, "no poll after the answer without a status");
        // Intervals of 0 still wait between polls.
        let mut script = Script::new(vec![task("Running"), task("Running"), task("Succeeded")]);
        let call = wait(&client, 0, 0, &CallOptions::default(), script.now_ms);
        script.run(&mut client, call).expect("ends");
        assert_eq!(script.sleeps, [1, 1]);
        // No pause is longer than the maximum, the first one included.
        let mut script = Script::new(vec![task("Running"), task("Running"), task("Succeeded")]);
        let call = wait(&client, 500, 100, &CallOptions::default(), script.now_ms);
        script.run(&mut client, call).expect("ends");
        assert_eq!(script.sleeps, [100, 100]);
        // Each poll has attempts of its own: a throttled poll is retried, and later polls too.
        let mut script = Script::new(vec![
            status(429, "ResourceExhausted", &[]),
            status(429, "ResourceExhausted", &[]),
            task("Running"),
            status(429, "ResourceExhausted", &[]),
            status(429, "ResourceExhausted", &[]),
            task("Failed"),
        ]);
        let call = wait(&client, 10, 10, &CallOptions::default(), script.now_ms);
        script.run(&mut client, call).expect("ends");
        assert_eq!(script.sent.len(), 6);
    }

    #[test]
    fn waiting_for_a_task_gives_up_at_the_deadline() {
        let mut client = client();
        let mut script = Script::new((0..50).map(|_| task("Running")).collect());
        let options = CallOptions { deadline_ms: Some(1_000), ..CallOptions::default() };
        let call = wait(&client, 100, 100, &options, script.now_ms);
        assert_eq!(script.run(&mut client, call).map(|_| ()), Err(Error::Timeout { after_ms: 1_000 }));
        assert!(script.sent.len() < 12);
        // A throttled poll whose Retry-After goes past the deadline: the wait's timeout too, at
        // once, not the throttling error.
        let mut script = Script::new(vec![
            task("Running"),
            status(429, "ResourceExhausted", &[("retry-after", "10")]),
            task("Running"),
        ]);
        let options = CallOptions { deadline_ms: Some(3_000), ..CallOptions::default() };
        let call = wait(&client, 100, 100, &options, script.now_ms);
        // The time it gave up after, not the limit (each exchange takes 10 ms here).
        assert_eq!(script.run(&mut client, call).map(|_| ()), Err(Error::Timeout { after_ms: 120 }));
        assert_eq!((script.sent.len(), script.sleeps.as_slice()), (2, [100].as_slice()));
    }

    #[test]
    fn the_last_poll_before_the_deadline_comes_one_first_interval_before_it() {
        // Intervals 1000, 2000, …; a deadline of 2900 ms; each exchange takes 10 ms here. After the
        // poll answered at 1020 ms the next would come at 3020, too late: it comes at 1900 instead,
        // one interval before the deadline. (It used to give up at 1020 ms, though the task ended
        // in time for a poll at 1900.)
        let mut client = client();
        let options = CallOptions { deadline_ms: Some(2_900), ..CallOptions::default() };
        let mut script = Script::new(vec![task("Running"), task("Running"), task("Succeeded")]);
        let call = wait(&client, 1_000, 5_000, &options, script.now_ms);
        let (answer, _) = script.run(&mut client, call).expect("ends");
        assert_eq!(answer.and_then(|a| a.json_field("status")).as_deref(), Some("Succeeded"));
        assert_eq!(script.sleeps, [1_000, 880]);
        // Still running then: with no more than one interval left, the wait is over, and the
        // Timeout says how long it waited.
        let mut script = Script::new(vec![task("Running"), task("Running"), task("Running")]);
        let call = wait(&client, 1_000, 5_000, &options, script.now_ms);
        assert_eq!(script.run(&mut client, call).map(|_| ()), Err(Error::Timeout { after_ms: 1_910 }));
        assert_eq!(script.sent.len(), 3);
    }

    #[test]
    fn a_trigger_request_is_signed_without_action_or_version() {
        let mut client = provided();
        let mut script = Script::new(vec![]);
        script.provided = Some(sts());
        let url = crate::http::Url::parse("https://f-abc.cn-hangzhou.fcapp.run/a?b=1", "url").expect("valid");
        let request = SignableRequest::new("GET", url, &[], PayloadHash::empty()).expect("valid");
        script.run(&mut client, Call::sign(request)).expect("signs");
        assert_eq!(script.provider_calls, 1);
        let signed = script.sent.first().expect("signed");
        assert_eq!(signed.header("x-acs-action"), None);
        assert_eq!(signed.header("x-acs-version"), None);
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
    fn bad_options_build_no_call() {
        let opts = InvokeFunction { function_name: "no/slash", ..Default::default() };
        let err = Call::invoke(&client(), &opts, PayloadHash::empty(), &CallOptions::default(), 0.0).map(|_| ());
        assert_eq!(code(err), Err("InvalidArgument".into()));
    }
}
