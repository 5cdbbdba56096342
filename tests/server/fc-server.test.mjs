// Tests of the local FC server: `node --test tests/server/`.
//
// The official client (@alicloud/fc20230330 4.7.6 over @alicloud/openapi-core 1.0.8) proves the
// server accepts real signatures; requests signed here with the SDK's own Utils.getAuthorization
// (dates, nonces, bodies and headers under the test's control) prove it rejects the wrong ones.
// Everything talks to 127.0.0.1 on ephemeral ports.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { request as httpRequest } from "node:http";
import { spawn } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import {
  startFcServer,
  verifyAcs3,
  mintStsCredentials,
  canonicalQuery,
  parseAcsDate,
  DEMO_CREDENTIALS,
  DEMO_STS_CREDENTIALS,
  EXPOSE_HEADERS,
} from "./fc-server.mjs";

const require = createRequire(import.meta.url);
const FC = require("@alicloud/fc20230330");
const { $OpenApiUtil } = require("@alicloud/openapi-core");
const Utils = require("@alicloud/openapi-core/dist/utils").default;
const { RuntimeOptions } = require("@darabonba/typescript");

const here = dirname(fileURLToPath(import.meta.url));
const SERVER_PATH = join(here, "fc-server.mjs");
const sha256 = (b) => createHash("sha256").update(b).digest("hex");
const acsDate = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const nonce = () => randomBytes(16).toString("hex");
const INVOKE = (name) => `/2023-03-30/functions/${name}/invocations`;

// --- official client ----------------------------------------------------------------------------

function sdkClient(server, cred) {
  return new FC.default(new $OpenApiUtil.Config({
    accessKeyId: cred.accessKeyId,
    accessKeySecret: cred.accessKeySecret,
    securityToken: cred.securityToken,
    endpoint: `127.0.0.1:${server.port}`,
    protocol: "http",
  }));
}

async function sdkInvoke(client, name, { body = Buffer.alloc(0), qualifier, type, logType, taskId } = {}) {
  const res = await client.invokeFunctionWithOptions(
    name,
    new FC.InvokeFunctionRequest({ qualifier, body: Readable.from([body]) }),
    new FC.InvokeFunctionHeaders({ xFcInvocationType: type, xFcLogType: logType, xFcAsyncTaskId: taskId }),
    new RuntimeOptions({}),
  );
  const chunks = [];
  if (res.body) for await (const c of res.body) chunks.push(Buffer.from(c));
  return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
}

// --- hand-made requests, signed by the SDK's signer -----------------------------------------------

/**
 * Builds an InvokeFunction request signed with openapi-core's Utils.getAuthorization.
 * drop: header names removed before signing; unsigned: headers added after signing.
 */
function signed(server, {
  name = "echo",
  method = "POST",
  path = INVOKE(name),
  query = {},
  headers = {},
  body = Buffer.alloc(0),
  cred = DEMO_CREDENTIALS,
  date = acsDate(Date.now()),
  nonceValue = nonce(),
  action = "InvokeFunction",
  version = "2023-03-30",
  drop = [],
  unsigned = {},
  secret = cred.accessKeySecret,
  sendToken = true,
} = {}) {
  const payload = sha256(body);
  const h = {
    host: `127.0.0.1:${server.port}`,
    "x-acs-action": action,
    "x-acs-version": version,
    "x-acs-date": date,
    "x-acs-signature-nonce": nonceValue,
    "x-acs-content-sha256": payload,
    "content-type": "application/octet-stream",
    ...headers,
  };
  if (cred.securityToken && sendToken) {
    h["x-acs-security-token"] = cred.securityToken;
    h["x-acs-accesskey-id"] = cred.accessKeyId;
  }
  for (const d of drop) delete h[d];
  h.authorization = Utils.getAuthorization({ method, pathname: path, query, headers: h }, "ACS3-HMAC-SHA256", payload, cred.accessKeyId, secret);
  Object.assign(h, unsigned);
  const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return { method, path: path + (qs ? "?" + qs : ""), headers: h, body };
}

