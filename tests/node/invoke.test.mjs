// The built package, imported by its name (through package.json "exports"), invoking through
// Node's real fetch against the local FC-compatible server, which verifies every signature.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { FcClient, FcError, invokeFunction, signRequest } from "fc-invoke";
import { startFcServer, DEMO_CREDENTIALS, DEMO_STS_CREDENTIALS, mintStsCredentials } from "../server/fc-server.mjs";

const require = createRequire(import.meta.url);

/** Runs `script` (an ES module) in a fresh Node process with `flags`; resolves to what it printed, parsed as JSON. */
const runChild = async (script, flags = []) => {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [...flags, "--input-type=module", "-e", script], (error, stdout, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve(JSON.parse(stdout)))),
  );
};

let server;
let client;

before(async () => {
  server = await startFcServer();
  client = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS });
});
after(() => server.close());
beforeEach(() => server.reset());

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * Registers a function that runs until the test releases it, so that "rejected before the
 * function answered" is an order of events, not a measured time. `started` resolves when the
 * server runs it; `finished` turns true once it has returned.
 */
function heldFunction(name) {
  let release, markStarted;
  const gate = new Promise((r) => (release = r));
  const held = { started: new Promise((r) => (markStarted = r)), finished: false, release };
  server.setFunction(name, async () => {
    markStarted();
    await gate;
    held.finished = true;
    return "late answer";
  });
  return held;
}

test("invokes a function synchronously and returns its answer", async () => {
  const res = await client.invokeFunction("echo", { body: "hello, 函数" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "hello, 函数");
  assert.ok(res.body instanceof Uint8Array);
  assert.match(res.requestId, /\S/);
  assert.equal(res.requestId, res.headers.get("x-fc-request-id"));
  assert.equal(res.functionError, undefined);
  assert.equal(server.invocations.length, 1);
  assert.equal(server.invocations[0].invocationType, "Sync");
});

test("bodies: empty, text, every byte value, JSON object, ArrayBuffer, Blob, 6 MB", async () => {
  const every = Uint8Array.from({ length: 256 * 4 }, (_, i) => i % 256);
  const big = new Uint8Array(6 * 1024 * 1024).map((_, i) => (i * 31) % 256);
  const cases = [
    [undefined, new Uint8Array(0)],
    ["", new Uint8Array(0)],
    ["text ✓", new TextEncoder().encode("text ✓")],
    [every, every],
    [every.buffer, every],
    [new DataView(every.buffer, 10, 20), every.subarray(10, 30)],
    [new Blob([every]), every],
    [{ a: 1, b: ["x"] }, new TextEncoder().encode('{"a":1,"b":["x"]}')],
    [big, big],
  ];
  for (const [body, expected] of cases) {
    const res = await client.invokeFunction("json", { body });
    const info = await res.json();
    assert.equal(info.length, expected.length, `length of ${body?.constructor?.name}`);
    assert.equal(info.sha256, sha256(expected), `bytes of ${body?.constructor?.name}`);
  }
  const echoed = await client.invokeFunction("echo", { body: every });
  assert.deepEqual(echoed.body, every);
});

test("the log tail decodes as Node's Buffer does, and a value that is not base64 comes as sent", async () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from("log é ✓\n")]);
  const cases = [
    Buffer.from("FC Invoke Start\nhello é").toString("base64"),
    Buffer.from([0x68, 0xff, 0x69, 0xc3]).toString("base64"), // invalid UTF-8: replaced
    ` ${bom.toString("base64")}\n`, // a BOM is kept; surrounding whitespace ignored
    "not base64!",
  ];
  for (const logResult of cases) {
    const answering = async () => new Response("ok", { headers: { "x-fc-log-result": logResult } });
    const res = await new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: answering }).invokeFunction("f", { logType: "Tail" });
    const expected = /^[\sA-Za-z0-9+/=]+$/.test(logResult) ? Buffer.from(logResult, "base64").toString("utf8") : logResult;
    assert.equal(res.log, expected, JSON.stringify(logResult));
  }
});

test("a JSON body gets content-type application/json unless one is given", async () => {
  const res = await client.invokeFunction("echo", { body: { x: 1 } });
  assert.equal(res.headers.get("x-echo-content-type"), "application/json");
  const raw = await client.invokeFunction("echo", { body: "x" });
  assert.equal(raw.headers.get("x-echo-content-type"), "application/octet-stream");
  const own = await client.invokeFunction("echo", { body: { x: 1 }, headers: { "Content-Type": "text/plain" } });
  assert.equal(own.headers.get("x-echo-content-type"), "text/plain");
  // A Blob carries its own type; a content-type header given with it wins.
  const csv = await client.invokeFunction("echo", { body: new Blob(["a,b\n"], { type: "text/csv" }) });
  assert.equal(csv.headers.get("x-echo-content-type"), "text/csv");
  assert.equal(await csv.text(), "a,b\n");
  const csvOwn = await client.invokeFunction("echo", { body: new Blob(["a"], { type: "text/csv" }), headers: { "content-type": "text/plain" } });
  assert.equal(csvOwn.headers.get("x-echo-content-type"), "text/plain");
});

test("options: qualifier, log tail, extra headers (Headers, pairs, object)", async () => {
  const res = await client.invokeFunction("json", { qualifier: "prod", logType: "Tail", body: "abc" });
  const info = await res.json();
  assert.equal(info.qualifier, "prod");
  assert.equal(res.headers.get("x-fc-invocation-code-version"), "2");
  assert.match(res.log, /FC Invoke Start RequestId: /);
  const logged = await client.invokeFunction("log", { logType: "Tail", body: "first line\nsecond ✓" });
  assert.match(logged.log, /first line\nsecond ✓/);
  const none = await client.invokeFunction("log", { body: "x" });
  assert.equal(none.log, undefined);
  for (const headers of [new Headers({ "x-custom": "1" }), [["x-custom", "1"]], { "x-custom": 1 }]) {
    await client.invokeFunction("echo", { headers });
    assert.equal(server.invocations.at(-1).headers["x-custom"], "1");
  }
});

test("a function made under FC 2.0 is named service$function, as FC 3.0 names it; other uses of $ are refused", async () => {
  server.setFunction("my-service$my-func", async (event) => `legacy ${event}`);
  const res = await client.invokeFunction("my-service$my-func", { body: "call" });
  assert.equal(await res.text(), "legacy call");
  assert.equal(server.invocations.at(-1).functionName, "my-service$my-func");
  for (const bad of ["$f", "s$", "s$f$g", "1s$f", "s$-f"]) {
    await assert.rejects(client.invokeFunction(bad), (e) => e instanceof FcError && e.code === "InvalidArgument" && e.argument === "functionName", bad);
  }
});

test("Async invocations, with and without a task id", async () => {
  const withId = await client.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "video_01-a", body: "x" });
  assert.equal(withId.status, 202);
  assert.equal(withId.asyncTaskId, "video_01-a");
  assert.equal(withId.body.length, 0);
  const withoutId = await client.invokeFunction("echo", { invocationType: "Async", body: "y" });
  assert.equal(withoutId.status, 202);
  assert.match(withoutId.asyncTaskId, /\S/);
  assert.deepEqual(server.invocations.map((i) => i.invocationType), ["Async", "Async"]);
  assert.equal(server.invocations[0].asyncTaskId, "video_01-a");
});

test("a failing function is a function error, not a service error", async () => {
  const res = await client.invokeFunction("fail");
  assert.equal(res.status, 200);
  assert.equal(res.functionError, "UnhandledInvocationError");
  assert.equal((await res.json()).errorMessage, "boom");
  // An empty x-fc-error-type (a proxy that sets every header it knows) is none.
  const emptyType = async () => new Response("ok", { headers: { "x-fc-error-type": "" } });
  const proxied = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: emptyType });
  const fine = await proxied.invokeFunction("echo");
  assert.equal(fine.headers.get("x-fc-error-type"), "");
  assert.equal(fine.functionError, undefined);
});

test("STS credentials and the one-shot invokeFunction, with and without its own fetch", async () => {
  const res = await invokeFunction({ endpoint: server.url, credentials: DEMO_STS_CREDENTIALS, functionName: "echo", body: "sts" });
  assert.equal(await res.text(), "sts");
  assert.equal(server.invocations.at(-1).headers["x-acs-security-token"], DEMO_STS_CREDENTIALS.securityToken);
  assert.equal(server.invocations.at(-1).accessKeyId, DEMO_STS_CREDENTIALS.accessKeyId);
  // The fetch option is the one used: a global fetch that throws shows it is not.
  const original = globalThis.fetch;
  const seen = [];
  const own = (url, init) => (seen.push(url), original(url, init));
  globalThis.fetch = () => Promise.reject(new Error("the global fetch must not be used"));
  try {
    const viaOwn = await invokeFunction({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: own, functionName: "echo", body: "own fetch" });
    assert.equal(await viaOwn.text(), "own fetch");
  } finally {
    globalThis.fetch = original;
  }
  assert.deepEqual(seen, [`${server.url}/2023-03-30/functions/echo/invocations`]);
  assert.equal(server.invocations.length, 2);
});

