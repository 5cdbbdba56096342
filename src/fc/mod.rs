//! Function Compute 3.0 knowledge: which requests its API takes and how to build them.
//! Pure: builds [`ApiRequest`]s that [`crate::acs3`] signs.

pub mod endpoint;
pub mod invoke;
pub mod names;
pub mod response;
pub mod retry;

pub use endpoint::Endpoint;
pub use invoke::{InvocationType, InvokeFunction, LogType};
pub use response::{service_error, InvokeMeta};

use crate::acs3::{self, AcsDate, Credentials, SignableRequest, SignedRequest, SigningParams};
use crate::error::Error;

/// The FC 3.0 API version, sent as `x-acs-version` and first in every path.
pub const API_VERSION: &str = "2023-03-30";

/// One call of the FC 3.0 API, ready to sign: its action name and the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// `x-acs-action`, e.g. `InvokeFunction`.
    pub action: String,
    /// The request as it will be sent.
    pub request: SignableRequest,
}

impl ApiRequest {
    /// Signs the call with the given time and nonce.
    pub fn sign(&self, credentials: &Credentials, date: AcsDate, nonce: &str) -> Result<SignedRequest, Error> {
        let params = SigningParams { action: &self.action, version: API_VERSION, date, nonce };
        acs3::sign(&self.request, credentials, &params)
    }
}
