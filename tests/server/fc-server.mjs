// A local Function Compute 3.0 look-alike for the demo and for integration tests (Node, Deno,
// workerd, Chromium). It verifies every ACS3-HMAC-SHA256 signature with its own node:crypto code,
// written from /work/shared/reference/signature-v3.md, and never imports the library under test:
// a signer bug must not be able to hide behind a matching verifier bug.
//
//   import { startFcServer } from "./fc-server.mjs";
//   const server = await startFcServer({ port: 0 });
//   // … server.url, server.invocations, server.rejections …
//   await server.close();
//
// Routes (all ACS3-HMAC-SHA256 signed; CORS preflight answered on any path):
//   POST /2023-03-30/functions/{name}/invocations            InvokeFunction (Sync 200 / Async 202)
//   GET  /2023-03-30/functions/{name}/async-tasks/{id}       GetAsyncTask   -> AsyncTask JSON
//   PUT  /2023-03-30/functions/{name}/async-tasks/{id}/stop  StopAsyncTask  -> 200, empty body
//   GET  /2023-03-30/functions/{name}/async-tasks            ListAsyncTasks -> { tasks, nextToken? }
//   any  /http/{name}{/rest}                                 HTTP trigger with signature
//        authentication (no x-acs-action / x-acs-version; see TRIGGER_REQUIRED_SIGNED_HEADERS)
// Async tasks go Enqueued -> Running -> Succeeded | Failed | Stopped (server.asyncTasks,
// server.waitForAsyncTask, server.asyncTaskView, server.stopAsyncTask, server.setAsyncStartDelay);
// trigger calls are recorded in server.triggerCalls; trigger functions are set with
// server.setHttpFunction (built-ins: web-echo, web-stream, web-status).
//
// Run directly: `node tests/server/fc-server.mjs [--port 9000] [--host 127.0.0.1]` prints one JSON
// line {"url", "accessKeyId"} and serves until SIGINT/SIGTERM.
//
// Only node: builtins, so Deno/workerd/browser test harnesses can start it with plain `node`.

import { createServer } from "node:http";
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { setMaxListeners } from "node:events";

export const DEMO_CREDENTIALS = Object.freeze({
  accessKeyId: "LTAI5tDemoKeyId0000",
  accessKeySecret: "demo-secret-do-not-use",
});

// Real STS tokens are long base64 with '+', '/' and '='; keep those characters so header handling
// of such values is exercised by default.
export const DEMO_STS_CREDENTIALS = Object.freeze({
  accessKeyId: "STS.DemoStsKeyId0000",
  accessKeySecret: "demo-sts-secret-do-not-use",
  securityToken: "CAIS.demo+sts/token==do-not-use",
});

export const ALGORITHM = "ACS3-HMAC-SHA256";
export const API_VERSION = "2023-03-30";
export const SYNC_BODY_LIMIT = 32 * 1024 * 1024; // FC 3.0: 32 MB for Sync invocations
export const ASYNC_BODY_LIMIT = 128 * 1024; // FC 3.0: 128 KB for Async invocations
const LOG_TAIL_LIMIT = 4096; // FC returns at most the last 4 KB of the log
const TASK_ID_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
// RFC 7230 token, lower case only: SignedHeaders must be written the way the canonical headers are.
const SIGNED_NAME_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

// Headers every InvokeFunction request must carry and sign (signature-v3.md, "Headers the official
// client sends"); anything else x-acs-* that arrives must be signed too.
export const REQUIRED_SIGNED_HEADERS = Object.freeze([
  "host",
  "x-acs-action",
  "x-acs-content-sha256",
  "x-acs-date",
  "x-acs-signature-nonce",
  "x-acs-version",
]);

// What a signed HTTP trigger request must carry and sign. FC's page "Configure signature
// authentication for HTTP triggers" names x-acs-date and authorization (plus x-acs-security-token
// with STS) and checks against the client's SignedHeaders list; no x-acs-action / x-acs-version
// (a trigger is not an API action). x-acs-content-sha256 is required here although the page does
// not list it: our client always sends it, and without it this server would have to hash the body
// into the canonical request unannounced, which would hide a client that forgot it.
// x-acs-signature-nonce is optional; when present it is signed and checked for replay.
export const TRIGGER_REQUIRED_SIGNED_HEADERS = Object.freeze(["host", "x-acs-content-sha256", "x-acs-date"]);

// What FC itself exposes (errors-and-responses.md), plus echo's diagnostic header, so a browser
// page can read them cross-origin. Not x-fc-async-task-id: FC's list leaves it out.
export const EXPOSE_HEADERS = [
  "Date",
  "x-fc-request-id",
  "x-fc-error-type",
  "x-fc-code-checksum",
  "x-fc-invocation-duration",
  "x-fc-max-memory-usage",
  "x-fc-log-result",
  "x-fc-invocation-code-version",
  "x-echo-content-type",
].join(",");

const sha256Hex = (data) => createHash("sha256").update(data).digest("hex");
const hmacHex = (key, data) => createHmac("sha256", key).update(data).digest("hex");

// Constant-time string comparison of any lengths: compare digests, not the strings.
function safeEqual(a, b) {
  return timingSafeEqual(createHash("sha256").update(String(a)).digest(), createHash("sha256").update(String(b)).digest());
}

// ---------------------------------------------------------------------------------------------
// Signature verification
// ---------------------------------------------------------------------------------------------

// Headers as a Map of lower-case name -> list of raw values. Accepts a node IncomingMessage
// (headersDistinct keeps repeated headers apart, as the canonical form needs), a fetch Headers,
// a list of [name, value] pairs, or a plain object whose values are strings or arrays.
function headerMap(request) {
  const source = request.headersDistinct ?? request.headers ?? {};
  const map = new Map();
  const add = (name, value) => {
    if (value === undefined || value === null) return;
    const key = String(name).toLowerCase();
    const list = map.get(key) ?? [];
    for (const v of Array.isArray(value) ? value : [value]) list.push(String(v));
    map.set(key, list);
  };
  if (Array.isArray(source)) for (const [n, v] of source) add(n, v);
  else if (typeof source.entries === "function" && typeof source.get === "function") for (const [n, v] of source.entries()) add(n, v);
  else for (const [n, v] of Object.entries(source)) add(n, v);
  return map;
}

// Canonical header value: each value trimmed at the ends only, several values sorted and joined
// with "," (signature-v3.md, CanonicalHeaders; @alicloud/openapi-core 1.0.8 does the same).
const canonicalValue = (values) => values.map((v) => v.trim()).sort().join(",");

// RFC 3986 encoding as the V3 spec wants it: encodeURIComponent leaves !'()* alone.
const encodeRfc3986 = (s) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

/** The canonical URI for a raw request path (already percent-encoded by the client). */
export function canonicalUri(rawPath) {
  return rawPath.replace(/\+/g, "%20").replace(/\*/g, "%2A").replace(/%7E/g, "~");
}

