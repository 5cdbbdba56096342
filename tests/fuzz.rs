//! Fuzzing of the whole request builder and validator, as a long property test (cargo-fuzz needs
//! a nightly toolchain, which this project's machines do not have).
//!
//! Every input must give a signed request or a typed error from each builder: no panic, and no
//! allocation beyond a bound proportional to the input (a counting allocator measures the peak
//! of each case). Each builder runs on its own, so one rejection does not skip the others.
//! The checked-in seeds (tests/fuzz/seeds/) run first, every time; the `valid-*` ones must get
//! through every builder. Generated inputs mix garbage with valid parts, and the run fails if
//! any builder succeeds in fewer than a tenth of them (a fuzz test that only ever reaches the first
//! validator would pass while fuzzing nothing behind it).
//!
//!   cargo test --test fuzz                       # CI: the seeds and 3,000 generated cases
//!   FUZZ_CASES=300000 cargo test --release --test fuzz   # a long run (`npm run fuzz`)

#![cfg(not(target_arch = "wasm32"))]

use fc_invoke::acs3::{sign, AcsDate, Credentials, PayloadHash, SignableRequest, SigningParams};
use fc_invoke::fc::async_task::{self, ListAsyncTasks};
use fc_invoke::fc::{ApiRequest, CustomCall, Endpoint, InvocationType, InvokeFunction, LogType};
use fc_invoke::http::Url;
use fc_invoke::Error;
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live bytes and their peak, so each case's allocation can be bounded. Per thread: the
/// two tests run in parallel, and one's allocations (a failing test's shrinking, say) must not
/// count against a case of the other. (Bytes freed by another thread than allocated them make
/// a thread's count drift, hence signed; each case is measured from its own starting point.)
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + delta);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One fuzz input: every string the public builders take.
#[derive(Debug, Clone)]
struct Input {
    endpoint: String,
    function_name: String,
    qualifier: Option<String>,
    task_id: Option<String>,
    is_async: bool,
    tail: bool,
    headers: Vec<(String, String)>,
    url: String,
    /// CustomCall's path, from the root (`/…`), may carry a query.
    path: String,
    method: String,
    credentials: (String, String, Option<String>),
    nonce: String,
    seconds: i64,
    payload_hash: Option<String>,
    list_limit: Option<u32>,
    list_text: Option<String>,
}

impl Input {
    fn size(&self) -> usize {
        let h: usize = self.headers.iter().map(|(a, b)| a.len() + b.len()).sum();
        self.endpoint.len()
            + self.function_name.len()
            + self.qualifier.as_ref().map_or(0, String::len)
            + self.task_id.as_ref().map_or(0, String::len)
            + h
            + self.url.len()
            + self.path.len()
            + self.method.len()
            + self.credentials.0.len()
            + self.credentials.1.len()
            + self.credentials.2.as_ref().map_or(0, String::len)
            + self.nonce.len()
            + self.list_text.as_ref().map_or(0, String::len)
    }

    /// Seeds are lines of `key=value`; unknown keys are ignored, missing ones defaulted.
    fn from_seed(text: &str) -> Input {
        let get = |key: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_owned);
        let headers = text
            .lines()
            .filter_map(|l| l.strip_prefix("header="))
            .map(|h| h.split_once(':').map_or((h.to_owned(), String::new()), |(n, v)| (n.to_owned(), v.to_owned())))
            .collect();
        Input {
            endpoint: get("endpoint").unwrap_or_else(|| "http://127.0.0.1:9000".into()),
            function_name: get("function").unwrap_or_else(|| "f".into()),
            qualifier: get("qualifier"),
            task_id: get("task"),
            is_async: get("async").is_some(),
            tail: get("tail").is_some(),
            headers,
            url: get("url").unwrap_or_else(|| "https://h/".into()),
            path: get("path").unwrap_or_else(|| "/2023-03-30/functions".into()),
            method: get("method").unwrap_or_else(|| "POST".into()),
            credentials: (
                get("id").unwrap_or_else(|| "id".into()),
                get("secret").unwrap_or_else(|| "s".into()),
                get("token"),
            ),
            nonce: get("nonce").unwrap_or_else(|| "n".into()),
            seconds: get("seconds").and_then(|s| s.parse().ok()).unwrap_or(1_700_000_000),
            payload_hash: get("hash"),
            list_limit: get("limit").and_then(|s| s.parse().ok()),
            list_text: get("prefix"),
        }
    }
}

/// The builders `exercise` runs, in order.
const BUILDERS: [&str; 7] =
    ["InvokeFunction", "GetAsyncTask", "StopAsyncTask", "ListAsyncTasks", "CustomCall", "sign", "AcsDate::parse"];

