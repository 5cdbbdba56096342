// The package in a real browser: the packed tarball, installed into a fresh consumer project, run
// by headless Chromium against the local FC server, which verifies every signature.
//
//   (a) examples/browser bundled by Vite (`vite build`), served from dist/;
//   (b) the same example without a bundler: an import map sends "fc-invoke" to the installed
//       package's `browser` export, resolved from its package.json as an import-map generator
//       would (so a wrong `exports` entry fails here too, not only under Vite).
//
// Both are cross-origin, as in production: the page and its backend (static files, /api/config,
// /api/sts minting STS credentials on the FC server) are on one 127.0.0.1 port, the FC server on
// another, so every invocation goes through a CORS preflight and the browser's own fetch.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { chromium } from "playwright-core";
import { bin, makeConsumer, removeConsumer, root, run } from "./harness.mjs";
import { mintStsCredentials, startFcServer } from "../server/fc-server.mjs";
import { CHROMIUM_FLAGS, findChromium } from "../../tools/chromium-flags.mjs";

const EXAMPLE = join(root, "examples", "browser");
const EXAMPLE_FILES = ["index.html", "main.js", "vite.config.js"];
// The flags both browser harnesses use (tools/chromium-flags.mjs: only 127.0.0.1 resolves).
const CHROMIUM = { executablePath: findChromium(), args: CHROMIUM_FLAGS };
// A generous bound for anything the page waits for; a healthy run needs a fraction of it.
const PAGE_TIMEOUT_MS = 15_000;

let fc;
let browser;
const preflights = []; // CORS preflights the FC server received: { origin, method, headers }
const cleanups = [];

before(async () => {
  fc = await startFcServer();
  cleanups.push(() => fc.close());
  // Only observes: the server answers OPTIONS itself (204 with the access-control-allow-* headers).
  fc.httpServer.on("request", (req) => {
    if (req.method !== "OPTIONS") return;
    preflights.push({
      origin: req.headers.origin,
      method: req.headers["access-control-request-method"],
      headers: (req.headers["access-control-request-headers"] ?? "").split(",").map((h) => h.trim().toLowerCase()),
    });
  });
  browser = await chromium.launch(CHROMIUM);
  cleanups.push(() => browser.close());
});

after(async () => {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (e) {
      console.error("cleanup failed:", e);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// The app's origin: static files plus the backend the example talks to
// ---------------------------------------------------------------------------------------------

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm", // instantiateStreaming insists on it
};

/** Serves `dir` and the example's backend on an ephemeral 127.0.0.1 port. */
async function startApp(dir) {
  const app = { stsCalls: 0, configCalls: 0, minted: new Map(), served: [] };
  const json = (res, value) => {
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(value));
  };
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://app");
      if (url.pathname === "/api/config") {
        app.configCalls++;
        return json(res, { endpoint: fc.url });
      }
      if (url.pathname === "/api/sts") {
        // A real backend authenticates the user and calls STS AssumeRole (examples/browser/README.md).
        app.stsCalls++;
        const ttlMs = Number(url.searchParams.get("ttlMs") ?? 3600_000);
        const cred = mintStsCredentials(fc, { ttlMs });
        app.minted.set(cred.accessKeyId, cred);
        return json(res, cred);
      }
      const path = resolve(dir, "." + decodeURIComponent(url.pathname === "/" ? "/index.html" : url.pathname));
      if (req.method === "GET" && path.startsWith(dir + sep) && (await stat(path).catch(() => null))?.isFile()) {
        const type = MIME[extname(path)] ?? "application/octet-stream";
        app.served.push({ path: url.pathname, type });
        res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
        return res.end(await readFile(path));
      }
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e));
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  app.url = `http://127.0.0.1:${server.address().port}`;
  cleanups.push(() => new Promise((ok) => (server.closeAllConnections(), server.close(ok))));
  return app;
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