/** The canonical query string for a raw query (without "?"), URLSearchParams semantics. */
export function canonicalQuery(rawQuery) {
  const pairs = [];
  for (const [k, v] of new URLSearchParams(rawQuery)) pairs.push([encodeRfc3986(k), encodeRfc3986(v)]);
  // Byte order of the encoded (pure ASCII) strings; plain < comparison is byte order here.
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** Parses `YYYY-MM-DDTHH:MM:SSZ`; returns ms since the epoch or null. */
export function parseAcsDate(value) {
  const m = DATE_RE.exec(value ?? "");
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls over (Feb 30 -> Mar 2); a round trip rejects such dates.
  return new Date(ms).toISOString().slice(0, 19) + "Z" === value ? ms : null;
}

function parseAuthorization(value) {
  const m = /^(\S+) +(\S.*)$/.exec(value);
  if (!m) return null;
  const fields = {};
  for (const part of m[2].split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return null;
    const key = part.slice(0, eq).trim();
    if (key in fields) return null;
    fields[key] = part.slice(eq + 1).trim();
  }
  const { Credential, SignedHeaders, Signature } = fields;
  if (Object.keys(fields).length !== 3 || !Credential || !SignedHeaders || !Signature) return null;
  return { algorithm: m[1], accessKeyId: Credential, signedHeaders: SignedHeaders, signature: Signature };
}

function credentialLookup(credentials) {
  if (typeof credentials === "function") return credentials;
  if (credentials instanceof Map) return (id) => credentials.get(id);
  const list = Array.isArray(credentials) ? credentials : credentials ? [credentials] : [];
  return (id) => list.find((c) => c.accessKeyId === id);
}

/**
 * Verifies an ACS3-HMAC-SHA256 signed request, independently of any client code.
 *
 * @param {{method: string, url: string, headers?: object, headersDistinct?: object}} request
 *   `url` is the raw request target (path + optional "?query"), e.g. node's `req.url`.
 *   A node IncomingMessage can be passed as is.
 * @param {Uint8Array|string|null} body the whole body, or null when `options.bodySha256` is given.
 * @param {object} options
 *   credentials: Map id->cred | array of creds | (id) => cred  (cred: {accessKeyId, accessKeySecret, securityToken?, expiresAt?})
 *   now: () => ms epoch (default Date.now); maxSkewSeconds (default 900)
 *   nonces: Map nonce->expiry ms; when given, replays are rejected and a verified nonce is recorded
 *   expectedAction / expectedVersion: required values of x-acs-action / x-acs-version (optional)
 *   bodySha256: hex SHA-256 of the body when it was hashed while streaming
 *   requireSignedContentType: a received content-type must be signed (default true)
 *   requiredHeaders: headers that must be present and signed (default REQUIRED_SIGNED_HEADERS;
 *     TRIGGER_REQUIRED_SIGNED_HEADERS for HTTP triggers). x-acs-date and x-acs-content-sha256
 *     are always needed for the check itself; a nonce, when sent, must be non-empty and is
 *     replay-checked whether required or not.
 * @returns {{ok: boolean, status: number, code?: string, message?: string, accessKeyId?: string,
 *   signedHeaders?: string[], nonce?: string, dateMs?: number, canonicalRequest?: string, stringToSign?: string}}
 *   canonicalRequest (security token redacted) and stringToSign come with SignatureNotMatch, for debugging.
 */
export function verifyAcs3(request, body, options = {}) {
  const {
    now = Date.now,
    maxSkewSeconds = 900,
    nonces = null,
    expectedAction = null,
    expectedVersion = null,
    requireSignedContentType = true,
    requiredHeaders = REQUIRED_SIGNED_HEADERS,
  } = options;
  const lookup = credentialLookup(options.credentials ?? []);
  const fail = (status, code, message, extra = {}) => ({ ok: false, status, code, message, ...extra });
  const headers = headerMap(request);
  const value = (name) => (headers.has(name) ? canonicalValue(headers.get(name)) : undefined);

  // 1. Authorization header.
  const authValues = headers.get("authorization");
  if (!authValues || authValues.every((v) => v.trim() === "")) {
    return fail(400, "MissingAuthorization", "The request is not signed: the Authorization header is missing.");
  }
  const auth = authValues.length === 1 ? parseAuthorization(authValues[0].trim()) : null;
  if (!auth) {
    return fail(403, "SignatureNotMatch",
      "Malformed Authorization header: expected 'ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b;c>,Signature=<hex>'.");
  }
  if (auth.algorithm !== ALGORITHM) {
    return fail(403, "SignatureNotMatch", `Unsupported signature algorithm '${auth.algorithm}': only ${ALGORITHM} is accepted.`);
  }
  // Lower-case, as the official signer writes it: a server comparing strings would refuse others.
  if (!/^[0-9a-f]{64}$/.test(auth.signature)) {
    return fail(403, "SignatureNotMatch", "Malformed Authorization header: Signature must be 64 lower-case hex digits.");
  }
  const signed = auth.signedHeaders.split(";");
  // The canonical request uses the client's SignedHeaders string verbatim and lists headers in that
  // order; the spec says lower-case, sorted, unique, so anything else is a signer bug worth naming.
  for (let i = 0; i < signed.length; i++) {
    if (!SIGNED_NAME_RE.test(signed[i]) || (i > 0 && signed[i - 1] >= signed[i])) {
      return fail(403, "SignatureNotMatch", "Malformed Authorization header: SignedHeaders must be lower-case header names, sorted, without duplicates, separated by ';'.");
    }
  }
  const signedSet = new Set(signed);

  // 2. Required headers, then their values.
  for (const name of requiredHeaders) {
    if (!headers.has(name)) return fail(400, "MissingRequiredHeader", `The required header '${name}' is missing.`);
  }
  for (const name of ["x-acs-date", "x-acs-content-sha256"]) {
    if (!headers.has(name)) return fail(400, "MissingRequiredHeader", `The required header '${name}' is missing.`);
  }
  const action = value("x-acs-action");
  if (expectedAction && action !== expectedAction) {
    return fail(400, "InvalidArgument", `x-acs-action '${action}' does not match this API: expected '${expectedAction}'.`);
  }
  const version = value("x-acs-version");
  if (expectedVersion && version !== expectedVersion) {
    return fail(400, "InvalidArgument", `x-acs-version '${version}' is not supported: expected '${expectedVersion}'.`);
  }
  const dateText = value("x-acs-date");
  const dateMs = parseAcsDate(dateText);
  if (dateMs === null) {
    return fail(400, "InvalidArgument", `x-acs-date '${dateText}' is invalid: expected UTC 'YYYY-MM-DDTHH:MM:SSZ'.`);
  }
  const nonce = value("x-acs-signature-nonce");
  if (headers.has("x-acs-signature-nonce") && !nonce) {
    return fail(400, "MissingRequiredHeader", "The required header 'x-acs-signature-nonce' is empty.");
  }
  const contentSha256 = value("x-acs-content-sha256");

  // 3. Coverage: what must be signed is signed, and what is signed was received.
  for (const name of requiredHeaders) {
    if (!signedSet.has(name)) return fail(403, "SignatureNotMatch", `The header '${name}' must be signed (listed in SignedHeaders).`);
  }
  for (const name of headers.keys()) {
    if (name.startsWith("x-acs-") && !signedSet.has(name)) {
      return fail(403, "SignatureNotMatch", `The header '${name}' was received but is not signed: every x-acs-* header must be listed in SignedHeaders.`);
    }
  }
  // A browser adds content-type on its own for string bodies; an unsigned one means the client did
  // not sign what it sent (signature-v3.md: host, content-type and x-acs-* is the minimum).
  if (requireSignedContentType && headers.has("content-type") && !signedSet.has("content-type")) {
    return fail(403, "SignatureNotMatch", "The header 'content-type' was received but is not signed.");
  }
  for (const name of signed) {
    if (!headers.has(name)) return fail(403, "SignatureNotMatch", `SignedHeaders lists '${name}', which the request does not carry.`);
  }

  // 4. Credentials, and the STS token that goes with temporary ones.
  const cred = lookup(auth.accessKeyId);
  if (!cred) return fail(403, "InvalidAccessKeyID", `The AccessKey ID '${auth.accessKeyId}' does not exist.`);
  const token = value("x-acs-security-token");
  const tokenKeyId = value("x-acs-accesskey-id");
  if (cred.securityToken) {
    if (token === undefined) {
      return fail(403, "InvalidSecurityToken", "The AccessKey is temporary (STS): the request must carry x-acs-security-token.");
    }
    if (!safeEqual(token, cred.securityToken)) {
      return fail(403, "InvalidSecurityToken", "The security token you provided is invalid for this AccessKey.");
    }
    if (tokenKeyId !== auth.accessKeyId) {
      return fail(403, "InvalidSecurityToken", "With a security token, x-acs-accesskey-id must be sent and equal the Credential AccessKey ID.");
    }
    if (cred.expiresAt !== undefined && cred.expiresAt !== null && now() > cred.expiresAt) {
      return fail(403, "InvalidSecurityToken.Expired", "The security token you provided has expired");
    }
  } else {
    if (token !== undefined) {
      return fail(403, "InvalidSecurityToken", "A security token was sent with a permanent AccessKey, which has none.");
    }
    if (tokenKeyId !== undefined && tokenKeyId !== auth.accessKeyId) {
      return fail(403, "InvalidAccessKeyID", "x-acs-accesskey-id does not equal the Credential AccessKey ID.");
    }
  }

  // 5. The signature itself.
  const [rawPath, rawQuery = ""] = splitTarget(request.url ?? "/");
  const canonicalHeaders = signed.map((name) => `${name}:${value(name)}\n`).join("");
  const canonicalRequest = [
    String(request.method).toUpperCase(),
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    canonicalHeaders,
    auth.signedHeaders,
    contentSha256,
  ].join("\n");
  const stringToSign = `${ALGORITHM}\n${sha256Hex(canonicalRequest)}`;
  const expected = Buffer.from(hmacHex(cred.accessKeySecret, stringToSign), "hex");
  const given = Buffer.from(auth.signature, "hex");
  if (!timingSafeEqual(expected, given)) {
    // The string to sign is a hash: safe to show. The canonical request may hold the STS token, so
    // it is returned (redacted) for test diagnostics but never put in the message.
    const redacted = token ? canonicalRequest.split(token).join("<redacted-security-token>") : canonicalRequest;
    return fail(403, "SignatureNotMatch",
      `The request signature does not match the signature the server calculated; check the AccessKey secret and the signing method. Server string to sign is: ${JSON.stringify(stringToSign)}`,
      { accessKeyId: auth.accessKeyId, canonicalRequest: redacted, stringToSign });
  }

  // 6. The body must be the one that was signed.
  const bodyHash = options.bodySha256 ?? sha256Hex(body ?? Buffer.alloc(0));
  if (!HEX64_RE.test(contentSha256 ?? "") || !safeEqual(bodyHash, contentSha256)) {
    return fail(403, "SignatureNotMatch",
      `The content hash does not match: x-acs-content-sha256 must be the lower-case hex SHA-256 of the body (the server computed ${bodyHash}).`,
      { accessKeyId: auth.accessKeyId });
  }

  // 7. Freshness, checked after the signature: RequestTimeTooSkewed then means "all else was
  // right", so a client may correct its clock from the Date header and retry.
  const nowMs = now();
  const skewSeconds = Math.round((nowMs - dateMs) / 1000);
  if (Math.abs(nowMs - dateMs) > maxSkewSeconds * 1000) {
    return fail(403, "RequestTimeTooSkewed",
      `The request time ${dateText} is too far from the server time ${new Date(nowMs).toISOString().slice(0, 19)}Z: skew ${skewSeconds} seconds, at most ${maxSkewSeconds} seconds allowed.`,
      { accessKeyId: auth.accessKeyId });
  }

  // 8. Replay: a nonce is remembered only once its request verified, for as long as the request's
  // date stays fresh (after that the date check rejects the replay anyway).
  if (nonces && nonce !== undefined) {
    const expiry = nonces.get(nonce);
    if (expiry !== undefined && expiry >= nowMs) {
      return fail(403, "SignatureNonceUsed", `The signature nonce '${nonce}' has already been used.`, { accessKeyId: auth.accessKeyId });
    }
    if (nonces.size >= 1024) for (const [n, e] of nonces) if (e < nowMs) nonces.delete(n);
    nonces.set(nonce, Math.max(dateMs, nowMs) + maxSkewSeconds * 1000);
  }
  return { ok: true, status: 200, accessKeyId: auth.accessKeyId, signedHeaders: signed, nonce, dateMs };
}

function splitTarget(url) {
  const q = url.indexOf("?");
  return q < 0 ? [url, ""] : [url.slice(0, q), url.slice(q + 1)];
}

// ---------------------------------------------------------------------------------------------
// Built-in functions
// ---------------------------------------------------------------------------------------------

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function decimalArg(event, fallback) {
  const text = event.toString("utf8").trim();
  if (text === "") return fallback;
  if (!/^\d+$/.test(text)) throw new TypeError(`expected a decimal number, got '${text.slice(0, 40)}'`);
  return Number(text);
}

export const BUILTIN_FUNCTIONS = Object.freeze({
  async echo(event, ctx) {
    ctx.log(`echo ${event.length} bytes`);
    return { body: event, headers: { "x-echo-content-type": ctx.headers["content-type"] ?? "" } };
  },
  async fail() {
    throw new Error("boom");
  },
  async slow(event, ctx) {
    await sleep(decimalArg(event, 1000), ctx.signal);
    return "done";
  },
  // Sleeps for the decimal ms in the event (default 1000), honouring ctx.signal, so a test can
  // stop it (StopAsyncTask) or abandon it while it runs.
  async sleepy(event, ctx) {
    const ms = decimalArg(event, 1000);
    ctx.log(`sleeping ${ms} ms`);
    await sleep(ms, ctx.signal);
    return `slept ${ms} ms`;
  },
  async big(event) {
    const n = decimalArg(event, 0);
    if (n > 256 * 1024 * 1024) throw new RangeError(`big: at most 268435456 bytes, got ${n}`);
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = i % 251;
    return out;
  },
  async json(event, ctx) {
    return {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        functionName: ctx.functionName,
        qualifier: ctx.qualifier,
        version: ctx.version,
        invocationType: ctx.invocationType,
        asyncTaskId: ctx.asyncTaskId,
        length: event.length,
        sha256: sha256Hex(event),
      }),
    };
  },
  async log(event, ctx) {
    const lines = event.toString("utf8").split(/\r?\n/);
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    for (const line of lines) ctx.log(line);
    return "ok";
  },
});

