//! The one error type of the crate, with stable codes shared with the JS face.

use crate::prelude::*;
use crate::text::{concat, decimal};
use core::any::Any;
use core::fmt;

/// Everything that can go wrong, as a value: the core never panics on input.
///
/// [`Error::code`] is stable and is what JavaScript sees as `FcError.code`.
/// No variant ever holds an AccessKey secret or an STS token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An argument failed validation before anything was signed or sent.
    InvalidArgument {
        /// The argument's name as the JS API spells it, e.g. `functionName`.
        argument: &'static str,
        /// What is wrong with it, safe to show (never echoes secret material).
        reason: String,
    },
    /// Credentials are missing, malformed, or their provider failed.
    Credentials {
        /// What is wrong, safe to show.
        reason: String,
        /// What the provider threw, when it failed.
        cause: Option<Cause>,
    },
    /// The request could not be sent or its answer could not be read.
    Network {
        /// What the host reported.
        message: String,
        /// Whether the request may have reached the service (false only when it provably did not).
        maybe_sent: bool,
        /// The host's own error (a JS exception in the wasm host).
        cause: Option<Cause>,
    },
    /// The endpoint answered with a redirect, which a signed request never follows (host and
    /// path are signed). Code `NetworkError`, like the other failures to reach the service, but
    /// never retried: a retry would be redirected the same way.
    Redirect {
        /// What the host reported: the status and `Location` where the runtime shows them.
        message: String,
    },
    /// An attempt or the whole call ran out of time.
    Timeout {
        /// The limit that was hit, in milliseconds.
        after_ms: u64,
    },
    /// The caller aborted the call.
    Aborted,
    /// The service answered with an error status.
    Service(Box<ServiceError>),
}

/// The host's original error behind a failure, handed back to the caller (as `cause` in JS).
/// Opaque to the core: any two causes compare equal (host values are not comparable), and `Debug`
/// does not show it.
#[derive(Clone)]
pub struct Cause(Shared);

// Thread-safe off wasm32, so that a Rust program's errors can cross threads (into
// `Box<dyn Error + Send + Sync>`, across an await in a multi-threaded runtime); wasm32 has one
// thread, and its host values (JsValue) are not Send.
#[cfg(target_arch = "wasm32")]
type Shared = alloc::rc::Rc<dyn Any>;
#[cfg(not(target_arch = "wasm32"))]
type Shared = alloc::sync::Arc<dyn Any + Send + Sync>;

impl Cause {
    /// Wraps a host value.
    #[cfg(target_arch = "wasm32")]
    pub fn new(value: impl Any) -> Self {
        Cause(alloc::rc::Rc::new(value))
    }

    /// Wraps a host value.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(value: impl Any + Send + Sync) -> Self {
        Cause(alloc::sync::Arc::new(value))
    }

    /// The host value, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl PartialEq for Cause {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Cause {}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cause(..)")
    }
}

/// An error answer from Function Compute (or an FC-compatible server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP status.
    pub status: u16,
    /// The service's code, e.g. `SignatureNotMatch`, or `ServiceError` when the body had none.
    pub code: String,
    /// The service's message.
    pub message: String,
    /// `x-fc-request-id` or the body's `RequestId`.
    pub request_id: Option<String>,
    /// The server's `Date` header, when it sent one.
    pub server_date: Option<String>,
    /// `Retry-After`, when the service sent one.
    pub retry_after: Option<String>,
}

impl Error {
    // Not inlined: each of the many call sites would otherwise carry its own copy of the
    // String allocation.
    #[inline(never)]
    pub(crate) fn invalid(argument: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { argument, reason: reason.into() }
    }

    #[inline(never)]
    pub(crate) fn credentials(reason: impl Into<String>) -> Self {
        Error::Credentials { reason: reason.into(), cause: None }
    }

    /// A failure to send or to read the answer.
    #[inline(never)]
    pub fn network(message: impl Into<String>, maybe_sent: bool) -> Self {
        Error::Network { message: message.into(), maybe_sent, cause: None }
    }

    /// The same error, keeping the host's original error as its cause (network and credential
    /// errors; others are returned unchanged).
    pub fn with_cause(mut self, host_error: Cause) -> Self {
        if let Error::Network { cause, .. } | Error::Credentials { cause, .. } = &mut self {
            *cause = Some(host_error);
        }
        self
    }

    /// The host's original error, if kept.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Error::Network { cause, .. } | Error::Credentials { cause, .. } => cause.as_ref(),
            _ => None,
        }
    }

    /// The stable code of this error, as `FcError.code` in JavaScript: a client code
    /// (`InvalidArgument`, `CredentialsError`, `NetworkError`, `Timeout`, `Aborted`) or the
    /// service's own code.
    pub fn code(&self) -> &str {
        match self {
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::Credentials { .. } => "CredentialsError",
            Error::Network { .. } | Error::Redirect { .. } => "NetworkError",
            Error::Timeout { .. } => "Timeout",
            Error::Aborted => "Aborted",
            Error::Service(e) => &e.code,
        }
    }

    /// The HTTP status, for service errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Service(e) => Some(e.status),
            _ => None,
        }
    }

    /// The request id, for service errors.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Service(e) => e.request_id.as_deref(),
            _ => None,
        }
    }
}

impl Error {
    /// The message, as `Display` shows it.
    pub fn message(&self) -> String {
        match self {
            Error::InvalidArgument { argument, reason } => concat(&["invalid ", argument, ": ", reason]),
            Error::Credentials { reason, .. } => concat(&["credentials: ", reason]),
            Error::Network { message, .. } | Error::Redirect { message } => concat(&["network error: ", message]),
            Error::Timeout { after_ms } => concat(&["timed out after ", &decimal(*after_ms), " ms"]),
            Error::Aborted => "the call was aborted".to_owned(),
            Error::Service(e) => concat(&[&e.code, " (", &decimal(u64::from(e.status)), "): ", &e.message]),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A native Rust program can move the error across threads, box it as
    /// `dyn Error + Send + Sync` and `?` it there (fails to compile otherwise).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn errors_cross_threads_off_wasm() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
        let boxed: Result<(), Box<dyn std::error::Error + Send + Sync>> =
            (|| Ok(Err(Error::network("reset", true).with_cause(Cause::new(1_u8)))?))();
        assert_eq!(boxed.map_err(|e| e.to_string()), Err("network error: reset".to_owned()));
    }

    #[test]
    fn a_cause_is_kept_for_host_failures_only_and_never_shown() {
        let network = Error::network("reset", true).with_cause(Cause::new(42_u32));
        assert_eq!(network.cause().and_then(|c| c.downcast_ref::<u32>()), Some(&42));
        let other = Error::network("reset", true).with_cause(Cause::new("another"));
        assert_eq!(network, other, "host values are not compared, only whether there is one");
        assert!(!format!("{network:?} {network}").contains("42"));
        let credentials = Error::credentials("the provider failed").with_cause(Cause::new("x"));
        assert!(credentials.cause().is_some());
        assert!(Error::Aborted.with_cause(Cause::new(1_u8)).cause().is_none());
    }
}
