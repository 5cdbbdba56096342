//! FC's naming rules, checked before anything is signed (the official SDKs disagree on how to
//! encode other characters, so other characters are refused, not encoded).

use crate::error::Error;

/// `^[A-Za-z_][A-Za-z0-9_-]{0,max-1}$`.
fn is_fc_identifier(s: &str, max: usize, first_may_be_digit: bool) -> bool {
    let mut bytes = s.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || (first_may_be_digit && b.is_ascii_digit()));
    first_ok && s.len() <= max && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A function name: starts with a letter or `_`; letters, digits, `_`, `-`; at most 64 characters.
/// Or `service$function`, the name FC 3.0 gives a function made under FC 2.0: a service name (at
/// most 128 characters) and a function name, each by those rules.
pub fn validate_function_name(name: &str) -> Result<(), Error> {
    let valid = match name.split_once('$') {
        Some((service, function)) => is_fc_identifier(service, 128, false) && is_fc_identifier(function, 64, false),
        None => is_fc_identifier(name, 64, false),
    };
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(
            "functionName",
            "must start with a letter or '_' and hold only letters, digits, '_' and '-' (at most 64 characters), or an FC 2.0 service$function",
        ))
    }
}

/// A qualifier: a version number, `LATEST` or an alias name (at most 128 characters).
pub fn validate_qualifier(qualifier: &str) -> Result<(), Error> {
    if is_fc_identifier(qualifier, 128, true) {
        Ok(())
    } else {
        Err(Error::invalid(
            "qualifier",
            "must be a version number, LATEST or an alias name (letters, digits, '_', '-'; at most 128 characters)",
        ))
    }
}

/// An async task id: starts with a letter or `_`; letters, digits, `_`, `-`; at most 128 characters.
pub fn validate_async_task_id(id: &str) -> Result<(), Error> {
    if is_fc_identifier(id, 128, false) {
        Ok(())
    } else {
        Err(Error::invalid(
            "asyncTaskId",
            "must start with a letter or '_' and hold only letters, digits, '_' and '-' (at most 128 characters)",
        ))
    }
}

/// A task id to look up or stop: the caller's (see [`validate_async_task_id`]) or one FC made
/// for an Async invocation that gave none, which is its request id, a UUID that may start with a
/// digit: letters, digits, `_` and `-`, not starting with `-` (at most 128 characters).
pub fn validate_task_id(id: &str) -> Result<(), Error> {
    if is_fc_identifier(id, 128, true) {
        Ok(())
    } else {
        Err(Error::invalid("taskId", "must hold only letters, digits, '_' and '-', not first (at most 128 characters)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names() {
        let service_128 = format!("{}$f", "s".repeat(128));
        for ok in ["a", "_x", "my-func_2", &"a".repeat(64), "my-service$my-func", "_s$_f", &service_128] {
            assert!(validate_function_name(ok).is_ok(), "{ok}");
        }
        let service_129 = format!("{}$f", "s".repeat(129));
        let function_65 = format!("s${}", "f".repeat(65));
        for bad in [
            "",
            "1abc",
            "-a",
            "a b",
            "a/b",
            "a.b",
            "函数",
            &"a".repeat(65),
            "$f",
            "s$",
            "s$$f",
            "s$f$g",
            "1s$f",
            "s$1f",
            "s$-f",
            "s$f/g",
            &service_129,
            &function_65,
        ] {
            assert!(validate_function_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn qualifiers() {
        for ok in ["LATEST", "1", "12", "prod", "_blue-2"] {
            assert!(validate_qualifier(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a b", "a?b", &"a".repeat(129)] {
            assert!(validate_qualifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn async_task_ids() {
        assert!(validate_async_task_id("test-id").is_ok());
        assert!(validate_async_task_id(&format!("v{}", "1".repeat(127))).is_ok());
        assert!(validate_async_task_id(&format!("v{}", "1".repeat(128))).is_err(), "129 characters");
        for bad in ["", "1", "-a", "a.mp4", "a b"] {
            assert!(validate_async_task_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn task_ids_to_look_up_include_fc_made_ones() {
        // GetAsyncTask's documented example id, and an FC 3.0 request id.
        for ok in ["e026ae92-61e5-472f-b32d-1c9e3c4e0000", "1-6569c4b1-15b6a4fc-2a1b3c4d", "test-id", "_x"] {
            assert!(validate_task_id(ok).is_ok(), "{ok}");
        }
        assert!(validate_task_id(&"1".repeat(128)).is_ok());
        for bad in ["", "-a", "a.mp4", "a b", "a/b", "é", &"1".repeat(129)] {
            assert!(validate_task_id(bad).is_err(), "{bad}");
        }
    }
}
