// A Cloudflare Worker that invokes an Alibaba Cloud Function Compute 3.0 function:
//
//   POST /<functionName>[?qualifier=prod]          body → the function's event
//   POST /?function=<functionName>                 the same, with the name as a query parameter
//
// Callers must send `authorization: Bearer <INVOKE_TOKEN>` (else 401), and may invoke only the
// functions FC_FUNCTIONS lists (else 403): the Worker signs with the account's AccessKey, so
// without these checks anyone who finds its URL could run any function. Put your own
// authentication in their place if you have one (Cloudflare Access, a session).
//
// It answers with the function's own answer (status, body, content-type) plus `x-fc-request-id`.
// An FcError (unknown function, bad signature, network failure, …) becomes a JSON answer
// `{ "error": { code, message, status, requestId } }` with the service's status, or 400/502/504 (else 500).
//
// Bindings (wrangler.toml [vars] and `wrangler secret put`):
//   FC_ENDPOINT                         e.g. https://1234567890123456.cn-hangzhou.fc.aliyuncs.com
//   or FC_ACCOUNT_ID + FC_REGION        → https://{accountId}.{region}.fc.aliyuncs.com
//   FC_FUNCTIONS                        the functions callers may invoke, comma-separated
//   INVOKE_TOKEN (secret)               what callers send as `authorization: Bearer …`
//   FC_ACCESS_KEY_ID, FC_ACCESS_KEY_SECRET (secrets): a RAM user allowed only fc:InvokeFunction
//                                       on those functions
//   FC_SECURITY_TOKEN                   optional (secret): temporary STS credentials
//   FC_TIMEOUT_MS                       optional: give up on an attempt after this long (default
//                                       25000); a Timeout answers 504

import { FcClient, FcError } from "fc-invoke";

// The package instantiates its WebAssembly once per isolate, on the first call; a client is cheap,
// so one is made per distinct set of bindings (in practice: once per isolate).
const clients = new WeakMap();

function clientFor(env) {
  let client = clients.get(env);
  if (!client) {
    const credentials = { accessKeyId: env.FC_ACCESS_KEY_ID, accessKeySecret: env.FC_ACCESS_KEY_SECRET };
    if (env.FC_SECURITY_TOKEN) credentials.securityToken = env.FC_SECURITY_TOKEN;
    client = new FcClient(
      env.FC_ENDPOINT
        ? { endpoint: env.FC_ENDPOINT, credentials }
        : { accountId: env.FC_ACCOUNT_ID, region: env.FC_REGION, credentials },
    );
    clients.set(env, client);
  }
  return client;
}

function errorResponse(status, error) {
  return Response.json({ error }, { status, headers: error.requestId ? { "x-fc-request-id": error.requestId } : {} });
}

/** Whether the caller sent `Bearer <INVOKE_TOKEN>`, compared as digests so that the time taken says nothing of the token. */
async function authorized(request, env) {
  const digest = async (text) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  const [sent, expected] = await Promise.all([digest(request.headers.get("authorization") ?? ""), digest(`Bearer ${env.INVOKE_TOKEN}`)]);
  return sent.every((b, i) => b === expected[i]);
}

// Client-side failures have no service status: bad input is the caller's (400), an unreachable
// service is a bad gateway (502) or a gateway timeout (504), anything else ours (500).
const CLIENT_STATUS = { InvalidArgument: 400, NetworkError: 502, Timeout: 504 };

export default {
  async fetch(request, env) {
    if (!env.INVOKE_TOKEN) {
      return errorResponse(500, { code: "NotConfigured", message: "set the INVOKE_TOKEN secret (wrangler secret put INVOKE_TOKEN)" });
    }
    if (!(await authorized(request, env))) {
      return errorResponse(401, { code: "Unauthorized", message: "send authorization: Bearer <INVOKE_TOKEN>" });
    }
    const url = new URL(request.url);
    let functionName;
    try {
      functionName = url.searchParams.get("function") ?? decodeURIComponent(url.pathname.slice(1));
    } catch {
      functionName = ""; // a malformed %-escape names no function
    }
    if (!functionName) {
      return errorResponse(400, { code: "MissingFunctionName", message: "name the function: POST /<functionName> or ?function=<functionName>" });
    }
    const allowed = String(env.FC_FUNCTIONS ?? "").split(",").map((name) => name.trim());
    if (!allowed.includes(functionName)) {
      return errorResponse(403, { code: "FunctionNotAllowed", message: "this Worker does not invoke that function (see FC_FUNCTIONS)" });
    }
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const contentType = request.headers.get("content-type");
    try {
      const res = await clientFor(env).invokeFunction(functionName, {
        qualifier: url.searchParams.get("qualifier") ?? undefined,
        body: hasBody ? new Uint8Array(await request.arrayBuffer()) : undefined,
        headers: contentType ? { "content-type": contentType } : undefined,
        // Each attempt is bounded, so a stuck connection cannot hold the request open; throttling
        // (429/503) is retried after a backoff wait, within the client's default policy.
        timeoutMs: Number(env.FC_TIMEOUT_MS) || 25_000,
      });
      const headers = new Headers({ "x-fc-request-id": res.requestId ?? "" });
      const answerType = res.headers.get("content-type");
      if (answerType) headers.set("content-type", answerType);
      // A function that threw still answers 200; FC marks it, and so do we.
      if (res.functionError) headers.set("x-fc-error-type", res.functionError);
      return new Response(res.body, { status: res.status, headers });
    } catch (e) {
      if (!(e instanceof FcError)) throw e;
      const { code, message, status, requestId } = e;
      return errorResponse(status ?? CLIENT_STATUS[code] ?? 500, { code, message, status, requestId });
    }
  },
};