// Built-in HTTP-trigger functions (routes /http/{name}/...): `async (request, ctx) => response`.
//   request = { method, path (raw, after the function name; "/" when none), query
//     (URLSearchParams), headers (lower-case names), body (Buffer) }
//   ctx = { functionName, requestId, signal (client gone or server closing), log(line) }
//   response = { status?, headers?, body? } where body is bytes, a string, a JSON-able value, or a
//     Node Readable / async iterable of chunks (streamed with chunked transfer encoding); a bare
//     Readable / async iterable is a 200 stream; a fetch Response works too.
function intQuery(query, name, fallback, min, max) {
  const text = query.get(name);
  if (text === null) return fallback;
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new RangeError(`query '${name}' must be an integer in [${min}, ${max}], got '${text.slice(0, 40)}'`);
  }
  return Number(text);
}
const badRequest = (err) => ({ status: 400, headers: { "content-type": "text/plain; charset=utf-8" }, body: `${err.message}\n` });

export const BUILTIN_HTTP_FUNCTIONS = Object.freeze({
  // 200 JSON { method, path, query: {name: value | [values…]}, bodyLength, bodySha256, contentType }.
  async "web-echo"(request) {
    const query = Object.create(null);
    for (const [k, v] of request.query) query[k] = Object.hasOwn(query, k) ? [].concat(query[k], v) : v;
    return {
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({
        method: request.method,
        path: request.path,
        query,
        bodyLength: request.body.length,
        bodySha256: sha256Hex(request.body),
        contentType: request.headers["content-type"] ?? null,
      }),
    };
  },
  // text/plain in `chunks` chunks (query, default 5) `intervalMs` apart (query, default 20);
  // chunk i is "chunk i\n". Ends early (the connection is cut) when ctx.signal fires.
  async "web-stream"(request, ctx) {
    let chunks, intervalMs;
    try {
      chunks = intQuery(request.query, "chunks", 5, 0, 100_000);
      intervalMs = intQuery(request.query, "intervalMs", 20, 0, 60_000);
    } catch (err) {
      return badRequest(err);
    }
    async function* body() {
      for (let i = 0; i < chunks; i++) {
        if (i > 0) await sleep(intervalMs, ctx.signal);
        yield `chunk ${i}\n`;
      }
    }
    return { status: 200, headers: { "content-type": "text/plain; charset=utf-8" }, body: body() };
  },
  // Answers the status in query `status` (200..599, default 200) with body "status N\n"
  // (none for 204 and 304).
  async "web-status"(request) {
    let status;
    try {
      status = intQuery(request.query, "status", 200, 200, 599);
    } catch (err) {
      return badRequest(err);
    }
    if (status === 204 || status === 304) return { status, body: "" };
    return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body: `status ${status}\n` };
  },
});

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Stable per function, like FC's crc64 code checksum (a decimal string).
const codeChecksum = (name) => BigInt("0x" + sha256Hex("code:" + name).slice(0, 16)).toString();

// Handler results: bytes/string, or {body, headers, status}; other values are sent as JSON.
function normalizeResult(result) {
  const isResponse =
    result !== null && typeof result === "object" && !ArrayBuffer.isView(result) && !(result instanceof ArrayBuffer) &&
    ("body" in result || "headers" in result || "status" in result);
  const { body, headers = {}, status = 200 } = isResponse ? result : { body: result };
  let bytes;
  const extra = {};
  if (body === undefined || body === null) bytes = Buffer.alloc(0);
  else if (typeof body === "string") bytes = Buffer.from(body, "utf8");
  else if (Buffer.isBuffer(body)) bytes = body;
  else if (ArrayBuffer.isView(body)) bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else if (body instanceof ArrayBuffer) bytes = Buffer.from(body);
  else {
    bytes = Buffer.from(JSON.stringify(body), "utf8");
    extra["content-type"] = "application/json";
  }
  const lower = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = String(v);
  return { status, headers: { ...extra, ...lower }, body: bytes };
}

const isAsyncIterable = (x) =>
  x !== null && typeof x === "object" && !ArrayBuffer.isView(x) && typeof x[Symbol.asyncIterator] === "function";

