//! wasm-bindgen-test tests of the binding layer, run in Node and in headless Chromium. A fake
//! `fetch` (a JS function returning a real `Response`) stands in for the network, so these check
//! the typed exports, the driver in host.js (clock, nonce, hashing, abort, timeouts, backoff
//! waits) and the error shapes. Reading the caller's objects is the JS face's, tested in
//! tests/node/.

#![cfg(target_arch = "wasm32")]

use fc_invoke::wasm::{new_client, sign_request, WasmClient};
use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).expect("get")
}

const KEY_ID: &str = "YourAccessKeyId";
const SECRET: &str = "YourAccessKeySecret";

/// A fetch that records its calls in `globalThis.__calls` and answers `status` with `body`.
fn fake_fetch(status: u16, body: &str, headers: &str) -> Function {
    Function::new_with_args(
        "url, init",
        &format!(
            "(globalThis.__calls ??= []).push({{ url, init }});
             if (init.signal && init.signal.aborted) return Promise.reject(new DOMException('aborted', 'AbortError'));
             return Promise.resolve(new Response({body:?} || null, {{ status: {status}, headers: {headers} }}));"
        ),
    )
}

/// A client for a local endpoint that sends through `fetch`, with static keys, or `provider`
/// (what the JS face hands the wasm: a function resolving to the keys as it read them).
fn client(fetch: Function, provider: Option<Function>, retry: &[f64]) -> Result<WasmClient, JsValue> {
    let key = |k: &str| provider.is_none().then(|| k.to_owned());
    WasmClient::new(
        Some("http://127.0.0.1:9000".into()),
        None,
        None,
        (key(KEY_ID), key(SECRET), None),
        provider.map_or(JsValue::UNDEFINED, JsValue::from),
        fetch.into(),
        retry,
    )
}

fn client_with(fetch: Function) -> WasmClient {
    client(fetch, None, &[]).map_err(|e| get(&e, "message")).expect("client")
}

fn calls() -> Array {
    let calls = get(&js_sys::global(), "__calls");
    if calls.is_undefined() {
        Array::new()
    } else {
        calls.unchecked_into()
    }
}

fn reset_calls() {
    Reflect::set(&js_sys::global(), &"__calls".into(), &Array::new()).expect("reset");
}

/// What an invocation may set, as the JS face passes it.
#[derive(Default)]
struct Invoke {
    qualifier: Option<&'static str>,
    log_type: Option<&'static str>,
    body: Option<Uint8Array>,
    signal: Option<JsValue>,
    timeout_ms: Option<f64>,
}

/// `invokeFunction(name, …)`, awaited.
async fn invoke(client: &WasmClient, name: &str, options: Invoke) -> Result<JsValue, JsValue> {
    JsFuture::from(client.invoke_function(
        name.to_owned(),
        options.qualifier.map(str::to_owned),
        None,
        options.log_type.map(str::to_owned),
        None,
        None,
        options.body,
        None,
        options.signal.unwrap_or_default(),
        &[options.timeout_ms.unwrap_or(f64::NAN), f64::NAN, 0.0],
    ))
    .await
}

/// `signRequest` of a POST to `url` with `body`, as the JS face calls it: the signed headers.
fn sign(url: &str, body: Option<&[u8]>, date_ms: Option<f64>, nonce: Option<&str>) -> Result<JsValue, JsValue> {
    let answer = sign_request(
        Some("POST".into()),
        url.into(),
        None,
        body.map(Uint8Array::from),
        None,
        Some(KEY_ID.into()),
        Some(SECRET.into()),
        None,
        Some("A".into()),
        None,
        date_ms,
        nonce.map(str::to_owned),
    );
    // The signed lines, or the error the export answers instead.
    let signed = answer.as_string().ok_or(answer)?;
    let headers = Object::new();
    let lines: Vec<&str> = signed.split('\n').collect();
    for pair in lines.get(2..).unwrap_or_default().chunks(2) {
        if let [name, value] = pair {
            Reflect::set(&headers, &JsValue::from_str(name), &JsValue::from_str(value)).expect("set");
        }
    }
    Ok(headers.into())
}