test("a credentials provider is cached until shortly before expiration, and concurrent calls share one refresh", async () => {
  let calls = 0;
  let expiresIn = 3_600_000;
  const provider = async () => {
    calls++;
    await new Promise((r) => setTimeout(r, 20));
    const creds = mintStsCredentials(server, { ttlMs: expiresIn });
    return creds;
  };
  const c = new FcClient({ endpoint: server.url, credentials: provider });
  await Promise.all(Array.from({ length: 10 }, () => c.invokeFunction("echo", { body: "p" })));
  assert.equal(calls, 1, "ten concurrent calls, one refresh");
  await c.invokeFunction("echo");
  assert.equal(calls, 1, "cached while fresh");

  // The documented margin is 60 s before expiration: 90 s ahead is outside it (kept), 45 s
  // ahead is inside it (replaced before each use).
  expiresIn = 90_000;
  const ninety = new FcClient({ endpoint: server.url, credentials: provider });
  calls = 0;
  await ninety.invokeFunction("echo");
  await ninety.invokeFunction("echo");
  assert.equal(calls, 1, "expiring in 90 s: cached across two calls");
  expiresIn = 45_000;
  const soon = new FcClient({ endpoint: server.url, credentials: provider });
  calls = 0;
  await soon.invokeFunction("echo");
  await soon.invokeFunction("echo");
  assert.equal(calls, 2, "expiring in 45 s: within the margin, fetched again for each call");

  // No expiration: asked every time.
  let plain = 0;
  const every = new FcClient({ endpoint: server.url, credentials: () => (plain++, DEMO_CREDENTIALS) });
  await every.invokeFunction("echo");
  await every.invokeFunction("echo");
  assert.equal(plain, 2);
});

test("a provider answer a call gave up on does not hold later calls: they ask again, and a late answer still counts", async () => {
  // The first two answers never come; the third does.
  let calls = 0;
  const provider = () => (++calls <= 2 ? new Promise(() => {}) : DEMO_CREDENTIALS);
  const c = new FcClient({ endpoint: server.url, credentials: provider });
  await assert.rejects(c.invokeFunction("echo", { timeoutMs: 50 }), { code: "Timeout" });
  const aborted = new AbortController();
  const gaveUp = c.invokeFunction("echo", { signal: aborted.signal });
  setTimeout(() => aborted.abort(), 50);
  await assert.rejects(gaveUp, { code: "Aborted" });
  assert.equal(calls, 2, "the aborted call asked again, and waited");
  assert.equal(await (await c.invokeFunction("echo", { body: "asked again" })).text(), "asked again");
  assert.equal(calls, 3);

  // A provider slower than a call's timeout: the late answer to the call that gave up serves the
  // next call, which asked again meanwhile; then it is cached (it expires in an hour). The
  // provider takes 1 s; the first call gives up at 0.5 s; the second, which starts then, is
  // served at 1 s by the first answer, 0.5 s before its own, and gives up at 1.25 s.
  let slowCalls = 0;
  const slow = new FcClient({
    endpoint: server.url,
    credentials: () => (slowCalls++, new Promise((r) => setTimeout(() => r(mintStsCredentials(server, { ttlMs: 3_600_000 })), 1000))),
  });
  await assert.rejects(slow.invokeFunction("echo", { timeoutMs: 500 }), { code: "Timeout" });
  assert.equal(await (await slow.invokeFunction("echo", { body: "late answer", timeoutMs: 750 })).text(), "late answer");
  await slow.invokeFunction("echo", { timeoutMs: 5000 });
  assert.equal(slowCalls, 2, "the first call's provider call, and the second's; the third used the cache");

  // However many calls gave up meanwhile: a 2 s provider, four calls giving up after 0.4 s each;
  // the fifth, from 1.6 s, is served at 2 s by the first answer, 1.2 s before its own.
  let slowerCalls = 0;
  const slower = new FcClient({
    endpoint: server.url,
    credentials: () => (slowerCalls++, new Promise((r) => setTimeout(() => r(mintStsCredentials(server, { ttlMs: 3_600_000 })), 2000))),
  });
  for (let i = 0; i < 4; i++) await assert.rejects(slower.invokeFunction("echo", { timeoutMs: 400 }), { code: "Timeout" });
  assert.equal(await (await slower.invokeFunction("echo", { body: "first answer", timeoutMs: 1000 })).text(), "first answer");
  assert.equal(slowerCalls, 5);
});

test("service errors become FcError with code, status and requestId", async () => {
  await assert.rejects(client.invokeFunction("no-such-function"), (e) => {
    assert.ok(e instanceof FcError);
    assert.equal(e.code, "FunctionNotFound");
    assert.equal(e.status, 404);
    assert.match(e.requestId, /\S/);
    return true;
  });
  const wrong = new FcClient({ endpoint: server.url, credentials: { ...DEMO_CREDENTIALS, accessKeySecret: "wrong-secret-value" } });
  await assert.rejects(wrong.invokeFunction("echo"), (e) => {
    assert.equal(e.code, "SignatureNotMatch");
    assert.equal(e.status, 403);
    assert.ok(!JSON.stringify(e).includes("wrong-secret-value") && !e.message.includes("wrong-secret-value"));
    return true;
  });
  const unknown = new FcClient({ endpoint: server.url, credentials: { accessKeyId: "LTAInobody", accessKeySecret: "x" } });
  await assert.rejects(unknown.invokeFunction("echo"), { code: "InvalidAccessKeyID", status: 403 });
});

test("a service error keeps FC's whole JSON answer as e.data (RAM's AccessDeniedDetail, say); other answers give none", async () => {
  const denied = {
    Code: "AccessDenied",
    Message: "the caller is not authorized to perform 'fc:InvokeFunction'",
    RequestId: "req-403",
    AccessDeniedDetail: { AuthAction: "fc:InvokeFunction", NoPermissionType: "ImplicitDeny", EncodedDiagnosticMessage: "AQEAAAAAZBgx" },
  };
  const answering = (status, body, type = "application/json") => async () => new Response(body, { status, headers: { "content-type": type, "x-fc-request-id": "req" } });
  const call = (fetch) => invokeFunction({ endpoint: server.url, credentials: DEMO_CREDENTIALS, functionName: "echo", fetch, retry: false });
  await assert.rejects(call(answering(403, JSON.stringify(denied))), (e) => {
    assert.equal(e.code, "AccessDenied");
    assert.deepEqual(e.data, denied);
    assert.deepEqual(JSON.parse(JSON.stringify(e)).data, denied);
    return true;
  });
  // FC's own error shape is kept as sent too.
  const fcShape = { errorCode: "FunctionNotFound", errorMessage: "no such function", extra: [1] };
  await assert.rejects(call(answering(404, JSON.stringify(fcShape))), (e) => e.code === "FunctionNotFound" && assert.deepEqual(e.data, fcShape) === undefined);
  for (const [body, type] of [["<html>bad gateway</html>", "text/html"], ['["not", "a document"]', "application/json"], ["", "application/json"]]) {
    await assert.rejects(call(answering(502, body, type)), (e) => e.code === "ServiceError" && e.data === undefined && !("data" in JSON.parse(JSON.stringify(e))), body);
  }
  // An error answer over 1 MiB is no error document: not parsed (its code is not read either).
  const huge = JSON.stringify({ Code: "InternalError", Message: "x".repeat(1 << 21) });
  await assert.rejects(call(answering(500, huge)), (e) => e.code === "ServiceError" && e.status === 500 && e.data === undefined);
  // Errors with no answer have none, nor do the client's own after a 2xx document (a task's
  // payload, the caller's event, must not reach logs through a Timeout's JSON).
  await assert.rejects(client.invokeFunction("1bad"), (e) => e.code === "InvalidArgument" && e.data === undefined);
  const running = async () => new Response(JSON.stringify({ taskId: "t1", status: "Running", taskPayload: "the caller's event" }), { status: 200 });
  const polling = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: running });
  await assert.rejects(polling.waitForAsyncTask("echo", "t1", { pollIntervalMs: 10, timeoutMs: 50 }), (e) => e.code === "Timeout" && e.data === undefined && !JSON.stringify(e).includes("event"));
  const noStatus = async () => new Response(JSON.stringify({ hello: "proxy page" }), { status: 200 });
  await assert.rejects(new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: noStatus }).waitForAsyncTask("echo", "t1"), (e) => e.code === "NetworkError" && e.data === undefined);
});

test("connection headers fetch sends are sent; signRequest, for any HTTP stack, signs with any", async () => {
  // Node's and Deno's fetch send `connection: close` or `keep-alive` (a proxy's Request carries
  // one); other connection headers are refused (see the next test).
  for (const connection of ["close", " Keep-Alive"]) {
    const res = await client.invokeFunction("echo", { headers: { Connection: connection }, body: "c" });
    assert.equal(await res.text(), "c");
  }
  // None is a signed header, and another HTTP stack may send what fetch does not.
  const expecting = await signRequest({ method: "POST", url: `${server.url}/x`, headers: { expect: "100-continue", connection: "upgrade" }, body: "x" }, DEMO_CREDENTIALS, { action: "A" });
  assert.equal(expecting.headers.expect, "100-continue");
  assert.doesNotMatch(expecting.headers.authorization, /expect|connection/);
});

test("credentials from a Proxy that answers only get (a lazy view of a secret store) are read", async () => {
  const view = (values) => new Proxy({}, { get: (_, name) => values[name] });
  const keys = view({ accessKeyId: DEMO_CREDENTIALS.accessKeyId, accessKeySecret: DEMO_CREDENTIALS.accessKeySecret });
  assert.equal((await new FcClient({ endpoint: server.url, credentials: keys }).invokeFunction("echo", { body: "static" })).status, 200);
  const res = await new FcClient({ endpoint: server.url, credentials: async () => keys }).invokeFunction("echo", { body: "provided" });
  assert.equal(await res.text(), "provided");
});

