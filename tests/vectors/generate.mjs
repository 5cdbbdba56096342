// Regenerates tests/vectors/ from Alibaba Cloud's official SDK, so the Rust tests check our
// signer against values we did not compute: `npm run vectors` (needs the dev dependencies).
//
// - cases/<name>/: published examples, one file per stage, stages captured from the SDK's signer.
// - differential/openapi-core-1.0.8.json: generated requests signed by the SDK's getAuthorization.
// - fc20230330-invoke/cases.json: InvokeFunction requests as the official FC client sends them,
//   captured by a local server, for the request builder.
// The PRNG is seeded, so a rerun gives the same files unless the SDK changes.

import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const Utils = require("@alicloud/openapi-core/dist/utils").default;
const versionOf = (pkg) => JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), "utf8")).version;
const SIGNER = `@alicloud/openapi-core ${versionOf("@alicloud/openapi-core")} Utils.getAuthorization`;
const ALG = "ACS3-HMAC-SHA256";

// Capture the SDK's own intermediate stages: getAuthorization hashes the canonical request with
// Utils.hash and HMACs the string to sign with Utils.signatureMethod.
let stages = {};
const origHash = Utils.hash.bind(Utils);
const origSig = Utils.signatureMethod.bind(Utils);
Utils.hash = (raw, alg) => {
  stages.canonicalRequest = Buffer.from(raw).toString("utf8");
  return origHash(raw, alg);
};
Utils.signatureMethod = (secret, source, alg) => {
  stages.stringToSign = source;
  return origSig(secret, source, alg);
};
function sdkSign(request, payloadHex, id, secret) {
  stages = {};
  const authorization = Utils.getAuthorization(request, ALG, payloadHex, id, secret);
  return { ...stages, authorization };
}

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

// mulberry32: small, seeded, good enough to spread test inputs.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(20231026);
const int = (n) => Math.floor(rand() * n);
const pick = (list) => list[int(list.length)];
const chance = (p) => rand() < p;
const fromPool = (pool, min, max) => {
  const chars = [...pool];
  let s = "";
  for (let n = min + int(max - min + 1); n > 0; n--) s += pick(chars);
  return s;
};

const UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
const TEXT = UNRESERVED + " *+!'()@:$,;=&%/?#[]\"<>^`{|}\\é中😀ß";
const HEADER_TEXT = UNRESERVED + " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const LOWER = "abcdefghijklmnopqrstuvwxyz0123456789";
const randomCase = (s) => [...s].map((c) => (chance(0.3) ? c.toUpperCase() : c)).join("");
const iso = (seconds) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

