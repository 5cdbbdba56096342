//! The typed arguments the JS face passes, turned into the core's values; errors turned into the
//! `FcError` objects JS sees.

use super::host;
use crate::error::Error;
use crate::fc::retry::RetryPolicy;
use crate::prelude::*;
use crate::text::{concat, decimal};
use wasm_bindgen::prelude::*;

/// The rejection value the JS face turns into an `FcError`: an `Error` with `code`, `status`,
/// `requestId`, `argument` and the host's original error as `cause` set.
pub fn error_to_js(error: &Error) -> JsValue {
    let argument = match error {
        Error::InvalidArgument { argument, .. } => Some(*argument),
        _ => None,
    };
    let cause = error.cause().and_then(|c| c.downcast_ref::<JsValue>()).cloned().unwrap_or(JsValue::UNDEFINED);
    host::fc_error(&error.message(), error.code(), error.status(), error.request_id(), argument, &cause)
}

/// Name/value pairs from `"name\nvalue\n…"` (the JS face refuses line breaks inside names and
/// values, so the lines split back into what was given).
#[cfg(feature = "js-api")]
pub fn lines(text: Option<&str>) -> Vec<(String, String)> {
    text.map(host::pairs_from_lines).unwrap_or_default()
}

/// A time option (`timeoutMs`, `deadlineMs`, the poll intervals): at least 1 ms. 0 is refused, not
/// read as "no limit" (as some HTTP clients read it) nor as an immediate timeout: no option is
/// given for no limit.
pub fn millis(value: Option<f64>, argument: &'static str) -> Result<Option<u64>, Error> {
    match value {
        None => Ok(None),
        Some(ms) if (1.0..=2_147_483_647.0).contains(&ms) => Ok(Some(ms as u64)),
        Some(_) => Err(Error::invalid(argument, "must be a number of milliseconds from 1 to 2147483647")),
    }
}

/// Epoch milliseconds given as a number (a filter of ListAsyncTasks).
#[cfg(feature = "js-api")]
pub fn epoch_ms(value: Option<f64>, argument: &'static str) -> Result<Option<u64>, Error> {
    match value {
        None => Ok(None),
        Some(ms) if ms.is_finite() && (0.0..=9.0e15).contains(&ms) => Ok(Some(ms as u64)),
        Some(_) => Err(Error::invalid(argument, "must be milliseconds since the epoch")),
    }
}

/// A whole number from `min` to `max` (`argument` names it in the error).
#[cfg(feature = "js-api")]
pub fn whole(value: Option<f64>, argument: &'static str, min: u32, max: u32) -> Result<Option<u32>, Error> {
    value.map(|n| whole_in(n, min, max).map_err(|reason| Error::invalid(argument, reason))).transpose()
}

/// A whole number from `min` to `max`, or why not.
fn whole_in(n: f64, min: u32, max: u32) -> Result<u32, String> {
    if (f64::from(min)..=f64::from(max)).contains(&n) && n == f64::from(n as u32) {
        Ok(n as u32)
    } else {
        Err(concat(&["must be a whole number from ", &decimal(min.into()), " to ", &decimal(max.into())]))
    }
}

/// The `retry` option as the JS face passes it: `[]` when not given (the client's policy), else
/// `[maxAttempts, baseDelayMs, maxDelayMs]` with NaN for a limit not given (its default):
/// `retry: false` is `[1, NaN, NaN]`, `true` all NaN.
pub fn retry_policy(numbers: &[f64]) -> Result<Option<RetryPolicy>, Error> {
    if numbers.is_empty() {
        return Ok(None);
    }
    let default = RetryPolicy::default();
    // The ranges RetryPolicy::new accepts, said in the caller's terms.
    let limit = |i: usize, name: &'static str, min: u32, max: u32, fallback: u64| -> Result<u64, Error> {
        match numbers.get(i).filter(|n| !n.is_nan()) {
            None => Ok(fallback),
            Some(&n) => whole_in(n, min, max)
                .map(u64::from)
                .map_err(|reason| Error::invalid("retry", concat(&["`", name, "` ", &reason]))),
        }
    };
    let max_attempts = limit(0, "maxAttempts", 1, 20, u64::from(default.max_attempts))?;
    let base_delay_ms = limit(1, "baseDelayMs", 0, 600_000, default.base_delay_ms)?;
    let max_delay_ms = limit(2, "maxDelayMs", 0, 600_000, default.max_delay_ms)?;
    RetryPolicy::new(max_attempts as u32, base_delay_ms, max_delay_ms).map(Some)
}
