// Deno: examples/deno/invoke.ts in a fresh consumer project with the packed tarball installed
// (package.json + node_modules, as `npm install fc-invoke` leaves them), run by the real Deno
// binary against the local FC server on 127.0.0.1, which verifies every signature. Deno must
// resolve "fc-invoke" through the `deno` export condition and load the .wasm from its file URL.
//
// FC_INVOKE_TEST_TARBALL=/path/to/other.tgz (read by the harness) installs another tarball, to
// check that a broken package makes this test fail.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeConsumer, removeConsumer, run, bin, root } from "./harness.mjs";
import { startFcServer, DEMO_CREDENTIALS, mintStsCredentials } from "../server/fc-server.mjs";

let server;
let consumer;
let denoDir;
let sts;


before(async () => {
  server = await startFcServer({ host: "127.0.0.1" });
  sts = mintStsCredentials(server);
  consumer = makeConsumer("deno", { copy: { "invoke.ts": join(root, "examples", "deno", "invoke.ts") } });
  denoDir = mkdtempSync(join(tmpdir(), "fc-invoke-deno-dir-"));
});

after(async () => {
  await server?.close();
  removeConsumer(consumer);
  if (denoDir) rmSync(denoDir, { recursive: true, force: true });
});

beforeEach(() => {
  server.reset();
  server.setFaults(null);
});

// Every FC_* variable is set, so nothing leaks in from the caller's environment ("" = unset for
// invoke.ts). Deno caches in its own temp DENO_DIR, does not check for updates, and any attempt to
// reach the npm registry would go to a closed local port: the run must need no network.
function deno(args, fcEnv = {}) {
  return run(bin("deno"), args, {
    cwd: consumer,
    timeoutMs: 30_000,
    env: {
      DENO_DIR: denoDir,
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
      FC_ENDPOINT: server.url,
      FC_ACCOUNT_ID: "",
      FC_REGION: "",
      FC_ACCESS_KEY_ID: DEMO_CREDENTIALS.accessKeyId,
      FC_ACCESS_KEY_SECRET: DEMO_CREDENTIALS.accessKeySecret,
      FC_SECURITY_TOKEN: "",
      FC_FUNCTION: "",
      FC_QUALIFIER: "",
      FC_TIMEOUT_MS: "",
      ...fcEnv,
    },
  });
}

/** Waits (event loop turns, not a time assertion) until `done()` holds; a hang guard only. */
async function until(done, what) {
  for (let i = 0; i < 3000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(done(), `still waiting: ${what}`);
}

const PERMISSIONS = ["--allow-net=127.0.0.1", "--allow-read", "--allow-env"];
const invoke = (body, fcEnv, permissions = PERMISSIONS) => deno(["run", ...permissions, "invoke.ts", body], fcEnv);

function parseOutput({ code, stdout, stderr }) {
  assert.equal(code, 0, `invoke.ts exited with ${code}\n${stdout}\n${stderr}`);
  assert.equal(stderr, "", "nothing on stderr (no warning from loading the .wasm)");
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, stdout);
  return JSON.parse(lines[0]);
}

function parseError({ code, stdout, stderr }) {
  assert.equal(code, 1, `invoke.ts exited with ${code}\n${stdout}\n${stderr}`);
  assert.equal(stdout, "");
  return JSON.parse(stderr.trim().split("\n").at(-1)).error;
}

test("Deno resolves fc-invoke to the web entry (deno condition) and its types", async () => {
  const { code, stdout, stderr } = await deno(["info", "--json", "invoke.ts"]);
  assert.equal(code, 0, stderr);
  const graph = JSON.parse(stdout);
  const dep = graph.modules.find((m) => m.specifier.endsWith("/invoke.ts")).dependencies.find((d) => d.specifier === "fc-invoke");
  // `browser` and `default` name the same file; the broken-condition check (see the report of
  // this test) showed that Deno really takes `deno`.
  assert.ok(dep.code?.specifier, `Deno could not resolve fc-invoke: ${JSON.stringify(dep.code ?? dep)}`);
  assert.match(dep.code.specifier, /^file:\/\/.*\/node_modules\/fc-invoke\/js\/web\.js$/);
  assert.match(dep.type.specifier, /^file:\/\/.*\/node_modules\/fc-invoke\/js\/index\.d\.ts$/);
  assert.ok(dep.code.specifier.startsWith(`file://${consumer}/`), "from the consumer's node_modules");
});