#[wasm_bindgen_test]
async fn sign_request_reproduces_the_v3_doc_example() {
    let signed = sign_request(
        Some("POST".into()),
        "https://ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
            .into(),
        None,
        None,
        None,
        Some(KEY_ID.into()),
        Some(SECRET.into()),
        None,
        Some("RunInstances".into()),
        Some("2014-05-26".into()),
        Some(1_698_310_861_000.0), // 2023-10-26T09:01:01Z
        Some("d410180a5abf7fe235dd9b74aca91fc0".into()),
    )
    .as_string()
    .expect("signs");
    let auth = signed.lines().find_map(|line| line.strip_prefix("ACS3-HMAC-SHA256 ")).expect("authorization");
    assert!(auth.ends_with("Signature=e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"), "{auth}");
    assert!(signed.starts_with("POST\nhttps://ecs.cn-shanghai.aliyuncs.com/?ImageId="), "{signed}");
}

/// Replaces `Date.now`, the host's clock, with one that always answers `ms`, until dropped.
struct FakeNow(Function);

impl FakeNow {
    fn install(ms: f64) -> FakeNow {
        let install = Function::new_with_args(
            "ms",
            "const real = Date.now; Date.now = () => ms; return () => { Date.now = real; };",
        );
        FakeNow(install.call1(&JsValue::NULL, &ms.into()).expect("installed").unchecked_into())
    }
}

impl Drop for FakeNow {
    fn drop(&mut self) {
        self.0.call0(&JsValue::NULL).expect("restored");
    }
}

#[wasm_bindgen_test]
async fn sign_request_defaults_date_and_nonce_from_the_host() {
    let a = sign("http://127.0.0.1:9000/x", None, None, None).expect("signs");
    let b = sign("http://127.0.0.1:9000/x", None, None, None).expect("signs");
    let nonce = |s: &JsValue| get(s, "x-acs-signature-nonce").as_string().expect("nonce");
    assert_ne!(nonce(&a), nonce(&b), "a fresh nonce per request");
    assert!(nonce(&a).len() >= 16);
    assert_eq!(get(&a, "x-acs-version").as_string().as_deref(), Some("2023-03-30"));

    // The date is the host's clock (Date.now), rounded down to the second: with the clock held
    // at 1_700_000_000_999 ms, 2023-11-14T22:13:20.999Z (`new Date(1700000000999).toISOString()`),
    // both sign_request and a client's request carry 2023-11-14T22:13:20Z.
    let clock = FakeNow::install(1_700_000_000_999.0);
    let signed = sign("http://127.0.0.1:9000/x", None, None, None);
    reset_calls();
    let client = client_with(fake_fetch(200, "", "{}"));
    let invoked = invoke(&client, "f", Invoke::default()).await.map_err(|e| get(&e, "message"));
    drop(clock); // before anything can panic: a panic here would leave the clock faked
    let signed = signed.expect("signs");
    invoked.expect("ok");
    let date = |headers: &JsValue| get(headers, "x-acs-date").as_string().expect("date");
    assert_eq!(date(&signed), "2023-11-14T22:13:20Z");
    assert_eq!(date(&get(&get(&calls().get(0), "init"), "headers")), "2023-11-14T22:13:20Z");
}

#[wasm_bindgen_test]
async fn errors_carry_code_and_argument() {
    let err = sign("not a url", None, None, None).expect_err("bad url");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("InvalidArgument"));
    assert_eq!(get(&err, "argument").as_string().as_deref(), Some("url"));
    assert_eq!(get(&err, "name").as_string().as_deref(), Some("FcError"));
    assert!(err.is_instance_of::<js_sys::Error>());

    // The exports answer an error as a value (the JS face throws it), never by throwing.
    let err =
        sign_request(None, "http://h/".into(), None, None, None, Some("id".into()), None, None, None, None, None, None);
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("CredentialsError"));

    let config = |endpoint: Option<&str>, keys: bool, fetch: JsValue, retry: &[f64]| {
        let key = |k: &str| keys.then(|| k.to_owned());
        new_client(endpoint.map(str::to_owned), None, None, key("id"), key("s"), None, JsValue::UNDEFINED, fetch, retry)
    };
    let fetch = || JsValue::from(fake_fetch(200, "", "{}"));
    let argument = |e: &JsValue| get(e, "argument").as_string();
    assert_eq!(argument(&config(None, true, fetch(), &[])).as_deref(), Some("endpoint"));
    // Without a fetch where the runtime has none (the JS face checks that a given one is a function).
    let global_fetch = get(&js_sys::global(), "fetch");
    Reflect::set(&js_sys::global(), &"fetch".into(), &JsValue::UNDEFINED).expect("unset fetch");
    let no_fetch = config(Some("http://h"), true, JsValue::UNDEFINED, &[]);
    Reflect::set(&js_sys::global(), &"fetch".into(), &global_fetch).expect("restore fetch");
    assert_eq!(argument(&no_fetch).as_deref(), Some("fetch"));
    assert_eq!(
        get(&no_fetch, "message").as_string().as_deref(),
        Some("invalid fetch: this runtime has no global fetch; pass one")
    );
    assert_eq!(
        argument(&config(Some("http://h"), true, fetch(), &[0.0, f64::NAN, f64::NAN])).as_deref(),
        Some("retry")
    );
    let no_credentials = config(Some("http://h"), false, fetch(), &[]);
    assert_eq!(get(&no_credentials, "code").as_string().as_deref(), Some("CredentialsError"));
    let made = config(Some("http://h"), true, fetch(), &[]);
    assert!(!made.is_instance_of::<js_sys::Error>() && made.is_object(), "a client");
}