function generatedCase(index) {
  const method = pick(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]);
  const origin = pick([
    "https://123456789.cn-hangzhou.fc.aliyuncs.com",
    "https://fc.example.com:8443",
    "http://127.0.0.1:9000",
    "http://LOCALHOST:8080",
    "https://ecs.cn-shanghai.aliyuncs.com:443",
  ]);
  // Path: segments encoded the way the FC client encodes them (darabonba percentEncode), now
  // and then with raw characters the SDK's canonical-URI rule rewrites (+ * %7E).
  const segments = [];
  for (let n = int(5); n >= 0; n--) {
    let seg = require("@darabonba/typescript").URL.percentEncode(fromPool(TEXT, 0, 12));
    if (chance(0.2)) seg += pick(["+", "*", "%7E", "!", "'", "(", ")", "@", ":", "a+b*c"]);
    segments.push(seg);
  }
  const pathname = "/" + segments.join("/");
  // Query: SDK keys are not encoded, so keys are unreserved characters (where SDK and docs agree).
  const query = {};
  for (let n = int(6); n > 0; n--) {
    query[fromPool(UNRESERVED, 1, 8)] = chance(0.2) ? "" : fromPool(TEXT, 0, 16);
  }
  const queryString = Object.entries(query)
    .map(([k, v]) => (v === "" && chance(0.5) ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join("&");
  const url = origin + pathname + (queryString ? "?" + queryString : "");

  const headers = []; // what our signer is given: [name, value] pairs
  const pad = () => pick(["", " ", "  ", "\t", " \t "]);
  for (let n = int(7); n > 0; n--) {
    const kind = int(5);
    if (kind === 0) headers.push([randomCase("x-acs-meta-" + fromPool(LOWER, 1, 6)), pad() + fromPool(HEADER_TEXT, 0, 20) + pad()]);
    else if (kind === 1) headers.push([randomCase("content-type"), pick(["application/json", "application/octet-stream", " text/plain; charset=utf-8 "])]);
    else if (kind === 2) headers.push([randomCase("x-fc-" + fromPool(LOWER, 1, 6)), fromPool(HEADER_TEXT, 1, 20).trim() || "v"]);
    else if (kind === 3) headers.push([pick(["accept", "user-agent", "X-Custom"]), "value " + fromPool(LOWER, 1, 5)]);
    else if (headers.length) {
      // Same name, another case: the SDK merges these (values sorted, joined by ",").
      const [name] = pick(headers);
      headers.push([randomCase(name.toUpperCase() === name ? name.toLowerCase() : name.toUpperCase()), pad() + fromPool(HEADER_TEXT, 0, 10) + pad()]);
    }
  }
  // The SDK takes an object: drop exact-duplicate names (an object cannot hold both).
  const seen = new Set();
  const extra = headers.filter(([n]) => !seen.has(n) && seen.add(n));

  const bodyLength = pick([0, 0, 1, 13, 64, 1000, 4096]);
  const body = Buffer.from(Array.from({ length: bodyLength }, () => int(256)));
  const accessKeyId = "LTAI" + fromPool(UNRESERVED.replace(/[-_.~]/g, ""), 8, 24);
  const accessKeySecret = fromPool(UNRESERVED + "+/=!@#", 10, 40);
  const securityToken = chance(0.4) ? fromPool(UNRESERVED + "+/=", 20, 600) : undefined;
  const action = pick(["InvokeFunction", "GetAsyncTask", "ListAsyncTasks", "RunInstances"]);
  const version = pick(["2023-03-30", "2014-05-26"]);
  const date = iso(946684800 + int(3155760000));
  const nonce = chance(0.5) ? fromPool("0123456789abcdef", 32, 32) : fromPool(UNRESERVED, 8, 40);
  const payloadHash = sha256(body);

  const sdkHeaders = Object.fromEntries(extra);
  Object.assign(sdkHeaders, {
    host: new URL(url).host, // what fetch sends: lower-case, default port dropped
    "x-acs-action": action,
    "x-acs-version": version,
    "x-acs-date": date,
    "x-acs-signature-nonce": nonce,
    "x-acs-content-sha256": payloadHash,
  });
  if (securityToken) {
    sdkHeaders["x-acs-security-token"] = securityToken;
    sdkHeaders["x-acs-accesskey-id"] = accessKeyId;
  }
  const expected = sdkSign({ method, pathname, query, headers: sdkHeaders }, payloadHash, accessKeyId, accessKeySecret);
  return {
    name: `generated-${String(index).padStart(3, "0")}`,
    input: { method, url, headers: extra, bodyBase64: body.toString("base64"), accessKeyId, accessKeySecret, securityToken: securityToken ?? null, action, version, date, nonce },
    expected: { payloadHash, ...expected },
  };
}

function writeStageCase(name, source, input, expected) {
  const dir = join(here, "cases", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "SOURCE.md"), source + `\n\nStages captured from ${SIGNER} by tests/vectors/generate.mjs.\n`);
  writeFileSync(join(dir, "input.json"), JSON.stringify(input, null, 2) + "\n");
  writeFileSync(join(dir, "canonical-request.txt"), expected.canonicalRequest);
  writeFileSync(join(dir, "string-to-sign.txt"), expected.stringToSign);
  writeFileSync(join(dir, "authorization.txt"), expected.authorization);
}