test("deno check: invoke.ts type-checks against the package's index.d.ts", async () => {
  const { code, stdout, stderr } = await deno(["check", "invoke.ts"]);
  assert.equal(code, 0, `${stdout}\n${stderr}`);
});

test("invokes echo and prints {status, requestId, body}", async () => {
  const body = "hello from Deno, 函数 ✓";
  const out = parseOutput(await invoke(body));
  assert.equal(out.status, 200);
  assert.equal(out.body, body);
  assert.match(out.requestId, /\S/);

  // The server verified the signature before it ran the function.
  assert.equal(server.invocations.length, 1);
  const [call] = server.invocations;
  assert.equal(call.functionName, "echo");
  assert.equal(call.requestId, out.requestId);
  assert.equal(call.accessKeyId, DEMO_CREDENTIALS.accessKeyId);
  assert.equal(call.bodyLength, Buffer.byteLength(body));
  assert.equal(call.headers["x-acs-security-token"], undefined);
  assert.equal(server.rejections.length, 0);
});

test("FC_FUNCTION and FC_QUALIFIER pick the function and its version", async () => {
  const out = parseOutput(await invoke("abc", { FC_FUNCTION: "json", FC_QUALIFIER: "prod" }));
  const info = JSON.parse(out.body);
  assert.equal(info.functionName, "json");
  assert.equal(info.qualifier, "prod");
  assert.equal(info.sha256, createHash("sha256").update("abc").digest("hex"));
  assert.equal(server.invocations.length, 1);
  assert.equal(server.invocations[0].requestId, out.requestId);
});

test("STS credentials: the token is sent and verified", async () => {
  const out = parseOutput(await invoke("with a token", {
    FC_ACCESS_KEY_ID: sts.accessKeyId,
    FC_ACCESS_KEY_SECRET: sts.accessKeySecret,
    FC_SECURITY_TOKEN: sts.securityToken,
  }));
  assert.equal(out.status, 200);
  assert.equal(out.body, "with a token");
  assert.equal(server.invocations.length, 1);
  const [call] = server.invocations;
  assert.equal(call.accessKeyId, sts.accessKeyId);
  assert.equal(call.headers["x-acs-security-token"], sts.securityToken);
  assert.equal(call.requestId, out.requestId);
});

test("an attempt past FC_TIMEOUT_MS exits 1 with Timeout: the timer and abort wiring run in Deno", async () => {
  // Event order, not elapsed time: the function sleeps for 20 s unless its caller hangs up. Deno
  // must give up on the 200 ms attempt and exit while the function is still running, and its
  // hanging up must be what ends the function (outcome "aborted", never "ok").
  const error = parseError(await invoke("20000", { FC_FUNCTION: "slow", FC_TIMEOUT_MS: "200" }));
  assert.equal(error.code, "Timeout");
  assert.equal(server.invocations.length, 1, "one attempt, not resent");
  const [call] = server.invocations;
  assert.notEqual(call.outcome, "ok", "the function had not answered when Deno gave up");
  await until(() => call.outcome !== null, "the server saw the invocation end");
  assert.equal(call.outcome, "aborted", "the function was stopped by the client hanging up");
});