test("a value that throws while read is refused with what it threw: its message and cause kept", async () => {
  const circular = { name: "loop" };
  circular.self = circular;
  await assert.rejects(client.invokeFunction("echo", { body: circular }), (e) => e.code === "InvalidArgument" && e.argument === "body" && e.cause instanceof TypeError && e.message.includes(e.cause.message.split("\n")[0]));
  for (const said of ["env var 'FC_QUALIFIER' is not set", "Vault: permission denied (role: ci@prod)"]) {
    const options = { get qualifier() { throw new Error(said); } };
    await assert.rejects(client.invokeFunction("echo", options), (e) => e.code === "InvalidArgument" && e.message.endsWith(said) && e.cause?.message === said, said);
  }
});

test("options made from prototypes keep what those give: defaults under Object.create, a class's getters", async () => {
  const defaults = Object.assign(Object.create(null), { body: "from the defaults" });
  assert.equal(await (await client.invokeFunction("echo", Object.create(defaults))).text(), "from the defaults");
  class Call { get body() { return "from a getter"; } }
  assert.equal(await (await client.invokeFunction("echo", new Call())).text(), "from a getter");
  // The client's options too, and the one-shot's.
  class Config { get endpoint() { return server.url; } get credentials() { return DEMO_CREDENTIALS; } }
  assert.equal(await (await new FcClient(new Config()).invokeFunction("echo", { body: "a class" })).text(), "a class");
  const shared = Object.create({ endpoint: server.url, credentials: DEMO_CREDENTIALS });
  assert.equal(await (await new FcClient(shared).invokeFunction("echo", { body: "defaults" })).text(), "defaults");
  const oneShot = Object.assign(Object.create({ endpoint: server.url, credentials: DEMO_CREDENTIALS, functionName: "echo" }), { body: "one shot" });
  assert.equal(await (await invokeFunction(oneShot)).text(), "one shot");
  // A class's methods keep their object; a getter is read once.
  let endpointReads = 0;
  class Methods {
    #credentials = DEMO_CREDENTIALS;
    #sent = 0;
    get endpoint() { endpointReads++; return server.url; }
    credentials() { return this.#credentials; }
    fetch(url, init) { this.#sent++; return fetch(url, init); }
    get sent() { return this.#sent; }
  }
  const methods = new Methods();
  assert.equal(await (await new FcClient(methods).invokeFunction("echo", { body: "bound" })).text(), "bound");
  assert.deepEqual([methods.sent, endpointReads], [1, 1]);
  // A Proxy whose prototype cannot be read: its own fields, as before.
  const opaque = new Proxy({ endpoint: server.url, credentials: DEMO_CREDENTIALS }, { getPrototypeOf() { throw new Error("no prototype"); } });
  assert.equal(await (await new FcClient(opaque).invokeFunction("echo", new Proxy({ body: "opaque" }, { getPrototypeOf() { throw new Error("no"); } }))).text(), "opaque");
});

test("bad input is rejected before any request is sent", async () => {
  // Counts, and never touches the network: were validation to regress, the call fails here.
  let fetched = 0;
  const counting = async () => {
    fetched++;
    throw new Error("no request may be sent");
  };
  const c = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: counting });
  const bad = [
    ["bad/name", {}, "functionName"],
    [42, {}, "functionName"],
    ["f", { qualifier: "a b" }, "qualifier"],
    ["f", { invocationType: "async" }, "invocationType"],
    ["f", { logType: "tail" }, "logType"],
    ["f", { invocationType: "Async", asyncTaskId: "1-starts-with-digit" }, "asyncTaskId"],
    ["f", { asyncTaskId: "sync-call" }, "asyncTaskId"],
    ["f", { headers: { "bad header": "x" } }, "headers"],
    ["f", { headers: { "x-ok": "a\r\nb" } }, "headers"],
    ["f", { headers: { "x-acs-date": "2020-01-01T00:00:00Z" } }, "headers"],
    // More headers than any server takes: merging them in the wasm is quadratic (100,000 took 21 s).
    ["f", { headers: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`x-h${i}`, "v"])) }, "headers"],
    // The connection's own: Node's fetch threw on each, a NetworkError retried where safe.
    ["f", { headers: { Connection: "upgrade" } }, "headers"],
    ["f", { headers: [["keep-alive", "timeout=5"]] }, "headers"],
    ["f", { headers: { "transfer-encoding": "chunked" } }, "headers"],
    ["f", { headers: { upgrade: "websocket" } }, "headers"],
    ["f", { headers: new Headers({ expect: "100-continue" }) }, "headers"],
    ["f", { body: 12n }, "body"],
    ["f", { body: { big: 1n } }, "body"],
    ["f", { body: (() => { const o = {}; o.self = o; return o; })() }, "body"],
    ["f", { body: (() => { const b = new ArrayBuffer(8); structuredClone(b, { transfer: [b] }); return b; })() }, "body"],
    ["f", { body: (() => { const b = new ArrayBuffer(8); const v = new Uint8Array(b, 2); structuredClone(b, { transfer: [b] }); return v; })() }, "body"],
    ["f", { body: new Blob(["x"]), get headers() { throw new Error("headers getter"); } }, "options"],
    ["f", { headers: { entries() { throw new Error("entries failed"); } } }, "headers"],
    ["f", { timeoutMs: -1 }, "timeoutMs"],
    // 0 is neither "no limit" nor "time out at once": refused (it timed out at once, "after 1 ms").
    ["f", { timeoutMs: 0 }, "timeoutMs"],
    ["f", { timeoutMs: 0.5 }, "timeoutMs"],
    ["f", { deadlineMs: 0 }, "deadlineMs"],
    ["f", { signal: "nope" }, "signal"],
    ["f", { unknownOption: 1 }, "options"],
  ];
  for (const [name, options, argument] of bad) {
    await assert.rejects(c.invokeFunction(name, options), (e) => {
      assert.ok(e instanceof FcError, `${argument}: ${e}`);
      assert.equal(e.code, "InvalidArgument", `${argument}: ${e.message}`);
      assert.equal(e.argument, argument, e.message);
      return true;
    });
  }
  for (const config of [{ credentials: DEMO_CREDENTIALS }, { endpoint: "ftp://127.0.0.1:9", credentials: DEMO_CREDENTIALS }, { endpoint: "http://127.0.0.1:9/prefix", credentials: DEMO_CREDENTIALS }, { accountId: "1", region: "CN", credentials: DEMO_CREDENTIALS }]) {
    await assert.rejects(new FcClient({ ...config, fetch: counting }).invokeFunction("echo"), { code: "InvalidArgument" });
  }
  // Options the JS face reads: a typo is named, a wrong type is refused, each for its argument.
  const typo = new FcClient({ endpoint: server.url, credentals: DEMO_CREDENTIALS, fetch: counting });
  await assert.rejects(typo.invokeFunction("echo"), (e) => e.code === "InvalidArgument" && e.argument === "options" && /`credentals`/.test(e.message));
  for (const [options, argument, reason] of [
    [{ endpoint: 9 }, "options", /`endpoint` must be a string/],
    // A fetch given is named as the culprit: the runtime's global fetch is not missing.
    [{ fetch: 5 }, "fetch", /^invalid fetch: must be a function$/],
    [{ fetch: "https://fc.example" }, "fetch", /^invalid fetch: must be a function$/],
    [{ retry: "no" }, "retry", /must be an object/],
    [{ retry: { maxAttempts: "3" } }, "retry", /`maxAttempts` must be a number/],
    [{ retry: { maxAttempts: 2.5 } }, "retry", /`maxAttempts` must be a whole number from 1 to 20/],
    // Each limit's message gives the range that is accepted, at both ends.
    [{ retry: { maxAttempts: 0 } }, "retry", /`maxAttempts` must be a whole number from 1 to 20/],
    [{ retry: { maxAttempts: 21 } }, "retry", /`maxAttempts` must be a whole number from 1 to 20/],
    [{ retry: { baseDelayMs: -1 } }, "retry", /`baseDelayMs` must be a whole number from 0 to 600000/],
    // NaN is how the JS face tells the wasm "not given": a caller's NaN must not pass for that.
    [{ retry: { maxAttempts: NaN } }, "retry", /`maxAttempts` must be a number, not NaN/],
  ]) {
    const config = { endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: counting, ...options };
    await assert.rejects(new FcClient(config).invokeFunction("echo"), (e) => e.code === "InvalidArgument" && e.argument === argument && reason.test(e.message) || assert.fail(`${JSON.stringify(options)}: ${e.argument} ${e.message}`));
  }
  // Beyond what setTimeout can wait, a timer fires at once: refused, not an instant Timeout.
  for (const name of ["timeoutMs", "deadlineMs"]) {
    await assert.rejects(c.invokeFunction("echo", { [name]: 2 ** 31 }), { code: "InvalidArgument", argument: name });
  }
  // A line break in a header's name or value would add headers of the caller's choosing to the
  // signed request (an app forwarding a user's value): refused, nothing signed or sent.
  for (const headers of [{ "x-a": "v\nx-b" }, { "x-a\nx-fc-log-type": "Tail" }, [["x-a", "v\n"]], new Map([["x-a", "\nv"]])]) {
    await assert.rejects(c.invokeFunction("echo", { headers }), { code: "InvalidArgument", argument: "headers" });
    await assert.rejects(signRequest({ method: "POST", url: "https://h/x", headers }, DEMO_CREDENTIALS, { action: "A" }), { code: "InvalidArgument", argument: "headers" });
  }
  // A typo is named in options built on defaults (Object.create) or a class's instance too.
  const onDefaults = Object.assign(Object.create({ qualifier: "LATEST" }), { timeoutMS: 5 });
  await assert.rejects(c.invokeFunction("echo", onDefaults), (e) => e.code === "InvalidArgument" && /unknown option `timeoutMS`/.test(e.message) || assert.fail(e.message));
  await assert.rejects(c.invokeFunction("echo", { invocationtype: "Async" }), (e) => /unknown option `invocationtype`/.test(e.message) || assert.fail(e.message));
  for (const [options, reason] of [
    [{ qualifier: 5 }, /`qualifier` must be a string/],
    [{ idempotent: "yes" }, /`idempotent` must be true or false/],
    [{ timeoutMs: "5" }, /`timeoutMs` must be a number/],
    [{ timeoutMs: NaN }, /`timeoutMs` must be a number, not NaN/],
    [{ deadlineMs: NaN }, /`deadlineMs` must be a number, not NaN/],
  ]) {
    await assert.rejects(c.invokeFunction("echo", options), (e) => e.argument === "options" && reason.test(e.message) || assert.fail(e.message));
  }
  // FC's range in the message, for a fraction too (it said "from 0 to 1000000").
  for (const limit of [2.5, 0, 101]) {
    await assert.rejects(c.listAsyncTasks("echo", { limit }), { code: "InvalidArgument", argument: "limit", message: /from 1 to 100$/ });
  }
  // JSON.stringify gives undefined for this body: nothing to send, not an empty JSON body.
  await assert.rejects(c.invokeFunction("echo", { body: { toJSON: () => undefined } }), { code: "InvalidArgument", argument: "body", message: /no JSON form/ });
  // FcError's fields are optional, null included.
  assert.equal(new FcError("X", "m", null).code, "X");
  for (const credentials of [undefined, {}, { accessKeyId: "id" }, { accessKeyId: "", accessKeySecret: "s" }, { accessKeyId: "id", accessKeySecret: 5 }, async () => { throw new Error("backend down"); }, async () => null]) {
    await assert.rejects(new FcClient({ endpoint: server.url, credentials, fetch: counting }).invokeFunction("echo"), { code: "CredentialsError" });
  }
  for (const call of [
    () => invokeFunction(null),
    () => invokeFunction("echo"),
    () => c.request("GET /x"),
    () => signRequest("https://h/x", DEMO_CREDENTIALS),
    () => c.fetch("/relative/url"),
    () => c.fetch(`${server.url}/http/echo`, "not an init"),
  ]) {
    await assert.rejects(call(), (e) => e instanceof FcError && e.code === "InvalidArgument" || assert.fail(`${e?.code}: ${e}`));
  }
  assert.equal(fetched, 0);
  assert.equal(server.invocations.length + server.rejections.length, 0);
});