/** Opens `url` in a fresh browser context and waits for the example to be ready. */
async function openPage(url) {
  const context = await browser.newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  const seen = { console: [], pageErrors: [], failedRequests: [] };
  // Until the example is ready, any error means it will not start: fail at once, not on a timeout.
  let broken;
  const startFailed = new Promise((_, reject) => (broken = reject));
  startFailed.catch(() => {});
  page.on("console", (m) => {
    seen.console.push({ type: m.type(), text: m.text(), url: m.location().url });
    if (m.type() === "error") broken(new Error(m.text()));
  });
  page.on("pageerror", (e) => {
    seen.pageErrors.push(String(e?.stack ?? e));
    broken(e);
  });
  page.on("requestfailed", (r) => {
    seen.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
    broken(new Error(r.url()));
  });
  try {
    await page.goto(url);
    await Promise.race([page.locator("#send:enabled").waitFor(), startFailed]);
  } catch (e) {
    throw new Error(`the example did not start: ${JSON.stringify(seen, null, 2)}`, { cause: e });
  }
  return { page, seen };
}

/** Fills the example's form, submits it and returns what the page rendered. */
async function invokeViaUi(page, { functionName, body, tail = false }) {
  const runs = Number(await page.locator("#result").getAttribute("data-run"));
  await page.fill("#function", functionName);
  await page.fill("#body", body);
  await page.setChecked("#tail", tail);
  await page.click("#send");
  await page.locator(`#result[data-run="${runs + 1}"]`).waitFor({ state: "attached" });
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent;
    return {
      status: text("status"),
      requestId: text("request-id"),
      body: text("response-body"),
      functionError: text("function-error"),
      log: text("log"),
      error: text("error"),
      errorCode: document.getElementById("error").dataset.code,
    };
  });
}

/** The checks both scenarios share: the example's UI, end to end, cross-origin, with STS. */
async function exerciseExample(page, app) {
  const preflightsBefore = preflights.length;

  // 1. echo: the typed body comes back, signed with the STS credentials the backend minted.
  const body = "hello from Chromium, 函数 ✓";
  const echoed = await invokeViaUi(page, { functionName: "echo", body });
  assert.equal(echoed.error, "", "no error rendered");
  assert.equal(echoed.status, "200");
  assert.equal(echoed.body, body);
  const invocation = fc.invocations.at(-1);
  assert.equal(invocation.functionName, "echo");
  assert.equal(invocation.outcome, "ok");
  assert.equal(echoed.requestId, invocation.requestId);
  assert.ok(invocation.accessKeyId.startsWith("STS."), `signed with ${invocation.accessKeyId}`);
  const minted = app.minted.get(invocation.accessKeyId);
  assert.ok(minted, "signed with credentials this app's /api/sts handed out");
  assert.equal(invocation.headers["x-acs-security-token"], minted.securityToken);
  assert.equal(invocation.headers.origin, app.url, "a cross-origin request from the page");
  assert.equal(app.stsCalls, 1);

  // 2. A missing function: an FcError with the service's code, status and request id.
  const missing = await invokeViaUi(page, { functionName: "no-such-function", body: "x" });
  assert.equal(missing.errorCode, "FunctionNotFound", `rendered: ${JSON.stringify(missing)}`);
  assert.match(missing.error, /^FunctionNotFound: .*no-such-function/);
  assert.equal(missing.status, "404");
  assert.equal(missing.requestId, fc.rejections.at(-1).requestId);
  assert.equal(fc.rejections.at(-1).code, "FunctionNotFound");

  // 3. The log tail, decoded from x-fc-log-result (readable cross-origin: the server exposes it).
  const logged = await invokeViaUi(page, { functionName: "log", body: "a log line ✓", tail: true });
  assert.equal(logged.error, "");
  assert.equal(logged.status, "200");
  assert.equal(logged.body, "ok");
  assert.match(logged.log, new RegExp(`FC Invoke Start RequestId: ${logged.requestId}\\na log line ✓\\nFC Invoke End`));

  // The provider's credentials are cached: one STS call for the three invocations.
  assert.equal(app.stsCalls, 1);
  // The browser asked the FC server first, for the signed headers.
  const asked = preflights.slice(preflightsBefore).filter((p) => p.origin === app.url);
  assert.ok(asked.length >= 1, "the browser sent a CORS preflight");
  for (const name of ["authorization", "x-acs-date", "x-acs-content-sha256", "x-acs-security-token"]) {
    assert.ok(asked[0].headers.includes(name), `the preflight asks for ${name}: ${asked[0].headers}`);
  }
  assert.equal(asked[0].method, "POST");
}

