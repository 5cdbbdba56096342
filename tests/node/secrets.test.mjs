// No AccessKey secret or STS token in any error (message, toString, JSON, stack, inspect), in the
// client, or on the console, for every kind of failure the package can report.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { FcClient, FcError, signRequest } from "fc-invoke";
import { startFcServer, DEMO_CREDENTIALS } from "../server/fc-server.mjs";

const SECRET = "S3cr3t-AccessKey-Secret-Value-0001";
const TOKEN = "CAIS-Security-Token-Value-0002+/=";
const KEY_ID = "STS.LeakTestKeyId";

let server;
let closedUrl;
before(async () => {
  server = await startFcServer();
  server.addCredentials({ accessKeyId: KEY_ID, accessKeySecret: SECRET, securityToken: TOKEN });
  const closed = await startFcServer();
  closedUrl = closed.url;
  await closed.close();
});
after(() => server.close());

function assertClean(text, where) {
  assert.ok(!text.includes(SECRET), `AccessKey secret leaked in ${where}: ${text}`);
  assert.ok(!text.includes(TOKEN), `STS token leaked in ${where}: ${text}`);
}

test("every error path and the client are free of secrets, and nothing is logged", async () => {
  const creds = { accessKeyId: KEY_ID, accessKeySecret: SECRET, securityToken: TOKEN };
  const client = (extra = {}) => new FcClient({ endpoint: server.url, credentials: creds, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 }, ...extra });
  const logged = [];
  const original = { ...console };
  for (const level of ["log", "info", "warn", "error", "debug", "trace"]) console[level] = (...args) => logged.push(args.map((a) => inspect(a)).join(" "));

  const cases = [];
  try {
    const expect = async (code, promise) => {
      try {
        await promise;
        assert.fail(`expected ${code}`);
      } catch (e) {
        assert.ok(e instanceof FcError, `${code}: ${e}`);
        assert.equal(e.code, code, e.message);
        cases.push([code, e]);
      }
    };
    await expect("InvalidArgument", client().invokeFunction("bad/name"));
    // A custom header may carry a credential: a bad value is named, never echoed (the wasm's
    // check of control characters, and the JS face's of line breaks).
    await expect("InvalidArgument", client().invokeFunction("echo", { headers: { "x-api-key": `${SECRET}\u0001` } }));
    await expect("InvalidArgument", signRequest({ url: "http://h/", headers: { "x-api-key": `${TOKEN}\n` } }, creds, { action: "A" }));
    await expect("CredentialsError", new FcClient({ endpoint: server.url, credentials: { ...creds, securityToken: `${TOKEN}\n` } }).invokeFunction("echo"));
    await expect("NetworkError", client({ endpoint: closedUrl }).invokeFunction("echo"));
    await expect("Timeout", client().invokeFunction("slow", { body: "2000", timeoutMs: 50 }));
    await expect("Aborted", client().invokeFunction("echo", { signal: AbortSignal.abort() }));
    await expect("SignatureNotMatch", client({ credentials: { ...creds, accessKeySecret: `${SECRET}x` } }).invokeFunction("echo"));
    await expect("InvalidSecurityToken", client({ credentials: { ...creds, securityToken: `${TOKEN}x` } }).invokeFunction("echo"));
    await expect("FunctionNotFound", client().invokeFunction("missing"));
    await expect("AsyncTaskNotFound", client().getAsyncTask("echo", "missing"));
    server.setFaults(() => ({ kind: "status", status: 429, code: "ResourceExhausted" }));
    await expect("ResourceExhausted", client().invokeFunction("echo"));
    server.setFaults(() => ({ kind: "status", status: 500, code: "InternalServerError", run: true }));
    await expect("InternalServerError", client().invokeFunction("echo"));
    server.setFaults(() => ({ kind: "expired-token" }));
    await expect("InvalidSecurityToken.Expired", client().invokeFunction("echo"));
    server.setFaults(null);
    await expect("InvalidArgument", signRequest({ url: "nope" }, creds, { action: "A" }));
    await expect("CredentialsError", signRequest({ url: "http://h/" }, { ...creds, accessKeyId: "bad id" }, { action: "A" }));
    // 127.0.0.1 on the discard port: were the URL check to regress, nothing leaves the machine.
    await expect("InvalidArgument", client().fetch("http://127.0.0.1:9/%zz"));
  } finally {
    Object.assign(console, original);
    server.setFaults(null);
  }

  assert.equal(cases.length, 17);
  for (const [code, e] of cases) {
    for (const [where, text] of [
      ["message", e.message],
      ["toString", String(e)],
      ["JSON", JSON.stringify(e)],
      ["stack", e.stack ?? ""],
      ["inspect", inspect(e, { showHidden: true, depth: 8 })],
      ["cause", inspect(e.cause, { depth: 8 })],
    ]) {
      assertClean(text, `${code} ${where}`);
    }
  }
  const c = client();
  for (const [where, text] of [["JSON", JSON.stringify(c)], ["String", String(c)], ["inspect", inspect(c, { showHidden: true, depth: 8 })]]) {
    assertClean(text, `client ${where}`);
  }
  // A password in the endpoint (refused by the first call) is not shown either, also in an
  // endpoint the runtime cannot parse.
  // A password pasted unencoded may hold what ends a URL's authority ('#', '?', '/'), which makes
  // it unparsable, and '@'.
  const endpoints = ["http://user:Hunter2Pass@127.0.0.1:9/", "https://user:Hunter2Pass@bad host 127.0.0.1:9/"];
  for (const odd of ["#", "?", "/", "@#", "#@", " #"]) endpoints.push(`http://user:Hunter2${odd}Pass@127.0.0.1:9`);
  // A '/' after a port-like start leaves the URL parsable, the rest of the password in its path.
  endpoints.push("https://user:4/Hunter2Pass@127.0.0.1:9", "https://user:Hunter2@P/ass@127.0.0.1:9");
  for (const endpoint of endpoints) {
    const withPassword = new FcClient({ endpoint, credentials: DEMO_CREDENTIALS });
    for (const text of [JSON.stringify(withPassword), inspect(withPassword)]) {
      assert.ok(!text.includes("Hunter2") && !text.includes("Pass") && !text.includes("ass") && text.includes("…@") && text.includes("127.0.0.1:9"), text);
    }
  }
  // An endpoint without one is shown as given.
  assert.equal(JSON.stringify(new FcClient({ endpoint: "https://fc.example:8443", credentials: DEMO_CREDENTIALS })), '{"endpoint":"https://fc.example:8443"}');
  // Nor in the error of a client.fetch of such a URL, which quotes fetch's own message; a
  // password may hold '@' or a space.
  for (const [userinfo, secret] of [["user:Hunter2Pass", "Hunter2Pass"], ["user:Hunt@er2", "er2@"], ["user:Hunt er2", "er2"], ["user:Hun#ter2", "ter2"], ["user:Hun?ter2", "ter2"], ["user:Hun/ter2", "ter2"], ["user:Hu@n#ter2", "ter2"]]) {
    const refused = await c.fetch(`http://${userinfo}@127.0.0.1:9/x`).then(() => assert.fail("sent"), (e) => e);
    assert.equal(refused.code, "InvalidArgument");
    for (const text of [refused.message, String(refused), JSON.stringify(refused), inspect(refused)]) {
      assert.ok(!text.includes(secret) && text.includes("127.0.0.1:9"), text);
    }
  }
  assert.deepEqual(logged, [], "the package logs nothing");
});