test("the body is taken when the call is made, as fetch takes it: changing the buffer later changes nothing", async () => {
  for (const size of [1000, 4096]) {
    const buffer = new Uint8Array(size).fill(65);
    const pending = client.invokeFunction("echo", { body: buffer });
    buffer.fill(66);
    const echoed = new Uint8Array((await pending).body);
    assert.equal(echoed.length, size);
    assert.ok(echoed.every((b) => b === 65), `${size} B: the bytes given at the call were sent`);
  }
  // A SharedArrayBuffer view, which fetch refuses, goes as a copy.
  const shared = new Uint8Array(new SharedArrayBuffer(3));
  shared.set([1, 2, 3]);
  assert.deepEqual([...(await client.invokeFunction("echo", { body: shared })).body], [1, 2, 3]);
  // A view its resizable buffer shrank below has no bytes to read: refused, as a detached one
  // is, not sent (nor signed) as an empty body. An empty view in bounds is an empty body.
  const resizable = new ArrayBuffer(8, { maxByteLength: 16 });
  const cut = new Uint8Array(resizable, 4, 4);
  resizable.resize(2);
  await assert.rejects(client.invokeFunction("echo", { body: cut }), { code: "InvalidArgument", argument: "body" });
  await assert.rejects(signRequest({ method: "POST", url: "https://h/x", body: cut }, DEMO_CREDENTIALS, { action: "A" }), { code: "InvalidArgument", argument: "body" });
  assert.equal((await client.invokeFunction("echo", { body: new Uint8Array(resizable, 0, 0) })).body.length, 0);
  // Checking that runs none of the caller's code: a subclass's constructor that refuses 0 stays unused.
  class Tagged extends Uint8Array {
    constructor(...args) {
      if (args[0] === 0) throw new Error("Tagged(0) not allowed");
      super(...args);
    }
  }
  assert.equal((await client.invokeFunction("echo", { body: new Tagged(new ArrayBuffer(0)) })).body.length, 0);
});

test("options that throw when read are rejected, and the client keeps working", async () => {
  // Getters and proxies run inside the wasm's reads: a throw there must become an FcError, not
  // unwind through the wasm and leave it unusable.
  const throwing = { get qualifier() { throw new Error("getter failed"); } };
  const trap = new Proxy({}, { ownKeys() { throw new Error("ownKeys failed"); } });
  const badCredentials = { accessKeyId: "id", get accessKeySecret() { throw new Error("secret getter failed"); } };
  for (let round = 0; round < 3; round++) {
    await assert.rejects(client.invokeFunction("echo", throwing), { code: "InvalidArgument", argument: "options" });
    await assert.rejects(client.invokeFunction("echo", trap), { code: "InvalidArgument", argument: "options" });
    await assert.rejects(signRequest({ url: server.url }, DEMO_CREDENTIALS, trap), { code: "InvalidArgument", argument: "options" });
    await assert.rejects(signRequest({ url: server.url }, badCredentials, { action: "A" }), { code: "CredentialsError" });
    await assert.rejects(new FcClient({ endpoint: server.url, credentials: badCredentials }).invokeFunction("echo"), { code: "CredentialsError" });
    const res = await client.invokeFunction("echo", { body: `still works ${round}` });
    assert.equal(await res.text(), `still works ${round}`);
  }
});

test("a body view that lies about its length, or throws when read, sends its real bytes and leaves the wasm sound; bodies of other realms are read", async () => {
  // Subclasses whose length answers 0 first (so the JS face leaves the hashing to the wasm), then
  // more than the buffer holds, or throws; and whose subarray hands over another array. The wasm
  // sized its copies by such a length and wrote past them, breaking every later call.
  const lying = (Base) =>
    class extends Base {
      static get [Symbol.species]() { return this; }
      constructor(...args) {
        super(...args);
        let reads = 0;
        Object.defineProperty(this, "length", { get: () => (reads++ === 0 ? 0 : 100_000) });
        Object.defineProperty(this, "byteLength", { get: () => (reads++ === 0 ? 0 : 100_000) });
        this.subarray = () => new Uint8Array(100_000).fill(66);
      }
    };
  class Throwing extends Uint8Array {
    static get [Symbol.species]() { return Throwing; }
    get length() { throw new Error("length getter"); }
    get byteLength() { throw new Error("byteLength getter"); }
  }
  const signed = (body) =>
    signRequest({ method: "POST", url: `${server.url}/x`, body }, DEMO_CREDENTIALS, { action: "InvokeFunction", date: 1_700_000_000_000, nonce: "n" });
  const plain = await signed(new Uint8Array([65, 65, 65]));
  assert.equal(plain.headers["x-acs-content-sha256"], sha256(Buffer.from("AAA")));
  for (const Body of [lying(Uint8Array), lying(Uint8ClampedArray), Throwing]) {
    const body = () => new Body(3).fill(65);
    assert.deepEqual(await signed(body()), plain, Body.name);
    const res = await client.invokeFunction("echo", { body: body() });
    assert.equal(await res.text(), "AAA", Body.name);
    // The same client, and a fresh signature, still work.
    assert.equal(await (await client.invokeFunction("echo", { body: "after" })).text(), "after");
    assert.deepEqual(await signed(new Uint8Array([65, 65, 65])), plain);
  }
  // A DataView and a typed array of another realm are read by their internal slots too.
  const { runInNewContext } = await import("node:vm");
  const foreign = runInNewContext("new Uint16Array([0x4141, 0x41])");
  assert.equal(await (await client.invokeFunction("echo", { body: new DataView(foreign.buffer, 0, 3) })).text(), "AAA");
  assert.equal(await (await client.invokeFunction("echo", { body: foreign })).text(), "AAA\0");
  // So are an ArrayBuffer and an object literal (sent as JSON) of another realm.
  assert.equal(await (await client.invokeFunction("echo", { body: foreign.buffer })).text(), "AAA\0");
  const literal = await client.invokeFunction("echo", { body: runInNewContext("({ a: [1, { b: null }] })") });
  assert.equal(await literal.text(), '{"a":[1,{"b":null}]}');
  assert.equal(literal.headers.get("x-echo-content-type"), "application/json");
  // What only claims to be one by its tag is what it is: an object literal is sent as JSON (its
  // `type` no header), a class instance or a Map is refused.
  const fakeBlob = { [Symbol.toStringTag]: "Blob", arrayBuffer: async () => new ArrayBuffer(9), type: "text/plain\nx-b\n2" };
  for (const body of [{ [Symbol.toStringTag]: "ArrayBuffer" }, fakeBlob]) {
    const sent = await client.invokeFunction("echo", { body });
    assert.equal(await sent.text(), JSON.stringify(body));
    assert.equal(sent.headers.get("x-echo-content-type"), "application/json");
  }
  class FakeFile { get [Symbol.toStringTag]() { return "File"; } arrayBuffer() { return Promise.resolve(new ArrayBuffer(1e6)); } }
  for (const body of [new FakeFile(), new Map([["a", 1]]), new (class Point { x = 1; })()]) {
    await assert.rejects(client.invokeFunction("echo", { body }), { code: "InvalidArgument", argument: "body" });
  }
  // A Proxy whose traps throw is the caller's bad body.
  const trap = new Proxy(new Uint8Array(3), { getPrototypeOf() { throw new Error("trap"); } });
  await assert.rejects(client.invokeFunction("echo", { body: trap }), { code: "InvalidArgument", argument: "body" });
});

