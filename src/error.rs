//! The one error type of the crate, with stable codes shared with the JS face.

use std::fmt;

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
    },
}

impl Error {
    pub(crate) fn invalid(argument: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            argument,
            reason: reason.into(),
        }
    }

    pub(crate) fn credentials(reason: impl Into<String>) -> Self {
        Error::Credentials {
            reason: reason.into(),
        }
    }

    /// The stable code of this error, as `FcError.code` in JavaScript.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::Credentials { .. } => "CredentialsError",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { argument, reason } => {
                write!(f, "invalid {argument}: {reason}")
            }
            Error::Credentials { reason } => write!(f, "credentials: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
