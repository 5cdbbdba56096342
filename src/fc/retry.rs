//! When to try again: a pure function of the attempt, the failure and how safe the request is
//! to repeat. A Sync invocation that may have run is never repeated unless the caller says it
//! is idempotent: a duplicated side effect is worse than an error.

use crate::acs3::AcsDate;
use crate::error::{Error, ServiceError};

/// How retries are paced and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retries).
    pub max_attempts: u32,
    /// The first backoff's ceiling, in milliseconds; it doubles with each retry.
    pub base_delay_ms: u64,
    /// No backoff waits longer than this (a `Retry-After` may ask for more and is honoured).
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 5_000 }
    }
}

impl RetryPolicy {
    /// `retry: false`: one attempt.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..Self::default() }
    }

    /// Validates a policy given by a caller.
    pub fn new(max_attempts: u32, base_delay_ms: u64, max_delay_ms: u64) -> Result<Self, Error> {
        if !(1..=20).contains(&max_attempts) {
            return Err(Error::invalid("retry", "maxAttempts must be from 1 to 20"));
        }
        if base_delay_ms > max_delay_ms || max_delay_ms > 600_000 {
            return Err(Error::invalid("retry", "need baseDelayMs <= maxDelayMs <= 600000"));
        }
        Ok(RetryPolicy { max_attempts, base_delay_ms, max_delay_ms })
    }

    /// Full jitter: a uniformly random wait in `[0, min(max, base·2^(retry-1))]`, where `random`
    /// is in `[0, 1)` and `retry` counts from 1.
    pub fn backoff_ms(&self, retry: u32, random: f64) -> u64 {
        let exp = self.base_delay_ms.saturating_mul(1u64 << retry.saturating_sub(1).min(30));
        let ceiling = exp.min(self.max_delay_ms);
        (ceiling as f64 * random.clamp(0.0, 1.0)) as u64
    }
}

/// How safe the request is to send twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeatable {
    /// Repeating it cannot duplicate an effect: an Async invocation with a task id (FC
    /// de-duplicates by it), a read, or a call the caller declared idempotent.
    Safe,
    /// A Sync invocation (or Async without a task id): repeat only what provably did not run.
    OnlyIfNotRun,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Wait, then send again (signed afresh).
    RetryAfter {
        /// How long to wait, in milliseconds.
        delay_ms: u64,
    },
    /// The service rejected our clock: adopt this offset (server − local, ms) and send again now.
    CorrectClock {
        /// Milliseconds to add to the local clock.
        offset_ms: f64,
    },
    /// The STS token expired: fetch fresh credentials and send again now.
    RefreshCredentials,
    /// Report the error.
    GiveUp,
}

/// Whether `haystack` contains `needle` (bytes: codes are ASCII; a plain scan keeps the
/// generic substring searcher out of the wasm).
fn has(haystack: &str, needle: &str) -> bool {
    haystack.as_bytes().windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Whether FC's answer means the function did not run: throttled before execution.
pub fn function_did_not_run(e: &ServiceError) -> bool {
    has(&e.code, "Throttling") || e.status == 429 || (e.status == 503 && e.code == "ResourceThrottled")
}

/// FC has seen this request's nonce, fresh and random when it was signed, before: an earlier
/// copy reached FC, which the runtime sent again by itself (Deno's and browsers' fetch resend a
/// request whose kept-alive connection dropped), so that copy may have run.
pub fn is_replay(e: &ServiceError) -> bool {
    e.code == "SignatureNonceUsed"
}

/// Whether a failed attempt may have reached the function: it may have been sent, and FC did
/// not refuse it (a 4xx, throttling and a redirect all say the function did not run), or FC
/// refused a copy of it ([`is_replay`]).
pub fn may_have_run(error: &Error) -> bool {
    match error {
        Error::Network { maybe_sent, .. } => *maybe_sent,
        Error::Timeout { .. } | Error::Aborted => true,
        Error::Service(e) => (e.status >= 500 && !function_did_not_run(e)) || is_replay(e),
        Error::InvalidArgument { .. } | Error::Credentials { .. } | Error::Redirect { .. } => false,
    }
}

/// The service says our request time is off (and may tell the right time in `Date`).
pub fn is_clock_skew(e: &ServiceError) -> bool {
    has(&e.code, "Skew") || e.code.starts_with("InvalidTimeStamp") || e.code == "RequestTimeExpired"
}

/// The service says the STS token expired.
pub fn is_expired_token(e: &ServiceError) -> bool {
    has(&e.code, "Token") && has(&e.code, "Expired")
}

/// An HTTP date (`Date`, `Retry-After`) as epoch milliseconds.
pub fn http_date_ms(text: &str) -> Option<f64> {
    AcsDate::parse_http(text).map(|d| d.unix_seconds() as f64 * 1000.0)
}

/// The largest clock correction taken from a server's `Date`: a hundred years (a device whose
/// clock reset to 1970 is still corrected).
const MAX_CLOCK_CORRECTION_MS: f64 = 100.0 * 365.25 * 86_400_000.0;

/// The longest `Retry-After` honoured: a day (also well inside what `setTimeout` can wait).
const MAX_RETRY_AFTER_MS: u64 = 86_400_000;

/// `Retry-After` in milliseconds, at most a day: delta-seconds or an HTTP date (relative to
/// `now_ms`).
pub fn retry_after_ms(value: &str, now_ms: f64) -> Option<u64> {
    let value = value.trim_ascii();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000).min(MAX_RETRY_AFTER_MS));
    }
    let at = http_date_ms(value)?;
    Some(((at - now_ms).max(0.0) as u64).min(MAX_RETRY_AFTER_MS))
}