test("timeoutMs and AbortSignal", async () => {
  const timedOut = heldFunction("held-timeout");
  const aborted = heldFunction("held-abort");
  // Only so that a package ignoring the timeout or abort fails below instead of hanging: the
  // functions then answer, and the calls resolve instead of rejecting.
  const safety = setTimeout(() => (timedOut.release(), aborted.release()), 10_000);
  try {
    await assert.rejects(client.invokeFunction("held-timeout", { timeoutMs: 100 }), { code: "Timeout" });
    assert.equal(timedOut.finished, false, "timed out while the function still ran");
    const controller = new AbortController();
    const call = client.invokeFunction("held-abort", { signal: controller.signal });
    await aborted.started; // the request is at the function: the abort cuts a pending call
    const reason = new Error("user cancelled");
    controller.abort(reason);
    // The caller's reason is the cause, as fetch rejects with it.
    await assert.rejects(call, (e) => e.code === "Aborted" && e.cause === reason);
    assert.equal(aborted.finished, false, "aborting rejects at once, not when the function answers");
  } finally {
    clearTimeout(safety);
    timedOut.release();
    aborted.release();
  }
  await assert.rejects(client.invokeFunction("echo", { signal: AbortSignal.abort("before") }), (e) => e.code === "Aborted" && e.cause === "before");
  const ok = await client.invokeFunction("slow", { body: "10", timeoutMs: 5000 });
  assert.equal(await ok.text(), "done");
});

test("a fake AbortSignal or a hostile provider promise is a typed error, and calls keep settling", async () => {
  // Both used to throw inside the wasm's async executor: an uncaught exception, a promise that
  // never settled, and later calls stalled.
  const fake = Object.create(AbortSignal.prototype);
  await assert.rejects(client.invokeFunction("echo", { signal: fake }), { code: "InvalidArgument", argument: "signal" });
  const hostile = () => {
    const p = Promise.resolve(DEMO_CREDENTIALS);
    p.then = () => {
      throw new Error("then override");
    };
    return p;
  };
  await assert.rejects(new FcClient({ endpoint: server.url, credentials: hostile }).invokeFunction("echo"), { code: "CredentialsError" });
  for (let i = 0; i < 3; i++) assert.equal(await (await client.invokeFunction("echo", { body: `after ${i}` })).text(), `after ${i}`);
});

test("timeoutMs and the signal also bound a credentials provider and a fetch that ignores its signal", async () => {
  const never = new Promise(() => {});
  const waiting = new FcClient({ endpoint: server.url, credentials: () => never });
  await assert.rejects(waiting.invokeFunction("echo", { timeoutMs: 100 }), { code: "Timeout" });
  await assert.rejects(waiting.invokeFunction("echo", { deadlineMs: 100 }), { code: "Timeout" });
  await assert.rejects(waiting.invokeFunction("echo", { signal: AbortSignal.timeout(100) }), { code: "Aborted" });
  // A wrapper that drops init.signal: the attempt still stops, and the function's late answer is
  // not reported as a success.
  const dropsSignal = (url, { signal, ...init }) => fetch(url, init);
  const wrapped = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: dropsSignal, retry: false });
  const held = heldFunction("held-ignored-signal");
  const safety = setTimeout(held.release, 10_000); // see "timeoutMs and AbortSignal"
  try {
    await assert.rejects(wrapped.invokeFunction("held-ignored-signal", { timeoutMs: 100 }), { code: "Timeout" });
    await assert.rejects(wrapped.invokeFunction("held-ignored-signal", { signal: AbortSignal.timeout(100) }), { code: "Aborted" });
    assert.equal(held.finished, false, "both settled before the function answered");
    assert.equal(server.invocations.length, 2, "both reached the function");
  } finally {
    clearTimeout(safety);
    held.release();
  }
  // A provider slower than the attempt's time leaves the rest of it for the request.
  const slowCredentials = new FcClient({
    endpoint: server.url,
    credentials: () => new Promise((resolve) => setTimeout(() => resolve(DEMO_CREDENTIALS), 50)),
  });
  assert.equal(await (await slowCredentials.invokeFunction("echo", { body: "x", timeoutMs: 5000 })).text(), "x");
});

test("a timeout or an abort cancels the request itself, and also bounds reading an answer's body", async () => {
  // The attempt's signal reaches fetch, so the request is cancelled, not left open to the server.
  const seen = [];
  const hanging = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, retry: false, fetch: (url, init) => (seen.push(init.signal), new Promise(() => {})) });
  await assert.rejects(hanging.invokeFunction("echo", { timeoutMs: 50 }), { code: "Timeout" });
  await assert.rejects(hanging.invokeFunction("echo", { signal: AbortSignal.timeout(50) }), { code: "Aborted" });
  assert.equal(seen.length, 2);
  assert.ok(seen.every((signal) => signal instanceof AbortSignal && signal.aborted), "each request's own signal aborted");
  // A body that never ends, from a fetch whose Response ignores the signal: still bounded.
  const stalled = () => new Response(new ReadableStream({ pull: () => new Promise(() => {}) }));
  const slowBody = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, retry: false, fetch: async () => stalled() });
  await assert.rejects(slowBody.invokeFunction("echo", { timeoutMs: 50 }), { code: "Timeout" });
  await assert.rejects(slowBody.invokeFunction("echo", { signal: AbortSignal.timeout(50) }), { code: "Aborted" });
});

test("an abort that comes while a retryable answer is read ends the call before its backoff wait", { timeout: 20_000 }, async () => {
  // The answer's headers abort the caller's signal as they are read: the next step is the wait
  // Retry-After asks for (a minute), which an already aborted signal can no longer end; without the
  // check before it, this test times out.
  const controller = new AbortController();
  let calls = 0;
  const body = new TextEncoder().encode(JSON.stringify({ Code: "ResourceThrottled", Message: "busy" }));
  const aborting = async () => {
    calls++;
    const fields = [["content-type", "application/json"], ["retry-after", "60"]];
    const headers = {
      get: (name) => fields.find(([k]) => k === name)?.[1] ?? null,
      *[Symbol.iterator]() {
        controller.abort(new Error("the user left"));
        yield* fields;
      },
    };
    return { status: 503, type: "basic", ok: false, headers, arrayBuffer: async () => body.buffer };
  };
  const c = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: aborting });
  await assert.rejects(c.invokeFunction("echo", { signal: controller.signal }), (e) => e.code === "Aborted" && e.cause?.message === "the user left");
  assert.equal(calls, 1);
});

test("a failed load of the wasm is tried again by the next call", async () => {
  const script = `
    const Real = WebAssembly.Instance;
    let fail = true;
    WebAssembly.Instance = function (...args) {
      if (fail) { fail = false; throw new RangeError("out of memory"); }
      return new Real(...args);
    };
    const { FcClient } = await import("fc-invoke");
    const c = new FcClient({ endpoint: "http://127.0.0.1:9", credentials: { accessKeyId: "id", accessKeySecret: "s" }, fetch: async () => new Response("ok") });
    const first = await c.invokeFunction("f").then(() => "sent", (e) => e.code);
    const second = await (await c.invokeFunction("f")).text();
    console.log(JSON.stringify([first, second]));
  `;
  const out = await runChild(script);
  assert.deepEqual(out, ["InitError", "ok"]);
});

test("a custom fetch's response is read by its shape; a network-error Response is a NetworkError", async () => {
  // What the undici package, node-fetch or another realm return: a Response, but not this realm's.
  const foreign = async (url, init) => {
    const real = await fetch(url, init);
    const body = await real.arrayBuffer();
    return { status: real.status, type: "basic", headers: real.headers, arrayBuffer: async () => body };
  };
  const res = await new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: foreign }).invokeFunction("echo", { body: "shape" });
  assert.equal(await res.text(), "shape");
  assert.equal(server.invocations.length, 1);
  const failing = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: async () => Response.error(), retry: false });
  await assert.rejects(failing.invokeFunction("echo"), { code: "NetworkError" });
  const notAResponse = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: async () => ({ ok: true }), retry: false });
  await assert.rejects(notAResponse.invokeFunction("echo"), { code: "NetworkError", message: /did not return a Response/ });
  // A status no HTTP answer has (the wasm reads 16 bits: 65736 read as 200), and an error
  // answer whose headers cannot be read, are failed answers too, not our internal errors.
  const answering = (status, headers) => async () => ({ status, type: "basic", headers, arrayBuffer: async () => new ArrayBuffer(0) });
  const throwingHeaders = { [Symbol.iterator]() { throw new Error("iterator"); }, get: () => null };
  const noGet = { [Symbol.iterator]: () => [][Symbol.iterator]() };
  for (const [status, headers] of [[65736, new Headers()], [-1, new Headers()], [200.5, new Headers()], [500, throwingHeaders], [200, noGet]]) {
    const odd = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: answering(status, headers), retry: false });
    await assert.rejects(odd.invokeFunction("echo"), { code: "NetworkError" }, String(status));
  }
  // A status getter that answers 500, then what the wasm would read as 200: the status checked is the one used.
  let reads = 0;
  const shifting = async () => ({ get status() { return ++reads <= 2 ? 500 : 65736; }, type: "basic", headers: new Headers(), arrayBuffer: async () => new ArrayBuffer(0) });
  const odd = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: shifting, retry: false });
  await assert.rejects(odd.invokeFunction("echo"), { code: "ServiceError", status: 500 });
});