function send(server, { method = "POST", path, headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: server.port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text: () => buf.toString("utf8"), json: () => JSON.parse(buf.toString("utf8")) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function assertError(res, status, code) {
  assert.equal(res.status, status, `status (body ${res.text()})`);
  assert.match(res.headers["content-type"], /^application\/json/);
  const json = res.json();
  assert.deepEqual(Object.keys(json).sort(), ["Code", "Message", "RequestId"]);
  assert.equal(json.Code, code, json.Message);
  assert.equal(typeof json.Message, "string");
  assert.ok(json.Message.length > 0);
  assert.equal(json.RequestId, res.headers["x-fc-request-id"]);
  assert.match(json.RequestId, /^[0-9a-f-]{36}$/);
  assert.ok(res.headers.date, "Date header");
  return json;
}

// -------------------------------------------------------------------------------------------------

describe("verifyAcs3 (unit, against vectors signed by the official SDK)", () => {
  const vectors = join(here, "..", "vectors");

  test("the V3 documentation example (ECS RunInstances) verifies, and a changed byte does not", () => {
    const dir = join(vectors, "cases", "doc-ecs-runinstances");
    const input = JSON.parse(readFileSync(join(dir, "input.json"), "utf8"));
    const authorization = readFileSync(join(dir, "authorization.txt"), "utf8").trim();
    const url = new URL(input.url);
    const request = {
      method: input.method,
      url: url.pathname + url.search,
      headers: {
        host: url.host,
        "x-acs-action": input.action,
        "x-acs-version": input.version,
        "x-acs-date": input.date,
        "x-acs-signature-nonce": input.nonce,
        "x-acs-content-sha256": sha256(Buffer.alloc(0)),
        authorization,
      },
    };
    const creds = [{ accessKeyId: input.accessKeyId, accessKeySecret: input.accessKeySecret }];
    const now = () => Date.parse(input.date);
    const ok = verifyAcs3(request, Buffer.alloc(0), { credentials: creds, now });
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.accessKeyId, "YourAccessKeyId");
    const bad = verifyAcs3({ ...request, url: request.url.replace("RegionId=cn-shanghai", "RegionId=cn-hangzhou") }, Buffer.alloc(0), { credentials: creds, now });
    assert.equal(bad.code, "SignatureNotMatch");
    assert.equal(bad.status, 403);
    assert.ok(!bad.message.includes(input.accessKeySecret));
  });

  test("400 generated SDK vectors verify (repeated headers, odd paths and queries, STS)", () => {
    const { cases } = JSON.parse(readFileSync(join(vectors, "differential", "openapi-core-1.0.8.json"), "utf8"));
    assert.ok(cases.length >= 100);
    for (const c of cases) {
      const i = c.input;
      const origin = /^https?:\/\/[^/]+/.exec(i.url)[0];
      const headers = [...i.headers];
      headers.push(
        ["host", new URL(i.url).host],
        ["x-acs-action", i.action],
        ["x-acs-version", i.version],
        ["x-acs-date", i.date],
        ["x-acs-signature-nonce", i.nonce],
        ["x-acs-content-sha256", c.expected.payloadHash],
        ["authorization", c.expected.authorization],
      );
      if (i.securityToken) headers.push(["x-acs-security-token", i.securityToken], ["x-acs-accesskey-id", i.accessKeyId]);
      const request = { method: i.method, url: i.url.slice(origin.length) || "/", headers };
      const body = Buffer.from(i.bodyBase64, "base64");
      const options = {
        credentials: [{ accessKeyId: i.accessKeyId, accessKeySecret: i.accessKeySecret, securityToken: i.securityToken ?? undefined }],
        now: () => Date.parse(i.date),
      };
      const r = verifyAcs3(request, body, options);
      assert.equal(r.ok, true, `${c.name}: ${r.code} ${r.message}\n${r.canonicalRequest ?? ""}\nexpected:\n${c.expected.canonicalRequest}`);
      // One wrong secret byte must fail.
      const wrong = verifyAcs3(request, body, { ...options, credentials: [{ ...options.credentials[0], accessKeySecret: i.accessKeySecret + "x" }] });
      assert.equal(wrong.code, "SignatureNotMatch", c.name);
    }
  });

  test("InvokeFunction requests captured from the official client verify as received", () => {
    const { cases } = JSON.parse(readFileSync(join(vectors, "fc20230330-invoke", "cases.json"), "utf8"));
    assert.ok(cases.length > 0);
    for (const c of cases) {
      const i = c.input;
      const r = verifyAcs3(
        { method: c.sent.method, url: c.sent.path, headers: c.sent.headers },
        Buffer.from(i.bodyBase64, "base64"),
        {
          credentials: [{ accessKeyId: i.accessKeyId, accessKeySecret: i.accessKeySecret, securityToken: i.securityToken ?? undefined }],
          now: () => Date.parse(i.date),
          expectedAction: "InvokeFunction",
          expectedVersion: "2023-03-30",
        },
      );
      assert.equal(r.ok, true, `${c.name}: ${r.code} ${r.message}`);
    }
  });

  test("canonical query and date parsing", () => {
    assert.equal(canonicalQuery("b=2&a=x%20y&a=%21&c"), "a=%21&a=x%20y&b=2&c=");
    assert.equal(canonicalQuery("q=%2A%27%28%29~"), "q=%2A%27%28%29~");
    assert.equal(parseAcsDate("2024-02-29T23:59:59Z"), Date.UTC(2024, 1, 29, 23, 59, 59));
    assert.equal(parseAcsDate("2023-02-29T00:00:00Z"), null);
    assert.equal(parseAcsDate("2023-01-01T00:00:00.000Z"), null);
    assert.equal(parseAcsDate("2023-01-01 00:00:00Z"), null);
  });

  test("nonces are recorded only for verified requests", () => {
    const nonces = new Map();
    const date = "2024-05-01T10:00:00Z";
    const now = () => Date.parse(date);
    const build = (secret) => {
      const h = {
        host: "example.com",
        "x-acs-action": "InvokeFunction",
        "x-acs-version": "2023-03-30",
        "x-acs-date": date,
        "x-acs-signature-nonce": "n-1",
        "x-acs-content-sha256": sha256(""),
      };
      h.authorization = Utils.getAuthorization({ method: "POST", pathname: "/", query: {}, headers: h }, "ACS3-HMAC-SHA256", sha256(""), "id", secret);
      return { method: "POST", url: "/", headers: h };
    };
    const options = { credentials: [{ accessKeyId: "id", accessKeySecret: "s" }], now, nonces };
    assert.equal(verifyAcs3(build("wrong"), "", options).code, "SignatureNotMatch");
    assert.equal(nonces.size, 0);
    assert.equal(verifyAcs3(build("s"), "", options).ok, true);
    assert.equal(verifyAcs3(build("s"), "", options).code, "SignatureNonceUsed");
  });
});

describe("official client against the server", () => {
  let server;
  before(async () => {
    server = await startFcServer({ port: 0 });
  });
  after(() => server.close());

  test("echo, Sync, static AccessKey: bytes round-trip unchanged", async () => {
    const body = Buffer.from([...Array(1000).keys()].map((i) => (i * 7) % 256));
    const client = sdkClient(server, DEMO_CREDENTIALS);
    const res = await sdkInvoke(client, "echo", { body });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, body);
    assert.equal(res.headers["x-echo-content-type"], "application/octet-stream");
    assert.equal(res.headers["content-type"], "application/octet-stream");
    assert.equal(res.headers["x-fc-invocation-code-version"], "LATEST");
    assert.match(res.headers["x-fc-request-id"], /^[0-9a-f-]{36}$/);
    for (const h of ["x-fc-code-checksum", "x-fc-invocation-duration", "x-fc-max-memory-usage", "date"]) assert.ok(res.headers[h], h);
    const rec = server.invocations.find((r) => r.requestId === res.headers["x-fc-request-id"]);
    assert.equal(rec.functionName, "echo");
    assert.equal(rec.bodyLength, 1000);
    assert.equal(rec.bodySha256, sha256(body));
    assert.equal(rec.invocationType, "Sync");
    assert.equal(rec.accessKeyId, DEMO_CREDENTIALS.accessKeyId);
  });

  test("empty body echoes empty", async () => {
    const res = await sdkInvoke(sdkClient(server, DEMO_CREDENTIALS), "echo");
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
  });

  test("json with qualifiers: alias prod is version 2, numeric versions, LATEST", async () => {
    const client = sdkClient(server, DEMO_CREDENTIALS);
    const body = Buffer.from("hello json");
    const prod = await sdkInvoke(client, "json", { body, qualifier: "prod" });
    assert.equal(prod.headers["x-fc-invocation-code-version"], "2");
    assert.deepEqual(JSON.parse(prod.body), {
      functionName: "json",
      qualifier: "prod",
      version: "2",
      invocationType: "Sync",
      asyncTaskId: null,
      length: body.length,
      sha256: sha256(body),
    });
    assert.equal((await sdkInvoke(client, "json", { qualifier: "1" })).headers["x-fc-invocation-code-version"], "1");
    assert.equal((await sdkInvoke(client, "json", { qualifier: "LATEST" })).headers["x-fc-invocation-code-version"], "LATEST");
  });

  test("STS credentials: the demo ones and freshly minted ones", async () => {
    for (const cred of [DEMO_STS_CREDENTIALS, mintStsCredentials(server, { ttlMs: 60_000 })]) {
      const body = Buffer.from(`sts ${cred.accessKeyId}`);
      const res = await sdkInvoke(sdkClient(server, cred), "echo", { body, type: "Sync" });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, body);
      const rec = server.invocations.find((r) => r.requestId === res.headers["x-fc-request-id"]);
      assert.equal(rec.accessKeyId, cred.accessKeyId);
      assert.equal(rec.headers["x-acs-security-token"], cred.securityToken);
    }
  });

  test("mintStsCredentials returns STS-shaped credentials", async () => {
    const c = mintStsCredentials(server, { ttlMs: 30 * 60_000 });
    assert.match(c.accessKeyId, /^STS\./);
    assert.ok(c.accessKeySecret.length >= 20);
    assert.ok(c.securityToken.length > 100);
    assert.match(c.expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The expiration is the server's clock plus the TTL, rounded up to whole seconds like STS:
    // checked against a fixed clock, not the time the test happens to run at.
    const fixed = await startFcServer({ port: 0, now: () => Date.UTC(2030, 0, 1, 0, 0, 0, 250) });
    try {
      assert.equal(mintStsCredentials(fixed, { ttlMs: 30 * 60_000 }).expiration, "2030-01-01T00:30:01Z");
      assert.equal(mintStsCredentials(fixed, { ttlMs: 59_750 }).expiration, "2030-01-01T00:01:00Z", "a whole second is not rounded up");
    } finally {
      await fixed.close();
    }
  });

  test("Async: 202, empty body, task id given or generated, handler runs in the background", async () => {
    const client = sdkClient(server, DEMO_STS_CREDENTIALS);
    const res = await sdkInvoke(client, "json", { body: Buffer.from("a"), type: "Async", taskId: "my_task-1" });
    assert.equal(res.status, 202);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers["x-fc-async-task-id"], "my_task-1");
    const task = await server.waitForAsyncTask("my_task-1");
    assert.equal(task.status, "Succeeded");
    assert.equal(JSON.parse(task.result).asyncTaskId, "my_task-1");
    assert.equal(JSON.parse(task.result).invocationType, "Async");

    const gen = await sdkInvoke(client, "fail", { type: "Async" });
    assert.equal(gen.status, 202);
    const id = gen.headers["x-fc-async-task-id"];
    // As FC names it: after the request (a UUID, which may start with a digit).
    assert.equal(id, gen.headers["x-fc-request-id"]);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const failed = await server.waitForAsyncTask(id);
    assert.equal(failed.status, "Failed");
    assert.deepEqual(failed.error, { errorMessage: "boom", errorType: "Error" });
  });

  test("log with Tail: x-fc-log-result decodes to the logged lines between Start/End", async () => {
    const res = await sdkInvoke(sdkClient(server, DEMO_CREDENTIALS), "log", { body: Buffer.from("first line\nsecond ünïcode line\n"), logType: "Tail" });
    assert.equal(res.body.toString(), "ok");
    const id = res.headers["x-fc-request-id"];
    const log = Buffer.from(res.headers["x-fc-log-result"], "base64").toString("utf8");
    assert.equal(log, `FC Invoke Start RequestId: ${id}\nfirst line\nsecond ünïcode line\nFC Invoke End RequestId: ${id}`);
    const none = await sdkInvoke(sdkClient(server, DEMO_CREDENTIALS), "echo", { logType: "None" });
    assert.equal(none.headers["x-fc-log-result"], undefined);
  });

  test("log tail is at most 4 KB and is the end of the log", async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${"x".repeat(20)}`).join("\n");
    const res = await sdkInvoke(sdkClient(server, DEMO_CREDENTIALS), "log", { body: Buffer.from(lines), logType: "Tail" });
    const tail = Buffer.from(res.headers["x-fc-log-result"], "base64");
    assert.ok(tail.length <= 4096 && tail.length > 4000, String(tail.length));
    assert.match(tail.toString(), /line 499 x+\nFC Invoke End RequestId: /);
  });

  test("fail: HTTP 200 with x-fc-error-type and the error payload", async () => {
    const res = await sdkInvoke(sdkClient(server, DEMO_CREDENTIALS), "fail", { logType: "Tail" });
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-fc-error-type"], "UnhandledInvocationError");
    assert.deepEqual(JSON.parse(res.body), { errorMessage: "boom", errorType: "Error" });
    assert.ok(res.headers["x-fc-log-result"]);
  });

  test("big: N bytes of i % 251", async () => {
    const res = await sdkInvoke(sdkClient(server, DEMO_CREDENTIALS), "big", { body: Buffer.from("100000") });
    assert.equal(res.body.length, 100000);
    for (const i of [0, 250, 251, 99999]) assert.equal(res.body[i], i % 251);
  });

  test("service errors reach the official client as ClientError with our code", async () => {
    const client = sdkClient(server, DEMO_CREDENTIALS);
    await assert.rejects(sdkInvoke(client, "nope"), (err) => err.code === "FunctionNotFound" && err.statusCode === 404);
    await assert.rejects(sdkInvoke(sdkClient(server, { ...DEMO_CREDENTIALS, accessKeySecret: "wrong" }), "echo"),
      (err) => err.code === "SignatureNotMatch" && err.statusCode === 403);
  });
});

describe("rejections", () => {
  let server;
  let clockOffset = 0;
  before(async () => {
    server = await startFcServer({ port: 0, now: () => Date.now() + clockOffset });
  });
  after(() => server.close());

  test("a correctly signed hand-made request passes (baseline for the cases below)", async () => {
    const res = await send(server, signed(server, { body: Buffer.from("baseline"), query: { qualifier: "prod" } }));
    assert.equal(res.status, 200, res.text());
    assert.equal(res.text(), "baseline");
  });

  test("wrong secret: 403 SignatureNotMatch, no secret in the message", async () => {
    const res = await send(server, signed(server, { secret: "not-the-secret" }));
    const json = assertError(res, 403, "SignatureNotMatch");
    assert.ok(!json.Message.includes(DEMO_CREDENTIALS.accessKeySecret));
    assert.ok(!json.Message.includes("not-the-secret"));
    assert.match(json.Message, /string to sign/i);
    const rej = server.rejections.find((r) => r.requestId === json.RequestId);
    assert.equal(rej.code, "SignatureNotMatch");
    assert.match(rej.debug.canonicalRequest, /^POST\n\/2023-03-30\/functions\/echo\/invocations\n/);
  });

  test("a signature in upper-case hex is refused: the official signer writes lower case", async () => {
    const req = signed(server, { body: Buffer.from("x") });
    const upper = req.headers.authorization.replace(/Signature=([0-9a-f]+)$/, (_, hex) => `Signature=${hex.toUpperCase()}`);
    assert.notEqual(upper, req.headers.authorization);
    assertError(await send(server, { ...req, headers: { ...req.headers, authorization: upper } }), 403, "SignatureNotMatch");
    assert.equal((await send(server, req)).status, 200, "the same request as signed passes");
  });

  test("tampered body (same signed headers, other bytes): 403 SignatureNotMatch on the content hash", async () => {
    const req = signed(server, { body: Buffer.from("original") });
    const res = await send(server, { ...req, body: Buffer.from("tampered") });
    const json = assertError(res, 403, "SignatureNotMatch");
    assert.match(json.Message, /content hash/i);
  });

  test("stale and future dates: 403 RequestTimeTooSkewed with the server's Date", async () => {
    for (const delta of [-20 * 60_000, +20 * 60_000]) {
      const sentAt = Date.now();
      const res = await send(server, signed(server, { date: acsDate(sentAt + delta) }));
      const json = assertError(res, 403, "RequestTimeTooSkewed");
      assert.match(json.Message, /skew -?\d+ seconds/);
      // The Date is the server's clock (the machine's here) at the answer: between the sending
      // and the arrival, at second precision. An order of readings, not a tolerance.
      assert.ok(Date.parse(res.headers.date) >= Math.floor(sentAt / 1000) * 1000 && Date.parse(res.headers.date) <= Date.now(), res.headers.date);
    }
    // 10 minutes is inside the default 15-minute window.
    assert.equal((await send(server, signed(server, { date: acsDate(Date.now() - 10 * 60_000) }))).status, 200);
  });

  test("RequestTimeTooSkewed's Date is the server clock (now()), not the machine's", async () => {
    const fixed = Date.UTC(2030, 0, 1, 0, 0, 0);
    const skewed = await startFcServer({ port: 0, now: () => fixed });
    try {
      const res = await send(skewed, signed(skewed));
      assertError(res, 403, "RequestTimeTooSkewed");
      assert.equal(res.headers.date, "Tue, 01 Jan 2030 00:00:00 GMT");
      // A client that corrects its clock from that Date gets through.
      const retry = await send(skewed, signed(skewed, { date: acsDate(Date.parse(res.headers.date)) }));
      assert.equal(retry.status, 200, retry.text());
    } finally {
      await skewed.close();
    }
  });

  test("replayed request: the second identical request is 403 SignatureNonceUsed", async () => {
    const req = signed(server, { body: Buffer.from("once") });
    assert.equal((await send(server, req)).status, 200);
    assertError(await send(server, req), 403, "SignatureNonceUsed");
    assert.equal(server.invocations.filter((r) => r.bodySha256 === sha256("once")).length, 1);
  });

  test("a nonce is not burnt by a request that failed verification", async () => {
    const n = nonce();
    assertError(await send(server, signed(server, { nonceValue: n, secret: "bad" })), 403, "SignatureNotMatch");
    assert.equal((await send(server, signed(server, { nonceValue: n }))).status, 200);
  });

  test("an x-acs-* header that is not signed: 403 SignatureNotMatch", async () => {
    const res = await send(server, signed(server, { unsigned: { "x-acs-extra": "sneaky" } }));
    const json = assertError(res, 403, "SignatureNotMatch");
    assert.match(json.Message, /x-acs-extra/);
  });

  test("an unsigned content-type: 403 SignatureNotMatch", async () => {
    const res = await send(server, signed(server, { drop: ["content-type"], unsigned: { "content-type": "text/plain" } }));
    assertError(res, 403, "SignatureNotMatch");
  });

  test("unsigned x-fc-* headers are fine (the JS SDK does not sign them)", async () => {
    const res = await send(server, signed(server, { name: "json", unsigned: { "x-fc-log-type": "Tail" } }));
    assert.equal(res.status, 200);
    assert.ok(res.headers["x-fc-log-result"]);
  });

  test("extra signed headers are fine (the Python SDK signs more)", async () => {
    // getAuthorization signs only host/content-type/x-acs-*; add x-fc-log-type to SignedHeaders by hand.
    const payload = sha256("");
    const h = {
      host: `127.0.0.1:${server.port}`,
      "x-acs-action": "InvokeFunction",
      "x-acs-version": "2023-03-30",
      "x-acs-date": acsDate(Date.now()),
      "x-acs-signature-nonce": nonce(),
      "x-acs-content-sha256": payload,
      "x-fc-log-type": "Tail",
    };
    const names = Object.keys(h).sort();
    const canonical = ["POST", INVOKE("echo"), "", names.map((n) => `${n}:${h[n]}\n`).join(""), names.join(";"), payload].join("\n");
    const sts = "ACS3-HMAC-SHA256\n" + sha256(canonical);
    const sig = createHmac("sha256", DEMO_CREDENTIALS.accessKeySecret).update(sts).digest("hex");
    h.authorization = `ACS3-HMAC-SHA256 Credential=${DEMO_CREDENTIALS.accessKeyId},SignedHeaders=${names.join(";")},Signature=${sig}`;
    const res = await send(server, { path: INVOKE("echo"), headers: h });
    assert.equal(res.status, 200, res.text());
    assert.ok(res.headers["x-fc-log-result"]);
  });

  test("missing Authorization: 400 MissingAuthorization; malformed: 403 SignatureNotMatch", async () => {
    const req = signed(server);
    const { authorization, ...rest } = req.headers;
    assertError(await send(server, { ...req, headers: rest }), 400, "MissingAuthorization");
    for (const bad of ["ACS3-HMAC-SHA256 garbage", authorization.replace("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3"), authorization.replace(/Signature=\w+/, "Signature=xyz"), "Bearer abc"]) {
      assertError(await send(server, signed(server, { unsigned: { authorization: bad } })), 403, "SignatureNotMatch");
    }
  });

  test("missing required header: 400 MissingRequiredHeader", async () => {
    for (const name of ["x-acs-signature-nonce", "x-acs-date", "x-acs-content-sha256", "x-acs-action", "x-acs-version"]) {
      const json = assertError(await send(server, signed(server, { drop: [name] })), 400, "MissingRequiredHeader");
      assert.match(json.Message, new RegExp(name));
    }
  });

  test("wrong x-acs-action or x-acs-version: 400 InvalidArgument; bad x-acs-date: 400 InvalidArgument", async () => {
    assertError(await send(server, signed(server, { action: "GetFunction" })), 400, "InvalidArgument");
    assertError(await send(server, signed(server, { version: "2021-04-06" })), 400, "InvalidArgument");
    assertError(await send(server, signed(server, { date: new Date().toISOString() })), 400, "InvalidArgument");
  });

  test("unknown access key: 403 InvalidAccessKeyID; removed key too", async () => {
    assertError(await send(server, signed(server, { cred: { accessKeyId: "LTAInobody", accessKeySecret: "x" } })), 403, "InvalidAccessKeyID");
    const cred = { accessKeyId: "LTAItemporary", accessKeySecret: "temporary-secret" };
    server.addCredentials(cred);
    assert.equal((await send(server, signed(server, { cred }))).status, 200);
    server.removeCredentials(cred.accessKeyId);
    assertError(await send(server, signed(server, { cred })), 403, "InvalidAccessKeyID");
  });

  test("STS: missing token, wrong token, missing x-acs-accesskey-id: 403 InvalidSecurityToken", async () => {
    assertError(await send(server, signed(server, { cred: DEMO_STS_CREDENTIALS, sendToken: false })), 403, "InvalidSecurityToken");
    assertError(await send(server, signed(server, { cred: { ...DEMO_STS_CREDENTIALS, securityToken: "CAIS.other" } })), 403, "InvalidSecurityToken");
    assertError(await send(server, signed(server, { cred: DEMO_STS_CREDENTIALS, drop: ["x-acs-accesskey-id"] })), 403, "InvalidSecurityToken");
    // A token sent with a permanent key.
    assertError(await send(server, signed(server, { headers: { "x-acs-security-token": "CAIS.x" } })), 403, "InvalidSecurityToken");
  });

  test("STS: expired token: 403 InvalidSecurityToken.Expired", async () => {
    const cred = mintStsCredentials(server, { ttlMs: 60_000 });
    const withExpiry = { ...cred };
    assert.equal((await send(server, signed(server, { cred: withExpiry }))).status, 200);
    clockOffset = 2 * 60_000; // the server clock moves past expiration (still inside the date window)
    try {
      const json = assertError(await send(server, signed(server, { cred: withExpiry })), 403, "InvalidSecurityToken.Expired");
      assert.equal(json.Message, "The security token you provided has expired");
    } finally {
      clockOffset = 0;
    }
  });

  test("rejections are recorded, reset() clears them", async () => {
    assert.ok(server.rejections.length > 0);
    for (const r of server.rejections) assert.deepEqual(Object.keys(r).filter((k) => k !== "debug").sort(), ["code", "message", "requestId", "status"]);
    server.reset();
    assert.equal(server.rejections.length, 0);
    assert.equal(server.invocations.length, 0);
  });
});

describe("routing, lookup, limits, CORS", () => {
  let server;
  before(async () => {
    server = await startFcServer({ port: 0 });
  });
  after(() => server.close());

  test("CORS preflight on any path: 204 with the allowances, no signature needed", async () => {
    const res = await send(server, {
      method: "OPTIONS",
      path: INVOKE("echo") + "?qualifier=prod",
      headers: {
        origin: "http://localhost:5173",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-acs-date,x-acs-signature-nonce,x-fc-log-type",
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers["access-control-allow-origin"], "http://localhost:5173");
    assert.equal(res.headers["access-control-allow-methods"], "GET, POST, PUT, DELETE, OPTIONS");
    assert.equal(res.headers["access-control-allow-headers"], "authorization,content-type,x-acs-date,x-acs-signature-nonce,x-fc-log-type");
    assert.equal(res.headers["access-control-max-age"], "600");
    const any = await send(server, { method: "OPTIONS", path: "/whatever", headers: {} });
    assert.equal(any.status, 204);
    assert.equal(any.headers["access-control-allow-origin"], "*");
  });

  test("every other answer carries Allow-Origin and Expose-Headers", async () => {
    const ok = await send(server, signed(server, { headers: { origin: "http://example.test" } }));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers["access-control-allow-origin"], "http://example.test");
    assert.equal(ok.headers["access-control-expose-headers"], EXPOSE_HEADERS);
    const err = await send(server, { path: "/nope", headers: {} });
    assert.equal(err.headers["access-control-allow-origin"], "*");
    assert.match(err.headers["access-control-expose-headers"], /x-fc-request-id/);
  });

  test("unknown routes: 404 PathNotSupported", async () => {
    assertError(await send(server, { method: "GET", path: "/" }), 404, "PathNotSupported");
    assertError(await send(server, { method: "GET", path: INVOKE("echo") }), 404, "PathNotSupported");
    assertError(await send(server, { path: "/2023-03-30/functions/echo", body: "x" }), 404, "PathNotSupported");
  });

  test("unknown function: 404 FunctionNotFound; unknown alias / version: 404", async () => {
    assertError(await send(server, signed(server, { name: "missing" })), 404, "FunctionNotFound");
    assertError(await send(server, signed(server, { query: { qualifier: "blue" } })), 404, "AliasNotFound");
    assertError(await send(server, signed(server, { query: { qualifier: "7" } })), 404, "VersionNotFound");
    const v2 = await send(server, signed(server, { query: { qualifier: "2" } }));
    assert.equal(v2.headers["x-fc-invocation-code-version"], "2");
  });

  test("bad x-fc-invocation-type / x-fc-log-type / x-fc-async-task-id: 400 InvalidArgument", async () => {
    assertError(await send(server, signed(server, { unsigned: { "x-fc-invocation-type": "async" } })), 400, "InvalidArgument");
    assertError(await send(server, signed(server, { unsigned: { "x-fc-log-type": "Full" } })), 400, "InvalidArgument");
    assertError(await send(server, signed(server, { unsigned: { "x-fc-invocation-type": "Async", "x-fc-async-task-id": "1bad" } })), 400, "InvalidArgument");
    assertError(await send(server, signed(server, { unsigned: { "x-fc-invocation-type": "Async", "x-fc-async-task-id": "a".repeat(129) } })), 400, "InvalidArgument");
  });

  test("EntityTooLarge: Async over 128 KB, Sync over 32 MB (limits in bytes)", async () => {
    const asyncOk = await send(server, signed(server, { body: Buffer.alloc(128 * 1024), unsigned: { "x-fc-invocation-type": "Async" } }));
    assert.equal(asyncOk.status, 202);
    const json = assertError(await send(server, signed(server, { body: Buffer.alloc(128 * 1024 + 1), unsigned: { "x-fc-invocation-type": "Async" } })), 400, "EntityTooLarge");
    assert.match(json.Message, /131072 bytes/);
    const sync = assertError(await send(server, signed(server, { name: "json", body: Buffer.alloc(32 * 1024 * 1024 + 1) })), 400, "EntityTooLarge");
    assert.match(sync.Message, /33554432 bytes/);
  });

  test("Async task id reuse: 409 AsyncTaskAlreadyExists, the handler does not run again", async () => {
    const opts = { name: "json", unsigned: { "x-fc-invocation-type": "Async", "x-fc-async-task-id": "dup_task" } };
    const first = await send(server, signed(server, opts));
    assert.equal(first.status, 202);
    assert.equal(first.headers["x-fc-async-task-id"], "dup_task");
    assertError(await send(server, signed(server, opts)), 409, "AsyncTaskAlreadyExists");
    assert.equal(server.invocations.filter((r) => r.asyncTaskId === "dup_task").length, 1);
  });

  test("custom functions: result forms, headers, status, ctx fields", async () => {
    server.setFunction("custom", async (event, ctx) => {
      ctx.log("custom ran");
      return { status: 200, headers: { "content-type": "text/plain", "x-custom": "1" }, body: `${ctx.functionName}:${ctx.invocationType}:${event}` };
    });
    server.setFunction("plain", async () => new Uint8Array([1, 2, 3]));
    const res = await send(server, signed(server, { name: "custom", body: Buffer.from("ev") }));
    assert.equal(res.text(), "custom:Sync:ev");
    assert.equal(res.headers["content-type"], "text/plain");
    assert.equal(res.headers["x-custom"], "1");
    const plain = await send(server, signed(server, { name: "plain" }));
    assert.deepEqual([...plain.body], [1, 2, 3]);
    assert.equal(plain.headers["content-type"], "application/octet-stream");
  });

  test("slow honours ctx.signal when the client goes away", async () => {
    const req = signed(server, { name: "slow", body: Buffer.from("10000") });
    const client = httpRequest({ host: "127.0.0.1", port: server.port, method: "POST", path: req.path, headers: req.headers, agent: false });
    client.on("error", () => {});
    client.end(req.body);
    const deadline = Date.now() + 3000;
    let rec;
    while (!(rec = server.invocations.find((r) => r.functionName === "slow")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(rec, "slow started");
    client.destroy();
    while (rec.outcome === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(rec.outcome, "aborted");
  });

  test("slow completes with 'done'", async () => {
    const res = await send(server, signed(server, { name: "slow", body: Buffer.from("20") }));
    assert.equal(res.text(), "done");
  });
});

test("command line: prints one JSON line, serves, stops on SIGTERM", async () => {
  const child = spawn(process.execPath, [SERVER_PATH, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const line = await new Promise((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.on("exit", () => reject(new Error("exited early")));
  });
  const info = JSON.parse(line);
  assert.deepEqual(Object.keys(info).sort(), ["accessKeyId", "url"]);
  assert.equal(info.accessKeyId, DEMO_CREDENTIALS.accessKeyId);
  assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const port = Number(new URL(info.url).port);
  const res = await send({ port }, signed({ port }, { name: "echo", body: Buffer.from("cli") }));
  assert.equal(res.status, 200);
  assert.equal(res.text(), "cli");
  child.kill("SIGTERM");
  assert.deepEqual(await exited, { code: 0, signal: null });
});

// --- async tasks: GetAsyncTask, StopAsyncTask, ListAsyncTasks through the official client ----------

const runtime = () => new RuntimeOptions({});
const getTask = (client, name, taskId, qualifier) =>
  client.getAsyncTaskWithOptions(name, taskId, new FC.GetAsyncTaskRequest({ qualifier }), {}, runtime());
const stopTask = (client, name, taskId, qualifier) =>
  client.stopAsyncTaskWithOptions(name, taskId, new FC.StopAsyncTaskRequest({ qualifier }), {}, runtime());
const listTasks = (client, name, request = {}) =>
  client.listAsyncTasksWithOptions(name, new FC.ListAsyncTasksRequest(request), {}, runtime());

async function until(predicate, { timeoutMs = 10_000, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const isClientError = (code, status) => (err) => {
  assert.equal(err.code, code, err.message);
  assert.equal(err.statusCode, status);
  return true;
};

describe("async tasks through the official client", () => {
  let server;
  let client;
  before(async () => {
    server = await startFcServer({ port: 0 });
    client = sdkClient(server, DEMO_CREDENTIALS);
  });
  after(() => server.close());

  test("GetAsyncTask: a Succeeded task with returnPayload, taskPayload and its events", async () => {
    const body = Buffer.from("payload ünïcode");
    const inv = await sdkInvoke(client, "json", { body, type: "Async", taskId: "get_me-1", qualifier: "prod" });
    assert.equal(inv.status, 202);
    await server.waitForAsyncTask("get_me-1");
    const res = await getTask(client, "json", "get_me-1");
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"], /^application\/json/);
    const t = res.body;
    assert.ok(t instanceof FC.AsyncTask, "parsed into the official model");
    assert.equal(t.taskId, "get_me-1");
    assert.equal(t.status, "Succeeded");
    assert.equal(t.qualifier, "prod");
    assert.equal(t.requestId, inv.headers["x-fc-request-id"]);
    assert.equal(t.functionArn, "acs:fc:cn-local:123:functions/json");
    assert.equal(t.alreadyRetriedTimes, 0);
    assert.equal(t.taskPayload, body.toString("utf8"));
    const answer = JSON.parse(t.returnPayload);
    assert.equal(answer.asyncTaskId, "get_me-1");
    assert.equal(answer.version, "2");
    assert.equal(answer.sha256, sha256(body));
    assert.equal(typeof t.startedTime, "number");
    assert.ok(t.endTime >= t.startedTime);
    assert.ok(t.durationMs >= 0 && t.durationMs <= t.endTime - t.startedTime);
    assert.match(t.instanceId, /\S/);
    assert.equal(t.taskErrorMessage, undefined);
    assert.deepEqual(t.events.map((e) => [e.eventId, e.status]), [[1, "Enqueued"], [2, "Running"], [3, "Succeeded"]]);
    for (const e of t.events) {
      assert.ok(e instanceof FC.AsyncTaskEvent);
      assert.equal(typeof e.timestamp, "number");
      assert.doesNotThrow(() => JSON.parse(e.eventDetail));
    }
    assert.equal(t.events[0].timestamp, t.startedTime);
    assert.equal(t.events[2].timestamp, t.endTime);
    // The raw JSON keys are the model's names (nothing the model would drop).
    const raw = server.asyncTaskView("get_me-1");
    const names = Object.values(FC.AsyncTask.names());
    for (const key of Object.keys(raw)) assert.ok(names.includes(key), key);
    // Qualifier matching: the one invoked with, or none.
    assert.equal((await getTask(client, "json", "get_me-1", "prod")).body.taskId, "get_me-1");
    await assert.rejects(getTask(client, "json", "get_me-1", "LATEST"), isClientError("AsyncTaskNotFound", 404));
    await assert.rejects(getTask(client, "json", "get_me-1", "blue"), isClientError("AliasNotFound", 404));
  });

  test("GetAsyncTask: a Failed task carries taskErrorMessage; unknown task / function: 404", async () => {
    await sdkInvoke(client, "fail", { type: "Async", taskId: "will_fail" });
    await server.waitForAsyncTask("will_fail");
    const t = (await getTask(client, "fail", "will_fail")).body;
    assert.equal(t.status, "Failed");
    assert.deepEqual(JSON.parse(t.taskErrorMessage), { errorMessage: "boom", errorType: "Error" });
    assert.equal(t.returnPayload, undefined);
    assert.deepEqual(t.events.map((e) => e.status), ["Enqueued", "Running", "Failed"]);
    await assert.rejects(getTask(client, "fail", "no_such_task"), isClientError("AsyncTaskNotFound", 404));
    // A task belongs to its function.
    await assert.rejects(getTask(client, "echo", "will_fail"), isClientError("AsyncTaskNotFound", 404));
    await assert.rejects(getTask(client, "nope", "will_fail"), isClientError("FunctionNotFound", 404));
  });

  test("StopAsyncTask: a running sleepy task is aborted and shows Stopped; a finished one (Stopped too) cannot be stopped", async () => {
    const inv = await sdkInvoke(client, "sleepy", { body: Buffer.from("10000"), type: "Async", taskId: "long_sleep" });
    assert.equal(inv.status, 202);
    await until(async () => (await getTask(client, "sleepy", "long_sleep")).body.status === "Running", { what: "Running" });
    const stop = await stopTask(client, "sleepy", "long_sleep");
    assert.equal(stop.statusCode, 200);
    assert.equal(stop.headers["content-length"], "0");
    // Final by the time the stop is answered, not when the 10 s sleep would have ended.
    assert.equal(server.asyncTaskView("long_sleep").status, "Stopped");
    const task = await server.waitForAsyncTask("long_sleep", { timeoutMs: 10_000 });
    assert.equal(task.status, "Stopped");
    // The handler's ctx.signal fired: its invocation ended as aborted, long before 10 s.
    const rec = server.invocations.find((r) => r.asyncTaskId === "long_sleep");
    await until(() => rec.outcome !== null, { what: "handler end" });
    assert.equal(rec.outcome, "aborted");
    const t = (await getTask(client, "sleepy", "long_sleep")).body;
    assert.equal(t.status, "Stopped");
    assert.equal(t.returnPayload, undefined);
    assert.ok(t.endTime >= t.startedTime);
    assert.deepEqual(t.events.map((e) => e.status), ["Enqueued", "Running", "Stopped"]);
    await assert.rejects(stopTask(client, "sleepy", "long_sleep"), isClientError("AsyncTaskAlreadyFinished", 400));
    assert.deepEqual((await getTask(client, "sleepy", "long_sleep")).body.events.map((e) => e.status), ["Enqueued", "Running", "Stopped"]);
    await assert.rejects(stopTask(client, "sleepy", "no_such_task"), isClientError("AsyncTaskNotFound", 404));
    // A finished task cannot be stopped either.
    await sdkInvoke(client, "sleepy", { body: Buffer.from("1"), type: "Async", taskId: "short_sleep" });
    assert.equal((await server.waitForAsyncTask("short_sleep")).status, "Succeeded");
    assert.equal((await getTask(client, "sleepy", "short_sleep")).body.returnPayload, "slept 1 ms");
    await assert.rejects(stopTask(client, "sleepy", "short_sleep"), isClientError("AsyncTaskAlreadyFinished", 400));
    await sdkInvoke(client, "fail", { type: "Async", taskId: "failed_then_stopped" });
    await server.waitForAsyncTask("failed_then_stopped");
    await assert.rejects(stopTask(client, "fail", "failed_then_stopped"), isClientError("AsyncTaskAlreadyFinished", 400));
  });

  test("StopAsyncTask: what the handler does after the stop is ignored", async () => {
    let release;
    const gate = new Promise((r) => (release = r));
    let sawAbort = false;
    server.setFunction("stubborn", async (event, ctx) => {
      ctx.signal.addEventListener("abort", () => (sawAbort = true));
      await gate; // ignores the signal on purpose
      return "late answer";
    });
    await sdkInvoke(client, "stubborn", { type: "Async", taskId: "stubborn_1" });
    await until(() => server.asyncTasks.get("stubborn_1").status === "Running", { what: "Running" });
    await stopTask(client, "stubborn", "stubborn_1");
    assert.equal(sawAbort, true);
    release();
    const rec = server.invocations.find((r) => r.asyncTaskId === "stubborn_1");
    await until(() => rec.outcome !== null, { what: "handler end" });
    const t = (await getTask(client, "stubborn", "stubborn_1")).body;
    assert.equal(t.status, "Stopped");
    assert.equal(t.returnPayload, undefined);
    assert.equal(t.events.length, 3);
  });

  test("a task is Enqueued until its handler starts; stopping it then means it never runs", async () => {
    let runs = 0;
    server.setFunction("counted", async () => (runs++, "ran"));
    server.setAsyncStartDelay(60_000);
    try {
      await sdkInvoke(client, "counted", { body: Buffer.from("queued"), type: "Async", taskId: "queued_1" });
      const t = (await getTask(client, "counted", "queued_1")).body;
      assert.equal(t.status, "Enqueued");
      assert.equal(t.endTime, undefined);
      assert.equal(t.durationMs, undefined);
      assert.equal(t.instanceId, undefined);
      assert.deepEqual(t.events.map((e) => e.status), ["Enqueued"]);
      assert.equal((await listTasks(client, "counted", { status: "Enqueued" })).body.tasks.length, 1);
      await stopTask(client, "counted", "queued_1");
      const stopped = (await getTask(client, "counted", "queued_1")).body;
      assert.equal(stopped.status, "Stopped");
      assert.equal(stopped.durationMs, 0);
      assert.deepEqual(stopped.events.map((e) => e.status), ["Enqueued", "Stopped"]);
    } finally {
      server.setAsyncStartDelay(0);
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(runs, 0);
  });

  describe("ListAsyncTasks", () => {
    // Seven tasks of one function, in this order; "-x" ones fail, two under the prod alias.
    const ids = ["batch-a-0", "batch-a-1-x", "batch-b-0", "batch-a-2", "batch-b-1-x", "batch-a-3", "batch-b-2"];
    const prod = new Set(["batch-a-2", "batch-b-2"]);
    let tasks; // as Get reports them, in creation order
    before(async () => {
      server.setFunction("lister", async (event) => {
        if (event.toString().endsWith("-x")) throw new Error("asked to fail");
        return `done ${event}`;
      });
      for (const id of ids) {
        const res = await sdkInvoke(client, "lister", { body: Buffer.from(id), type: "Async", taskId: id, qualifier: prod.has(id) ? "prod" : undefined });
        assert.equal(res.status, 202);
        await new Promise((r) => setTimeout(r, 2)); // distinct start times (ties are ordered by acceptance anyway)
      }
      tasks = [];
      for (const id of ids) {
        await server.waitForAsyncTask(id);
        tasks.push((await getTask(client, "lister", id)).body);
      }
    });
    const idsOf = (res) => res.body.tasks.map((t) => t.taskId);

    test("defaults: newest first, at most 20, no payload, no nextToken on the last page", async () => {
      const res = await listTasks(client, "lister");
      assert.equal(res.statusCode, 200);
      assert.ok(res.body instanceof FC.ListAsyncTaskOutput);
      assert.deepEqual(idsOf(res), [...ids].reverse());
      assert.equal(res.body.nextToken, undefined);
      for (const t of res.body.tasks) {
        assert.ok(t instanceof FC.AsyncTask);
        assert.equal(t.taskPayload, undefined);
        const { taskPayload, ...full } = tasks.find((x) => x.taskId === t.taskId);
        assert.equal(typeof taskPayload, "string");
        assert.deepEqual({ ...t, events: t.events.map((e) => ({ ...e })) }, { ...full, events: full.events.map((e) => ({ ...e })) });
      }
    });

    test("sortOrderByTime asc / desc, includePayload", async () => {
      assert.deepEqual(idsOf(await listTasks(client, "lister", { sortOrderByTime: "asc" })), ids);
      assert.deepEqual(idsOf(await listTasks(client, "lister", { sortOrderByTime: "desc" })), [...ids].reverse());
      const withPayload = await listTasks(client, "lister", { includePayload: true, sortOrderByTime: "asc" });
      assert.deepEqual(withPayload.body.tasks.map((t) => t.taskPayload), ids);
      const without = await listTasks(client, "lister", { includePayload: false });
      assert.ok(without.body.tasks.every((t) => t.taskPayload === undefined));
    });

    test("filters: status, prefix, qualifier, started-time range, combined", async () => {
      const asc = { sortOrderByTime: "asc" };
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, status: "Failed" })), ["batch-a-1-x", "batch-b-1-x"]);
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, status: "Succeeded" })), ids.filter((id) => !id.endsWith("-x")));
      assert.deepEqual(idsOf(await listTasks(client, "lister", { status: "Running" })), []);
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, prefix: "batch-b-" })), ["batch-b-0", "batch-b-1-x", "batch-b-2"]);
      assert.deepEqual(idsOf(await listTasks(client, "lister", { prefix: "nothing" })), []);
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, qualifier: "prod" })), ["batch-a-2", "batch-b-2"]);
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, qualifier: "LATEST" })), ids.filter((id) => !prod.has(id)));
      const begin = tasks[2].startedTime;
      const end = tasks[4].startedTime;
      const inRange = (b, e) => tasks.filter((t) => (b === undefined || t.startedTime >= b) && (e === undefined || t.startedTime <= e)).map((t) => t.taskId);
      assert.ok(inRange(begin, end).length >= 3);
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, startedTimeBegin: begin, startedTimeEnd: end })), inRange(begin, end));
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, startedTimeBegin: end })), inRange(end, undefined));
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, startedTimeEnd: begin })), inRange(undefined, begin));
      assert.deepEqual(idsOf(await listTasks(client, "lister", { ...asc, prefix: "batch-a-", status: "Succeeded", startedTimeBegin: begin })),
        inRange(begin, undefined).filter((id) => id.startsWith("batch-a-") && !id.endsWith("-x")));
    });

    test("pagination with limit 2 through nextToken: every task exactly once, in order", async () => {
      for (const [order, expected] of [["asc", ids], ["desc", [...ids].reverse()]]) {
        const seen = [];
        const sizes = [];
        let nextToken;
        do {
          const res = await listTasks(client, "lister", { limit: 2, sortOrderByTime: order, nextToken });
          sizes.push(res.body.tasks.length);
          seen.push(...idsOf(res));
          nextToken = res.body.nextToken;
          // Holding what a query must encode, which the official client does.
          if (nextToken !== undefined) assert.match(nextToken, /^[A-Za-z0-9_-]+\+\/ &=%\n$/);
        } while (nextToken !== undefined && sizes.length < 10);
        assert.deepEqual(seen, expected, order);
        assert.deepEqual(sizes, [2, 2, 2, 1]);
      }
      // A last page that is exactly full carries no nextToken either.
      const first = await listTasks(client, "lister", { limit: 2, prefix: "batch-b-", sortOrderByTime: "asc" });
      assert.deepEqual(idsOf(first), ["batch-b-0", "batch-b-1-x"]);
      const second = await listTasks(client, "lister", { limit: 2, prefix: "batch-b-", sortOrderByTime: "asc", nextToken: first.body.nextToken });
      assert.deepEqual(idsOf(second), ["batch-b-2"]);
      assert.equal(second.body.nextToken, undefined);
      const four = await listTasks(client, "lister", { limit: 4, prefix: "batch-a-", sortOrderByTime: "asc" });
      assert.equal(four.body.tasks.length, 4);
      assert.equal(four.body.nextToken, undefined);
    });

    test("a task started between pages does not shift the pages (asc: it comes last)", async () => {
      const first = await listTasks(client, "lister", { limit: 3, sortOrderByTime: "asc", prefix: "batch-" });
      await sdkInvoke(client, "lister", { body: Buffer.from("batch-c-0"), type: "Async", taskId: "batch-c-0" });
      await server.waitForAsyncTask("batch-c-0");
      const seen = idsOf(first);
      let nextToken = first.body.nextToken;
      while (nextToken) {
        const res = await listTasks(client, "lister", { limit: 3, sortOrderByTime: "asc", prefix: "batch-", nextToken });
        seen.push(...idsOf(res));
        nextToken = res.body.nextToken;
      }
      assert.deepEqual(seen, [...ids, "batch-c-0"]);
    });

    test("invalid arguments: 400 InvalidArgument; unknown function: 404", async () => {
      for (const request of [{ limit: 0 }, { limit: 101 }, { sortOrderByTime: "up" }, { status: "Done" }, { nextToken: "garbage!" }]) {
        await assert.rejects(listTasks(client, "lister", request), isClientError("InvalidArgument", 400), JSON.stringify(request));
      }
      const page = await listTasks(client, "lister", { limit: 1, sortOrderByTime: "asc" });
      // A token is tied to its sort order and function.
      await assert.rejects(listTasks(client, "lister", { limit: 1, sortOrderByTime: "desc", nextToken: page.body.nextToken }), isClientError("InvalidArgument", 400));
      await assert.rejects(listTasks(client, "echo", { limit: 1, sortOrderByTime: "asc", nextToken: page.body.nextToken }), isClientError("InvalidArgument", 400));
      assert.equal((await listTasks(client, "lister", { limit: 100 })).statusCode, 200);
      await assert.rejects(listTasks(client, "nope"), isClientError("FunctionNotFound", 404));
      await assert.rejects(listTasks(client, "lister", { qualifier: "9" }), isClientError("VersionNotFound", 404));
    });
  });

  test("the task endpoints verify signatures like InvokeFunction (hand-signed GET, no content-type)", async () => {
    await sdkInvoke(client, "echo", { body: Buffer.from("x"), type: "Async", taskId: "hand_signed" });
    await server.waitForAsyncTask("hand_signed");
    const path = "/2023-03-30/functions/echo/async-tasks/hand_signed";
    const ok = await send(server, signed(server, { method: "GET", path, action: "GetAsyncTask", drop: ["content-type"] }));
    assert.equal(ok.status, 200, ok.text());
    assert.equal(ok.headers["access-control-allow-origin"], "*");
    assert.equal(ok.json().status, "Succeeded");
    assertError(await send(server, signed(server, { method: "GET", path, action: "InvokeFunction", drop: ["content-type"] })), 400, "InvalidArgument");
    assertError(await send(server, signed(server, { method: "GET", path, action: "GetAsyncTask", secret: "wrong" })), 403, "SignatureNotMatch");
    assertError(await send(server, signed(server, { method: "GET", path, action: "GetAsyncTask", drop: ["x-acs-signature-nonce"] })), 400, "MissingRequiredHeader");
    // STS through the official client.
    const sts = await getTask(sdkClient(server, DEMO_STS_CREDENTIALS), "echo", "hand_signed");
    assert.equal(sts.body.taskPayload, "x");
  });

  test("reset() clears tasks and trigger calls; waitForAsyncTask then knows none", async () => {
    server.reset();
    assert.equal(server.asyncTasks.size, 0);
    assert.equal(server.triggerCalls.length, 0);
    await assert.rejects(server.waitForAsyncTask("get_me-1"), /no async task/);
  });
});

// --- HTTP triggers with signature authentication -------------------------------------------------

/** A request to /http/{name}{rest} signed with openapi-core's Utils.getAuthorization. */
function signedTrigger(server, {
  method = "GET",
  name = "web-echo",
  rest = "",
  query = {},
  headers = {},
  body = Buffer.alloc(0),
  cred = DEMO_CREDENTIALS,
  date = acsDate(Date.now()),
  nonceValue,
  drop = [],
  unsigned = {},
  secret = cred.accessKeySecret,
} = {}) {
  const payload = sha256(body);
  const h = { host: `127.0.0.1:${server.port}`, "x-acs-date": date, "x-acs-content-sha256": payload, ...headers };
  if (nonceValue) h["x-acs-signature-nonce"] = nonceValue;
  if (cred.securityToken) {
    h["x-acs-security-token"] = cred.securityToken;
    h["x-acs-accesskey-id"] = cred.accessKeyId;
  }
  for (const d of drop) delete h[d];
  const path = `/http/${name}${rest}`;
  h.authorization = Utils.getAuthorization({ method, pathname: path, query, headers: h }, "ACS3-HMAC-SHA256", payload, cred.accessKeyId, secret);
  Object.assign(h, unsigned);
  const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return { method, path: path + (qs ? "?" + qs : ""), headers: h, body };
}

describe("HTTP trigger with signature authentication", () => {
  let server;
  before(async () => {
    server = await startFcServer({ port: 0 });
  });
  after(() => server.close());

  test("signed GET: web-echo answers method, path, query; the call is recorded", async () => {
    const res = await send(server, signedTrigger(server, { rest: "/a/b", query: { x: "1", y: "two words" } }));
    assert.equal(res.status, 200, res.text());
    assert.match(res.headers["content-type"], /^application\/json/);
    assert.match(res.headers["x-fc-request-id"], /^[0-9a-f-]{36}$/);
    assert.deepEqual(res.json(), {
      method: "GET",
      path: "/a/b",
      query: { x: "1", y: "two words" },
      bodyLength: 0,
      bodySha256: sha256(""),
      contentType: null,
    });
    const call = server.triggerCalls.find((c) => c.requestId === res.headers["x-fc-request-id"]);
    assert.deepEqual(
      { method: call.method, path: call.path, functionName: call.functionName, accessKeyId: call.accessKeyId, bodyLength: call.bodyLength, bodySha256: call.bodySha256, status: call.status, outcome: call.outcome },
      { method: "GET", path: "/a/b", functionName: "web-echo", accessKeyId: DEMO_CREDENTIALS.accessKeyId, bodyLength: 0, bodySha256: sha256(""), status: 200, outcome: "ok" },
    );
    // No rest: the path is "/".
    assert.equal((await send(server, signedTrigger(server))).json().path, "/");
  });

  test("signed POST with a body (static and STS keys), repeated query keys, a nonce", async () => {
    const body = randomBytes(5000);
    for (const cred of [DEMO_CREDENTIALS, DEMO_STS_CREDENTIALS, mintStsCredentials(server)]) {
      const req = signedTrigger(server, {
        method: "POST",
        rest: "/upload",
        body,
        cred,
        nonceValue: nonce(),
        headers: { "content-type": "application/octet-stream" },
      });
      const res = await send(server, req);
      assert.equal(res.status, 200, res.text());
      const json = res.json();
      assert.equal(json.method, "POST");
      assert.equal(json.bodyLength, 5000);
      assert.equal(json.bodySha256, sha256(body));
      assert.equal(json.contentType, "application/octet-stream");
      assert.equal(server.triggerCalls.at(-1).accessKeyId, cred.accessKeyId);
    }
    const repeated = await send(server, { ...signedTrigger(server, { query: { k: "1" } }), path: "/http/web-echo" });
    assertError(repeated, 403, "SignatureNotMatch"); // the query is signed
    const r2 = signedTrigger(server, { method: "PUT", rest: "/x" });
    assert.equal((await send(server, r2)).json().method, "PUT");
  });

  test("x-acs-action / x-acs-version are not required, and fine when signed", async () => {
    const res = await send(server, signedTrigger(server, { headers: { "x-acs-action": "Anything", "x-acs-version": "2023-03-30" } }));
    assert.equal(res.status, 200, res.text());
  });

  test("wrong secret, tampered body, tampered path, unsigned x-acs-*: 403 SignatureNotMatch", async () => {
    assertError(await send(server, signedTrigger(server, { secret: "wrong" })), 403, "SignatureNotMatch");
    const req = signedTrigger(server, { method: "POST", body: Buffer.from("original"), headers: { "content-type": "text/plain" } });
    const tampered = assertError(await send(server, { ...req, body: Buffer.from("tampered") }), 403, "SignatureNotMatch");
    assert.match(tampered.Message, /content hash/i);
    assertError(await send(server, { ...signedTrigger(server, { rest: "/a" }), path: "/http/web-echo/b" }), 403, "SignatureNotMatch");
    assertError(await send(server, signedTrigger(server, { unsigned: { "x-acs-extra": "1" } })), 403, "SignatureNotMatch");
    assertError(await send(server, signedTrigger(server, { unsigned: { "content-type": "text/plain" }, method: "POST" })), 403, "SignatureNotMatch");
    assert.equal(server.triggerCalls.filter((c) => c.bodySha256 === sha256("tampered")).length, 0);
  });

  test("missing x-acs-date, x-acs-content-sha256 or Authorization: 400; unsigned host: 403", async () => {
    const noDate = assertError(await send(server, signedTrigger(server, { drop: ["x-acs-date"] })), 400, "MissingRequiredHeader");
    assert.match(noDate.Message, /x-acs-date/);
    const noHash = assertError(await send(server, signedTrigger(server, { drop: ["x-acs-content-sha256"] })), 400, "MissingRequiredHeader");
    assert.match(noHash.Message, /x-acs-content-sha256/);
    const { authorization, ...rest } = signedTrigger(server).headers;
    assertError(await send(server, { method: "GET", path: "/http/web-echo", headers: rest }), 400, "MissingAuthorization");
    // host signed is required: sign without it (the request still carries one).
    assertError(await send(server, signedTrigger(server, { drop: ["host"] })), 403, "SignatureNotMatch");
  });

  test("stale date, replayed nonce, STS without token, unknown key: the usual codes", async () => {
    assertError(await send(server, signedTrigger(server, { date: acsDate(Date.now() - 20 * 60_000) })), 403, "RequestTimeTooSkewed");
    const once = signedTrigger(server, { nonceValue: nonce() });
    assert.equal((await send(server, once)).status, 200);
    assertError(await send(server, once), 403, "SignatureNonceUsed");
    assertError(await send(server, signedTrigger(server, { cred: DEMO_STS_CREDENTIALS, drop: ["x-acs-security-token"] })), 403, "InvalidSecurityToken");
    assertError(await send(server, signedTrigger(server, { cred: { accessKeyId: "LTAInobody", accessKeySecret: "x" } })), 403, "InvalidAccessKeyID");
    // Without a nonce there is no replay check (FC's trigger page does not require one).
    const noNonce = signedTrigger(server);
    assert.equal((await send(server, noNonce)).status, 200);
    assert.equal((await send(server, noNonce)).status, 200);
  });

  test("unknown function: 404 FunctionNotFound", async () => {
    assertError(await send(server, signedTrigger(server, { name: "nope" })), 404, "FunctionNotFound");
  });

  test("web-stream: text/plain in several chunks, chunked transfer encoding", async () => {
    const req = signedTrigger(server, { name: "web-stream", query: { chunks: "5" } });
    const { res, arrivals } = await new Promise((resolve, reject) => {
      const r = httpRequest({ host: "127.0.0.1", port: server.port, method: req.method, path: req.path, headers: req.headers, agent: false }, (res) => {
        const arrivals = [];
        // Whether the server had finished the stream when each piece arrived.
        res.on("data", (c) => arrivals.push({ streamEnded: server.triggerCalls.at(-1).outcome !== null, text: c.toString() }));
        res.on("end", () => resolve({ res, arrivals }));
        res.on("error", reject);
      });
      r.on("error", reject);
      r.end();
    });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"], /^text\/plain/);
    assert.equal(res.headers["transfer-encoding"], "chunked");
    assert.equal(res.headers["content-length"], undefined);
    assert.equal(arrivals.map((a) => a.text).join(""), "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
    assert.ok(arrivals.length >= 3, `arrived in ${arrivals.length} pieces`);
    // Streamed, not buffered: the first piece arrived while the server was still producing the rest.
    assert.equal(arrivals[0].streamEnded, false, "the first chunk came before the stream ended");
    assert.equal(server.triggerCalls.at(-1).outcome, "ok");
    const zero = await send(server, signedTrigger(server, { name: "web-stream", query: { chunks: "0" } }));
    assert.equal(zero.status, 200);
    assert.equal(zero.body.length, 0);
    assert.equal((await send(server, signedTrigger(server, { name: "web-stream", query: { chunks: "many" } }))).status, 400);
  });

  test("web-stream: a client that goes away aborts the stream (ctx.signal)", async () => {
    const req = signedTrigger(server, { name: "web-stream", query: { chunks: "1000" } });
    await new Promise((resolve, reject) => {
      const r = httpRequest({ host: "127.0.0.1", port: server.port, method: req.method, path: req.path, headers: req.headers, agent: false }, (res) => {
        res.once("data", () => {
          r.destroy();
          resolve();
        });
      });
      r.on("error", () => {});
      r.on("close", resolve);
      r.end();
    });
    const call = server.triggerCalls.at(-1);
    await until(() => call.outcome !== null, { what: "stream end" });
    assert.equal(call.outcome, "aborted");
  });

  test("web-status answers the asked status; a throwing function answers 502", async () => {
    const teapot = await send(server, signedTrigger(server, { name: "web-status", query: { status: "418" } }));
    assert.equal(teapot.status, 418);
    assert.equal(teapot.text(), "status 418\n");
    const empty = await send(server, signedTrigger(server, { name: "web-status", query: { status: "204" } }));
    assert.equal(empty.status, 204);
    assert.equal(empty.body.length, 0);
    assert.equal((await send(server, signedTrigger(server, { name: "web-status", query: { status: "503" } }))).status, 503);
    assert.equal((await send(server, signedTrigger(server, { name: "web-status", query: { status: "42" } }))).status, 400);
    server.setHttpFunction("web-throws", async () => {
      throw new TypeError("bad handler");
    });
    const crash = await send(server, signedTrigger(server, { name: "web-throws" }));
    assert.equal(crash.status, 502);
    assert.equal(crash.headers["x-fc-error-type"], "UnhandledInvocationError");
    assert.deepEqual(crash.json(), { errorMessage: "bad handler", errorType: "TypeError" });
    assert.equal(server.triggerCalls.at(-1).outcome, "error");
  });

  test("custom HTTP functions: headers, Readable bodies, fetch Responses; CORS exposes their headers", async () => {
    server.setHttpFunction("web-custom", async (request) => ({
      status: 201,
      headers: { "X-Custom": "yes", "content-type": "text/plain" },
      body: Readable.from([Buffer.from("from "), "a readable"]),
    }));
    server.setHttpFunction("web-fetch", async () => new Response("fetch body", { status: 202, headers: { "x-from": "fetch" } }));
    const custom = await send(server, signedTrigger(server, { name: "web-custom", headers: { origin: "http://page.test" } }));
    assert.equal(custom.status, 201);
    assert.equal(custom.text(), "from a readable");
    assert.equal(custom.headers["x-custom"], "yes");
    assert.equal(custom.headers["access-control-allow-origin"], "http://page.test");
    assert.equal(custom.headers["access-control-expose-headers"], `${EXPOSE_HEADERS},x-custom`);
    const viaFetch = await send(server, signedTrigger(server, { name: "web-fetch" }));
    assert.equal(viaFetch.status, 202);
    assert.equal(viaFetch.text(), "fetch body");
    assert.equal(viaFetch.headers["x-from"], "fetch");
    // Preflight for a trigger with a method outside the usual list.
    const pre = await send(server, {
      method: "OPTIONS",
      path: "/http/web-echo/a",
      headers: { origin: "http://page.test", "access-control-request-method": "PATCH", "access-control-request-headers": "authorization,x-acs-date,x-acs-content-sha256" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-methods"], "GET, POST, PUT, DELETE, OPTIONS, PATCH");
    const patch = await send(server, signedTrigger(server, { method: "PATCH", rest: "/a" }));
    assert.equal(patch.json().method, "PATCH");
  });
});