function publishedCases() {
  const EMPTY = sha256(Buffer.alloc(0));
  // Alibaba Cloud "Request syntax and signature method V3", ECS RunInstances example.
  const docHeaders = {
    host: "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-version": "2014-05-26",
    "x-acs-date": "2023-10-26T09:01:01Z",
    "x-acs-signature-nonce": "d410180a5abf7fe235dd9b74aca91fc0",
    "x-acs-content-sha256": EMPTY,
  };
  const docQuery = { ImageId: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", RegionId: "cn-shanghai" };
  const doc = sdkSign({ method: "POST", pathname: "/", query: docQuery, headers: docHeaders }, EMPTY, "YourAccessKeyId", "YourAccessKeySecret");
  const published = "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804";
  if (!doc.authorization.endsWith(published)) throw new Error("the SDK no longer reproduces the V3 doc example");
  writeStageCase(
    "doc-ecs-runinstances",
    `# V3 documentation example (ECS RunInstances)\n\nAlibaba Cloud docs, "Request syntax and signature method V3" / ROA signature page: inputs and the\npublished signature ${published} (date 2023-10-26T09:01:01Z, nonce d410180a5abf7fe235dd9b74aca91fc0).`,
    {
      method: "POST",
      url: "https://ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
      headers: [],
      bodyBase64: "",
      accessKeyId: "YourAccessKeyId",
      accessKeySecret: "YourAccessKeySecret",
      securityToken: null,
      action: "RunInstances",
      version: "2014-05-26",
      date: "2023-10-26T09:01:01Z",
      nonce: "d410180a5abf7fe235dd9b74aca91fc0",
    },
    doc,
  );

  // @alicloud/openapi-util's test "getAuthorization should ok": a bare GET with an empty path, an
  // empty query value and two header names equal but for case. openapi-util expected da772425…
  // under its old rule (empty value written as a bare key); openapi-core 1.0.8 writes `empty=`.
  const util = sdkSign(
    { method: "GET", pathname: "", query: { test: "ok", empty: "" }, headers: { "x-acs-test": "http", "x-acs-TEST": "https" } },
    "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23",
    "acesskey",
    "secret",
  );
  writeStageCase(
    "openapi-util-getauthorization",
    "# openapi-util \"getAuthorization should ok\", as openapi-core 1.0.8 signs it\n\nStage-level case (no host or x-acs-date: it exercises canonicalisation only). The payload hash is given.",
    {
      method: "GET",
      path: "",
      query: [["test", "ok"], ["empty", ""]],
      headers: [["x-acs-test", "http"], ["x-acs-TEST", "https"]],
      payloadHash: "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23",
      accessKeyId: "acesskey",
      accessKeySecret: "secret",
    },
    util,
  );
}

// InvokeFunction exactly as @alicloud/fc20230330 sends it, captured by a local HTTP server.
async function officialClientCases() {
  const FC = require("@alicloud/fc20230330");
  const { $OpenApiUtil } = require("@alicloud/openapi-core");
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { "content-type": "application/octet-stream", "x-fc-request-id": "r" });
      res.end("ok");
    });
  });
  // The host is signed, so the client is given a fixed port, and regenerating rewrites the same
  // file; its connections go to whatever port the server got, so a process holding that port
  // changes nothing.
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const actualPort = server.address().port;
  const port = 39331;
  const { Agent } = require("node:http");
  const connect = Agent.prototype.createConnection;
  Agent.prototype.createConnection = function (options, callback) {
    return connect.call(this, { ...options, port: Number(options.port) === port ? actualPort : options.port }, callback);
  };
  const cases = [];
  // The last two name an FC 2.0 function as FC 3.0 does, service$function; appended, so the
  // random draws of the others stay as they were.
  for (let i = 0; i < 42; i++) {
    const sts = i % 3 === 0;
    const creds = {
      accessKeyId: "LTAI" + fromPool(LOWER, 10, 20),
      accessKeySecret: fromPool(UNRESERVED, 20, 30),
      securityToken: sts ? "STS." + fromPool(UNRESERVED + "+/=", 50, 300) : undefined,
    };
    const identifier = () => pick(["a", "_x"]) + fromPool(UNRESERVED.replace(/[.~]/g, ""), 0, 40);
    const functionName = i < 40 ? identifier() : `${identifier()}$${identifier()}`;
    const qualifier = chance(0.5) ? pick(["LATEST", "1", "prod", "blue_green-2"]) : undefined;
    const invocationType = chance(0.6) ? pick(["Sync", "Async"]) : undefined;
    const logType = chance(0.5) ? pick(["None", "Tail"]) : undefined;
    const asyncTaskId = invocationType === "Async" && chance(0.6) ? "t" + fromPool(UNRESERVED.replace(/[.~]/g, ""), 0, 60) : undefined;
    const body = Buffer.from(Array.from({ length: pick([0, 5, 100, 3000]) }, () => int(256)));
    const date = iso(1600000000 + int(400000000));
    const nonce = fromPool("0123456789abcdef", 32, 32);
    const origTs = Utils.getTimestamp, origNonce = Utils.getNonce;
    Utils.getTimestamp = () => date;
    Utils.getNonce = () => nonce;
    try {
      const client = new FC.default(new $OpenApiUtil.Config({ ...creds, endpoint: `127.0.0.1:${port}`, protocol: "http" }));
      const request = new FC.InvokeFunctionRequest({ qualifier, body: Readable.from([body]) });
      const headers = new FC.InvokeFunctionHeaders({ xFcInvocationType: invocationType, xFcLogType: logType, xFcAsyncTaskId: asyncTaskId });
      await client.invokeFunctionWithOptions(functionName, request, headers, new (require("@darabonba/typescript").RuntimeOptions)({}));
    } finally {
      Utils.getTimestamp = origTs;
      Utils.getNonce = origNonce;
    }
    const got = received.pop();
    cases.push({
      name: `fc20230330-invoke-${String(i).padStart(2, "0")}`,
      input: { ...creds, securityToken: creds.securityToken ?? null, endpoint: `http://127.0.0.1:${port}`, functionName, qualifier: qualifier ?? null, invocationType: invocationType ?? null, logType: logType ?? null, asyncTaskId: asyncTaskId ?? null, bodyBase64: body.toString("base64"), date, nonce },
      // Not its user-agent, which names the Node and platform that regenerated it (unsigned, unread).
      sent: { method: got.method, path: got.url, headers: withoutUserAgent(got.headers), bodySha256: sha256(got.body) },
    });
  }
  server.close();
  Agent.prototype.createConnection = connect;
  return cases;
}

function withoutUserAgent(headers) {
  const { "user-agent": _, ...rest } = headers;
  return rest;
}

publishedCases();
const generated = Array.from({ length: 400 }, (_, i) => generatedCase(i));
mkdirSync(join(here, "differential"), { recursive: true });
writeFileSync(
  join(here, "differential", "openapi-core-1.0.8.json"),
  // No Node version: CI regenerates these on whatever Node its machine has and needs the same bytes.
  JSON.stringify({ provenance: { signer: SIGNER, generator: "tests/vectors/generate.mjs", seed: 20231026 }, cases: generated }, null, 1) + "\n",
);
const invoke = await officialClientCases();
mkdirSync(join(here, "fc20230330-invoke"), { recursive: true });
writeFileSync(
  join(here, "fc20230330-invoke", "cases.json"),
  JSON.stringify({ provenance: { client: `@alicloud/fc20230330 ${versionOf("@alicloud/fc20230330")} invokeFunctionWithOptions over node:http, captured by a local server`, signer: SIGNER, generator: "tests/vectors/generate.mjs" }, cases: invoke }, null, 1) + "\n",
);
console.log(`wrote 2 published cases, ${generated.length} differential cases, ${invoke.length} official-client InvokeFunction captures`);