test("a custom fetch's answer that throws while read was maybe sent: a Sync invocation is not sent again, and the error is a NetworkError with its cause", async () => {
  let calls = 0;
  const thrown = new Error("status getter threw");
  const answering = (make) => async () => (calls++, make());
  const base = { type: "basic", headers: new Headers(), arrayBuffer: async () => new ArrayBuffer(0) };
  const cases = [
    ["status", () => ({ ...base, get status() { throw thrown; } })],
    ["type", () => ({ ...base, status: 200, get type() { throw thrown; } })],
    ["headers.get of a 2xx", () => ({ ...base, status: 200, headers: { get() { throw thrown; }, [Symbol.iterator]: () => [][Symbol.iterator]() } })],
  ];
  for (const [what, make] of cases) {
    calls = 0;
    const client = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: answering(make) });
    await assert.rejects(client.invokeFunction("echo"), (e) => e instanceof FcError && e.code === "NetworkError" && e.cause === thrown && e.status === undefined, what);
    assert.equal(calls, 1, `${what}: sent once, not retried as if never sent`);
  }
  // Header values that are not strings come as strings.
  const log = Buffer.from("log line").toString("base64");
  const odd = { ...base, status: 200, headers: { get: (name) => (name === "x-fc-log-result" ? { toString: () => log } : null), [Symbol.iterator]: () => [][Symbol.iterator]() } };
  const res = await new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: async () => odd }).invokeFunction("echo", { logType: "Tail" });
  assert.equal(res.log, "log line");
});

test("an error answer's huge headers do not grow the wasm's memory: values over 64 KB are not handed over", async () => {
  const { diagnostics } = await import("fc-invoke");
  const answer = (big) => async () =>
    new Response(JSON.stringify({ Code: "InternalError", Message: "boom" }), {
      status: 500,
      headers: { "x-big": big, "x-fc-request-id": "req-big", "retry-after": "0" },
    });
  const call = (big) => new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: answer(big), retry: false }).invokeFunction("echo");
  await assert.rejects(call("x"), { code: "InternalError", requestId: "req-big" }); // the memory a call takes anyway
  const before = diagnostics().wasmMemoryBytes;
  await assert.rejects(call("x".repeat(16 << 20)), { code: "InternalError", status: 500, requestId: "req-big" });
  assert.ok(diagnostics().wasmMemoryBytes - before < 4 << 20, `grew by ${diagnostics().wasmMemoryBytes - before} bytes for a 16 MB header`);
});

test("an IPv6 endpoint or URL must be written as fetch sends it: the signature covers the host", async () => {
  // fetch sends [::1] for each of these; signing the form given made FC answer SignatureNotMatch.
  for (const host of ["[0:0:0:0:0:0:0:1]", "[::0001]", "[::ffff:127.0.0.1]"]) {
    await assert.rejects(signRequest({ url: `http://${host}:9/x` }, DEMO_CREDENTIALS, { action: "A" }), (e) => e.code === "InvalidArgument" && e.argument === "url" && e.message.includes(host) && /as fetch sends it, \[::(1|ffff:7f00:1)\]/.test(e.message));
    const c = new FcClient({ endpoint: `http://${host}:9`, credentials: DEMO_CREDENTIALS, fetch: () => assert.fail("sent") });
    await assert.rejects(c.invokeFunction("echo"), { code: "InvalidArgument", argument: "endpoint" });
  }
  // The forms fetch sends are signed as given (upper-case hex is lower-cased, as fetch does).
  assert.equal((await signRequest({ url: "http://[::1]:9/x" }, DEMO_CREDENTIALS, { action: "A" })).url, "http://[::1]:9/x");
  assert.equal((await signRequest({ url: "http://[2001:DB8::1]/" }, DEMO_CREDENTIALS, { action: "A" })).url, "http://[2001:db8::1]/");
  // Only the URL's own host is checked, not a URL inside its query.
  const nested = "http://example.com/x?next=http://[0:0:0:0:0:0:0:1]/";
  assert.match((await signRequest({ url: nested }, DEMO_CREDENTIALS, { action: "A" })).url, /^http:\/\/example\.com\/x\?next=http%3A%2F%2F%5B0%3A0/);
});

test("text too long for the wasm's memory, a fake Date and a body stream that fails are the caller's errors", async () => {
  // Each string is copied into wasm memory and again while signing: hundreds of megabytes ran
  // the wasm out of memory (a trap). More than 1 MiB of text in one argument is refused first.
  const long = "a".repeat(2 ** 20 + 1);
  const sign = (request, credentials = DEMO_CREDENTIALS, options = { action: "A" }) => signRequest({ url: `${server.url}/`, ...request }, credentials, options);
  await assert.rejects(sign({ url: `${server.url}/${long}` }), { code: "InvalidArgument", argument: "url" });
  await assert.rejects(sign({ headers: { "x-a": long } }), { code: "InvalidArgument", argument: "headers" });
  await assert.rejects(sign({}, { ...DEMO_CREDENTIALS, securityToken: long }), { code: "CredentialsError" });
  await assert.rejects(client.invokeFunction("echo", { qualifier: long }), { code: "InvalidArgument", argument: "qualifier" });
  await assert.rejects(client.getAsyncTask(long, "t"), { code: "InvalidArgument", argument: "functionName" });
  await assert.rejects(client.fetch(`${server.url}/${long}`), { code: "InvalidArgument", argument: "input" });
  await assert.rejects(sign({ body: new Blob(["x"], { type: `text/${long}` }) }), { code: "InvalidArgument", argument: "body" });
  // Headers just under the bound, which a string body's default content type takes over it.
  await assert.rejects(sign({ method: "POST", body: "x", headers: { "x-a": "a".repeat(2 ** 20 - 30) } }), { code: "InvalidArgument", argument: "headers" });
  // A body is bytes, not text the wasm holds: a long string body goes.
  assert.equal((await (await client.invokeFunction("echo", { body: long + long })).body).length, 2 * long.length);
  // Just under the bound still goes through the wasm (and is refused by its own rules).
  await assert.rejects(client.getAsyncTask("a".repeat(2 ** 20), "t"), (e) => e.code === "InvalidArgument" && /at most 64/.test(e.message));
  // An object that passes instanceof Date but is none.
  await assert.rejects(sign({}, DEMO_CREDENTIALS, { action: "A", date: Object.create(Date.prototype) }), { code: "InvalidArgument", argument: "date" });
  const failing = new ReadableStream({ pull: (c) => c.error(new Error("stream failed")) });
  await assert.rejects(client.fetch(`${server.url}/`, { method: "POST", body: failing, duplex: "half" }), { code: "InvalidArgument", argument: "body" });
  assert.equal(await (await client.invokeFunction("echo", { body: "still fine" })).text(), "still fine");
});

test("without a fetch option, the global fetch is looked up on every call", async () => {
  const fresh = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS });
  await fresh.invokeFunction("echo");
  const original = globalThis.fetch;
  const seen = [];
  globalThis.fetch = (url, init) => (seen.push(url), original(url, init));
  try {
    await fresh.invokeFunction("echo");
  } finally {
    globalThis.fetch = original;
  }
  assert.equal(seen.length, 1, "a fetch installed after the client's first call is used");
});

test("without a fetch option in a runtime with no global fetch, the error says so", async () => {
  const original = globalThis.fetch;
  globalThis.fetch = undefined;
  try {
    await assert.rejects(new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS }).invokeFunction("echo"), (e) => {
      assert.equal(e.code, "InvalidArgument");
      assert.equal(e.argument, "fetch");
      assert.equal(e.message, "invalid fetch: this runtime has no global fetch; pass one");
      return true;
    });
  } finally {
    globalThis.fetch = original;
  }
});

test("network failures are NetworkError", async () => {
  const closed = await startFcServer();
  const url = closed.url;
  await closed.close();
  await assert.rejects(new FcClient({ endpoint: url, credentials: DEMO_CREDENTIALS }).invokeFunction("echo"), { code: "NetworkError" });
});

test("signRequest output is accepted by the server and equals the official SDK's signature", async () => {
  const url = `${server.url}/2023-03-30/functions/echo/invocations?qualifier=1`;
  const body = new TextEncoder().encode("signed by hand");
  const signed = await signRequest(
    { method: "POST", url, headers: { "content-type": "application/octet-stream", "x-fc-invocation-type": "Sync" }, body },
    DEMO_CREDENTIALS,
    { action: "InvokeFunction", version: "2023-03-30" },
  );
  assert.equal(signed.method, "POST");
  assert.equal(signed.headers.host, undefined);
  assert.match(signed.headers.authorization, /^ACS3-HMAC-SHA256 Credential=/);
  const res = await fetch(signed.url, { method: signed.method, headers: signed.headers, body });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(await res.text(), "signed by hand");

  // The same inputs through @alicloud/openapi-core's own signer. The headers it signs are built
  // here from the test's fixed inputs, not copied from ours: a date, nonce, action, version,
  // token or hash we got wrong would be signed by the SDK as the test meant it, and differ.
  const Utils = require("@alicloud/openapi-core/dist/utils").default;
  const fixed = { action: "InvokeFunction", version: "2023-03-30", date: new Date("2024-05-06T07:08:09Z"), nonce: "fixed-nonce" };
  const mine = await signRequest({ method: "POST", url, headers: { "content-type": "application/octet-stream" }, body }, DEMO_STS_CREDENTIALS, fixed);
  const expected = {
    "content-type": "application/octet-stream",
    "x-acs-action": "InvokeFunction",
    "x-acs-version": "2023-03-30",
    "x-acs-date": "2024-05-06T07:08:09Z",
    "x-acs-signature-nonce": "fixed-nonce",
    "x-acs-content-sha256": sha256(body),
    "x-acs-security-token": DEMO_STS_CREDENTIALS.securityToken,
    "x-acs-accesskey-id": DEMO_STS_CREDENTIALS.accessKeyId,
  };
  const theirs = Utils.getAuthorization(
    {
      method: "POST",
      pathname: "/2023-03-30/functions/echo/invocations",
      query: { qualifier: "1" },
      headers: { ...expected, host: new URL(server.url).host },
    },
    "ACS3-HMAC-SHA256",
    sha256(body),
    DEMO_STS_CREDENTIALS.accessKeyId,
    DEMO_STS_CREDENTIALS.accessKeySecret,
  );
  assert.match(theirs, /^ACS3-HMAC-SHA256 Credential=STS\.DemoStsKeyId0000,SignedHeaders=content-type;host;x-acs-accesskey-id;x-acs-action;/);
  assert.deepEqual(mine.headers, { ...expected, authorization: theirs });
  assert.equal(mine.url, url);
});