/// The state a call keeps across attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Attempts made so far, the failed one included.
    pub made: u32,
    /// The clock has been corrected once in this call.
    pub clock_corrected: bool,
    /// Credentials have been force-refreshed once in this call.
    pub credentials_refreshed: bool,
}

/// Decides what to do after attempt number `attempts.made` failed with `error`.
///
/// Clock correction and credential refresh happen once per call whatever the policy (they fix
/// our request, they do not repeat a failure). Everything else obeys `policy.max_attempts` and
/// `repeatable`. `random` in `[0, 1)` draws the jitter. `local_now_ms` is the host's clock: the
/// clock correction is measured against it, and so is a `Retry-After` date when the answer has
/// no `Date`.
pub fn decide(
    policy: &RetryPolicy,
    repeatable: Repeatable,
    attempts: &Attempts,
    error: &Error,
    random: f64,
    local_now_ms: f64,
) -> Decision {
    if let Error::Service(e) = error {
        if is_clock_skew(e) && !attempts.clock_corrected {
            let offset_ms = e.server_date.as_deref().and_then(http_date_ms).map(|server_ms| server_ms - local_now_ms);
            // A date a century off is no server's clock (a broken proxy's, say, the year 9999):
            // kept, it would push every later request's date out of what can be signed.
            if let Some(offset_ms) = offset_ms.filter(|ms| ms.abs() < MAX_CLOCK_CORRECTION_MS) {
                return Decision::CorrectClock { offset_ms };
            }
        }
        if is_expired_token(e) && !attempts.credentials_refreshed {
            return Decision::RefreshCredentials;
        }
    }
    if attempts.made >= policy.max_attempts {
        return Decision::GiveUp;
    }
    let safe = repeatable == Repeatable::Safe;
    let retryable = match error {
        Error::Network { maybe_sent, .. } => !maybe_sent || safe,
        Error::Timeout { .. } => safe,
        Error::Service(e) => function_did_not_run(e) || (safe && (e.status >= 500 || e.status == 408 || is_replay(e))),
        _ => false,
    };
    if !retryable {
        return Decision::GiveUp;
    }
    let mut delay_ms = policy.backoff_ms(attempts.made, random);
    if let Error::Service(e) = error {
        // A date in Retry-After is on the server's clock: read it against the same answer's
        // Date when there is one, as the host's clock may be off.
        let server_now_ms = e.server_date.as_deref().and_then(http_date_ms).unwrap_or(local_now_ms);
        if let Some(wait) = e.retry_after.as_deref().and_then(|v| retry_after_ms(v, server_now_ms)) {
            delay_ms = delay_ms.max(wait);
        }
    }
    Decision::RetryAfter { delay_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: &str) -> ServiceError {
        ServiceError {
            status,
            code: code.into(),
            message: String::new(),
            request_id: None,
            server_date: None,
            retry_after: None,
        }
    }

    fn err(status: u16, code: &str) -> Error {
        Error::Service(Box::new(service(status, code)))
    }

    fn after(made: u32) -> Attempts {
        Attempts { made, ..Attempts::default() }
    }

    const SYNC: Repeatable = Repeatable::OnlyIfNotRun;
    const SAFE: Repeatable = Repeatable::Safe;

    fn retries(repeatable: Repeatable, error: &Error) -> bool {
        matches!(decide(&RetryPolicy::default(), repeatable, &after(1), error, 0.5, 0.0), Decision::RetryAfter { .. })
    }

    #[test]
    fn throttling_is_retried_for_every_invocation() {
        for e in [
            err(429, "ResourceExhausted"),
            err(503, "ResourceThrottled"),
            err(400, "Throttling.User"),
            err(429, "TooMany"),
        ] {
            assert!(retries(SYNC, &e), "{e:?}");
            assert!(retries(SAFE, &e), "{e:?}");
            assert!(!may_have_run(&e), "throttled before it ran: {e:?}");
        }
    }

    #[test]
    fn what_may_have_run_is_not_retried_for_sync() {
        let maybe_ran = [
            err(500, "InternalServerError"),
            err(503, "ServiceUnavailable"),
            err(502, "ServiceError"),
            Error::Timeout { after_ms: 1000 },
            Error::network("reset", true),
            // The runtime resent it, and FC refused the copy: the first may have run.
            err(403, "SignatureNonceUsed"),
        ];
        for e in &maybe_ran {
            assert!(!retries(SYNC, e), "Sync must not retry {e:?}");
            assert!(retries(SAFE, e), "Safe requests retry {e:?}");
            assert!(may_have_run(e), "{e:?}");
        }
        // 408: a proxy or FC gave up waiting for the request; a repeat is safe only when declared.
        let request_timeout = err(408, "RequestTimeout");
        assert!(!retries(SYNC, &request_timeout));
        assert!(retries(SAFE, &request_timeout));
        // Other 4xx stay final even when safe.
        assert!(!retries(SAFE, &err(407, "ProxyAuthenticationRequired")));
    }

    #[test]
    fn a_request_that_was_not_sent_is_always_retried() {
        let e = Error::network("ECONNREFUSED", false);
        assert!(retries(SYNC, &e));
        assert!(!may_have_run(&e));
    }

    #[test]
    fn client_errors_and_aborts_are_final() {
        for e in [
            err(400, "InvalidArgument"),
            err(403, "SignatureNotMatch"),
            err(404, "FunctionNotFound"),
            err(409, "AsyncTaskAlreadyExists"),
            Error::Aborted,
            Error::invalid("x", "y"),
            Error::credentials("z"),
            Error::Redirect { message: "the endpoint answered with a redirect (307)".into() },
        ] {
            assert!(!retries(SAFE, &e), "{e:?}");
            // Refused by FC, or never sent; an abort may come after the request left.
            assert_eq!(may_have_run(&e), e == Error::Aborted, "{e:?}");
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let e = err(429, "ResourceExhausted");
        let policy = RetryPolicy::default();
        assert!(matches!(decide(&policy, SYNC, &after(2), &e, 0.5, 0.0), Decision::RetryAfter { .. }));
        assert_eq!(decide(&policy, SYNC, &after(3), &e, 0.5, 0.0), Decision::GiveUp);
        assert_eq!(decide(&RetryPolicy::none(), SYNC, &after(1), &e, 0.5, 0.0), Decision::GiveUp);
    }

    #[test]
    fn backoff_is_full_jitter_and_capped() {
        let p = RetryPolicy { max_attempts: 10, base_delay_ms: 100, max_delay_ms: 1000 };
        assert_eq!(p.backoff_ms(1, 0.0), 0);
        assert_eq!(p.backoff_ms(1, 0.999_999), 99);
        assert_eq!(p.backoff_ms(3, 0.5), 200); // ceiling 400
        assert_eq!(p.backoff_ms(9, 0.5), 500); // ceiling capped at 1000
        assert_eq!(p.backoff_ms(40, 1.0), 1000, "no overflow on many retries");
    }

    #[test]
    fn retry_after_is_honoured_in_seconds_and_dates() {
        let mut e = service(503, "ResourceThrottled");
        e.retry_after = Some("2".into());
        let d = decide(&RetryPolicy::default(), SYNC, &after(1), &Error::Service(Box::new(e.clone())), 0.0, 0.0);
        assert_eq!(d, Decision::RetryAfter { delay_ms: 2000 });
        // Wed, 25 Nov 2026 11:00:03 GMT is 3 s after 11:00:00 = 1795604400000 ms.
        e.retry_after = Some("Wed, 25 Nov 2026 11:00:03 GMT".into());
        let d = decide(
            &RetryPolicy::default(),
            SYNC,
            &after(1),
            &Error::Service(Box::new(e.clone())),
            0.0,
            1_795_604_400_000.0,
        );
        assert_eq!(d, Decision::RetryAfter { delay_ms: 3000 });
        // With the answer's Date, the date is read on the server's clock: a host ten minutes
        // slow still waits the 3 s, not 10 min 3 s.
        e.server_date = Some("Wed, 25 Nov 2026 11:00:00 GMT".into());
        let slow_host_ms = 1_795_604_400_000.0 - 600_000.0;
        let d = decide(&RetryPolicy::default(), SYNC, &after(1), &Error::Service(Box::new(e)), 0.0, slow_host_ms);
        assert_eq!(d, Decision::RetryAfter { delay_ms: 3000 });
        assert_eq!(retry_after_ms("soon", 0.0), None);
        // Surrounding whitespace (the Rust API takes header values as given) is not part of it.
        assert_eq!(retry_after_ms(" 2\t", 0.0), Some(2000));
        // Both forms wait a day at most: 20 days ahead, or more seconds than fit in u64 ms.
        assert_eq!(retry_after_ms("Tue, 15 Dec 2026 11:00:00 GMT", 1_795_604_400_000.0), Some(86_400_000));
        assert_eq!(retry_after_ms("Wed, 25 Nov 2026 11:00:00 GMT", 1_795_604_400_000.0 + 1.0), Some(0));
        assert_eq!(retry_after_ms("18446744073709551615", 0.0), Some(86_400_000));
        assert_eq!(retry_after_ms("86401", 0.0), Some(86_400_000));
    }

    #[test]
    fn clock_skew_is_corrected_once_from_the_server_date() {
        let mut e = service(403, "RequestTimeTooSkewed");
        e.server_date = Some("Wed, 25 Nov 2026 11:00:00 GMT".into());
        let error = Error::Service(Box::new(e));
        let local = 1_795_604_400_000.0 - 3_600_000.0; // an hour slow
        assert_eq!(
            decide(&RetryPolicy::none(), SYNC, &after(1), &error, 0.5, local),
            Decision::CorrectClock { offset_ms: 3_600_000.0 }
        );
        let once = Attempts { made: 2, clock_corrected: true, ..Attempts::default() };
        assert_eq!(decide(&RetryPolicy::default(), SYNC, &once, &error, 0.5, local), Decision::GiveUp);
        let no_date = err(403, "RequestTimeTooSkewed");
        assert_eq!(decide(&RetryPolicy::default(), SYNC, &after(1), &no_date, 0.5, local), Decision::GiveUp);
        // A device clock at 1970 is corrected; a Date of the year 9999 is not taken.
        assert_eq!(
            decide(&RetryPolicy::none(), SYNC, &after(1), &error, 0.5, 0.0),
            Decision::CorrectClock { offset_ms: 1_795_604_400_000.0 }
        );
        let mut far = service(403, "RequestTimeTooSkewed");
        far.server_date = Some("Fri, 31 Dec 9999 23:59:59 GMT".into());
        let far = Error::Service(Box::new(far));
        assert_eq!(decide(&RetryPolicy::none(), SYNC, &after(1), &far, 0.5, local), Decision::GiveUp);
        // The other codes Alibaba Cloud gives for a request time out of range.
        for code in ["InvalidTimeStamp.Expired", "InvalidTimeStamp.Format", "RequestTimeExpired", "Request.Skew"] {
            let mut e = service(400, code);
            e.server_date = Some("Wed, 25 Nov 2026 11:00:00 GMT".into());
            let d = decide(&RetryPolicy::none(), SYNC, &after(1), &Error::Service(Box::new(e)), 0.5, local);
            assert_eq!(d, Decision::CorrectClock { offset_ms: 3_600_000.0 }, "{code}");
        }
        for code in ["InvalidTime", "TimeStampInvalid", "Expired"] {
            assert!(!is_clock_skew(&service(400, code)), "{code}");
        }
    }

    #[test]
    fn an_expired_token_is_refreshed_once() {
        let e = err(403, "InvalidSecurityToken.Expired");
        assert_eq!(decide(&RetryPolicy::none(), SYNC, &after(1), &e, 0.5, 0.0), Decision::RefreshCredentials);
        let once = Attempts { made: 2, credentials_refreshed: true, ..Attempts::default() };
        assert_eq!(decide(&RetryPolicy::default(), SYNC, &once, &e, 0.5, 0.0), Decision::GiveUp);
        assert!(is_expired_token(&service(400, "SecurityTokenExpired")));
        // Something else expired, or a token is wrong but not expired: no new credentials help.
        for code in ["InvalidAccessKeyId.Expired", "Task.Expired", "InvalidSecurityToken.Malformed"] {
            let e = err(400, code);
            assert_eq!(decide(&RetryPolicy::none(), SYNC, &after(1), &e, 0.5, 0.0), Decision::GiveUp, "{code}");
        }
    }

    #[test]
    fn policies_are_validated() {
        assert!(RetryPolicy::new(0, 1, 2).is_err());
        assert!(RetryPolicy::new(21, 1, 2).is_err());
        assert!(RetryPolicy::new(3, 5, 2).is_err());
        assert_eq!(RetryPolicy::new(3, 100, 5000), Ok(RetryPolicy::default()));
    }
}