/** No page errors, failed requests or console errors beyond the 404 of the missing function. */
function assertCleanPage(seen) {
  assert.deepEqual(seen.pageErrors, [], "page errors");
  assert.deepEqual(seen.failedRequests, [], "failed requests");
  const expected404 = (m) => m.url.startsWith(`${fc.url}/2023-03-30/functions/no-such-function/`) && /status of 404/.test(m.text);
  const errors = seen.console.filter((m) => m.type === "error" && !expected404(m));
  assert.deepEqual(errors, [], "console errors");
  const warnings = seen.console.filter((m) => m.type === "warning");
  assert.deepEqual(warnings, [], "console warnings (e.g. a .wasm served without application/wasm)");
}

function newConsumer(name) {
  const dir = makeConsumer(name, { copy: Object.fromEntries(EXAMPLE_FILES.map((f) => [f, join(EXAMPLE, f)])) });
  cleanups.push(() => removeConsumer(dir));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

test("(a) examples/browser bundled by Vite: STS from its backend, invoked cross-origin", async () => {
  const dir = newConsumer("browser-vite");
  const build = await run(bin("vite"), ["build"], { cwd: dir });
  assert.equal(build.code, 0, `vite build failed:\n${build.stdout}\n${build.stderr}`);
  const assets = readdirSync(join(dir, "dist", "assets"));
  assert.ok(assets.some((f) => /^fc_invoke_bg-[\w-]+\.wasm$/.test(f)), `the .wasm shipped as an asset: ${assets}`);

  const app = await startApp(join(dir, "dist"));
  const { page, seen } = await openPage(`${app.url}/`);
  assert.equal(app.configCalls, 1, "the endpoint came from /api/config");
  await exerciseExample(page, app);
  assert.ok(app.served.some((s) => /^\/assets\/fc_invoke_bg-[\w-]+\.wasm$/.test(s.path)), "the page loaded the bundled .wasm");
  assertCleanPage(seen);
});

/** What an import-map generator does: the `.` export under the browser conditions, in key order. */
function browserExport(pkg) {
  let target = typeof pkg.exports === "object" && "." in pkg.exports ? pkg.exports["."] : pkg.exports;
  while (target && typeof target === "object") {
    const condition = Object.keys(target).find((k) => ["browser", "import", "default"].includes(k));
    target = condition && target[condition];
  }
  return target;
}

test("(b) no bundler: an import map, <script type=module> and page.evaluate, cross-origin", async () => {
  const dir = newConsumer("browser-esm");
  const pkgDir = join(dir, "node_modules", "fc-invoke");
  const entry = browserExport(JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")));
  assert.equal(typeof entry, "string", "the package has a browser export");
  const importMap = { imports: { "fc-invoke": `/node_modules/fc-invoke/${entry.replace(/^\.\//, "")}` } };
  const html = readFileSync(join(EXAMPLE, "index.html"), "utf8").replace(
    "</head>",
    `  <script type="importmap">${JSON.stringify(importMap)}</script>\n  </head>`,
  );
  assert.match(html, /<script type="importmap">/);
  writeFileSync(join(dir, "plain.html"), html);

  const app = await startApp(dir);
  // An endpoint in the page's URL is not taken: a link could send the user's STS token anywhere.
  const { page, seen } = await openPage(`${app.url}/plain.html?endpoint=${encodeURIComponent("http://127.0.0.1:9")}`);
  assert.equal(app.configCalls, 1, "the endpoint came from /api/config, not the query string");
  await exerciseExample(page, app);
  assert.ok(
    app.served.some((s) => s.path === "/node_modules/fc-invoke/dist/wasm/fc_invoke_bg.wasm" && s.type === "application/wasm"),
    "the .wasm was fetched from the installed package",
  );

  // In-page, through the same module instance the example uses (the import map resolves it).
  const stsBefore = app.stsCalls;
  const out = await page.evaluate(async (endpoint) => {
    const { FcClient, FcError, InvokeResponse } = await import("fc-invoke");
    // Credentials that expire within the client's 60 s margin are fetched again for every call.
    const credentials = async () => (await fetch("/api/sts?ttlMs=30000")).json();
    const client = new FcClient({ endpoint, credentials });
    const res = await client.invokeFunction("json", { body: { hello: "世界" }, logType: "Tail", qualifier: "prod" });
    const ok = {
      isResponse: res instanceof InvokeResponse,
      status: res.status,
      requestId: res.requestId,
      info: await res.json(),
      log: res.log,
      version: res.headers.get("x-fc-invocation-code-version"),
    };
    try {
      await client.invokeFunction("no-such-function", { body: "x" });
      return { ok, error: null };
    } catch (e) {
      const { name, code, status, requestId, message } = e;
      return {
        ok,
        error: { isFcError: e instanceof FcError, isError: e instanceof Error, name, code, status, requestId, message, shown: `${e} ${JSON.stringify(e)}` },
      };
    }
  }, fc.url);

  assert.equal(out.ok.isResponse, true);
  assert.equal(out.ok.status, 200);
  assert.equal(out.ok.info.functionName, "json");
  assert.equal(out.ok.info.qualifier, "prod");
  assert.equal(out.ok.info.length, Buffer.byteLength(JSON.stringify({ hello: "世界" })));
  assert.equal(out.ok.version, "2");
  assert.match(out.ok.log, new RegExp(`^FC Invoke Start RequestId: ${out.ok.requestId}\\nFC Invoke End RequestId: ${out.ok.requestId}$`));
  assert.equal(fc.invocations.at(-1).requestId, out.ok.requestId);
  assert.ok(fc.invocations.at(-1).accessKeyId.startsWith("STS."));
  assert.equal(fc.invocations.at(-1).headers["content-type"], "application/json");

  assert.ok(out.error, "invoking a missing function rejects");
  assert.equal(out.error.isFcError, true, "e instanceof FcError");
  assert.equal(out.error.isError, true, "e instanceof Error");
  assert.equal(out.error.name, "FcError");
  assert.equal(out.error.code, "FunctionNotFound");
  assert.equal(out.error.status, 404);
  assert.equal(out.error.requestId, fc.rejections.at(-1).requestId);
  for (const cred of app.minted.values()) {
    assert.ok(!out.error.shown.includes(cred.accessKeySecret) && !out.error.shown.includes(cred.securityToken), "no secret in the error");
  }
  assert.equal(app.stsCalls, stsBefore + 2, "short-lived credentials were fetched for each call");

  // An iframe's AbortSignal (another realm's) is a signal, as fetch takes it, and aborts the call.
  const framed = await page.evaluate(async (endpoint) => {
    const { FcClient } = await import("fc-invoke");
    const frame = document.createElement("iframe");
    document.body.append(frame);
    const controller = new frame.contentWindow.AbortController();
    const client = new FcClient({ endpoint, credentials: async () => (await fetch("/api/sts")).json() });
    const sent = (await client.invokeFunction("echo", { body: "framed", signal: controller.signal })).status;
    controller.abort();
    const aborted = await client.invokeFunction("echo", { signal: controller.signal }).then(() => "sent", (e) => e.code);
    const fake = await client.invokeFunction("echo", { signal: { aborted: false } }).then(() => "sent", (e) => `${e.code} ${e.argument}`);
    frame.remove();
    return { sent, aborted, fake };
  }, fc.url);
  assert.deepEqual(framed, { sent: 200, aborted: "Aborted", fake: "InvalidArgument signal" });

  // From 64 KB on, the web entry hashes the body with crypto.subtle.digest and turns the digest
  // into hex itself. This body's SHA-256 has bytes below 0x10, so a digit lost in the hex (no
  // padding) sends a wrong x-acs-content-sha256, which the server rejects.
  const bigBody = "0123456789abcdef".repeat(70_000 / 16);
  const bigDigest = createHash("sha256").update(bigBody).digest();
  assert.ok(bigDigest.some((b) => b < 0x10), "the digest has a byte below 0x10");
  fc.reset();
  const big = await page.evaluate(async ({ endpoint, body }) => {
    const { FcClient } = await import("fc-invoke");
    const subtle = crypto.subtle;
    const digest = subtle.digest;
    let webCryptoDigests = 0;
    subtle.digest = function (...args) {
      webCryptoDigests++;
      return digest.apply(this, args);
    };
    try {
      const client = new FcClient({ endpoint, credentials: async () => (await fetch("/api/sts")).json() });
      const res = await client.invokeFunction("json", { body: new TextEncoder().encode(body) });
      return { status: res.status, info: await res.json(), webCryptoDigests };
    } finally {
      subtle.digest = digest;
    }
  }, { endpoint: fc.url, body: bigBody });
  assert.equal(big.webCryptoDigests, 1, "the body was hashed by Web Crypto");
  assert.equal(big.status, 200, JSON.stringify(fc.rejections));
  assert.equal(big.info.length, bigBody.length);
  assert.equal(big.info.sha256, bigDigest.toString("hex"));
  assert.equal(fc.rejections.length, 0);
  assert.equal(fc.invocations.length, 1);
  assert.equal(fc.invocations[0].headers["x-acs-content-sha256"], bigDigest.toString("hex"));
  assertCleanPage(seen);

  // A redirect is never followed (redirect: "manual" hands Chromium's opaque redirect back), so
  // the signed request, token included, goes nowhere but the endpoint.
  fc.reset();
  fc.setFaults(() => ({ kind: "redirect" }));
  try {
    const redirected = await page.evaluate(async (endpoint) => {
      const { FcClient } = await import("fc-invoke");
      const client = new FcClient({ endpoint, credentials: async () => (await fetch("/api/sts")).json() });
      try {
        await client.invokeFunction("echo", { body: "once" });
        return null;
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    }, fc.url);
    assert.equal(redirected?.code, "NetworkError", JSON.stringify(redirected));
    assert.match(redirected.message, /answered with a redirect; a signed request is never redirected/);
    assert.equal(fc.faultCounts.redirect, 1, "one request");
    assert.equal(fc.rejections.length + fc.invocations.length, 0, "not resent, not run");
  } finally {
    fc.setFaults(null);
  }

  // A logged client, expanded in DevTools, shows no secret among its fields: the console lists
  // private fields too, and shows what they hold. Walked here as DevTools walks it, through the
  // protocol, into objects (functions' [[Scopes]] reach all of a page's data: README says so).
  const cdp = await page.context().newCDPSession(page);
  const { result } = await cdp.send("Runtime.evaluate", {
    expression: `import("fc-invoke").then(({ FcClient }) => {
      const client = new FcClient({ endpoint: ${JSON.stringify(fc.url)}, credentials: { accessKeyId: "LTAIshown", accessKeySecret: "THE-SECRET-0001", securityToken: "THE-TOKEN-0002" } });
      return client.invokeFunction("echo").then(() => client, () => client);
    })`,
    awaitPromise: true,
  });
  const seenValues = [];
  const walk = async (objectId, depth) => {
    const { result: own, privateProperties = [], internalProperties = [] } = await cdp.send("Runtime.getProperties", { objectId, ownProperties: true, generatePreview: true });
    for (const p of [...own, ...privateProperties, ...internalProperties]) {
      const v = p.value;
      if (!v) continue;
      seenValues.push(p.name);
      if (v.value !== undefined) seenValues.push(String(v.value));
      if (v.preview) seenValues.push(JSON.stringify(v.preview));
      if (v.objectId && depth > 0 && v.type === "object") await walk(v.objectId, depth - 1);
    }
  };
  await walk(result.objectId, 3);
  assert.ok(seenValues.includes("#wasm"), `the walk reached the client's private fields: ${seenValues.join(" | ").slice(0, 300)}`);
  for (const secret of ["THE-SECRET-0001", "THE-TOKEN-0002"]) {
    assert.ok(!seenValues.some((v) => v.includes(secret)), `${secret} shows in DevTools: ${seenValues.filter((v) => v.includes(secret))}`);
  }
});
