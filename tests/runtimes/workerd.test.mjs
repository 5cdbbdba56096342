// Cloudflare Workers: examples/worker in a fresh consumer project with the packed tarball
// installed, bundled by wrangler exactly as `wrangler deploy` does (--dry-run --outdir), then run
// in real workerd through miniflare, invoking the local FC server (which verifies every signature)
// on 127.0.0.1. Wrangler must pick the `workerd` export condition and ship the .wasm as a
// pre-compiled module: Workers refuse to compile WebAssembly from bytes at run time.
//
// FC_INVOKE_TEST_TARBALL=/path/to/other.tgz (read by the harness) installs another tarball, to
// check that a broken package makes this test fail.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { makeConsumer, removeConsumer, run, bin, root } from "./harness.mjs";
import { startFcServer, DEMO_CREDENTIALS, mintStsCredentials } from "../server/fc-server.mjs";

const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([\d-]+)"/m.exec(readFileSync(join(root, "examples", "worker", "wrangler.toml"), "utf8"))[1];

let server;
let consumer;
let home;
let outdir;
let mf;
let sts;

const INVOKE_TOKEN = "test-invoke-token";
const OLD_DATE = "2021-11-03";

/** A worker that invokes "echo" with a Blob, a string and an object as body, each with an AbortSignal. */
const PROBE = `
import { FcClient } from "./node_modules/fc-invoke/js/workerd.js";
export default {
  async fetch(request, env) {
    const client = new FcClient({ endpoint: env.FC_ENDPOINT, credentials: { accessKeyId: env.FC_ACCESS_KEY_ID, accessKeySecret: env.FC_ACCESS_KEY_SECRET } });
    if (new URL(request.url).pathname === "/once") {
      return Response.json(await client.invokeFunction("echo", { body: "once", retry: false }).then(() => "sent", (e) => e.code + ": " + e.message));
    }
    const answers = [];
    for (const body of [new Blob(["blob"], { type: "text/x-blob" }), "text", { a: 1 }]) {
      const signal = new AbortController().signal;
      answers.push(await client.invokeFunction("echo", { body, signal, retry: false }).then((r) => new TextDecoder().decode(r.body), (e) => e.code + ": " + e.message));
    }
    const aborted = new AbortController();
    aborted.abort();
    answers.push(await client.invokeFunction("echo", { signal: aborted.signal }).then(() => "sent", (e) => e.code));
    return Response.json(answers);
  },
};
`;
const GUARD = { INVOKE_TOKEN, FC_FUNCTIONS: "echo, json,fail,slow,no-such-function" };

/** A request to the example worker (miniflare's entry worker or one by name), as an authorized caller sends it. */
const dispatch = (target, url, init = {}, authorization = `Bearer ${INVOKE_TOKEN}`) => {
  const authorized = { ...init, headers: { ...(authorization && { authorization }), ...init.headers } };
  // A worker by name is an RPC stub, which answers every property: ask by identity.
  return target === mf ? mf.dispatchFetch(url, authorized) : target.fetch(url, authorized);
};


