// A page that invokes an Alibaba Cloud Function Compute 3.0 function straight from the browser.
//
// The browser never sees an AccessKey: it asks this app's own backend for short-lived STS
// credentials (GET /api/sts → { accessKeyId, accessKeySecret, securityToken, expiration }), and
// fc-invoke signs each request with them. Where to send requests comes from the backend too
// (GET /api/config → { accountId, region } or { endpoint }), never from the page's URL: a link
// naming another endpoint would send the user's STS token and input there.

import { FcClient, FcError } from "fc-invoke";

const $ = (id) => document.getElementById(id);

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}`);
  return res.json();
}

async function target() {
  const config = await getJson("/api/config");
  return config.endpoint ? { endpoint: config.endpoint } : { accountId: config.accountId, region: config.region };
}

// The provider is called on the first invocation and again shortly before `expiration`; the
// client caches what it returns and shares one refresh between concurrent calls.
let client;
try {
  client = new FcClient({ ...(await target()), credentials: () => getJson("/api/sts") });
} catch (e) {
  $("setup").textContent = `Could not start: ${e.message}`;
  throw e;
}

let runs = 0;

function show({ status = "", requestId = "", body = "", functionError = "", log = "", error = "", errorCode }) {
  $("status").textContent = status;
  $("request-id").textContent = requestId;
  $("response-body").textContent = body;
  $("function-error").textContent = functionError;
  $("log").textContent = log;
  $("error").textContent = error;
  if (errorCode) $("error").dataset.code = errorCode;
  else delete $("error").dataset.code;
  $("result").dataset.run = String(++runs);
  $("result").hidden = false;
}

$("invoke").addEventListener("submit", async (event) => {
  event.preventDefault();
  const send = $("send");
  send.disabled = true;
  try {
    const res = await client.invokeFunction($("function").value.trim(), {
      body: $("body").value,
      headers: { "content-type": "text/plain; charset=utf-8" },
      logType: $("tail").checked ? "Tail" : "None",
      timeoutMs: 30_000,
    });
    show({
      status: res.status,
      requestId: res.requestId,
      body: await res.text(),
      functionError: res.functionError ?? "",
      log: res.log ?? "",
    });
  } catch (e) {
    // Every failure is an FcError: the service's own code (FunctionNotFound, SignatureNotMatch, …)
    // with its HTTP status and request id, or a client code (CredentialsError, NetworkError, …).
    if (!(e instanceof FcError)) throw e;
    show({ status: e.status ?? "", requestId: e.requestId ?? "", error: `${e.code}: ${e.message}`, errorCode: e.code });
  } finally {
    send.disabled = false;
  }
});

$("send").disabled = false;
$("setup").textContent = `Ready: ${JSON.stringify(client)}`;