// Response headers as a plain object of lower-case names; accepts a plain object, a fetch Headers
// or a Map; array values (set-cookie) stay arrays.
function lowerHeaders(headers) {
  const out = {};
  if (!headers) return out;
  const entries = typeof headers.entries === "function" && !Array.isArray(headers) ? headers.entries() : Object.entries(headers);
  for (const [k, v] of entries) out[String(k).toLowerCase()] = Array.isArray(v) ? v.map(String) : String(v);
  return out;
}

// HTTP-trigger results: like normalizeResult, plus streams ({ status, headers, stream }).
function normalizeHttpResult(result) {
  if (isAsyncIterable(result) && !("status" in result && "body" in result)) return { status: 200, headers: {}, stream: result };
  let normalized;
  if (result !== null && typeof result === "object" && "body" in result && isAsyncIterable(result.body)) {
    normalized = { status: result.status ?? 200, headers: lowerHeaders(result.headers), stream: result.body };
  } else if (result !== null && typeof result === "object" && !ArrayBuffer.isView(result) && !(result instanceof ArrayBuffer) &&
    ("body" in result || "headers" in result || "status" in result)) {
    // Read through getters (a fetch Response keeps status/body/headers on its prototype).
    const n = normalizeResult({ body: result.body ?? null, status: result.status ?? 200, headers: {} });
    normalized = { status: n.status, headers: { ...n.headers, ...lowerHeaders(result.headers) }, body: n.body };
  } else {
    normalized = normalizeResult(result);
  }
  if (!Number.isInteger(normalized.status) || normalized.status < 200 || normalized.status > 599) {
    throw new RangeError(`the function answered an invalid HTTP status '${normalized.status}'`);
  }
  return normalized;
}

// The last `limit` bytes of the log, not cut inside a UTF-8 character.
function logTail(lines, limit = LOG_TAIL_LIMIT) {
  let bytes = Buffer.from(lines.join("\n"), "utf8");
  if (bytes.length > limit) {
    let start = bytes.length - limit;
    while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
    bytes = bytes.subarray(start);
  }
  return bytes.toString("base64");
}

/** A fresh random string of [A-Za-z0-9]. */
function randomAlnum(n) {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join("");
}

/**
 * Registers fresh STS credentials on `server` and returns them the way an STS AssumeRole answer
 * carries them. `expiration` is whole seconds, like STS; the token is rejected after it.
 */
