//! Percent-encoding and hex, exactly as the V3 signature needs them.

use crate::prelude::*;
/// The hex digit of the low four bits of `nibble`.
fn hex_digit(nibble: u8, upper: bool) -> char {
    let n = nibble & 0xf;
    char::from(match (n, upper) {
        (0..=9, _) => b'0' + n,
        (_, true) => b'A' + n - 10,
        (_, false) => b'a' + n - 10,
    })
}

/// RFC 3986 unreserved characters: the only bytes the V3 signature leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Appends `s` percent-encoded: every byte of its UTF-8 form except the unreserved ones
/// becomes `%XX` (upper-case hex).
///
/// This equals the official SDK's query encoding, `encodeURIComponent` followed by `!'()*` →
/// `%21 %27 %28 %29 %2A`. (darabonba's `percentEncode`, used for paths, differs: it leaves
/// `!'()` as they are.)
pub fn percent_encode_into(s: &str, out: &mut String) {
    // Runs of unreserved bytes go in whole: they are ASCII, so a run ends on a char boundary.
    let mut run = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if !is_unreserved(b) {
            out.push_str(s.get(run..i).unwrap_or_default());
            out.push('%');
            out.push(hex_digit(b >> 4, true));
            out.push(hex_digit(b, true));
            run = i + 1;
        }
    }
    out.push_str(s.get(run..).unwrap_or_default());
}

/// [`percent_encode_into`] returning a new string.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    percent_encode_into(s, &mut out);
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (and `+` as space when `plus_is_space`, as in a query string).
/// Returns `None` for a malformed escape or bytes that are not UTF-8.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = hex_value(*bytes.get(i + 1)?)?;
                let lo = hex_value(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Lower-case hex of `bytes`, the form every V3 digest takes.
pub fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex_lower(bytes, &mut out);
    out
}

/// Appends the lower-case hex of `bytes` to `out`.
pub fn push_hex_lower(bytes: &[u8], out: &mut String) {
    // Through a stack buffer: one push_str instead of a char push (with its UTF-8 encoding) per digit.
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
            if let [hi, lo] = pair {
                *hi = hex_digit(b >> 4, false) as u8;
                *lo = hex_digit(b, false) as u8;
            }
        }
        let digits = buf.get(..chunk.len() * 2).unwrap_or_default();
        out.push_str(core::str::from_utf8(digits).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
    }

    #[test]
    fn reserved_and_special_characters_are_encoded() {
        // Expected values are encodeURIComponent plus the SDK's !'()* replacements, written out by hand.
        assert_eq!(percent_encode(" "), "%20");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("+"), "%2B");
        assert_eq!(percent_encode("/"), "%2F");
        assert_eq!(percent_encode("!'()"), "%21%27%28%29");
        assert_eq!(percent_encode("a=b&c"), "a%3Db%26c");
        assert_eq!(percent_encode("%"), "%25");
    }

    #[test]
    fn non_ascii_is_encoded_as_utf8_bytes() {
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
        assert_eq!(percent_encode("😀"), "%F0%9F%98%80");
    }

    #[test]
    fn decode_inverts_encode_and_rejects_bad_escapes() {
        for s in ["", "a b", "中文/?&=+", "%41", "~*!"] {
            assert_eq!(percent_decode(&percent_encode(s), false).as_deref(), Some(s));
        }
        assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%4", false), None);
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%FF", false), None, "not UTF-8");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex_lower(&[0x00, 0xab, 0xff, 0x10]), "00abff10");
    }
}