test("signRequest of a string body signs the content type fetch sends with it; a host fetch cannot send is refused", async () => {
  const url = `${server.url}/2023-03-30/functions/echo/invocations`;
  const signed = await signRequest({ method: "POST", url, body: "a string" }, DEMO_CREDENTIALS, { action: "InvokeFunction" });
  assert.equal(signed.headers["content-type"], "text/plain;charset=UTF-8");
  assert.match(signed.headers.authorization, /SignedHeaders=content-type;host;/);
  // Sent as the README shows: fetch adds its content type, which the server finds signed.
  const res = await fetch(signed.url, { method: signed.method, headers: signed.headers, body: "a string" });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(await res.text(), "a string");
  // A content type given is kept, and a byte body gets none (fetch adds none).
  const typed = await signRequest({ method: "POST", url, body: "{}", headers: { "Content-Type": "application/json" } }, DEMO_CREDENTIALS, { action: "A" });
  assert.equal(typed.headers["content-type"], "application/json");
  const bytes = await signRequest({ method: "POST", url, body: new Uint8Array(1) }, DEMO_CREDENTIALS, { action: "A" });
  assert.equal(bytes.headers["content-type"], undefined);
  assert.deepEqual(new Uint8Array(bytes.body), new Uint8Array(1));

  // signed.body is what was signed, to send: a plain object's JSON, which fetch would send as
  // "[object Object]" if given the object.
  const order = { hello: "world", n: [1, 2] };
  const json = await signRequest({ method: "POST", url, body: order }, DEMO_CREDENTIALS, { action: "InvokeFunction" });
  assert.equal(json.headers["content-type"], "application/json");
  assert.equal(new TextDecoder().decode(json.body), JSON.stringify(order));
  const sent = await fetch(json.url, { method: json.method, headers: json.headers, body: json.body });
  assert.equal(sent.status, 200, await sent.clone().text());
  assert.deepEqual(await sent.json(), order);
  assert.equal(new TextDecoder().decode((await signRequest({ method: "POST", url, body: "é" }, DEMO_CREDENTIALS, { action: "A" })).body), "é");
  // The bytes of a view, whatever its buffer: a part of one, or a shared one (which fetch refuses), copied.
  const whole = new Uint8Array([1, 2, 3]);
  assert.equal((await signRequest({ method: "POST", url, body: whole }, DEMO_CREDENTIALS, { action: "A" })).body, whole.buffer);
  const shared = new Uint8Array(new SharedArrayBuffer(4)).fill(7);
  for (const view of [whole.subarray(1), shared, new DataView(whole.buffer, 2)]) {
    const out = (await signRequest({ method: "POST", url, body: view }, DEMO_CREDENTIALS, { action: "A" })).body;
    assert.equal(Object.prototype.toString.call(out), "[object ArrayBuffer]");
    assert.deepEqual(new Uint8Array(out), new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }
  for (const none of [undefined, "", new Uint8Array(0)]) {
    assert.equal((await signRequest({ method: "POST", url, body: none }, DEMO_CREDENTIALS, { action: "A" })).body, null);
  }
  assert.equal((await signRequest({ method: "POST", url, payloadHash: "0".repeat(64) }, DEMO_CREDENTIALS, { action: "A" })).body, null);

  // An xn-- label that is not punycode: fetch refuses the URL. It was signed, then every
  // attempt failed as a NetworkError; a valid one (中国 as xn--fiqs8s) is signed as given.
  await assert.rejects(signRequest({ url: "http://xn--zz.example:1/x" }, DEMO_CREDENTIALS, { action: "A" }), (e) => e.code === "InvalidArgument" && e.argument === "url" && /xn--zz\.example/.test(e.message));
  const bad = new FcClient({ endpoint: "http://a.XN--ZZ:1", credentials: DEMO_CREDENTIALS, fetch: () => assert.fail("sent") });
  await assert.rejects(bad.invokeFunction("echo"), { code: "InvalidArgument", argument: "endpoint" });
  assert.equal((await signRequest({ url: "http://xn--fiqs8s.example/x" }, DEMO_CREDENTIALS, { action: "A" })).url, "http://xn--fiqs8s.example/x");
  // Wrong elsewhere than in its host, the URL gets the wasm's message, not the punycode one.
  await assert.rejects(signRequest({ url: "http://xn--fiqs8s.example:99999/x" }, DEMO_CREDENTIALS, { action: "A" }), (e) => e.code === "InvalidArgument" && !/punycode/.test(e.message));
});

test("a trap (the wasm out of memory) leaves no client broken: its running calls are InternalErrors, the next call works, close() does not throw", async () => {
  // In a child whose wasm memory may grow to 6.25 MiB only (a V8 flag), so that six calls with
  // 1 MB headers exhaust it, as thousands of such calls exhaust the 4 GiB a wasm may have.
  const script = `
    const { FcClient } = await import("fc-invoke");
    let sent = 0;
    const client = new FcClient({ endpoint: "http://127.0.0.1:9", credentials: { accessKeyId: "a", accessKeySecret: "b" }, fetch: async () => (sent++, new Response("ok")), retry: false });
    await client.invokeFunction("f");
    const big = { "x-big": "v".repeat(1000000) };
    const settled = await Promise.allSettled(Array.from({ length: 6 }, () => client.invokeFunction("f", { headers: big })));
    const codes = settled.map((r) => r.status === "fulfilled" ? "ok" : r.reason.constructor.name + " " + r.reason.code);
    const trapped = settled.some((r) => r.reason?.cause instanceof WebAssembly.RuntimeError);
    const later = (await client.invokeFunction("f")).status;
    let closed = "closed";
    try { client.close(); } catch (e) { closed = e.message; }
    console.log(JSON.stringify({ codes, trapped, later, closed }));
  `;
  const out = await runChild(script, ["--wasm-max-mem-pages=100"]);
  assert.ok(out.trapped, "the wasm trapped (else this test tests nothing)");
  for (const code of out.codes) assert.ok(code === "ok" || code === "FcError InternalError", `each running call is ok or an InternalError: ${out.codes}`);
  assert.equal(out.later, 200, "a later call of the same client works");
  assert.equal(out.closed, "closed");
});

test("without a FinalizationRegistry (older workerd), close() and the one-shot invokeFunction free a client's wasm memory", async () => {
  // In a fresh process whose FinalizationRegistry is gone before the package loads: nothing frees
  // a client's wasm side then, unless close() does (about 1.6 KB a client).
  const script = `
    void new Response(""); // Node's fetch loads first: it needs FinalizationRegistry itself
    delete globalThis.FinalizationRegistry;
    const { FcClient, invokeFunction, diagnostics } = await import("fc-invoke");
    let release;
    const held = new Promise((r) => (release = r));
    const opts = { endpoint: "http://127.0.0.1:9", credentials: { accessKeyId: "id", accessKeySecret: "secret" }, fetch: async () => new Response("ok") };
    const memory = () => diagnostics().wasmMemoryBytes;
    await new FcClient(opts).invokeFunction("f");
    const at = [memory()];
    for (let i = 0; i < 2000; i++) { const c = new FcClient(opts); await c.invokeFunction("f"); c.close(); }
    at.push(memory());
    for (let i = 0; i < 2000; i++) await invokeFunction({ ...opts, functionName: "f" });
    at.push(memory());
    for (let i = 0; i < 2000; i++) await new FcClient(opts).invokeFunction("f");
    at.push(memory());
    // close() during a call waits for it to end; a call after close() sets the client up again.
    const c = new FcClient({ ...opts, fetch: async () => (await held, new Response("late")) });
    const running = c.invokeFunction("f");
    c.close();
    release();
    const late = await (await running).text();
    c.close();
    const again = await (await c.invokeFunction("f")).text();
    c.close();
    // Closed during its call, each client is freed when the call ends.
    for (let i = 0; i < 2000; i++) {
      let end;
      const ended = new Promise((r) => (end = r));
      const one = new FcClient({ ...opts, fetch: async () => (await ended, new Response("ok")) });
      const call = one.invokeFunction("f");
      one.close();
      end();
      await call;
    }
    at.push(memory());
    // One long-lived client's calls each give back what they took (a call's slot in the wasm).
    const kept = new FcClient(opts);
    for (let i = 0; i < 3000; i++) await kept.invokeFunction("f");
    at.push(memory());
    console.log(JSON.stringify({ grew: at.slice(1).map((m, i) => m - at[i]), late, again }));
  `;
  const out = await runChild(script);
  const [closed, oneShot, leftToGc, closedDuringCall, oneClient] = out.grew;
  assert.equal(closed, 0, "2000 clients closed: no growth");
  assert.equal(closedDuringCall, 0, "2000 clients closed during their call: no growth");
  assert.equal(oneClient, 0, "3000 calls of one client: no growth");
  assert.equal(oneShot, 0, "2000 one-shot calls: no growth");
  assert.ok(leftToGc > 2000 * 1000, `the same 2000 clients, not closed, grew it (${leftToGc} bytes): the test sees the leak`);
  assert.deepEqual([out.late, out.again], ["late", "late"]);
});

test("non-ASCII option text crosses into the wasm intact, and so do the fields after it", async () => {
  // The wasm reads an object's fields from one string with UTF-16 lengths; a secret with accents,
  // astral characters and a lone surrogate must neither be mangled nor shift the token after it.
  const Utils = require("@alicloud/openapi-core/dist/utils").default;
  const url = `${server.url}/2023-03-30/functions/echo/invocations`;
  // A version other than the default (2023-03-30), so that an ignored version option shows.
  const fixed = { action: "InvokeFunction", version: "2021-04-06", date: 1714979289000, nonce: "fixed-nonce" };
  // The SDK signs headers built from these inputs (not ours), as in the test above.
  const expected = {
    // A string body's: fetch sends it with this content type (see the test before).
    "content-type": "text/plain;charset=UTF-8",
    "x-acs-action": "InvokeFunction",
    "x-acs-version": "2021-04-06",
    "x-acs-date": "2024-05-06T07:08:09Z", // 1714979289000 ms
    "x-acs-signature-nonce": "fixed-nonce",
    "x-acs-content-sha256": sha256(new TextEncoder().encode("x")),
    "x-acs-security-token": "token-after-the-secret",
    "x-acs-accesskey-id": "STS.id",
  };
  for (const accessKeySecret of ["sécret-😀-𐍈-end", "lone-\uD800-surrogate", "plain"]) {
    const credentials = { accessKeyId: "STS.id", accessKeySecret, securityToken: "token-after-the-secret" };
    const mine = await signRequest({ method: "POST", url, body: "x" }, credentials, fixed);
    const theirs = Utils.getAuthorization(
      { method: "POST", pathname: "/2023-03-30/functions/echo/invocations", query: {}, headers: { ...expected, host: new URL(server.url).host } },
      "ACS3-HMAC-SHA256",
      expected["x-acs-content-sha256"],
      "STS.id",
      accessKeySecret,
    );
    assert.deepEqual(mine.headers, { ...expected, authorization: theirs }, accessKeySecret);
  }
});

test("in a fresh process, bodies sign right before and after node:crypto has loaded, each by the path meant for it", async () => {
  // The Node entry loads node:crypto after the first turn. Until then, bodies hash in wasm, those
  // from 64 KB by Web Crypto (js/core.js, the path browsers, Deno and workerd always take for
  // them), and those from 1 MB wait for node:crypto. Once loaded, node:crypto's one-shot
  // crypto.hash takes every body; on a Node without it, createHash takes bodies from 2 KB on
  // (2047 and 2048 sit on either side). The native hashers are spied on in the child, so the
  // test knows which path hashed what, and every x-acs-content-sha256 must be right.
  const { execFileSync } = await import("node:child_process");
  const sizes = [0, 100, 1024, 2047, 2048, 65536, 300000, 2 << 20];
  const bodyOf = (n) => new Uint8Array(n).fill(n % 251);
  // Web Crypto's digest is turned into hex in js/core.js; only a digest with a byte below 0x10
  // shows whether each byte keeps its leading zero.
  assert.ok(createHash("sha256").update(bodyOf(65536)).digest().some((b) => b < 0x10), "fixture: the 64 KB body's digest has a byte < 0x10");
  const script = (withoutOneShot) => `
    import nodeCrypto from "node:crypto";
    import { syncBuiltinESMExports } from "node:module";
    const used = { nodeCrypto: [], webCrypto: [] };
    const createHash = nodeCrypto.createHash;
    nodeCrypto.createHash = function (...args) {
      const hash = createHash.apply(this, args);
      const update = hash.update;
      hash.update = function (data, ...rest) {
        used.nodeCrypto.push(data.length);
        return update.call(this, data, ...rest);
      };
      return hash;
    };
    const oneShot = nodeCrypto.hash;
    nodeCrypto.hash = ${withoutOneShot} ? undefined : function (algorithm, data, ...rest) {
      used.nodeCrypto.push(data.length);
      return oneShot.call(this, algorithm, data, ...rest);
    };
    syncBuiltinESMExports(); // import("node:crypto") in the package now sees the spies
    const subtle = globalThis.crypto.subtle;
    const digest = subtle.digest;
    subtle.digest = function (algorithm, data) {
      used.webCrypto.push(data.byteLength);
      return digest.call(this, algorithm, data);
    };
    const { signRequest } = await import("fc-invoke");
    const sizes = ${JSON.stringify(sizes)};
    const sign = (n) => signRequest({ method: "POST", url: "https://h/x", body: new Uint8Array(n).fill(n % 251) }, { accessKeyId: "id", accessKeySecret: "s" }, { action: "A" });
    const take = () => ({ nodeCrypto: used.nodeCrypto.splice(0).sort((a, b) => a - b), webCrypto: used.webCrypto.splice(0).sort((a, b) => a - b) });
    // Signed in the import's turn, before node:crypto has loaded; the 2 MB body waits for it, so
    // once these settle, it has.
    const first = await Promise.all(sizes.map(sign));
    const firstPaths = take();
    const later = await Promise.all(sizes.map(sign));
    const laterPaths = take();
    // A payloadHash the caller gives is signed as given, and the body is not hashed again.
    const given = "ab".repeat(32);
    const withHash = await signRequest({ method: "POST", url: "https://h/x", body: new Uint8Array(2048), payloadHash: given }, { accessKeyId: "id", accessKeySecret: "s" }, { action: "A" });
    const givenHash = { signed: withHash.headers["x-acs-content-sha256"] === given, paths: take() };
    console.log(JSON.stringify({ hashes: [...first, ...later].map((s) => s.headers["x-acs-content-sha256"]), firstPaths, laterPaths, givenHash }));
  `;
  const expected = sizes.map((n) => sha256(bodyOf(n)));
  for (const withoutOneShot of [false, true]) {
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script(withoutOneShot)], { encoding: "utf8" }));
    assert.deepEqual(out.hashes, [...expected, ...expected]);
    assert.deepEqual(out.firstPaths, { nodeCrypto: [2 << 20], webCrypto: [65536, 300000] }, "before node:crypto: Web Crypto from 64 KB, 2 MB waits for node:crypto");
    const native = withoutOneShot ? [2048, 65536, 300000, 2 << 20] : sizes.filter((n) => n > 0);
    assert.deepEqual(out.laterPaths, { nodeCrypto: native, webCrypto: [] }, withoutOneShot ? "after: createHash from 2 KB" : "after: crypto.hash for every body");
    assert.deepEqual(out.givenHash, { signed: true, paths: { nodeCrypto: [], webCrypto: [] } }, "a given payloadHash is not computed again");
  }
});