#[wasm_bindgen_test]
async fn invokes_through_the_given_fetch_and_reads_the_answer() {
    reset_calls();
    let fetch = fake_fetch(
        200,
        "pong",
        "{ 'x-fc-request-id': 'req-7', 'x-fc-log-result': btoa('line 1'), 'x-fc-error-type': 'UnhandledInvocationError' }",
    );
    let client = client_with(fetch);
    // 200 KB body: hashed in 64 KB pieces copied from JS memory.
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let body = Some(Uint8Array::from(bytes.as_slice()));
    let options = Invoke { qualifier: Some("prod"), log_type: Some("Tail"), body, ..Invoke::default() };
    let res = invoke(&client, "my-func", options).await.map_err(|e| get(&e, "message")).expect("ok");
    assert_eq!(get(&res, "status").as_f64(), Some(200.0));
    assert_eq!(get(&res, "requestId").as_string().as_deref(), Some("req-7"));
    assert_eq!(get(&res, "log").as_string().as_deref(), Some("line 1"));
    assert_eq!(get(&res, "functionError").as_string().as_deref(), Some("UnhandledInvocationError"));
    assert_eq!(get(&res, "body").unchecked_into::<Uint8Array>().to_vec(), b"pong");

    let calls = calls();
    assert_eq!(calls.length(), 1);
    let call = calls.get(0);
    assert_eq!(
        get(&call, "url").as_string().as_deref(),
        Some("http://127.0.0.1:9000/2023-03-30/functions/my-func/invocations?qualifier=prod")
    );
    let init = get(&call, "init");
    let headers = get(&init, "headers");
    // The body's SHA-256, computed outside the library: in Node,
    //   const b = Buffer.alloc(200000); for (let i = 0; i < b.length; i++) b[i] = i % 251;
    //   require("node:crypto").createHash("sha256").update(b).digest("hex")
    // (Python's hashlib.sha256(bytes(i % 251 for i in range(200000))) agrees).
    assert_eq!(
        get(&headers, "x-acs-content-sha256").as_string().as_deref(),
        Some("e24bc62381f1224fbbb74688663f8f9743b9680b193edd666835e97b06e730eb")
    );
    assert_eq!(get(&headers, "host"), JsValue::UNDEFINED, "host is never set by us");
    assert_eq!(get(&init, "signal"), JsValue::UNDEFINED, "no AbortController without a timeout or a signal");

    // With a timeout, fetch gets the attempt's own signal.
    reset_calls();
    let options = Invoke { timeout_ms: Some(5_000.0), ..Invoke::default() };
    invoke(&client, "my-func", options).await.map_err(|e| get(&e, "message")).expect("ok");
    assert!(get(&get(&self::calls().get(0), "init"), "signal").is_instance_of::<web_sys::AbortSignal>());
}

#[wasm_bindgen_test]
async fn service_errors_keep_code_status_and_request_id() {
    let fetch =
        fake_fetch(404, r#"{"Code":"FunctionNotFound","Message":"no such function","RequestId":"r-404"}"#, "{}");
    let client = client_with(fetch);
    let err = invoke(&client, "missing", Invoke::default()).await.expect_err("404");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("FunctionNotFound"));
    assert_eq!(get(&err, "status").as_f64(), Some(404.0));
    assert_eq!(get(&err, "requestId").as_string().as_deref(), Some("r-404"));
}

