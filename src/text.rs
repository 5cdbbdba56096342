//! Short texts built without `format!`: every message and value here is pieces of text and whole
//! numbers, and core's formatting machinery would cost the .wasm several KB (measured when this
//! replaced it: see the commit that added it).

use crate::prelude::*;
/// `parts` joined, in one allocation.
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Appends the decimal digits of `n`.
pub(crate) fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(core::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or_default());
}

/// The decimal digits of `n`.
pub(crate) fn decimal(n: u64) -> String {
    let mut out = String::with_capacity(20);
    push_decimal(&mut out, n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_and_concatenation_match_format() {
        for n in [0, 7, 10, 99, 100, 65_535, 2_147_483_647, u64::MAX] {
            assert_eq!(decimal(n), format!("{n}"));
        }
        assert_eq!(concat(&["a", "", "bc"]), "abc");
    }
}