/// Runs every builder on `input`, each on its own (a rejection by one does not skip the rest),
/// and signs what each builds; returns each builder's outcome, in the order of [`BUILDERS`].
fn exercise(input: &Input) -> [Result<(), Error>; 7] {
    let creds =
        || Credentials::new(input.credentials.0.clone(), input.credentials.1.clone(), input.credentials.2.clone());
    let endpoint = || Endpoint::parse(&input.endpoint);
    let date = || AcsDate::from_unix_seconds(input.seconds);
    let signed = |call: Result<ApiRequest, Error>| -> Result<(), Error> {
        call?.sign(&creds()?, date()?, &input.nonce)?;
        Ok(())
    };
    let task = input.task_id.as_deref().unwrap_or("t");
    [
        signed((|| {
            let payload = match &input.payload_hash {
                Some(h) => PayloadHash::from_hex(h)?,
                None => PayloadHash::of_bytes(input.url.as_bytes()),
            };
            let opts = InvokeFunction {
                function_name: &input.function_name,
                qualifier: input.qualifier.as_deref(),
                invocation_type: if input.is_async { InvocationType::Async } else { InvocationType::Sync },
                log_type: if input.tail { LogType::Tail } else { LogType::None },
                async_task_id: input.task_id.as_deref(),
                headers: &input.headers,
            };
            opts.to_request(&endpoint()?, payload)
        })()),
        signed(
            endpoint()
                .and_then(|e| async_task::get_async_task(&e, &input.function_name, task, input.qualifier.as_deref())),
        ),
        signed(
            endpoint()
                .and_then(|e| async_task::stop_async_task(&e, &input.function_name, task, input.qualifier.as_deref())),
        ),
        signed(endpoint().and_then(|e| {
            let list = ListAsyncTasks {
                qualifier: input.qualifier.as_deref(),
                prefix: input.list_text.as_deref(),
                status: input.list_text.as_deref(),
                limit: input.list_limit,
                ..ListAsyncTasks::default()
            };
            async_task::list_async_tasks(&e, &input.function_name, &list)
        })),
        signed(endpoint().and_then(|e| {
            let custom = CustomCall {
                method: &input.method,
                path: &input.path,
                query: &input.headers,
                headers: &input.headers,
                action: &input.nonce,
            };
            custom.to_request(&e, PayloadHash::empty(), true)
        })),
        (|| {
            let url = Url::parse(&input.url, "url")?;
            let request = SignableRequest::new(&input.method, url, &input.headers, PayloadHash::empty())?;
            let params = SigningParams {
                action: Some(&input.nonce),
                version: None,
                date: AcsDate::from_unix_millis(input.seconds as f64)?,
                nonce: &input.nonce,
            };
            sign(&request, &creds()?, &params)?;
            Ok(())
        })(),
        AcsDate::parse(&input.nonce).map(|_| ()),
    ]
}

/// Checks the outcomes of `input` (typed errors, no secret in them, bounded allocation) and
/// returns which builders succeeded.
fn check(input: &Input) -> [bool; 7] {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let outcomes = exercise(input);
    let peak = (PEAK.with(Cell::get) - before).unsigned_abs();
    for e in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert!(
            ["InvalidArgument", "CredentialsError"].contains(&e.code()) && !e.to_string().is_empty(),
            "untyped error {e:?} for {input:?}"
        );
        let shown = format!("{e} {e:?}");
        assert!(input.credentials.1.len() < 8 || !shown.contains(&input.credentials.1), "secret in an error: {shown}");
    }
    let bound = 64 * input.size() + 256 * 1024;
    assert!(
        peak <= bound,
        "allocated {peak} bytes at peak for a {}-byte input (bound {bound}): {input:?}",
        input.size()
    );
    outcomes.map(|o| o.is_ok())
}

#[test]
fn seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds");
    let (mut count, mut valid) = (0, 0);
    for entry in std::fs::read_dir(&dir).expect("seeds folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("seed text");
        let input = Input::from_seed(&text);
        let passed = check(&input);
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("valid-")) {
            // Every builder but the date parser (its input is the nonce, not a date) must sign.
            for (builder, ok) in BUILDERS.iter().zip(passed).take(6) {
                assert!(ok, "{}: {builder} refused it: {:?}", path.display(), exercise(&input));
            }
            valid += 1;
        }
        count += 1;
    }
    assert!(count >= 10, "expected the checked-in seeds, found {count}");
    assert!(valid >= 2, "expected the valid-* seeds, found {valid}");
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::string::string_regex(&format!("[ -~]{{0,{max}}}")).expect("regex"),
        2 => prop::string::string_regex(&format!("[a-zA-Z0-9_\\-]{{0,{max}}}")).expect("regex"),
        1 => prop::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect()),
        1 => Just(String::new()),
    ]
}

fn urlish() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "(https?|HTTP)://[a-zA-Z0-9.\\-\\[\\]:@]{0,24}(:[0-9]{0,6})?(/[a-zA-Z0-9%+*~ !'()é/.-]{0,24}){0,4}(\\?[a-z0-9=&%+ é]{0,24})?(#.{0,4})?",
        1 => text(80),
    ]
}

fn regex(pattern: &str) -> BoxedStrategy<String> {
    prop::string::string_regex(pattern).expect("regex").boxed()
}

/// `^[A-Za-z_][A-Za-z0-9_-]{0,max-1}$`: FC's names, qualifiers and task ids.
fn identifier(max: usize) -> BoxedStrategy<String> {
    regex(&format!("[A-Za-z_][A-Za-z0-9_-]{{0,{}}}", max - 1))
}