test("a body of 64 KB and more is hashed by Web Crypto in Deno; the server checks the hex digest", async () => {
  // From 64 KB on, the web entry hashes with crypto.subtle.digest and turns the digest into hex
  // itself. This body's SHA-256 has bytes below 0x10, so a digit lost in the hex (no padding)
  // sends a wrong x-acs-content-sha256 and the server rejects the request.
  const body = "0123456789abcdef".repeat(70_000 / 16);
  const digest = createHash("sha256").update(body).digest();
  assert.ok(digest.some((b) => b < 0x10), "the digest has a byte below 0x10");
  const out = parseOutput(await invoke(body, { FC_FUNCTION: "json" }));
  assert.equal(out.status, 200);
  const info = JSON.parse(out.body);
  assert.equal(info.length, body.length);
  assert.equal(info.sha256, digest.toString("hex"));
  assert.equal(server.rejections.length, 0);
  assert.equal(server.invocations.length, 1);
  assert.equal(server.invocations[0].headers["x-acs-content-sha256"], digest.toString("hex"));
});

test("a throttled first attempt is retried after a backoff wait, in Deno", async () => {
  let faults = 1;
  server.setFaults(() => (faults-- > 0 ? { kind: "status", status: 503, code: "ResourceThrottled" } : null));
  const out = parseOutput(await invoke("after a wait"));
  assert.equal(out.status, 200);
  assert.equal(out.body, "after a wait");
  assert.equal(server.rejections.length + server.invocations.length, 2, "two attempts");
  assert.equal(server.invocations.length, 1, "ran once");
});

test("a refused connection is retried in Deno, as nothing was sent", async () => {
  const closed = await startFcServer({ host: "127.0.0.1" });
  const closedUrl = closed.url;
  await closed.close();
  const script = `
    import { FcClient } from "fc-invoke";
    let calls = 0;
    const client = new FcClient({
      endpoint: Deno.env.get("FC_ENDPOINT"),
      credentials: { accessKeyId: "id", accessKeySecret: "secret" },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      fetch: (url, init) => (calls++, fetch(url, init)),
    });
    try {
      await client.invokeFunction("echo");
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, calls }));
    }`;
  const file = join(consumer, "refused.mjs");
  writeFileSync(file, script);
  const { code, stdout, stderr } = await deno(["run", ...PERMISSIONS, "refused.mjs"], { FC_ENDPOINT: closedUrl });
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { code: "NetworkError", calls: 3 });
});

test("a redirect is not followed in Deno: a NetworkError, and the signed request goes nowhere else", async () => {
  server.setFaults(() => ({ kind: "redirect" }));
  const error = parseError(await invoke("once"));
  assert.equal(error.code, "NetworkError");
  assert.match(error.message, /answered with a redirect \(307 to \/2023-03-30\/functions\/echo\/invocations/);
  assert.equal(server.faultCounts.redirect, 1, "one request");
  assert.equal(server.rejections.length + server.invocations.length, 0, "not resent, not run");
});

test("a missing function exits 1 with a FunctionNotFound error", async () => {
  const error = parseError(await invoke("x", { FC_FUNCTION: "no-such-function" }));
  assert.equal(error.code, "FunctionNotFound");
  assert.equal(error.status, 404);
  assert.match(error.requestId, /\S/);
  assert.equal(server.invocations.length, 0);
});

test("a wrong secret is rejected by the server as SignatureNotMatch", async () => {
  const error = parseError(await invoke("x", { FC_ACCESS_KEY_SECRET: "not-the-secret" }));
  assert.equal(error.code, "SignatureNotMatch");
  assert.equal(error.status, 403);
  assert.ok(!JSON.stringify(error).includes("not-the-secret"), "the secret is not in the error");
  assert.equal(server.invocations.length, 0);
});

test("the .wasm is read from the package's files: without --allow-read it cannot load", async () => {
  const error = parseError(await invoke("x", {}, ["--allow-net=127.0.0.1", "--allow-env"]));
  assert.equal(error.code, "InitError");
  assert.match(error.message, /read access to .*node_modules\/fc-invoke\/dist\/wasm\/fc_invoke_bg\.wasm/);
  assert.equal(server.invocations.length, 0);
});
