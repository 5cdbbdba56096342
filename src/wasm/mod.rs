//! The wasm-bindgen layer: the only module that names wasm_bindgen, js_sys or web_sys. It reads
//! JS values into the core's types, runs the core over the JS host, and hands results back.
//! It holds no signing logic.

mod convert;
mod host;

use crate::acs3::{self, AcsDate, PayloadHash, SignableRequest, SigningParams};
use crate::client::{CallOptions, Client};
use crate::error::Error;
use crate::fc::{Endpoint, InvocationType, InvokeFunction, LogType, API_VERSION};
use crate::http::Url;
use convert::{
    error_to_js, from_js, millis, object_from_pairs, retry_policy, time_ms, ClientConfig, InvokeOptions, RequestToSign,
    SignOptions,
};
use host::{CredentialSource, JsHost, ProviderCache};
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

fn endpoint_from(config: &ClientConfig) -> Result<Endpoint, Error> {
    match (&config.endpoint, &config.account_id, &config.region) {
        (Some(url), _, _) => Endpoint::parse(url),
        (None, Some(account), Some(region)) => Endpoint::for_region(account, region),
        _ => Err(Error::invalid("endpoint", "give either endpoint, or accountId and region")),
    }
}

fn credential_source(value: &JsValue) -> Result<CredentialSource, Error> {
    match value.dyn_ref::<Function>() {
        Some(provider) => Ok(CredentialSource::Provider(ProviderCache::new(provider.clone()))),
        None if value.is_undefined() || value.is_null() => Err(Error::credentials(
            "missing: give { accessKeyId, accessKeySecret, securityToken? } or an async provider function",
        )),
        None => Ok(CredentialSource::Static(convert::credentials_from_js(value)?.0)),
    }
}

/// Body bytes: a `Uint8Array` (the JS face converts every other body type), or empty.
fn body_bytes(value: &JsValue) -> Result<Uint8Array, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(Uint8Array::new_with_length(0));
    }
    value.dyn_ref::<Uint8Array>().cloned().ok_or_else(|| Error::invalid("body", "must be bytes (Uint8Array)"))
}

fn signal_from(value: &JsValue) -> Result<Option<AbortSignal>, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.dyn_ref::<AbortSignal>().cloned().map(Some).ok_or_else(|| Error::invalid("signal", "must be an AbortSignal"))
}

/// A Function Compute client bound to one endpoint and one credential source.
#[wasm_bindgen]
pub struct WasmClient {
    inner: Rc<Client<JsHost>>,
}

#[wasm_bindgen]
impl WasmClient {
    /// `{ endpoint | accountId + region, credentials, fetch? }`; throws `FcError` on bad config.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<WasmClient, JsValue> {
        let build = || -> Result<WasmClient, Error> {
            let config: ClientConfig = from_js(config, "options")?;
            let endpoint = endpoint_from(&config)?;
            let host = JsHost::new(&config.fetch, credential_source(&config.credentials)?)?;
            let mut client = Client::new(host, endpoint);
            if let Some(policy) = retry_policy(&config.retry)? {
                client = client.with_retry(policy);
            }
            Ok(WasmClient { inner: Rc::new(client) })
        };
        build().map_err(|e| error_to_js(&e))
    }

    /// Invokes `function_name`; resolves to `{ status, requestId, headers, body, log,
    /// functionError, asyncTaskId }` or rejects with an `FcError`-shaped error.
    #[wasm_bindgen(js_name = invokeFunction)]
    pub fn invoke_function(&self, function_name: JsValue, options: JsValue) -> Promise {
        let client = Rc::clone(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move {
            let name = function_name.as_string().ok_or_else(|| Error::invalid("functionName", "must be a string"));
            match name {
                Ok(name) => invoke(&client, &name, options).await.map_err(|e| error_to_js(&e)),
                Err(e) => Err(error_to_js(&e)),
            }
        })
    }
}

async fn invoke(client: &Client<JsHost>, function_name: &str, options: JsValue) -> Result<JsValue, Error> {
    let options: InvokeOptions = from_js(options, "options")?;
    let invocation_type = options.invocation_type.as_deref().map(InvocationType::parse).transpose()?;
    let log_type = options.log_type.as_deref().map(LogType::parse).transpose()?;
    let body = body_bytes(&options.body)?;
    let signal = signal_from(&options.signal)?;
    let call = CallOptions {
        timeout_ms: millis(options.timeout_ms, "timeoutMs")?,
        deadline_ms: millis(options.deadline_ms, "deadlineMs")?,
        cancel: signal.as_ref(),
        retry: retry_policy(&options.retry)?,
        idempotent: options.idempotent,
    };
    let request = InvokeFunction {
        function_name,
        qualifier: options.qualifier.as_deref(),
        invocation_type: invocation_type.unwrap_or_default(),
        log_type: log_type.unwrap_or_default(),
        async_task_id: options.async_task_id.as_deref(),
        headers: &options.headers,
    };
    let out = client.invoke_function(&request, &body, &call).await?;
    let result = Object::new();
    let set = |name: &str, value: &JsValue| {
        let _ = Reflect::set(&result, &JsValue::from_str(name), value);
    };
    let text = |v: &Option<String>| v.as_deref().map_or(JsValue::UNDEFINED, JsValue::from_str);
    set("status", &JsValue::from(out.status));
    set("requestId", &text(&out.meta.request_id));
    set("headers", &out.response.headers);
    set("body", &out.response.body);
    set("log", &text(&out.meta.log));
    set("functionError", &text(&out.meta.function_error));
    set("asyncTaskId", &text(&out.meta.async_task_id));
    Ok(result.into())
}

/// Signs any FC 3.0 request without sending it. The date defaults to now and the nonce to a
/// fresh random one; the body's hash is computed here unless `payloadHash` is given.
#[wasm_bindgen(js_name = signRequest)]
pub fn sign_request(request: JsValue, credentials: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    sign(request, credentials, options).map_err(|e| error_to_js(&e))
}

fn sign(request: JsValue, credentials: JsValue, options: JsValue) -> Result<JsValue, Error> {
    let request: RequestToSign = from_js(request, "request")?;
    let options: SignOptions = from_js(options, "options")?;
    let (credentials, _) = convert::credentials_from_js(&credentials)?;
    let payload = match &request.payload_hash {
        Some(hex) => PayloadHash::from_hex(hex)?,
        None => PayloadHash::of_bytes(&body_bytes(&request.body)?.to_vec()),
    };
    let url = Url::parse(&request.url, "url")?;
    let signable = SignableRequest::new(request.method.as_deref().unwrap_or("GET"), url, &request.headers, payload)?;
    let date_ms = time_ms(&options.date, "date")?.unwrap_or_else(js_sys::Date::now);
    let nonce = options.nonce.unwrap_or_else(host::random_nonce);
    let action =
        options.action.as_deref().ok_or_else(|| Error::invalid("action", "is required, e.g. \"InvokeFunction\""))?;
    let params = SigningParams {
        action,
        version: options.version.as_deref().unwrap_or(API_VERSION),
        date: AcsDate::from_unix_millis(date_ms)?,
        nonce: &nonce,
    };
    let signed = acs3::sign(&signable, &credentials, &params)?;
    let result = Object::new();
    let _ = Reflect::set(&result, &"method".into(), &JsValue::from_str(&signed.method));
    let _ = Reflect::set(&result, &"url".into(), &JsValue::from_str(&signed.url));
    let _ = Reflect::set(&result, &"headers".into(), &object_from_pairs(&signed.headers));
    Ok(result.into())
}