#[wasm_bindgen_test]
async fn an_aborted_signal_sends_nothing() {
    reset_calls();
    let fetch = fake_fetch(200, "", "{}");
    let client = client_with(fetch);
    let signal = web_sys::AbortSignal::abort();
    let err =
        invoke(&client, "f", Invoke { signal: Some(signal.into()), ..Invoke::default() }).await.expect_err("aborted");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("Aborted"));
    assert_eq!(calls().length(), 0);
}

#[wasm_bindgen_test]
async fn a_provider_with_expiration_is_called_once() {
    // As the JS face wraps the caller's provider: the keys as it read them, the expiration in ms.
    let counter = Function::new_no_args(
        "globalThis.__provided = (globalThis.__provided ?? 0) + 1;
         return Promise.resolve({ accessKeyId: 'STS.id', accessKeySecret: 's', securityToken: 't',
                                  expirationMs: Date.now() + 3600e3 });",
    );
    let cached =
        client(fake_fetch(200, "ok", "{}"), Some(counter), &[]).map_err(|e| get(&e, "message")).expect("client");
    for _ in 0..3 {
        invoke(&cached, "f", Invoke::default()).await.map_err(|e| get(&e, "message")).expect("ok");
    }
    assert_eq!(get(&js_sys::global(), "__provided").as_f64(), Some(1.0));
    // An answer the JS face found unusable is a CredentialsError, and nothing is sent.
    reset_calls();
    let unusable = Function::new_no_args("return Promise.resolve({ unusable: 'accessKeyId must be a string' });");
    let refused =
        client(fake_fetch(200, "ok", "{}"), Some(unusable), &[]).map_err(|e| get(&e, "message")).expect("client");
    let err = invoke(&refused, "f", Invoke::default()).await.expect_err("unusable");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("CredentialsError"));
    assert_eq!(get(&err, "message").as_string().as_deref(), Some("credentials: accessKeyId must be a string"));
    assert_eq!(calls().length(), 0);
}

/// The Rust API against the local FC-compatible server (started by tools/wasm-test.mjs, which
/// passes its URL at compile time).
#[wasm_bindgen_test]
#[allow(clippy::option_env_unwrap)] // a clear failure at run time beats a build that needs the env
async fn the_rust_client_invokes_through_the_local_server() {
    use fc_invoke::acs3::Credentials;
    use fc_invoke::fc::{Endpoint, InvocationType, InvokeFunction, LogType};
    use fc_invoke::wasm::FcClient;

    let endpoint =
        option_env!("FC_TEST_ENDPOINT").expect("run through `node tools/wasm-test.mjs`, which starts the server");
    let client = FcClient::new(
        Endpoint::parse(endpoint).expect("endpoint"),
        Credentials::new("LTAI5tDemoKeyId0000", "demo-secret-do-not-use", None).expect("credentials"),
    )
    .expect("client");
    // Debug, so that an app's state holding a client can derive it, shows no secret.
    assert_eq!(format!("{client:?}"), "FcClient { .. }");
    let sync = InvokeFunction { function_name: "echo", log_type: LogType::Tail, ..Default::default() };
    let res = client.invoke_function(&sync, b"from rust").await.expect("invoked");
    assert_eq!(res.status, 200);
    assert_eq!(res.body, b"from rust");
    assert!(res.request_id.is_some());
    assert!(res.log.as_deref().is_some_and(|l| l.contains("echo 9 bytes")));
    assert!(res.headers.iter().any(|(n, _)| n == "x-fc-request-id"));

    let queued = InvokeFunction {
        function_name: "echo",
        invocation_type: InvocationType::Async,
        async_task_id: Some("rust-task-1"),
        ..Default::default()
    };
    let res = client.invoke_function(&queued, b"later").await.expect("queued");
    assert_eq!((res.status, res.async_task_id.as_deref()), (202, Some("rust-task-1")));

    let missing = InvokeFunction { function_name: "no-such-function", ..Default::default() };
    let err = client.invoke_function(&missing, b"").await.expect_err("404");
    assert_eq!((err.code(), err.status()), ("FunctionNotFound", Some(404)));

    let wrong = FcClient::new(
        Endpoint::parse(endpoint).expect("endpoint"),
        Credentials::new("LTAI5tDemoKeyId0000", "not-the-secret", None).expect("credentials"),
    )
    .expect("client");
    let err = wrong.invoke_function(&sync, b"x").await.expect_err("403");
    assert_eq!(err.code(), "SignatureNotMatch");
}