test("a polluted Object.prototype (an app's careless deep merge) supplies no option: no endpoint, fetch or redirect", async () => {
  // In a child process: the pollution must not reach this one's test runner and server.
  const { execFile } = await import("node:child_process");
  const script = `
    import { FcClient, invokeFunction } from "fc-invoke";
    const sent = [];
    // Answers after 20 ms: the polluted timeoutMs (1 ms) would time every call out.
    const own = async (url, init) => {
      sent.push({ url, redirect: init.redirect, body: init.body && new TextDecoder().decode(init.body) });
      await new Promise((r) => setTimeout(r, 20));
      return new Response("ok");
    };
    const credentials = { accessKeyId: "id", accessKeySecret: "secret", securityToken: "token" };
    Object.prototype.endpoint = "http://attacker.example";
    Object.prototype.fetch = async () => { throw new Error("the polluted fetch was called"); };
    Object.prototype.redirect = "follow";
    Object.prototype.timeoutMs = 1;
    Object.prototype.retry = { maxAttempts: 0 }; // refused wherever it is read
    Object.prototype.polluted = 1;
    Object.prototype.securityToken = "attacker-token";
    Object.prototype.expiration = "2999-01-01T00:00:00Z";
    const byRegion = new FcClient({ accountId: "1234567890123456", region: "cn-hangzhou", credentials, fetch: own });
    await byRegion.invokeFunction("f");
    await byRegion.invokeFunction("f", { body: "x" });
    await invokeFunction({ accountId: "1234567890123456", region: "cn-hangzhou", credentials, fetch: own, functionName: "f" });
    // An init of the caller's, read without the polluted redirect ("follow").
    await byRegion.fetch("https://f-abc.cn-hangzhou.fcapp.run/x", {});
    // Options that are class instances keep their getters (but not what the root prototype holds).
    class CallOptions { get body() { return "from a getter"; } }
    await byRegion.invokeFunction("f", new CallOptions());
    const signed = await (await import("fc-invoke")).signRequest(new Request("https://h.example/r?a=1"), credentials, { action: "A" });
    // No fetch of its own: the global one, not the polluted one, reaches the local server.
    const local = await new FcClient({ endpoint: process.env.FC_ENDPOINT, credentials: ${JSON.stringify(DEMO_CREDENTIALS)} }).invokeFunction("echo", { body: "global" });
    // A wait whose own timeout is not given is not bounded by the polluted one (1 ms).
    const tasks = new FcClient({ endpoint: process.env.FC_ENDPOINT, credentials: ${JSON.stringify(DEMO_CREDENTIALS)} });
    await tasks.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "polluted-1", body: "t" });
    const task = await tasks.waitForAsyncTask("echo", "polluted-1", { pollIntervalMs: 20 });
    // Options from another realm, whose Object.prototype is polluted too: its body is none.
    const foreign = (await import("node:vm")).runInNewContext("Object.prototype.body = 'polluted'; ({ qualifier: 'LATEST' })");
    const plain = await tasks.invokeFunction("echo", foreign);
    // Credentials: static keys get no token, and a provider's answer no expiration, so it is asked again for every call.
    const tokens = [];
    const recordToken = async (url, init) => (tokens.push(new Headers(init.headers).get("x-acs-security-token")), new Response("ok"));
    const keysOnly = { accessKeyId: "id", accessKeySecret: "secret" };
    await new FcClient({ accountId: "1234567890123456", region: "cn-hangzhou", credentials: keysOnly, fetch: recordToken }).invokeFunction("f");
    const signedKeys = await (await import("fc-invoke")).signRequest({ method: "GET", url: "https://h.example/" }, keysOnly, { action: "A" });
    let asked = 0;
    const provider = async () => ({ accessKeyId: "id-" + ++asked, accessKeySecret: "secret" });
    const rotating = new FcClient({ accountId: "1234567890123456", region: "cn-hangzhou", credentials: provider, fetch: recordToken });
    for (let i = 0; i < 3; i++) await rotating.invokeFunction("f");
    // Keys in a Proxy whose prototype cannot be read: its own fields only, not what it inherits.
    const opaque = new Proxy({ ...keysOnly }, { getPrototypeOf() { throw new Error("opaque"); } });
    await new FcClient({ accountId: "1234567890123456", region: "cn-hangzhou", credentials: opaque, fetch: recordToken }).invokeFunction("f");
    const credentialsSeen = { tokens, signedToken: new Headers(signedKeys.headers).get("x-acs-security-token"), asked };
    console.log(JSON.stringify({ sent, local: await local.text(), signedUrl: signed.url, task: task.status, foreignBody: await plain.text(), credentialsSeen }));
  `;
  const out = await new Promise((resolve, reject) =>
    execFile(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, FC_ENDPOINT: server.url } }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr || error.message)) : resolve(JSON.parse(stdout)),
    ),
  );
  assert.equal(out.local, "global");
  assert.equal(out.sent.length, 5);
  assert.equal(out.sent[4].body, "from a getter");
  assert.equal(out.signedUrl, "https://h.example/r?a=1", "a Request's url getter is read");
  assert.equal(out.task, "Succeeded");
  assert.equal(out.foreignBody, "", "another realm's Object.prototype gives nothing either");
  for (const { url } of out.sent.slice(0, 3)) assert.match(url, /^https:\/\/1234567890123456\.cn-hangzhou\.fc\.aliyuncs\.com\//);
  assert.equal(out.sent[3].url, "https://f-abc.cn-hangzhou.fcapp.run/x");
  assert.equal(out.sent[3].redirect, "manual", "client.fetch still hands redirects back");
  assert.deepEqual(out.credentialsSeen, { tokens: [null, null, null, null, null], signedToken: null, asked: 3 });
});