test("the Node entry reads its .wasm with or without process.getBuiltinModule, and its import loads no streams or crypto", async () => {
  // getBuiltinModule arrived in Node 20.16; before it, the entry falls back to import("node:fs").
  // Either way, the import itself loads neither fs's ESM exports nor Web Crypto, each of which
  // pulls in Node's streams and costs start-up time (bench/results.md, section 3).
  const { execFileSync } = await import("node:child_process");
  const script = (withoutGetBuiltinModule) => `
    ${withoutGetBuiltinModule ? "delete process.getBuiltinModule;" : ""}
    const before = new Set(process.moduleLoadList);
    const { signRequest } = await import("fc-invoke");
    const loadedByImport = process.moduleLoadList.filter((m) => !before.has(m));
    const signed = await signRequest({ method: "POST", url: "https://h/x", body: "hi" }, { accessKeyId: "id", accessKeySecret: "s" }, { action: "A", date: 0, nonce: "n" });
    console.log(JSON.stringify({ hasGetBuiltinModule: typeof process.getBuiltinModule, loadedByImport, hash: signed.headers["x-acs-content-sha256"] }));
  `;
  for (const without of [false, true]) {
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script(without)], { encoding: "utf8" }));
    assert.equal(out.hasGetBuiltinModule, without ? "undefined" : "function");
    assert.equal(out.hash, sha256(new TextEncoder().encode("hi")));
    assert.deepEqual(out.loadedByImport.filter((m) => /streams|crypto/.test(m)), [], out.loadedByImport.join(", "));
  }
});

test("secrets never show in errors or in the client", async () => {
  const secret = "very-secret-value-123";
  const token = "very-secret-token-456";
  const c = new FcClient({ endpoint: server.url, credentials: { accessKeyId: "LTAIleak", accessKeySecret: secret, securityToken: token } });
  const shown = [JSON.stringify(c), String(c), (await import("node:util")).inspect(c, { showHidden: true, depth: 5 })];
  const settled = await Promise.allSettled([
    c.invokeFunction("echo"), // InvalidAccessKeyID from the server
    c.invokeFunction("bad/name"),
    new FcClient({ endpoint: server.url, credentials: { accessKeyId: "x y", accessKeySecret: secret, securityToken: token } }).invokeFunction("echo"),
    new FcClient({ endpoint: server.url, credentials: { accessKeyId: "LTAIleak", accessKeySecret: secret, securityToken: `${token}\n` } }).invokeFunction("echo"),
    signRequest({ url: "bad url" }, { accessKeyId: "LTAIleak", accessKeySecret: secret, securityToken: token }, { action: "A" }),
  ]);
  const errors = settled.map((r) => r.reason).filter(Boolean);
  assert.equal(errors.length, 5);
  for (const e of errors) shown.push(e.message, String(e), JSON.stringify(e), e.stack ?? "");
  for (const text of shown) {
    assert.ok(!text.includes(secret) && !text.includes(token), text);
  }
});