/// Bodies are hashed in wasm, copied from JS memory in 64 KB pieces: empty, one byte, and either
/// side of a piece boundary, up to several pieces.
#[wasm_bindgen_test]
async fn large_and_small_bodies_hash_the_same_way() {
    // SHA-256 of bytes (i * 7) % 256 for i in 0..len, computed outside the library: in Node,
    //   const b = Buffer.alloc(len); for (let i = 0; i < len; i++) b[i] = (i * 7) % 256;
    //   require("node:crypto").createHash("sha256").update(b).digest("hex")
    // (Python's hashlib agrees). The 65,535-byte digest holds a byte below 0x10 (…e8 0d 7d…).
    let expected = [
        (0usize, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        (65_535, "e5e7f7bb9e9de7a43126e80d57dc8ec6facc88cb8f17d6075b2dad558f12916d"),
        (65_536, "d790e413479d16f4eab89ec0d18e3565e0982bd4788c26736a76d20ea781c901"),
        (300_001, "324e0abdca97a8b88d91fe661f31f31814d124a44774a74e956da8f5db247201"),
    ];
    for (len, digest) in expected {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let signed = sign("http://h/", Some(&bytes), None, None).expect("signs");
        let sent = get(&signed, "x-acs-content-sha256").as_string().expect("hash");
        assert_eq!(sent, digest, "length {len}");
    }
}

/// A fetch whose answer never comes: it rejects with an AbortError when its signal fires.
fn hanging_fetch() -> Function {
    Function::new_with_args(
        "url, init",
        "(globalThis.__calls ??= []).push({ url, init });
         return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));",
    )
}

/// Answers 503 ResourceThrottled (with `retry-after` seconds, if given) `throttled` times, then 200 "ok".
fn throttling_fetch(throttled: u32, retry_after: Option<u32>) -> Function {
    let retry_after = retry_after.map_or(String::new(), |s| format!("'retry-after': '{s}'"));
    Function::new_with_args(
        "url, init",
        &format!(
            "const calls = (globalThis.__calls ??= []);
             calls.push({{ url, init }});
             if (calls.length <= {throttled}) {{
               const body = JSON.stringify({{ Code: 'ResourceThrottled', Message: 'slow down', RequestId: 'r-' + calls.length }});
               return Promise.resolve(new Response(body, {{ status: 503, headers: {{ {retry_after} }} }}));
             }}
             return Promise.resolve(new Response('ok', {{ status: 200 }}));"
        ),
    )
}

fn client_with_retry(fetch: Function, max_attempts: u32, delay_ms: u32) -> WasmClient {
    let retry = [f64::from(max_attempts), f64::from(delay_ms), f64::from(delay_ms)];
    client(fetch, None, &retry).map_err(|e| get(&e, "message")).expect("client")
}

/// Records every `setTimeout` until dropped, as `{ delay, callsWhenSet, callsWhenFired }`, the
/// number of fetch calls (`__calls`) when the timer was set and when it fired. A timer of exactly
/// `run_at_once` ms runs after 0 ms instead (its delay is recorded as asked), so a test can see
/// that a long wait was scheduled and waited for without spending that time; and when one is set,
/// `on_set` (JS) runs in a microtask, after the code that set it and before any timer fires.
///
/// These tests thus check the order of events (which timers were set, and whether they fired
/// before or after which fetch call), never the time that passed.
struct TimerSpy(Function);