test("client.fetch's errors quote nothing the runtime's Request quotes: not a refused header value, not a password however the URL spells it", { timeout: 60_000 }, async () => {
  const client = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS });
  const KEY = "ApiKey-Hunter2-0001";
  const PASSWORD = "Hunter2Pass";
  const before = server.invocations.length + server.rejections.length;
  const cases = [
    [`${server.url}/x`, { headers: { "x-api-key": `${KEY}\0` } }],
    [`${server.url}/x`, { headers: { "x-api-key": `"${KEY}"\r\nx: y` } }],
    [`http:\\\\user:${PASSWORD}@127.0.0.1:9/x`, {}],
    [`http:/user:${PASSWORD}@127.0.0.1:9/x`, {}],
    [`http:user:${PASSWORD}@127.0.0.1:9/x`, {}],
  ];
  for (const [url, init] of cases) {
    await assert.rejects(client.fetch(url, init), (e) => {
      assert.equal(e.code, "InvalidArgument", `${url} ${e.message}`);
      for (const text of [e.message, JSON.stringify(e), inspect(e, { depth: 5 }), String(e.stack)]) {
        assert.ok(!text.includes(KEY) && !text.includes(PASSWORD), `echoed: ${text}`);
      }
      return true;
    }, url);
  }
  assert.equal(server.invocations.length + server.rejections.length, before, "nothing was sent");
  // Only so much of a message or an endpoint is searched: a megabyte of colons (which the patterns
  // that find a password take quadratic time for) neither stalls the error nor the client's JSON.
  const long = `https://h:1a/${"x:/".repeat(350_000)}`;
  await assert.rejects(client.fetch(long), { code: "InvalidArgument" });
  assert.ok(JSON.stringify(new FcClient({ endpoint: `${long}@`, credentials: DEMO_CREDENTIALS })).includes("https://…@"));
  assert.equal(JSON.stringify(new FcClient({ endpoint: `${"a".repeat(1 << 20)}@h`, credentials: DEMO_CREDENTIALS })), '{"endpoint":"…@h"}');
  // A URL that does not parse and has an '@' in its query loses what precedes it, marked as gone.
  await assert.rejects(client.fetch("https://example.com:80a/notify?email=ops@example.com"), (e) => /https:\/\/…@example\.com/.test(e.message) || assert.fail(e.message));
  // A password in the caller's own error (a failed upload stream, a getter that throws) is not
  // shown either, nor kept in a cause.
  const upload = new ReadableStream({ pull: (controller) => controller.error(new Error(`upstream https://admin:${PASSWORD}@internal.example/ failed`)) });
  const failures = [
    await client.fetch(`${server.url}/x`, { method: "POST", body: upload, duplex: "half" }).catch((e) => e),
    await client.invokeFunction("echo", { get body() { throw new Error(`see https://u:${PASSWORD}@h.example/`); } }).catch((e) => e),
  ];
  for (const e of failures) {
    assert.equal(e.code, "InvalidArgument", e.message);
    for (const text of [e.message, JSON.stringify(e), inspect(e, { depth: 5 })]) {
      assert.ok(!text.includes(PASSWORD) && text.includes("…@"), `echoed: ${text}`);
    }
    assert.ok(!String(e.cause?.message).includes(PASSWORD), "not in a cause");
  }
  // An endpoint no runtime parses keeps no password either, however it is spelled.
  for (const endpoint of [`https://user:${PASSWORD}@bad host`, `https:\\\\user:${PASSWORD}@bad host`]) {
    const odd = new FcClient({ endpoint, credentials: DEMO_CREDENTIALS });
    assert.ok(!JSON.stringify(odd).includes(PASSWORD) && !inspect(odd).includes(PASSWORD), endpoint);
  }
});
