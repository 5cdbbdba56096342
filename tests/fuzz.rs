//! Fuzzing of the whole request builder and validator, as a long property test (cargo-fuzz needs
//! a nightly toolchain, which this project's machines do not have).
//!
//! Every input must give a signed request or a typed error: no panic, and no allocation beyond
//! a bound proportional to the input (a counting allocator measures the peak of each case).
//! The checked-in seeds (tests/fuzz/seeds/) run first, every time.
//!
//!   cargo test --test fuzz                       # CI: the seeds and 3,000 generated cases
//!   FUZZ_CASES=300000 cargo test --release --test fuzz   # a long run (`npm run fuzz`)

#![cfg(not(target_arch = "wasm32"))]

use fc_invoke::acs3::{sign, AcsDate, Credentials, PayloadHash, SignableRequest, SigningParams};
use fc_invoke::fc::async_task::{self, ListAsyncTasks};
use fc_invoke::fc::{CustomCall, Endpoint, InvocationType, InvokeFunction, LogType};
use fc_invoke::http::Url;
use fc_invoke::Error;
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

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

/// Runs every builder on `input`; returns the errors (all must be typed).
fn exercise(input: &Input) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut keep = |r: Result<(), Error>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    let creds = Credentials::new(input.credentials.0.clone(), input.credentials.1.clone(), input.credentials.2.clone());
    keep((|| {
        let endpoint = Endpoint::parse(&input.endpoint)?;
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
        let call = opts.to_request(&endpoint, payload)?;
        call.sign(&creds.clone()?, AcsDate::from_unix_seconds(input.seconds)?, &input.nonce)?;
        let task = input.task_id.as_deref().unwrap_or("t");
        async_task::get_async_task(&endpoint, &input.function_name, task, input.qualifier.as_deref())?;
        async_task::stop_async_task(&endpoint, &input.function_name, task, input.qualifier.as_deref())?;
        let list = ListAsyncTasks {
            qualifier: input.qualifier.as_deref(),
            prefix: input.list_text.as_deref(),
            status: input.list_text.as_deref(),
            limit: input.list_limit,
            ..ListAsyncTasks::default()
        };
        async_task::list_async_tasks(&endpoint, &input.function_name, &list)?;
        let custom = CustomCall {
            method: &input.method,
            path: &input.url,
            query: &input.headers,
            headers: &input.headers,
            action: &input.nonce,
        };
        custom.to_request(&endpoint, PayloadHash::empty(), true)?;
        Ok(())
    })());
    keep((|| {
        let url = Url::parse(&input.url, "url")?;
        let request = SignableRequest::new(&input.method, url, &input.headers, PayloadHash::empty())?;
        let params = SigningParams {
            action: Some(&input.nonce),
            version: None,
            date: AcsDate::from_unix_millis(input.seconds as f64)?,
            nonce: &input.nonce,
        };
        sign(&request, &creds?, &params)?;
        Ok(())
    })());
    keep(AcsDate::parse(&input.nonce).map(|_| ()));
    errors
}

fn check(input: &Input) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let errors = exercise(input);
    let peak = (PEAK.with(Cell::get) - before).unsigned_abs();
    for e in &errors {
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
}

#[test]
fn seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("seeds folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("seed text");
        check(&Input::from_seed(&text));
        count += 1;
    }
    assert!(count >= 10, "expected the checked-in seeds, found {count}");
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

fn input() -> impl Strategy<Value = Input> {
    (
        (urlish(), text(80), prop::option::of(text(140)), prop::option::of(text(140)), any::<bool>(), any::<bool>()),
        (prop::collection::vec((text(20), text(40)), 0..8), urlish(), text(10)),
        ((text(30), text(50), prop::option::of(text(300))), text(40), any::<i64>(), prop::option::of(text(70))),
        (prop::option::of(any::<u32>()), prop::option::of(text(40))),
    )
        .prop_map(
            |(
                (endpoint, function_name, qualifier, task_id, is_async, tail),
                (headers, url, method),
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

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(3_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated(input in input()) {
        check(&input);
    }
}