impl TimerSpy {
    fn install(run_at_once: Option<u32>, on_set: &str) -> TimerSpy {
        let run_at_once = run_at_once.map_or(-1.0, f64::from);
        let install = Function::new_with_args(
            "runAtOnce",
            &format!(
                "const real = globalThis.setTimeout;
                 const timers = (globalThis.__timers = []);
                 const calls = () => (globalThis.__calls ?? []).length;
                 globalThis.setTimeout = function (callback, delay, ...args) {{
                   const timer = {{ delay, callsWhenSet: calls(), callsWhenFired: undefined }};
                   timers.push(timer);
                   const atOnce = delay === runAtOnce;
                   if (atOnce) queueMicrotask(() => {{ {on_set} }});
                   const fire = (...a) => {{ timer.callsWhenFired = calls(); callback(...a); }};
                   return real(fire, atOnce ? 0 : delay, ...args);
                 }};
                 return () => {{ globalThis.setTimeout = real; }};"
            ),
        );
        TimerSpy(install.call1(&JsValue::NULL, &run_at_once.into()).expect("installed").unchecked_into())
    }

    /// Restores `setTimeout` (before the test's assertions: a panic in wasm runs no `Drop`) and
    /// returns `(callsWhenSet, callsWhenFired)` of each timer that was set for `delay` ms.
    fn finish(self, delay: f64) -> Vec<(f64, Option<f64>)> {
        drop(self);
        let timers: Array = get(&js_sys::global(), "__timers").unchecked_into();
        timers
            .iter()
            .filter(|t| get(t, "delay").as_f64() == Some(delay))
            .map(|t| (get(&t, "callsWhenSet").as_f64().expect("a count"), get(&t, "callsWhenFired").as_f64()))
            .collect()
    }
}

impl Drop for TimerSpy {
    fn drop(&mut self) {
        self.0.call0(&JsValue::NULL).expect("restored");
    }
}

#[wasm_bindgen_test]
async fn an_attempt_past_its_timeout_is_a_timeout_and_its_fetch_is_aborted() {
    reset_calls();
    let spy = TimerSpy::install(None, "");
    let client = client_with_retry(hanging_fetch(), 1, 1);
    let outcome = invoke(&client, "f", Invoke { timeout_ms: Some(50.0), ..Invoke::default() }).await;
    let timers = spy.finish(50.0);
    let err = outcome.expect_err("timed out");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("Timeout"));
    let signal: web_sys::AbortSignal = get(&get(&calls().get(0), "init"), "signal").unchecked_into();
    assert!(signal.aborted(), "the fetch's own signal fired");
    // One timer of timeoutMs (milliseconds, not seconds), armed before the fetch and fired while
    // it hung: the fetch never answers, so that timer is what ended the attempt.
    assert_eq!(timers, [(0.0, Some(1.0))]);
}

#[wasm_bindgen_test]
async fn a_throttled_answer_is_retried_after_its_retry_after_wait() {
    reset_calls();
    // Retry-After: 1 s, where the backoff alone would be a random 0–20 ms. The spy runs the
    // 1000 ms wait at once, so the test does not spend it.
    let spy = TimerSpy::install(Some(1_000), "");
    let client = client_with_retry(throttling_fetch(1, Some(1)), 3, 20);
    let outcome = invoke(&client, "f", Invoke::default()).await;
    let timers = spy.finish(1_000.0);
    let res = outcome.map_err(|e| get(&e, "message")).expect("retried");
    assert_eq!(get(&res, "status").as_f64(), Some(200.0));
    assert_eq!(calls().length(), 2);
    // One 1000 ms wait, set after the first answer and over before the second attempt.
    assert_eq!(timers, [(1.0, Some(1.0))], "waited for Retry-After before the second attempt");
}

#[wasm_bindgen_test]
async fn aborting_during_a_backoff_wait_rejects_at_once() {
    reset_calls();
    // Retry-After: 30 s. The caller aborts as soon as that wait is set; the spy would run the
    // wait after 0 ms, so a client that waited it out would see it fire before it rejects.
    let signal = Function::new_no_args("return (globalThis.__controller = new AbortController()).signal;")
        .call0(&JsValue::NULL)
        .expect("a signal");
    let spy = TimerSpy::install(Some(30_000), "globalThis.__controller.abort();");
    let client = client_with_retry(throttling_fetch(5, Some(30)), 3, 1);
    let outcome = invoke(&client, "f", Invoke { signal: Some(signal), ..Invoke::default() }).await;
    let timers = spy.finish(30_000.0);
    let err = outcome.expect_err("aborted");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("Aborted"));
    assert_eq!(calls().length(), 1, "no second attempt");
    assert_eq!(timers, [(1.0, None)], "the 30 s wait was set after the first answer and never ran out");
}