export function mintStsCredentials(server, { ttlMs = 3600_000 } = {}) {
  const expiresAt = Math.ceil((server.now() + ttlMs) / 1000) * 1000;
  const cred = {
    accessKeyId: "STS.NT" + randomAlnum(26),
    accessKeySecret: randomAlnum(44),
    securityToken: "CAIS" + randomBytes(180).toString("base64"),
    expiresAt,
  };
  server.addCredentials(cred);
  return {
    accessKeyId: cred.accessKeyId,
    accessKeySecret: cred.accessKeySecret,
    securityToken: cred.securityToken,
    expiration: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
}

/**
 * Starts the server. See the module comment and the option defaults below.
 * @returns {Promise<object>} the server handle (url, invocations, rejections, asyncTasks, …)
 */
/**
 * Faults the server can inject, and whether the function runs first (what a client must assume):
 *   { kind: "status", status, code, retryAfter?, run? }  answer an error; run: true = after running
 *                                                       (e.g. 500), otherwise before (429, 503)
 *   { kind: "expired-token" }                            403 InvalidSecurityToken.Expired, not run
 *   { kind: "reset" }                                    connection destroyed before running
 *   { kind: "reset-after-run" }                          ran, then the connection is destroyed
 *   { kind: "reset-mid-body" }                           ran, headers and half the body, then reset
 *   { kind: "truncate" }                                 ran, half the promised body, then a clean close
 *   { kind: "slow-headers", ms }                         ran, headers only after ms
 *   { kind: "slow-body", ms }                            ran, headers at once, the rest after ms
 *   { kind: "redirect", status? }                        a redirect (307) to the same URL, not run:
 *                                                       a client that follows it resends the nonce
 * A client with a wrong clock is emulated with server.setClockOffset(ms).
 */
export const FAULTS = Object.freeze(["status", "expired-token", "reset", "reset-after-run", "reset-mid-body", "truncate", "slow-headers", "slow-body", "redirect"]);

function faultRunsHandler(fault) {
  if (fault.kind === "status") return fault.run === true;
  return !["expired-token", "reset", "redirect"].includes(fault.kind);
}

export async function startFcServer(options = {}) {
  const {
    host = "127.0.0.1",
    port = 0,
    maxSkewSeconds = 900,
    now = () => Date.now(),
    cors = true,
    versions = ["1", "2"], // published versions every function has
    aliases = { prod: "2" }, // alias -> version
    region = "cn-local", // for functionArn in async-task answers
    accountId = "123",
  } = options;
  // Async tasks stay Enqueued this long before their handler starts (0: the next timer tick).
  let asyncStartDelayMs = options.asyncStartDelayMs ?? 0;
  // Fault injection (tests/faults/): a chooser called once per invocation that passed
  // verification; it returns null or a fault (see FAULTS below). The clock offset shifts the
  // server's clock, which is how a client with a wrong clock is emulated in one process.
  let chooseFault = null;
  let clockOffsetMs = 0;
  const serverNow = () => now() + clockOffsetMs;
  const faultCounts = {};

  const credentials = new Map();
  const functions = new Map(Object.entries({ ...BUILTIN_FUNCTIONS, ...(options.functions ?? {}) }));
  const httpFunctions = new Map(Object.entries({ ...BUILTIN_HTTP_FUNCTIONS, ...(options.httpFunctions ?? {}) }));
  const nonces = new Map();
  const invocations = [];
  const rejections = [];
  const asyncTasks = new Map(); // taskId -> task record (see createAsyncTask)
  const taskControl = new WeakMap(); // task -> { abort: AbortController, done: Promise<task>, resolveDone }
  let taskSeq = 0; // acceptance order: ties of startedTime sort by it
  const triggerCalls = [];
  const pending = new Set(); // background runs, awaited (after an abort) by close()
  const lifetime = new AbortController(); // aborts every handler when the server closes
  setMaxListeners(0, lifetime.signal); // every in-flight handler listens to it

  function addCredentials(cred) {
    if (!cred?.accessKeyId || !cred?.accessKeySecret) throw new TypeError("credentials need accessKeyId and accessKeySecret");
    credentials.set(cred.accessKeyId, { ...cred });
  }
  for (const cred of options.credentials ?? [DEMO_CREDENTIALS, DEMO_STS_CREDENTIALS]) addCredentials(cred);

  // --- responses -------------------------------------------------------------------------------

  function corsHeaders(req) {
    if (!cors) return {};
    return {
      "access-control-allow-origin": req.headers.origin ?? "*",
      "access-control-expose-headers": EXPOSE_HEADERS,
      vary: "Origin",
    };
  }

  // Date comes from the server's own clock (now()), not node's: clients correct skew from it.
  function baseHeaders(req, requestId) {
    return { date: new Date(serverNow()).toUTCString(), "x-fc-request-id": requestId, ...corsHeaders(req) };
  }

  function sendError(req, res, requestId, status, code, message, debug, extraHeaders = {}) {
    const rejection = { requestId, status, code, message };
    if (debug) rejection.debug = debug;
    rejections.push(rejection);
    if (res.headersSent || res.destroyed) return;
    const body = Buffer.from(JSON.stringify({ Code: code, Message: message, RequestId: requestId }), "utf8");
    res.writeHead(status, {
      ...extraHeaders,
      ...baseHeaders(req, requestId),
      "content-type": "application/json; charset=utf-8",
      "content-length": body.length,
    });
    res.end(body);
  }

  // --- handler execution -------------------------------------------------------------------------

  async function runHandler(handler, event, ctxBase, signal) {
    const logs = [`FC Invoke Start RequestId: ${ctxBase.requestId}`];
    const ctx = { ...ctxBase, signal, log: (line) => void logs.push(String(line)) };
    const t0 = performance.now();
    let outcome;
    try {
      outcome = { ok: true, response: normalizeResult(await handler(event, ctx)) };
    } catch (err) {
      const error = { errorMessage: String(err?.message ?? err), errorType: err?.name || "Error" };
      outcome = { ok: false, error };
    }
    logs.push(`FC Invoke End RequestId: ${ctxBase.requestId}`);
    outcome.durationMs = performance.now() - t0;
    outcome.logs = logs;
    return outcome;
  }

  function invocationHeaders(functionName, version, outcome) {
    return {
      "x-fc-code-checksum": codeChecksum(functionName),
      "x-fc-invocation-duration": String(Math.max(1, Math.round(outcome?.durationMs ?? 0))),
      "x-fc-max-memory-usage": (process.memoryUsage().rss / 1048576).toFixed(2),
      "x-fc-invocation-code-version": version,
    };
  }

  // --- routes ----------------------------------------------------------------------------------
  //
  // A route: { name, method ("*": any), pattern (RegExp on the raw path; groups become params),
  //   signed: { action?, version?, requiredHeaders? } | null (null: no ACS3 check, the route does
  //   its own; requiredHeaders defaults to REQUIRED_SIGNED_HEADERS),
  //   maxBody: bytes kept in memory (more is still hashed, then EntityTooLarge unless
  //   checksBodySize), checksBodySize, handle(call) }.
  // call = { req, res, requestId, params, query (URLSearchParams), rawQuery, body (Buffer | null
  //   when over maxBody), bodyLength, bodySha256, auth (verifyAcs3 result), fail(status, code, message) }.

  function decodeParam(text, what) {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new HttpError(400, "InvalidArgument", `The ${what} in the path is not valid percent-encoding.`);
    }
  }

  // Qualifier (null, LATEST, a version or an alias) -> version, or 404.
  function resolveVersion(functionName, qualifier) {
    if (qualifier === null || qualifier === "LATEST") return "LATEST";
    if (/^\d+$/.test(qualifier)) {
      if (!versions.includes(qualifier)) throw new HttpError(404, "VersionNotFound", `Version '${qualifier}' of function '${functionName}' does not exist.`);
      return qualifier;
    }
    if (Object.hasOwn(aliases, qualifier)) return String(aliases[qualifier]);
    throw new HttpError(404, "AliasNotFound", `Alias '${qualifier}' of function '${functionName}' does not exist.`);
  }

  function sendJson(req, res, requestId, status, value) {
    const body = Buffer.from(JSON.stringify(value), "utf8");
    res.writeHead(status, { ...baseHeaders(req, requestId), "content-type": "application/json; charset=utf-8", "content-length": body.length });
    res.end(body);
  }

  const invokeRoute = {
    name: "InvokeFunction",
    method: "POST",
    pattern: /^\/2023-03-30\/functions\/([^/]+)\/invocations$/,
    signed: { action: "InvokeFunction", version: API_VERSION },
    maxBody: SYNC_BODY_LIMIT,
    checksBodySize: true, // after function/qualifier lookup, with the limit of the invocation type
    async handle(call) {
      const { req, res, requestId, query, bodyLength } = call;
      const functionName = decodeParam(call.params[0], "function name");
      const handler = functions.get(functionName);
      if (!handler) throw new HttpError(404, "FunctionNotFound", `Function '${functionName}' does not exist.`);

      const qualifier = query.get("qualifier") || null;
      const version = resolveVersion(functionName, qualifier);

      const invocationType = req.headers["x-fc-invocation-type"] ?? "Sync";
      if (invocationType !== "Sync" && invocationType !== "Async") {
        throw new HttpError(400, "InvalidArgument", `x-fc-invocation-type must be 'Sync' or 'Async', got '${invocationType}'.`);
      }
      const logType = req.headers["x-fc-log-type"] ?? "None";
      if (logType !== "None" && logType !== "Tail") {
        throw new HttpError(400, "InvalidArgument", `x-fc-log-type must be 'None' or 'Tail', got '${logType}'.`);
      }
      const givenTaskId = req.headers["x-fc-async-task-id"];
      if (givenTaskId !== undefined && !TASK_ID_RE.test(givenTaskId)) {
        throw new HttpError(400, "InvalidArgument", "x-fc-async-task-id must match ^[A-Za-z_][A-Za-z0-9_-]{0,127}$.");
      }
      const limit = invocationType === "Async" ? ASYNC_BODY_LIMIT : SYNC_BODY_LIMIT;
      if (bodyLength > limit) {
        throw new HttpError(400, "EntityTooLarge",
          `The payload is ${bodyLength} bytes, over the limit of ${limit} bytes for ${invocationType} invocations.`);
      }

      // FC names a task the caller did not name after the request (GetAsyncTask's documented
      // example has taskId == requestId, a UUID that may start with a digit).
      const asyncTaskId = invocationType === "Async" ? (givenTaskId ?? requestId) : (givenTaskId ?? null);
      if (invocationType === "Async" && asyncTasks.has(asyncTaskId)) {
        // FC de-duplicates by task id; the handler must not run twice.
        throw new HttpError(409, "AsyncTaskAlreadyExists", `An async task with id '${asyncTaskId}' already exists.`);
      }

      const fault = chooseFault?.({ functionName, invocationType, asyncTaskId: givenTaskId ?? null, body: call.body }) ?? null;
      if (fault) faultCounts[fault.kind] = (faultCounts[fault.kind] ?? 0) + 1;
      if (fault && !faultRunsHandler(fault)) {
        // Faults that mean the function never ran: FC throttled it, or the connection died first.
        if (fault.kind === "reset") return void res.socket?.destroy();
        if (fault.kind === "redirect") {
          res.writeHead(fault.status ?? 307, { ...baseHeaders(req, requestId), location: req.url, "content-length": 0 });
          return void res.end();
        }
        const retryAfter = fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) };
        if (fault.kind === "expired-token") {
          throw new HttpError(403, "InvalidSecurityToken.Expired", "The security token you provided has expired");
        }
        return sendError(req, res, requestId, fault.status, fault.code, `injected ${fault.code}`, undefined, retryAfter);
      }

      const event = call.body;
      const record = {
        requestId,
        functionName,
        qualifier,
        version,
        invocationType,
        logType,
        asyncTaskId,
        accessKeyId: call.auth.accessKeyId,
        bodySha256: call.bodySha256,
        bodyLength,
        headers: { ...req.headers },
        startedAt: now(),
        endedAt: null,
        outcome: null, // "ok" | "error" | "aborted"
      };
      invocations.push(record);
      const ctxBase = { functionName, qualifier, version, invocationType, asyncTaskId, requestId, headers: record.headers };
      const finish = (outcome, aborted) => {
        record.endedAt = now();
        record.outcome = aborted ? "aborted" : outcome.ok ? "ok" : "error";
      };

      if (invocationType === "Async") {
        const task = createAsyncTask({ taskId: asyncTaskId, functionName, qualifier, version, requestId, payload: event });
        runAsyncTask(task, handler, event, ctxBase, finish);
        const headers = {
          ...baseHeaders(req, requestId),
          ...invocationHeaders(functionName, version),
          "x-fc-async-task-id": asyncTaskId,
          "content-type": "application/octet-stream",
          "content-length": 0,
        };
        // The task is accepted (and runs) whatever happens to this answer.
        return respondWithFault(req, res, requestId, fault, 202, headers, Buffer.alloc(0));
      }

      // Sync: the handler's signal fires when the client goes away or the server closes.
      const disconnect = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) disconnect.abort(new Error("client disconnected"));
      });
      const signal = AbortSignal.any([disconnect.signal, lifetime.signal]);
      const outcome = await runHandler(handler, event, ctxBase, signal);
      finish(outcome, signal.aborted);
      if (res.destroyed || res.writableEnded) return;

      let status = 200;
      let body;
      const headers = { ...baseHeaders(req, requestId), ...invocationHeaders(functionName, version, outcome), "content-type": "application/octet-stream" };
      if (outcome.ok) {
        status = outcome.response.status;
        Object.assign(headers, outcome.response.headers);
        body = outcome.response.body;
      } else {
        // FC: a function's own failure is still HTTP 200, marked by x-fc-error-type.
        headers["x-fc-error-type"] = "UnhandledInvocationError";
        headers["content-type"] = "application/json";
        body = Buffer.from(JSON.stringify(outcome.error), "utf8");
      }
      if (logType === "Tail") headers["x-fc-log-result"] = logTail(outcome.logs);
      headers["x-fc-request-id"] = requestId;
      return respondWithFault(req, res, requestId, fault, status, headers, body);
    },
  };

  // Sends an answer the way `fault` says (after the handler ran): normally, as a 500, cut off,
  // or slowly. Faults that do not run the handler were handled before it.
  async function respondWithFault(req, res, requestId, fault, status, headers, body) {
    headers["content-length"] = body.length;
    const kind = fault?.kind;
    if (kind === "status") return sendError(req, res, requestId, fault.status, fault.code, `injected ${fault.code} after the function ran`);
    if (kind === "reset-after-run") return void res.socket?.destroy();
    if (kind === "slow-headers") await sleep(fault.ms, lifetime.signal).catch(() => {});
    if (res.destroyed) return;
    if (kind === "slow-body" || kind === "reset-mid-body" || kind === "truncate") {
      res.writeHead(status, headers);
      const half = body.subarray(0, Math.floor(body.length / 2));
      res.write(half.length ? half : Buffer.from(" "));
      if (kind === "reset-mid-body") return void setImmediate(() => res.socket?.destroy());
      if (kind === "truncate") return void setImmediate(() => res.socket?.end());
      await sleep(fault.ms, lifetime.signal).catch(() => {});
      if (!res.destroyed) res.end(body.subarray(half.length ? half.length : 1));
      return;
    }
    res.writeHead(status, headers);
    res.end(body);
  }

  // --- async tasks -------------------------------------------------------------------------------
  //
  // A task is Enqueued when accepted, Running once its handler starts (after asyncStartDelayMs),
  // then Succeeded, Failed or Stopped. Each status change appends an event. A stop is final at
  // once: the handler's signal fires and whatever it does afterwards is ignored. Closing the
  // server aborts running handlers too; those tasks end Failed (the handler's own rejection).

  const FINAL_STATUSES = new Set(["Succeeded", "Failed", "Stopped"]);
  // Every status FC documents (the list filter accepts them all; this server reaches the first five).
  const TASK_STATUSES = new Set(["Enqueued", "Running", "Succeeded", "Failed", "Stopped", "Stopping", "Invalid", "Expired", "Retrying"]);
  const instanceIdFor = (functionName) => "c-local-" + sha256Hex("instance:" + functionName).slice(0, 16);
  const functionArn = (functionName) => `acs:fc:${region}:${accountId}:functions/${functionName}`;

  // Each event carries the time the task recorded for that change (startedAt, runningAt,
  // endedAt), read once, so that an event's timestamp and the task's own field always agree.
  function addTaskEvent(task, status, timestamp, detail) {
    task.events.push({ eventId: task.events.length + 1, status, timestamp, eventDetail: JSON.stringify(detail) });
  }

  function createAsyncTask({ taskId, functionName, qualifier, version, requestId, payload }) {
    let resolveDone;
    const done = new Promise((resolve) => (resolveDone = resolve));
    const task = {
      taskId,
      status: "Enqueued",
      result: null, // Buffer: the handler's answer body, once Succeeded
      error: null, // { errorMessage, errorType }, once Failed
      startedAt: serverNow(), // accepted (startedTime in the API)
      runningAt: null, // the handler started
      endedAt: null,
      durationMs: null, // endedAt - runningAt (0 when it never ran), once ended
      functionName,
      qualifier, // as invoked (null: none, reported as LATEST)
      version,
      requestId,
      payload, // Buffer: the event
      instanceId: null,
      events: [], // { eventId, status, timestamp, eventDetail (JSON text) }
      stopReason: null,
      seq: ++taskSeq,
    };
    taskControl.set(task, { abort: new AbortController(), done, resolveDone });
    asyncTasks.set(taskId, task);
    addTaskEvent(task, "Enqueued", task.startedAt, { requestId, qualifier: qualifier ?? "LATEST", version });
    return task;
  }

  function finalizeTask(task, status, detail) {
    if (FINAL_STATUSES.has(task.status)) return false;
    task.status = status;
    task.endedAt = serverNow();
    task.durationMs = task.runningAt === null ? 0 : Math.max(0, task.endedAt - task.runningAt);
    addTaskEvent(task, status, task.endedAt, { durationMs: task.durationMs, ...detail });
    taskControl.get(task).resolveDone(task);
    return true;
  }

  function stopAsyncTask(task, reason = "StopAsyncTask") {
    task.stopReason = reason;
    if (!finalizeTask(task, "Stopped", { reason })) return false;
    taskControl.get(task).abort.abort(new DOMException(`The async task '${task.taskId}' was stopped`, "AbortError"));
    return true;
  }

  function runAsyncTask(task, handler, event, ctxBase, finish) {
    const control = taskControl.get(task);
    const signal = AbortSignal.any([control.abort.signal, lifetime.signal]);
    const run = (async () => {
      try {
        await sleep(asyncStartDelayMs, signal);
      } catch {
        // Stopped (already final) or the server is closing before the handler ran.
        const reason = signal.reason;
        task.error = { errorMessage: String(reason?.message ?? reason), errorType: reason?.name || "Error" };
        finalizeTask(task, "Failed", task.error);
        finish({ ok: false }, true);
        return;
      }
      task.runningAt = serverNow();
      task.instanceId = instanceIdFor(task.functionName);
      task.status = "Running";
      addTaskEvent(task, "Running", task.runningAt, { instanceId: task.instanceId });
      const outcome = await runHandler(handler, event, ctxBase, signal);
      finish(outcome, signal.aborted);
      if (FINAL_STATUSES.has(task.status)) return; // stopped meanwhile: the outcome is ignored
      task.result = outcome.ok ? outcome.response.body : null;
      task.error = outcome.ok ? null : outcome.error;
      finalizeTask(task, outcome.ok ? "Succeeded" : "Failed", outcome.ok
        ? { returnBytes: outcome.response.body.length }
        : outcome.error);
    })();
    pending.add(run);
    run.finally(() => pending.delete(run));
  }

  // The AsyncTask shape of @alicloud/fc20230330 (dist/models/AsyncTask.d.ts).
  function taskView(task, { includePayload = true } = {}) {
    const ended = FINAL_STATUSES.has(task.status);
    const view = {
      taskId: task.taskId,
      status: task.status,
      startedTime: task.startedAt,
    };
    if (ended) {
      view.endTime = task.endedAt;
      view.durationMs = task.durationMs;
    }
    view.qualifier = task.qualifier ?? "LATEST";
    view.requestId = task.requestId;
    if (task.status === "Succeeded") view.returnPayload = task.result.toString("utf8");
    if (includePayload) view.taskPayload = task.payload.toString("utf8");
    // The error payload a Sync invocation's body would carry, as JSON text.
    if (task.status === "Failed") view.taskErrorMessage = JSON.stringify(task.error);
    view.functionArn = functionArn(task.functionName);
    view.alreadyRetriedTimes = 0;
    if (task.instanceId) view.instanceId = task.instanceId;
    view.destinationStatus = ""; // no async destinations are configured here
    view.events = task.events.map((e) => ({ ...e }));
    return view;
  }

  // function name + optional qualifier + task id from the path and query -> task, or 404.
  function lookupTask(call) {
    const functionName = decodeParam(call.params[0], "function name");
    if (!functions.has(functionName)) throw new HttpError(404, "FunctionNotFound", `Function '${functionName}' does not exist.`);
    const qualifier = call.query.get("qualifier") || null;
    if (qualifier !== null) resolveVersion(functionName, qualifier);
    const taskId = decodeParam(call.params[1], "task id");
    const task = asyncTasks.get(taskId);
    if (!task || task.functionName !== functionName || (qualifier !== null && (task.qualifier ?? "LATEST") !== qualifier)) {
      throw new HttpError(404, "AsyncTaskNotFound", `The async task '${taskId}' of function '${functionName}'${qualifier ? ` (qualifier '${qualifier}')` : ""} does not exist.`);
    }
    return task;
  }

  const MANAGEMENT_MAX_BODY = 64 * 1024; // these requests carry no body; a stray one is only hashed

  const getAsyncTaskRoute = {
    name: "GetAsyncTask",
    method: "GET",
    pattern: /^\/2023-03-30\/functions\/([^/]+)\/async-tasks\/([^/]+)$/,
    signed: { action: "GetAsyncTask", version: API_VERSION },
    maxBody: MANAGEMENT_MAX_BODY,
    async handle(call) {
      sendJson(call.req, call.res, call.requestId, 200, taskView(lookupTask(call)));
    },
  };

  // 200, empty body; 400 AsyncTaskAlreadyFinished when the task already ended (Succeeded, Failed
  // or Stopped); 404 AsyncTaskNotFound / FunctionNotFound.
  const stopAsyncTaskRoute = {
    name: "StopAsyncTask",
    method: "PUT",
    pattern: /^\/2023-03-30\/functions\/([^/]+)\/async-tasks\/([^/]+)\/stop$/,
    signed: { action: "StopAsyncTask", version: API_VERSION },
    maxBody: MANAGEMENT_MAX_BODY,
    async handle(call) {
      const task = lookupTask(call);
      // Any finished task, a Stopped one included: a second stop is an error, not a no-op.
      if (!stopAsyncTask(task)) {
        throw new HttpError(400, "AsyncTaskAlreadyFinished", `The async task '${task.taskId}' has already finished with status '${task.status}'.`);
      }
      call.res.writeHead(200, { ...baseHeaders(call.req, call.requestId), "content-length": 0 });
      call.res.end();
    },
  };

  // nextToken: opaque to clients; base64url of the last returned task's sort key, the sort order
  // and the function, so a page continues strictly after it (tasks added meanwhile never shift it),
  // then TOKEN_MARK: what a query sent unencoded would change ('+' read as a space, '&' ending the
  // value), as FC's tokens may hold any text (its documented example ends in a line break).
  const TOKEN_MARK = "+/ &=%\n";
  const encodeToken = (fn, order, task) => Buffer.from(JSON.stringify({ f: fn, o: order, t: task.startedAt, s: task.seq })).toString("base64url") + TOKEN_MARK;
  function decodeToken(text, fn, order) {
    let token;
    try {
      token = text.endsWith(TOKEN_MARK) ? JSON.parse(Buffer.from(text.slice(0, -TOKEN_MARK.length), "base64url").toString("utf8")) : null;
    } catch {
      token = null;
    }
    if (!token || typeof token !== "object" || !Number.isFinite(token.t) || !Number.isInteger(token.s) || typeof token.f !== "string") {
      throw new HttpError(400, "InvalidArgument", "nextToken is not a token this API returned.");
    }
    if (token.f !== fn || token.o !== order) {
      throw new HttpError(400, "InvalidArgument", "nextToken belongs to another listing (function or sortOrderByTime differ).");
    }
    return token;
  }

  const listAsyncTasksRoute = {
    name: "ListAsyncTasks",
    method: "GET",
    pattern: /^\/2023-03-30\/functions\/([^/]+)\/async-tasks$/,
    signed: { action: "ListAsyncTasks", version: API_VERSION },
    maxBody: MANAGEMENT_MAX_BODY,
    async handle(call) {
      const { query } = call;
      const functionName = decodeParam(call.params[0], "function name");
      if (!functions.has(functionName)) throw new HttpError(404, "FunctionNotFound", `Function '${functionName}' does not exist.`);
      const invalid = (message) => new HttpError(400, "InvalidArgument", message);
      const qualifier = query.get("qualifier") || null;
      if (qualifier !== null) resolveVersion(functionName, qualifier);
      const status = query.get("status") || null;
      if (status !== null && !TASK_STATUSES.has(status)) throw invalid(`status must be one of ${[...TASK_STATUSES].join(", ")}; got '${status}'.`);
      const prefix = query.get("prefix") ?? "";
      const millis = (name) => {
        const text = query.get(name);
        if (text === null || text === "") return null;
        if (!/^\d{1,16}$/.test(text)) throw invalid(`${name} must be a time in milliseconds since the epoch; got '${text}'.`);
        return Number(text);
      };
      const begin = millis("startedTimeBegin");
      const end = millis("startedTimeEnd");
      const limitText = query.get("limit");
      const limit = limitText === null || limitText === "" ? 20 : /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN;
      if (!(limit >= 1 && limit <= 100)) throw invalid(`limit must be an integer in [1, 100]; got '${limitText}'.`);
      const order = query.get("sortOrderByTime") || "desc";
      if (order !== "asc" && order !== "desc") throw invalid(`sortOrderByTime must be 'asc' or 'desc'; got '${order}'.`);
      const includeText = query.get("includePayload") || "false";
      if (includeText !== "true" && includeText !== "false") throw invalid(`includePayload must be 'true' or 'false'; got '${includeText}'.`);
      const nextToken = query.get("nextToken") || null;
      const after = nextToken === null ? null : decodeToken(nextToken, functionName, order);

      const sign = order === "asc" ? 1 : -1;
      const compare = (a, b) => sign * (a.startedAt - b.startedAt || a.seq - b.seq);
      const key = after && { startedAt: after.t, seq: after.s };
      const matches = [...asyncTasks.values()].filter((t) =>
        t.functionName === functionName &&
        (qualifier === null || (t.qualifier ?? "LATEST") === qualifier) &&
        (status === null || t.status === status) &&
        t.taskId.startsWith(prefix) &&
        (begin === null || t.startedAt >= begin) &&
        (end === null || t.startedAt <= end) &&
        (key === null || compare(t, key) > 0));
      matches.sort(compare);
      const page = matches.slice(0, limit);
      const body = { tasks: page.map((t) => taskView(t, { includePayload: includeText === "true" })) };
      if (matches.length > limit) body.nextToken = encodeToken(functionName, order, page[page.length - 1]);
      sendJson(call.req, call.res, call.requestId, 200, body);
    },
  };

  // --- HTTP triggers (signature authentication) ---------------------------------------------------
  //
  // Any method on /http/{functionName}{/rest…}: the ACS3 signature is verified as for the API but
  // with TRIGGER_REQUIRED_SIGNED_HEADERS (no x-acs-action / x-acs-version), then the function in
  // httpFunctions answers HTTP-style (see BUILTIN_HTTP_FUNCTIONS). A function that throws answers
  // 502 with x-fc-error-type: UnhandledInvocationError and the JSON error payload; one that fails
  // mid-stream has its connection cut (the client sees a truncated chunked body).

  // Readable cross-origin without being exposed (Fetch standard, CORS-safelisted response headers).
  const SAFELISTED_RESPONSE_HEADERS = new Set(["cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"]);
  function triggerExposeHeaders(headers) {
    const names = new Set(EXPOSE_HEADERS.split(",").map((n) => n.toLowerCase()));
    const extra = Object.keys(headers).filter((n) => !names.has(n) && !SAFELISTED_RESPONSE_HEADERS.has(n) && !n.startsWith("access-control-"));
    return extra.length ? `${EXPOSE_HEADERS},${extra.join(",")}` : EXPOSE_HEADERS;
  }

  const triggerRoute = {
    name: "HttpTrigger",
    method: "*",
    pattern: /^\/http\/([^/]+)(\/.*)?$/,
    signed: { requiredHeaders: TRIGGER_REQUIRED_SIGNED_HEADERS },
    maxBody: SYNC_BODY_LIMIT,
    async handle(call) {
      const { req, res, requestId } = call;
      const functionName = decodeParam(call.params[0], "function name");
      const handler = httpFunctions.get(functionName);
      if (!handler) throw new HttpError(404, "FunctionNotFound", `Function '${functionName}' has no HTTP trigger.`);
      const path = call.params[1] ?? "/";
      const record = {
        requestId,
        method: req.method,
        path,
        query: call.rawQuery,
        functionName,
        accessKeyId: call.auth.accessKeyId,
        bodySha256: call.bodySha256,
        bodyLength: call.bodyLength,
        startedAt: now(),
        endedAt: null,
        status: null, // the status answered
        outcome: null, // "ok" | "error" | "aborted"
      };
      triggerCalls.push(record);
      const disconnect = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) disconnect.abort(new Error("client disconnected"));
      });
      const signal = AbortSignal.any([disconnect.signal, lifetime.signal]);
      const request = { method: req.method, path, query: call.query, headers: { ...req.headers }, body: call.body };
      const logs = [];
      const ctx = { functionName, requestId, signal, log: (line) => void logs.push(String(line)) };
      const end = (outcome, status) => {
        record.endedAt = now();
        record.outcome = signal.aborted ? "aborted" : outcome;
        record.status = status;
      };

      let result;
      try {
        result = normalizeHttpResult(await handler(request, ctx));
      } catch (err) {
        end("error", 502);
        if (res.headersSent || res.destroyed) return;
        const body = Buffer.from(JSON.stringify({ errorMessage: String(err?.message ?? err), errorType: err?.name || "Error" }), "utf8");
        res.writeHead(502, {
          ...baseHeaders(req, requestId),
          "x-fc-error-type": "UnhandledInvocationError",
          "content-type": "application/json; charset=utf-8",
          "content-length": body.length,
        });
        return void res.end(body);
      }
      if (res.destroyed) return void end("aborted", null);
      const headers = { ...baseHeaders(req, requestId), ...result.headers, "x-fc-request-id": requestId };
      if (cors && !("access-control-expose-headers" in result.headers)) headers["access-control-expose-headers"] = triggerExposeHeaders(result.headers);
      delete headers["content-length"];
      delete headers["transfer-encoding"];
      if (!result.stream) {
        headers["content-length"] = result.body.length;
        res.writeHead(result.status, headers);
        res.end(result.body);
        return void end("ok", result.status);
      }
      // Streamed: no content-length, so node uses chunked transfer encoding; each chunk is
      // written (and flushed: node's server sockets have no Nagle delay) as it comes.
      res.writeHead(result.status, headers);
      res.flushHeaders();
      try {
        for await (const chunk of result.stream) {
          if (res.destroyed) break;
          const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk.buffer ?? chunk, chunk.byteOffset ?? 0, chunk.byteLength);
          if (bytes.length === 0) continue;
          if (!res.write(bytes)) {
            await new Promise((resolve) => {
              const done = () => {
                res.off("drain", done);
                res.off("close", done);
                resolve();
              };
              res.on("drain", done);
              res.on("close", done);
            });
          }
        }
      } catch {
        end("error", result.status);
        return void res.destroy();
      }
      if (res.destroyed) return void end("aborted", result.status);
      res.end();
      end("ok", result.status);
    },
  };

  const routes = [invokeRoute, getAsyncTaskRoute, stopAsyncTaskRoute, listAsyncTasksRoute, triggerRoute];

  // --- request plumbing --------------------------------------------------------------------------

  // Reads the whole body, hashing all of it but keeping at most `limit` bytes in memory.
  function readBody(req, limit) {
    return new Promise((resolve, reject) => {
      const hash = createHash("sha256");
      const chunks = [];
      let length = 0;
      req.on("data", (chunk) => {
        hash.update(chunk);
        length += chunk.length;
        if (length <= limit) chunks.push(chunk);
        else chunks.length = 0;
      });
      req.on("end", () => {
        resolve({ body: length <= limit ? Buffer.concat(chunks, length) : null, length, sha256: hash.digest("hex") });
      });
      req.on("error", reject);
      req.on("close", () => {
        if (!req.complete) reject(new Error("request aborted"));
      });
    });
  }

  function preflight(req, res, requestId) {
    const headers = {
      ...baseHeaders(req, requestId),
      "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
      "access-control-max-age": "600",
      "content-length": 0,
    };
    delete headers["access-control-expose-headers"];
    // HTTP triggers take any method: allow the one asked for when it is not in the list.
    const method = req.headers["access-control-request-method"];
    if (method && /^[A-Za-z]+$/.test(method) && !headers["access-control-allow-methods"].split(", ").includes(method)) {
      headers["access-control-allow-methods"] += `, ${method}`;
    }
    const requested = req.headers["access-control-request-headers"];
    if (requested) headers["access-control-allow-headers"] = requested;
    // Chromium's Private Network Access asks before a page reaches a loopback server.
    if (req.headers["access-control-request-private-network"] === "true") headers["access-control-allow-private-network"] = "true";
    res.writeHead(204, headers);
    res.end();
  }

  async function onRequest(req, res) {
    const requestId = randomUUID();
    try {
      const [rawPath, rawQuery] = splitTarget(req.url ?? "/");
      if (cors && req.method === "OPTIONS") {
        req.resume();
        return preflight(req, res, requestId);
      }
      let route, match;
      for (const r of routes) {
        if ((r.method === req.method || r.method === "*") && (match = r.pattern.exec(rawPath))) {
          route = r;
          break;
        }
      }
      if (!route) {
        req.resume();
        return sendError(req, res, requestId, 404, "PathNotSupported", `${req.method} ${rawPath} is not a supported API path.`);
      }
      const { body, length, sha256 } = await readBody(req, route.maxBody ?? SYNC_BODY_LIMIT);
      let auth = null;
      if (route.signed) {
        auth = verifyAcs3(req, null, {
          credentials,
          now: serverNow,
          maxSkewSeconds,
          nonces,
          expectedAction: route.signed.action ?? null,
          expectedVersion: route.signed.version ?? null,
          requiredHeaders: route.signed.requiredHeaders ?? REQUIRED_SIGNED_HEADERS,
          bodySha256: sha256,
        });
        if (!auth.ok) {
          const debug = auth.canonicalRequest ? { canonicalRequest: auth.canonicalRequest, stringToSign: auth.stringToSign } : undefined;
          return sendError(req, res, requestId, auth.status, auth.code, auth.message, debug);
        }
      }
      if (body === null && !route.checksBodySize) {
        return sendError(req, res, requestId, 400, "EntityTooLarge", `The payload is ${length} bytes, over the limit of ${route.maxBody} bytes.`);
      }
      await route.handle({
        req,
        res,
        requestId,
        params: match.slice(1),
        query: new URLSearchParams(rawQuery),
        rawQuery,
        body,
        bodyLength: length,
        bodySha256: sha256,
        auth,
        fail: (status, code, message) => sendError(req, res, requestId, status, code, message),
      });
    } catch (err) {
      if (err instanceof HttpError) return sendError(req, res, requestId, err.status, err.code, err.message);
      if (req.destroyed && !res.headersSent) return; // the client went away mid-body
      // Never echo internals (they might include request data); the record keeps the message.
      sendError(req, res, requestId, 500, "InternalServerError", "The server failed to process the request.", { error: String(err?.stack ?? err) });
    }
  }

  const httpServer = createServer((req, res) => void onRequest(req, res));
  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(port, host, () => {
      httpServer.off("error", reject);
      resolve();
    });
  });
  const address = httpServer.address();
  const urlHost = address.family === "IPv6" || address.address.includes(":") ? `[${address.address}]` : address.address;

  let closing = null;
  const server = {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    invocations,
    rejections,
    asyncTasks,
    /** HTTP-trigger calls that passed verification: { requestId, method, path, query (raw),
     *  functionName, accessKeyId, bodySha256, bodyLength, startedAt, endedAt, status, outcome }. */
    triggerCalls,
    httpServer,
    now: serverNow, // the server's clock, offset included: STS expirations are minted in it
    addCredentials,
    removeCredentials: (accessKeyId) => credentials.delete(accessKeyId),
    setFunction(name, handler) {
      if (typeof handler !== "function") throw new TypeError("handler must be a function");
      functions.set(name, handler);
    },
    deleteFunction: (name) => functions.delete(name),
    /** Sets an HTTP-trigger function (see BUILTIN_HTTP_FUNCTIONS), served on /http/{name}/…. */
    setHttpFunction(name, handler) {
      if (typeof handler !== "function") throw new TypeError("handler must be a function");
      httpFunctions.set(name, handler);
    },
    deleteHttpFunction: (name) => httpFunctions.delete(name),
    /** How long a new async task stays Enqueued before its handler starts. */
    setAsyncStartDelay(ms) {
      asyncStartDelayMs = ms;
    },
    /** Stops a task as StopAsyncTask does; false when it is unknown or already finished. */
    stopAsyncTask(taskId, reason = "server.stopAsyncTask") {
      const task = asyncTasks.get(taskId);
      return task ? stopAsyncTask(task, reason) : false;
    },
    /** A task as GetAsyncTask answers it (taskPayload included), or undefined. */
    asyncTaskView(taskId) {
      const task = asyncTasks.get(taskId);
      return task && taskView(task);
    },
    /**
     * Fault injection: `choose({ functionName, invocationType, asyncTaskId, body })` returns null
     * or one of FAULTS; null turns injection off.
     */
    setFaults(choose) {
      chooseFault = choose;
    },
    /** How many of each fault kind were injected. */
    faultCounts,
    /** Shifts the server's clock (its Date header and its freshness check) by `ms`. */
    setClockOffset(ms) {
      clockOffsetMs = ms;
    },
    /** Adds a route (see the route comment above) in front of the built-in ones. */
    addRoute(route) {
      routes.unshift(route);
    },
    reset() {
      for (const k of Object.keys(faultCounts)) delete faultCounts[k];
      invocations.length = 0;
      rejections.length = 0;
      nonces.clear();
      asyncTasks.clear();
      triggerCalls.length = 0;
    },
    /** Resolves with the task once it has a final status (Succeeded, Failed or Stopped). */
    async waitForAsyncTask(taskId, { timeoutMs = 5000 } = {}) {
      const task = asyncTasks.get(taskId);
      if (!task) throw new Error(`no async task '${taskId}'`);
      const run = taskControl.get(task).done;
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`async task '${taskId}' still ${task.status} after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([run, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      closing ??= (async () => {
        lifetime.abort(new Error("server closing"));
        const closed = new Promise((resolve) => httpServer.close(() => resolve()));
        httpServer.closeAllConnections();
        await closed;
        // Handlers that honour ctx.signal end at once; do not hang on one that does not.
        let timer;
        await Promise.race([Promise.allSettled([...pending]), new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
      })();
      return closing;
    },
  };
  return server;
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

function isMain() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const args = process.argv.slice(2);
  const arg = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
  };
  const server = await startFcServer({ host: arg("--host", "127.0.0.1"), port: Number(arg("--port", "0")) });
  process.stdout.write(JSON.stringify({ url: server.url, accessKeyId: DEMO_CREDENTIALS.accessKeyId }) + "\n");
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