/// A field's value: when `valid_mode`, drawn from `valid` 19 times in 20 and from `garbage`
/// otherwise; else always from `garbage`.
fn field<T: std::fmt::Debug + Clone + 'static>(
    valid_mode: bool,
    valid: impl Strategy<Value = T> + 'static,
    garbage: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    if valid_mode {
        prop_oneof![19 => valid, 1 => garbage].boxed()
    } else {
        garbage.boxed()
    }
}

/// One fuzz input: mostly valid parts (`valid_mode`), or garbage throughout.
fn input(valid_mode: bool) -> impl Strategy<Value = Input> {
    let endpoint = regex(concat!(
        "(http|https|HTTPS)://",
        "(127\\.0\\.0\\.1|localhost|[0-9]{1,16}\\.cn-hangzhou\\.fc\\.aliyuncs\\.com|\\[::1\\])",
        "(:[1-9][0-9]{0,3})?/?",
    ));
    let url = regex(concat!(
        "https?://(h|[a-z]{1,10}\\.com|127\\.0\\.0\\.1)(:[1-9][0-9]{0,3})?(/[a-zA-Z0-9_~+*-]{0,10}){0,3}",
        "(\\?[a-z]{1,5}=[a-z0-9%]{0,5}(&[a-z]{1,5}=[a-z0-9]{0,5}){0,2})?",
    ));
    let path = regex(
        "/2023-03-30/(functions|layers|custom-domains)(/[a-zA-Z0-9_-]{1,12}){0,3}(\\?[a-z]{1,8}=[a-zA-Z0-9]{0,8})?",
    );
    let garbage_path = prop_oneof![3 => text(60).prop_map(|t| format!("/{t}")), 1 => text(60)];
    let date =
        "(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z";
    let nonce = prop_oneof![regex("[0-9a-f]{16,32}"), regex(date)];
    let methods =
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "post"]).prop_map(str::to_owned);
    let header = (
        regex("(x-fc-[a-z0-9]{1,8}|x-acs-meta-[a-z0-9]{1,8}|X-Custom-[A-Za-z0-9]{1,8}|content-type)"),
        regex("[ -~]{0,20}"),
    );
    let qualifier = prop_oneof![Just("LATEST".to_owned()), regex("[0-9]{1,4}"), identifier(20)];
    let kind = prop_oneof![Just((false, None)), Just((true, None)), identifier(128).prop_map(|t| (true, Some(t)))];
    (
        (
            field(valid_mode, endpoint, urlish()),
            field(valid_mode, identifier(64), text(80)),
            field(valid_mode, prop::option::of(qualifier), prop::option::of(text(140))),
            field(valid_mode, kind, (any::<bool>(), prop::option::of(text(140)))),
            any::<bool>(),
        ),
        (
            field(valid_mode, prop::collection::vec(header, 0..6), prop::collection::vec((text(20), text(40)), 0..8)),
            field(valid_mode, url, urlish()),
            field(valid_mode, path, garbage_path),
            field(valid_mode, methods, text(10)),
        ),
        (
            field(
                valid_mode,
                (regex("[A-Za-z0-9.]{1,24}"), regex("[ -~]{1,30}"), prop::option::of(regex("[A-Za-z0-9+/=]{1,60}"))),
                (text(30), text(50), prop::option::of(text(300))),
            ),
            field(valid_mode, nonce, text(40)),
            field(valid_mode, 0..=253_402_300_799i64, any::<i64>()),
            field(valid_mode, prop::option::of(regex("[0-9a-fA-F]{64}")), prop::option::of(text(70))),
        ),
        (
            field(valid_mode, prop::option::of(1u32..=100), prop::option::of(any::<u32>())),
            field(valid_mode, prop::option::of(regex("[A-Za-z0-9_-]{1,20}")), prop::option::of(text(40))),
        ),
    )
        .prop_map(
            |(
                (endpoint, function_name, qualifier, (is_async, task_id), tail),
                (headers, url, path, method),
                (credentials, nonce, seconds, payload_hash),
                (list_limit, list_text),
            )| Input {
                endpoint,
                function_name,
                qualifier,
                task_id,
                is_async,
                tail,
                headers,
                url,
                path,
                method,
                credentials,
                nonce,
                seconds,
                payload_hash,
                list_limit,
                list_text,
            },
        )
}

/// `FUZZ_CASES` generated inputs (3,000 by default), half of them built mostly from valid parts.
/// Fails if some builder succeeded in fewer than a tenth of them.
#[test]
fn generated() {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(3_000);
    let passed: [AtomicUsize; 7] = Default::default();
    let total = AtomicUsize::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&prop_oneof![input(true), input(false)], |input| {
        total.fetch_add(1, Ordering::Relaxed);
        for (count, ok) in passed.iter().zip(check(&input)) {
            count.fetch_add(usize::from(ok), Ordering::Relaxed);
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let total = total.into_inner();
    for (builder, count) in BUILDERS.iter().zip(passed) {
        let count = count.into_inner();
        assert!(count * 10 >= total, "{builder} succeeded in only {count} of {total} generated cases");
    }
}
