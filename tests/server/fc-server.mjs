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

// What FC itself exposes, plus the task id (Async answers) and echo's diagnostic header, so a
// browser page can read them cross-origin.
export const EXPOSE_HEADERS = [
  "Date",
  "x-fc-request-id",
  "x-fc-error-type",
  "x-fc-code-checksum",
  "x-fc-invocation-duration",
  "x-fc-max-memory-usage",
  "x-fc-log-result",
  "x-fc-invocation-code-version",
  "x-fc-async-task-id",
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
  if (!/^[0-9a-fA-F]{64}$/.test(auth.signature)) {
    return fail(403, "SignatureNotMatch", "Malformed Authorization header: Signature must be 64 hex digits.");
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
  for (const name of REQUIRED_SIGNED_HEADERS) {
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
  if (!nonce) return fail(400, "MissingRequiredHeader", "The required header 'x-acs-signature-nonce' is empty.");
  const contentSha256 = value("x-acs-content-sha256");

  // 3. Coverage: what must be signed is signed, and what is signed was received.
  for (const name of REQUIRED_SIGNED_HEADERS) {
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
  const given = Buffer.from(auth.signature.toLowerCase(), "hex");
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
  if (nonces) {
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
 * A client with a wrong clock is emulated with server.setClockOffset(ms).
 */
export const FAULTS = Object.freeze(["status", "expired-token", "reset", "reset-after-run", "reset-mid-body", "truncate", "slow-headers", "slow-body"]);

function faultRunsHandler(fault) {
  if (fault.kind === "status") return fault.run === true;
  return !["expired-token", "reset"].includes(fault.kind);
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
  } = options;
  // Fault injection (tests/faults/): a chooser called once per invocation that passed
  // verification; it returns null or a fault (see FAULTS below). The clock offset shifts the
  // server's clock, which is how a client with a wrong clock is emulated in one process.
  let chooseFault = null;
  let clockOffsetMs = 0;
  const serverNow = () => now() + clockOffsetMs;
  const faultCounts = {};

  const credentials = new Map();
  const functions = new Map(Object.entries({ ...BUILTIN_FUNCTIONS, ...(options.functions ?? {}) }));
  const nonces = new Map();
  const invocations = [];
  const rejections = [];
  const asyncTasks = new Map();
  const taskDone = new Map(); // taskId -> promise settled when the background run ends
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
  // A route: { name, method, pattern (RegExp on the raw path; groups become params),
  //   signed: { action, version } | null (null: no ACS3 check, the route does its own),
  //   maxBody: bytes kept in memory (more is still hashed, then EntityTooLarge unless
  //   checksBodySize), checksBodySize, handle(call) }.
  // call = { req, res, requestId, params, query (URLSearchParams), body (Buffer | null when over
  //   maxBody), bodyLength, bodySha256, auth (verifyAcs3 result), fail(status, code, message) }.

  const invokeRoute = {
    name: "InvokeFunction",
    method: "POST",
    pattern: /^\/2023-03-30\/functions\/([^/]+)\/invocations$/,
    signed: { action: "InvokeFunction", version: API_VERSION },
    maxBody: SYNC_BODY_LIMIT,
    checksBodySize: true, // after function/qualifier lookup, with the limit of the invocation type
    async handle(call) {
      const { req, res, requestId, query, bodyLength } = call;
      let functionName;
      try {
        functionName = decodeURIComponent(call.params[0]);
      } catch {
        throw new HttpError(400, "InvalidArgument", "The function name in the path is not valid percent-encoding.");
      }
      const handler = functions.get(functionName);
      if (!handler) throw new HttpError(404, "FunctionNotFound", `Function '${functionName}' does not exist.`);

      const qualifier = query.get("qualifier") || null;
      let version;
      if (qualifier === null || qualifier === "LATEST") version = "LATEST";
      else if (/^\d+$/.test(qualifier)) {
        if (!versions.includes(qualifier)) throw new HttpError(404, "VersionNotFound", `Version '${qualifier}' of function '${functionName}' does not exist.`);
        version = qualifier;
      } else if (Object.hasOwn(aliases, qualifier)) version = String(aliases[qualifier]);
      else throw new HttpError(404, "AliasNotFound", `Alias '${qualifier}' of function '${functionName}' does not exist.`);

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

      const asyncTaskId = invocationType === "Async" ? (givenTaskId ?? "task-" + randomUUID()) : (givenTaskId ?? null);
      if (invocationType === "Async" && asyncTasks.has(asyncTaskId)) {
        // FC de-duplicates by task id; the handler must not run twice.
        throw new HttpError(409, "AsyncTaskAlreadyExists", `An async task with id '${asyncTaskId}' already exists.`);
      }

      const fault = chooseFault?.({ functionName, invocationType, asyncTaskId: givenTaskId ?? null, body: call.body }) ?? null;
      if (fault) faultCounts[fault.kind] = (faultCounts[fault.kind] ?? 0) + 1;
      if (fault && !faultRunsHandler(fault)) {
        // Faults that mean the function never ran: FC throttled it, or the connection died first.
        if (fault.kind === "reset") return void res.socket?.destroy();
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
        const task = { taskId: asyncTaskId, status: "Running", result: null, error: null, startedAt: now(), endedAt: null, functionName, qualifier, version, requestId };
        asyncTasks.set(asyncTaskId, task);
        const headers = {
          ...baseHeaders(req, requestId),
          ...invocationHeaders(functionName, version),
          "x-fc-async-task-id": asyncTaskId,
          "content-type": "application/octet-stream",
          "content-length": 0,
        };
        const run = runHandler(handler, event, ctxBase, lifetime.signal).then((outcome) => {
          task.status = outcome.ok ? "Succeeded" : "Failed";
          task.result = outcome.ok ? outcome.response.body : null;
          task.error = outcome.ok ? null : outcome.error;
          task.endedAt = now();
          finish(outcome, lifetime.signal.aborted);
          return task;
        });
        pending.add(run);
        taskDone.set(asyncTaskId, run);
        run.finally(() => pending.delete(run));
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

  const routes = [invokeRoute];

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
        if (r.method === req.method && (match = r.pattern.exec(rawPath))) {
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
          expectedAction: route.signed.action,
          expectedVersion: route.signed.version,
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
    httpServer,
    now: serverNow, // the server's clock, offset included: STS expirations are minted in it
    addCredentials,
    removeCredentials: (accessKeyId) => credentials.delete(accessKeyId),
    setFunction(name, handler) {
      if (typeof handler !== "function") throw new TypeError("handler must be a function");
      functions.set(name, handler);
    },
    deleteFunction: (name) => functions.delete(name),
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
      taskDone.clear();
    },
    /** Resolves with the task once its background run has ended. */
    async waitForAsyncTask(taskId, { timeoutMs = 5000 } = {}) {
      const run = taskDone.get(taskId);
      if (!run) throw new Error(`no async task '${taskId}'`);
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`async task '${taskId}' still running after ${timeoutMs} ms`)), timeoutMs);
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