before(async () => {
  server = await startFcServer({ host: "127.0.0.1" });
  sts = mintStsCredentials(server);
  consumer = makeConsumer("workerd", {
    copy: {
      src: join(root, "examples", "worker", "src"),
      "wrangler.toml": join(root, "examples", "worker", "wrangler.toml"),
    },
  });

  // Wrangler writes its config, logs and update-check cache under HOME / XDG dirs / TMPDIR: keep
  // them all in a temp dir. No banner means no update check, so nothing leaves the machine.
  home = mkdtempSync(join(tmpdir(), "fc-invoke-wrangler-home-"));
  const env = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_DATA_HOME: join(home, "data"),
    TMPDIR: join(home, "tmp"),
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CI: "1",
    NO_COLOR: "1",
  };
  mkdirSync(env.TMPDIR);
  outdir = join(consumer, "dist");
  const built = await run(bin("wrangler"), ["deploy", "--dry-run", "--outdir", outdir], { cwd: consumer, env, timeoutMs: 60_000 });
  assert.equal(built.code, 0, `wrangler deploy --dry-run failed:\n${built.stdout}\n${built.stderr}`);

  // The bundle as wrangler would upload it; .wasm imports become CompiledWasm modules, the rule
  // wrangler applies by default.
  const worker = (name, bindings, compatibilityDate = COMPATIBILITY_DATE) => ({
    name,
    modules: true,
    scriptPath: join(outdir, "index.js"),
    modulesRoot: outdir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate,
    bindings,
  });
  // The installed package's workerd entry, unbundled, in a worker of its own: what the example
  // does not pass (a Blob body, an AbortSignal).
  writeFileSync(join(consumer, "probe.mjs"), PROBE);
  const probe = (name, compatibilityDate, compatibilityFlags = []) => ({
    name,
    modules: true,
    scriptPath: join(consumer, "probe.mjs"),
    modulesRoot: consumer,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }, { type: "ESModule", include: ["**/*.js", "**/*.mjs"] }],
    compatibilityDate,
    compatibilityFlags,
    bindings: { FC_ENDPOINT: server.url, ...keys(DEMO_CREDENTIALS) },
  });
  // What the example requires of every deployment: a caller token and the functions it may call.
  const keys = (c) => ({ FC_ACCESS_KEY_ID: c.accessKeyId, FC_ACCESS_KEY_SECRET: c.accessKeySecret, ...GUARD });
  mf = new Miniflare({
    host: "127.0.0.1",
    // Without it, miniflare fetches https://workers.cloudflare.com/cf.json for `request.cf`; the
    // worker does not read it, and the tests talk to nothing but 127.0.0.1.
    cf: false,
    workers: [
      worker("static", { FC_ENDPOINT: server.url, ...keys(DEMO_CREDENTIALS) }),
      worker("sts", { FC_ENDPOINT: server.url, ...keys(sts), FC_SECURITY_TOKEN: sts.securityToken }),
      worker("wrong-secret", { FC_ENDPOINT: server.url, ...keys({ ...DEMO_CREDENTIALS, accessKeySecret: "not-the-secret" }) }),
      worker("short-timeout", { FC_ENDPOINT: server.url, ...keys(DEMO_CREDENTIALS), FC_TIMEOUT_MS: "200" }),
      worker("no-token", { FC_ENDPOINT: server.url, FC_ACCESS_KEY_ID: DEMO_CREDENTIALS.accessKeyId, FC_ACCESS_KEY_SECRET: DEMO_CREDENTIALS.accessKeySecret, FC_FUNCTIONS: "echo" }),
      // Before 2022-01-31, workerd puts Blob's and AbortSignal's properties on each object, not
      // on their prototypes, and its Blob has no toStringTag; before 2022-03-21 it has no
      // navigator (README: any compatibility date).
      worker("old-date", { FC_ENDPOINT: server.url, ...keys(DEMO_CREDENTIALS) }, OLD_DATE),
      probe("probe", COMPATIBILITY_DATE),
      probe("probe-old-date", OLD_DATE),
      // A process that calls itself "node", and no navigator: still workerd.
      probe("probe-node-like", COMPATIBILITY_DATE, ["nodejs_compat", "no_global_navigator"]),
    ],
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await server?.close();
  removeConsumer(consumer);
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Waits (event loop turns, not a time assertion) until `done()` holds; a hang guard only. */
async function until(done, what) {
  for (let i = 0; i < 3000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(done(), `still waiting: ${what}`);
}

beforeEach(() => {
  server.reset();
  server.setFaults(null);
});

test("wrangler bundles the workerd entry and imports the .wasm as a module", () => {
  const files = readdirSync(outdir);
  const wasmFiles = files.filter((f) => f.endsWith(".wasm"));
  assert.equal(wasmFiles.length, 1, `one .wasm module in ${files.join(", ")}`);
  const shipped = readFileSync(join(outdir, wasmFiles[0]));
  assert.deepEqual(shipped, readFileSync(join(consumer, "node_modules", "fc-invoke", "dist", "wasm", "fc_invoke_bg.wasm")));

  const bundle = readFileSync(join(outdir, "index.js"), "utf8");
  // esbuild names each inlined file: the workerd entry, not the browser/Deno or Node one.
  assert.match(bundle, /^\/\/ node_modules\/fc-invoke\/js\/workerd\.js$/m);
  assert.doesNotMatch(bundle, /node_modules\/fc-invoke\/js\/(web|node)\.js/);
  // The .wasm is an ES module import of the shipped file, handed to initSync …
  const wasmImport = new RegExp(`^import (\\w+) from "\\./${wasmFiles[0].replace(/\./g, "\\.")}";$`, "m").exec(bundle);
  assert.ok(wasmImport, "index.js imports the .wasm module");
  assert.match(bundle, new RegExp(`initSync\\(\\{ module: ${wasmImport[1]} \\}\\)`));
  // … and nothing fetches, embeds or compiles it from bytes.
  assert.doesNotMatch(bundle, /instantiateStreaming|WebAssembly\.compile|import\.meta\.url|fc_invoke_bg\.wasm"?\s*,\s*import/);
  assert.doesNotMatch(bundle, /data:application\/wasm|base64,AGFzbQ/);
});

test("invokes a function named by the path and returns its answer", async () => {
  const body = "hello from workerd, 函数 ✓";
  const res = await dispatch(mf, "http://worker.local/echo", { method: "POST", body, headers: { "content-type": "text/plain" } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(text, body);
  const requestId = res.headers.get("x-fc-request-id");
  assert.match(requestId, /\S/);

  // The server verified the signature before it ran the function.
  assert.equal(server.invocations.length, 1);
  const [call] = server.invocations;
  assert.equal(call.functionName, "echo");
  assert.equal(call.requestId, requestId);
  assert.equal(call.accessKeyId, DEMO_CREDENTIALS.accessKeyId);
  assert.equal(call.invocationType, "Sync");
  assert.equal(call.bodyLength, Buffer.byteLength(body));
  assert.equal(call.headers["content-type"], "text/plain");
  assert.equal(call.headers["x-acs-security-token"], undefined);
  assert.equal(server.rejections.length, 0);
});

test("invokes a function named by a query parameter, with a qualifier and a binary body", async () => {
  const bytes = Uint8Array.from({ length: 1024 }, (_, i) => i % 256);
  const res = await dispatch(mf, "http://worker.local/?function=json&qualifier=prod", { method: "POST", body: bytes });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  const info = await res.json();
  assert.equal(info.functionName, "json");
  assert.equal(info.qualifier, "prod");
  assert.equal(info.length, bytes.length);
  assert.equal(info.sha256, createHash("sha256").update(bytes).digest("hex"));
  assert.equal(server.invocations.length, 1);
  assert.equal(server.invocations[0].requestId, res.headers.get("x-fc-request-id"));
});

test("a function that throws comes back as 200 marked with x-fc-error-type", async () => {
  const res = await dispatch(mf, "http://worker.local/fail", { method: "POST" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-fc-error-type"), "UnhandledInvocationError");
  assert.match(await res.text(), /boom/);
});

test("STS credentials from bindings: the token is sent and verified", async () => {
  const worker = await mf.getWorker("sts");
  const res = await dispatch(worker, "http://worker.local/echo", { method: "POST", body: "with a token" });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(text, "with a token");
  assert.equal(server.invocations.length, 1);
  const [call] = server.invocations;
  assert.equal(call.accessKeyId, sts.accessKeyId);
  assert.equal(call.headers["x-acs-security-token"], sts.securityToken);
  assert.equal(call.requestId, res.headers.get("x-fc-request-id"));
});

test("a missing function is a JSON error with the service's code and status", async () => {
  const res = await dispatch(mf, "http://worker.local/no-such-function", { method: "POST", body: "x" });
  assert.equal(res.status, 404);
  const { error } = await res.json();
  assert.equal(error.code, "FunctionNotFound");
  assert.equal(error.status, 404);
  assert.match(error.requestId, /\S/);
  assert.equal(res.headers.get("x-fc-request-id"), error.requestId);
  assert.equal(server.invocations.length, 0);
});

test("a wrong secret is rejected by the server as SignatureNotMatch", async () => {
  const worker = await mf.getWorker("wrong-secret");
  const res = await dispatch(worker, "http://worker.local/echo", { method: "POST", body: "x" });
  assert.equal(res.status, 403);
  const { error } = await res.json();
  assert.equal(error.code, "SignatureNotMatch");
  assert.equal(error.status, 403);
  assert.ok(!JSON.stringify(error).includes("not-the-secret"), "the secret is not in the error");
  assert.equal(server.invocations.length, 0);
});

test("an attempt past FC_TIMEOUT_MS is a 504 Timeout, its timer and abort wiring run in workerd", async () => {
  // Event order, not elapsed time: the function sleeps for 20 s unless its caller hangs up. The
  // worker must answer 504 while the function is still running, and the abort of its fetch must
  // be what ends the function (outcome "aborted", never "ok").
  const worker = await mf.getWorker("short-timeout");
  const res = await dispatch(worker, "http://worker.local/slow", { method: "POST", body: "20000" });
  assert.equal(res.status, 504);
  assert.equal((await res.json()).error.code, "Timeout");
  assert.equal(server.invocations.length, 1, "one attempt, not resent");
  const [call] = server.invocations;
  assert.notEqual(call.outcome, "ok", "the function had not answered when the worker gave up");
  await until(() => call.outcome !== null, "the server saw the invocation end");
  assert.equal(call.outcome, "aborted", "the function was stopped by workerd aborting its fetch");
});

test("a body of 64 KB and more is hashed by Web Crypto in workerd; the server checks the hex digest", async () => {
  // From 64 KB on, the workerd entry hashes with crypto.subtle.digest and turns the digest into
  // hex itself. This body's SHA-256 has bytes below 0x10, so a digit lost in the hex (no padding)
  // sends a wrong x-acs-content-sha256 and the server rejects the request.
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
  const digest = createHash("sha256").update(bytes).digest();
  assert.ok(digest.some((b) => b < 0x10), "the digest has a byte below 0x10");
  const res = await dispatch(mf, "http://worker.local/json", { method: "POST", body: bytes });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const info = JSON.parse(text);
  assert.equal(info.length, bytes.length);
  assert.equal(info.sha256, digest.toString("hex"));
  assert.equal(server.rejections.length, 0);
  assert.equal(server.invocations.length, 1);
  assert.equal(server.invocations[0].headers["x-acs-content-sha256"], digest.toString("hex"));
});

test("a throttled first attempt is retried after a backoff wait, in workerd", async () => {
  let faults = 1;
  server.setFaults(() => (faults-- > 0 ? { kind: "status", status: 503, code: "ResourceThrottled" } : null));
  const res = await dispatch(mf, "http://worker.local/echo", { method: "POST", body: "after a wait" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "after a wait");
  assert.equal(server.rejections.length + server.invocations.length, 2, "two attempts");
  assert.equal(server.invocations.length, 1, "ran once");
});

test("a redirect is not followed in workerd (redirect: \"manual\"; workerd refuses \"error\")", async () => {
  server.setFaults(() => ({ kind: "redirect" }));
  const res = await dispatch(mf, "http://worker.local/echo", { method: "POST", body: "once" });
  assert.equal(res.status, 502);
  const { error } = await res.json();
  assert.equal(error.code, "NetworkError");
  assert.match(error.message, /answered with a redirect \(307 to \/2023-03-30\/functions\/echo\/invocations/);
  assert.equal(server.faultCounts.redirect, 1, "one request");
  assert.equal(server.rejections.length + server.invocations.length, 0, "not resent, not run");
});

test("any compatibility date: before 2022 too, a Blob body, a signal and a redirect are handled", async () => {
  for (const name of ["probe", "probe-old-date", "probe-node-like"]) {
    const answers = await (await dispatch(await mf.getWorker(name), "http://worker.local/")).json();
    assert.deepEqual(answers, ["blob", "text", '{"a":1}', "Aborted"], name);
    assert.equal(server.invocations.at(-1).headers["content-type"], "application/json", name);
    assert.equal(server.invocations.at(-3).headers["content-type"], "text/x-blob", name);
  }
  const old = await mf.getWorker("old-date");
  const res = await dispatch(old, "http://worker.local/echo", { method: "POST", body: "old date" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "old date");
  // It has no navigator, as Node 20 has none; still not Node: "manual", which workerd takes.
  server.setFaults(() => ({ kind: "redirect" }));
  const redirected = await dispatch(old, "http://worker.local/echo", { method: "POST", body: "once" });
  assert.equal(redirected.status, 502);
  assert.match((await redirected.json()).error.message, /answered with a redirect \(307 to /);
  for (const name of ["probe-old-date", "probe-node-like"]) {
    assert.match(await (await dispatch(await mf.getWorker(name), "http://worker.local/once")).json(), /^NetworkError: .*answered with a redirect \(307 to /, name);
  }
});

test("no function name is a 400 from the worker itself", async () => {
  const res = await dispatch(mf, "http://worker.local/", { method: "POST" });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, "MissingFunctionName");
  assert.equal(server.invocations.length, 0);
});

test("the example worker invokes nothing for a caller without its token, a function it does not list, or a deployment without INVOKE_TOKEN", async () => {
  for (const authorization of [null, "Bearer wrong-token", `Bearer ${INVOKE_TOKEN}x`, INVOKE_TOKEN]) {
    // No body: undici's fetch, under miniflare's dispatchFetch, fails a 401 to a request whose body it streamed.
    const res = await dispatch(mf, "http://worker.local/echo", { method: "POST" }, authorization);
    assert.equal(res.status, 401, String(authorization));
    assert.equal((await res.json()).error.code, "Unauthorized");
  }
  for (const url of ["http://worker.local/log", "http://worker.local/?function=log", "http://worker.local/echo%2C%20json", "http://worker.local/%E0%A4%A"]) {
    const res = await dispatch(mf, url, { method: "POST", body: "x" }).catch((e) => assert.fail(`${url}: ${e.cause?.message ?? e}`));
    assert.ok(res.status === 403 || res.status === 400, `${url}: ${res.status}`);
    assert.match((await res.json()).error.code, /^(FunctionNotAllowed|MissingFunctionName)$/);
  }
  const unconfigured = await dispatch(await mf.getWorker("no-token"), "http://worker.local/echo", { method: "POST", body: "x" }, "Bearer undefined");
  assert.equal(unconfigured.status, 500);
  assert.equal((await unconfigured.json()).error.code, "NotConfigured");
  assert.equal(server.invocations.length + server.rejections.length, 0, "nothing reached FC");
});
