//! # fc-invoke
//!
//! Call Alibaba Cloud Function Compute 3.0 from any JavaScript runtime, or from Rust.
//!
//! - [`acs3`]: the V3 signature (ACS3-HMAC-SHA256), pure and host-independent.
//! - [`fc`]: Function Compute 3.0's requests, built from typed options and validated.
//! - [`http`]: URL, method and header normalisation, as `fetch` puts them on the wire.
//! - [`client`]: whole calls (retries, timeouts, credential refresh, clock correction) as sans-IO
//!   state machines that a host drives.
//! - [`Error`]: the one error type, with the stable codes JavaScript sees as `FcError.code`.
//! - `wasm` (on `wasm32` only; `cargo doc --target wasm32-unknown-unknown` shows it): the
//!   wasm-bindgen layer and `wasm::FcClient`, a client over the host's `fetch` for Rust on wasm32.
//!
//! Signing the V3 documentation's example request:
//!
//! ```
//! use fc_invoke::acs3::{sign, AcsDate, Credentials, PayloadHash, SignableRequest, SigningParams};
//! use fc_invoke::http::Url;
//!
//! let url = Url::parse(
//!     "https://ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
//!     "url",
//! )?;
//! let request = SignableRequest::new("POST", url, &[], PayloadHash::empty())?;
//! let credentials = Credentials::new("YourAccessKeyId", "YourAccessKeySecret", None)?;
//! let params = SigningParams {
//!     action: Some("RunInstances"),
//!     version: Some("2014-05-26"),
//!     date: AcsDate::parse("2023-10-26T09:01:01Z")?,
//!     nonce: "d410180a5abf7fe235dd9b74aca91fc0",
//! };
//! let signed = sign(&request, &credentials, &params)?;
//! assert!(signed.header("authorization").unwrap_or_default()
//!     .ends_with("Signature=e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"));
//! # Ok::<(), fc_invoke::Error>(())
//! ```

#![deny(missing_docs, missing_debug_implementations)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]
// No std in the npm build (`--features npm`): its panic handler traps (see wasm/mod.rs) instead of
// linking std's, whose message formatting nobody sees in a wasm32 build that aborts on panic.
// Unit tests build with std, and its prelude.
#![cfg_attr(not(test), no_std)]
extern crate alloc;
#[cfg(not(any(test, all(target_arch = "wasm32", feature = "npm"))))]
extern crate std;

/// What std's prelude would give, for a `no_std` crate.
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec;
    pub(crate) use alloc::vec::Vec;
}

pub mod acs3;
pub mod client;
pub mod error;
pub mod fc;
pub mod http;
mod text;

pub use error::Error;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
