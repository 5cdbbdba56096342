// The JS face shared by every runtime entry (node.js, web.js, workerd.js). It adapts JS values
// (bodies, headers, errors) to and from the wasm layer, which does the real work.

import { WasmClient, signRequest as wasmSignRequest } from "../dist/wasm/fc_invoke.js";

let loadWasm = () => {
  throw new Error("fc-invoke: import the package entry (\"fc-invoke\"), not js/core.js");
};
let ready = null;
let wasmExports = null;
let runtimeDigest = null;

/**
 * Called once by each runtime entry with the way that runtime instantiates the module and,
 * optionally, `{ digest, minBytes }`: the runtime's native SHA-256 (bytes → hex, a Promise of it,
 * or undefined when not available yet), which beats hashing in wasm from `minBytes` on.
 */
export function setWasmLoader(load, { digest, minBytes = 0 } = {}) {
  loadWasm = load;
  runtimeDigest = digest ? { digest, minBytes } : null;
}

// Instantiation is lazy: the first call loads the module, later calls reuse it. A failed load
// is retried on the next call instead of poisoning the package.
function loaded() {
  ready ??= Promise.resolve()
    .then(() => loadWasm())
    .then((exports) => {
      wasmExports = exports;
    })
    .catch((e) => {
      ready = null;
      throw new FcError("InitError", `fc-invoke could not load its WebAssembly: ${e?.message ?? e}`, { cause: e });
    });
  return ready;
}

/** For monitoring and leak tests: the WebAssembly memory size (0 before the first call). */
export function diagnostics() {
  return { wasmMemoryBytes: wasmExports?.memory?.buffer.byteLength ?? 0 };
}

/** Every error this package throws or rejects with. */
export class FcError extends Error {
  constructor(code, message, { status, requestId, argument, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "FcError";
    /** A client code (InvalidArgument, CredentialsError, NetworkError, Timeout, Aborted, InitError, InternalError) or the service's Code. */
    this.code = code;
    this.status = status;
    this.requestId = requestId;
    this.argument = argument;
  }

  toJSON() {
    const { name, code, message, status, requestId, argument } = this;
    return { name, code, message, status, requestId, argument };
  }
}

function toFcError(e) {
  if (e instanceof FcError) return e;
  if (e && e.name === "FcError" && typeof e.code === "string") return new FcError(e.code, e.message, e);
  return new FcError("InternalError", `fc-invoke internal error: ${e?.message ?? e}`, { cause: e });
}

// Bodies from this size on are hashed by Web Crypto where the runtime has no synchronous native
// digest; below it, the promise round trip costs more than hashing in wasm (bench/results.md).
const SUBTLE_DIGEST_FROM = 64 * 1024;

const hexOf = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The body's SHA-256 in hex from the runtime's native digest, a Promise of it (Web Crypto), or
 * undefined where hashing in wasm is as fast: the wasm hashes what it is not given.
 */
function nativeBodyHash(bytes) {
  if (bytes === undefined || bytes.length === 0) return undefined;
  if (runtimeDigest !== null && bytes.length >= runtimeDigest.minBytes) {
    try {
      const hash = runtimeDigest.digest(bytes);
      if (hash !== undefined) return hash instanceof Promise ? hash.catch(() => undefined) : hash;
    } catch {
      // hashed in wasm instead
    }
  }
  const subtle = globalThis.crypto?.subtle;
  if (bytes.length >= SUBTLE_DIGEST_FROM && typeof subtle?.digest === "function") {
    return subtle.digest("SHA-256", bytes).then(hexOf, () => undefined);
  }
  return undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isPlainJson(value) {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a caller's options object (undefined and null: empty), or `fallback`; else
 * `InvalidArgument`, so that a string does not become "unknown option `0`" and a throwing getter
 * is the caller's error, not ours.
 */
function readable(value, argument, fallback) {
  if (value === undefined || value === null) return {};
  try {
    if (typeof value === "object" && !Array.isArray(value)) return { ...value };
  } catch (e) {
    if (fallback !== undefined) return fallback;
    throw unreadable(argument, "could not be read", e);
  }
  if (fallback !== undefined) return fallback;
  throw new FcError("InvalidArgument", `invalid ${argument}: must be an object`, { argument });
}

/** `InvalidArgument` for a caller's value that threw while we read or converted it. */
function unreadable(argument, what, cause) {
  const reason = String(cause?.message ?? cause).slice(0, 200);
  return new FcError("InvalidArgument", `invalid ${argument}: ${what}: ${reason}`, { argument, cause });
}

/**
 * Body → { bytes, contentType } with the content type the body implies (JSON, a Blob's type);
 * a Promise of it only for a Blob, so the common cases cost no extra turn of the event loop.
 * With `copy`, buffers are copied: a request to be sent takes its body when called, as fetch
 * does, so that a caller reusing the buffer afterwards changes nothing (the hash included).
 */
function bodyBytes(body, copy) {
  if (body === undefined || body === null) return { bytes: undefined };
  if (typeof body === "string") return { bytes: encoder.encode(body) };
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return { bytes: viewBytes(body, copy) };
  if (typeof Blob !== "undefined" && body instanceof Blob) {
    return body.arrayBuffer().then(
      (buffer) => ({ bytes: new Uint8Array(buffer), contentType: body.type || undefined }),
      (e) => {
        throw unreadable("body", "the Blob could not be read", e);
      },
    );
  }
  if (typeof body === "object" && isPlainJson(body)) {
    let json;
    try {
      json = JSON.stringify(body);
    } catch (e) {
      throw unreadable("body", "cannot be sent as JSON", e);
    }
    return { bytes: encoder.encode(json), contentType: "application/json" };
  }
  throw new FcError("InvalidArgument", "invalid body: must be a string, Uint8Array, ArrayBuffer, Blob or a plain object (sent as JSON)", { argument: "body" });
}

/** A buffer's or view's bytes (copied with `copy`); a detached buffer is refused, not sent empty. */
function viewBytes(body, copy) {
  let view;
  try {
    view = body instanceof Uint8Array ? body : body instanceof ArrayBuffer ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    if (view.byteLength === 0) new Uint8Array(view.buffer, 0, 0); // throws for a detached buffer
  } catch (e) {
    throw unreadable("body", "its buffer cannot be read (detached?)", e);
  }
  // slice() also turns a SharedArrayBuffer or resizable buffer, which fetch refuses, into a plain one.
  return copy ? view.slice() : view;
}

/**
 * Name/value lists (Headers or URLSearchParams, [name, value] pairs, or a plain object) →
 * [name, value] string pairs; values may be of `valueTypes` and are turned into strings.
 */
function namePairs(value, argument, valueTypes, accepted) {
  if (value === undefined || value === null) return [];
  const bad = () => new FcError("InvalidArgument", `invalid ${argument}: must be ${accepted}`, { argument });
  let entries;
  try {
    entries =
      typeof value.entries === "function" && !Array.isArray(value) ? value.entries()
      : Array.isArray(value) ? value
      : typeof value === "object" ? Object.entries(value)
      : null;
  } catch (e) {
    throw unreadable(argument, "could not be read", e);
  }
  if (entries === null) throw bad();
  // One pass: this runs on every call.
  const pairs = [];
  try {
    for (const p of entries) {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || !valueTypes.includes(typeof p[1])) throw bad();
      pairs.push(typeof p[1] === "string" ? p : [p[0], String(p[1])]);
    }
  } catch (e) {
    throw e instanceof FcError ? e : unreadable(argument, "could not be read", e);
  }
  return pairs;
}

const headerPairs = (headers) =>
  namePairs(headers, "headers", ["string", "number"], "a Headers object, [name, value] pairs or an object of string values");

/**
 * Body and headers as the wasm takes them: `{ bytes, hash, pairs }` (hash: hex SHA-256 or
 * undefined), or a Promise of it for a Blob or a body hashed by Web Crypto. `copy`: the body
 * will be sent (see bodyBytes).
 */
function prepare(body, headers, copy) {
  const pairs = headerPairs(headers);
  const finish = ({ bytes, contentType }) => {
    if (contentType && !pairs.some(([k]) => k.toLowerCase() === "content-type")) pairs.push(["content-type", contentType]);
    const hash = nativeBodyHash(bytes);
    return hash instanceof Promise ? hash.then((h) => ({ bytes, hash: h, pairs })) : { bytes, hash, pairs };
  };
  const converted = bodyBytes(body, copy);
  return converted instanceof Promise ? converted.then(finish) : finish(converted);
}

/** A successful answer of the FC API: status, request id, headers and the whole body. */
export class FcResponse {
  constructor(raw) {
    this.status = raw.status;
    this.requestId = raw.requestId;
    this.headers = raw.headers;
    this.body = raw.body;
  }

  /** The body decoded as UTF-8. */
  async text() {
    return decoder.decode(this.body);
  }

  /** The body parsed as JSON. */
  async json() {
    return JSON.parse(decoder.decode(this.body));
  }
}

/** The answer to an invocation. */
export class InvokeResponse extends FcResponse {
  constructor(raw) {
    super(raw);
    this.log = raw.log;
    this.functionError = raw.functionError;
    this.asyncTaskId = raw.asyncTaskId;
  }
}

const queryPairs = (query) =>
  namePairs(query, "query", ["string", "number", "boolean"], "URLSearchParams, [name, value] pairs or an object of strings, numbers or booleans");

/** A Function Compute 3.0 client. Options are checked on the first call. */
export class FcClient {
  #options;
  #wasm = null;

  constructor(options = {}) {
    // Kept whole: the wasm layer reports unknown keys (a typo such as `credentails`). What is not
    // a plain readable object is kept as given, for the wasm to refuse on the first call.
    this.#options = readable(options, "options", options);
  }

  async #client() {
    await loaded();
    this.#wasm ??= new WasmClient(this.#options);
    return this.#wasm;
  }

  async #run(call) {
    try {
      return await call(await this.#client());
    } catch (e) {
      throw toFcError(e);
    }
  }

  /** GetAsyncTask: the task's state, result and events. */
  getAsyncTask(functionName, taskId, options) {
    return this.#run((c) => c.getAsyncTask(functionName, taskId, options));
  }

  /** StopAsyncTask: stops a running task. */
  stopAsyncTask(functionName, taskId, options) {
    return this.#run((c) => c.stopAsyncTask(functionName, taskId, options));
  }

  /** ListAsyncTasks: one page, `{ tasks, nextToken }`. */
  listAsyncTasks(functionName, options) {
    return this.#run((c) => c.listAsyncTasks(functionName, options));
  }

  /** Polls GetAsyncTask with backoff until the task has ended; resolves to the final task. */
  waitForAsyncTask(functionName, taskId, options) {
    return this.#run((c) => c.waitForAsyncTask(functionName, taskId, options));
  }

  /** Any FC 3.0 API call: `{ method, path, query, headers, body, action, … }`. */
  request(options = {}) {
    return this.#run(async (c) => {
      const { body, headers, query, ...rest } = readable(options, "options");
      const { bytes, hash, pairs } = await prepare(body, headers, true);
      return new FcResponse(await c.request({ ...rest, query: queryPairs(query), body: bytes, headers: pairs }, hash));
    });
  }

  /**
   * A drop-in `fetch` that signs the request (for HTTP triggers and custom domains with signature
   * authentication) and returns the runtime's own Response, streams untouched. The request body
   * is read once to hash it.
   */
  fetch = async (input, init) => {
    let signed, body, request;
    try {
      try {
        const streaming = typeof ReadableStream !== "undefined" && init?.body instanceof ReadableStream;
        request = new Request(input, streaming ? { duplex: "half", ...init } : init);
      } catch (e) {
        throw unreadable("input", "not a request fetch can make", e);
      }
      body = request.method === "GET" || request.method === "HEAD" ? undefined : new Uint8Array(await request.arrayBuffer());
      const hash = await nativeBodyHash(body);
      const client = await this.#client();
      signed = await client.signTrigger(request.method, request.url, [...request.headers], body, hash);
    } catch (e) {
      throw toFcError(e);
    }
    const send = this.#options.fetch ?? globalThis.fetch;
    return send(signed.url, {
      method: signed.method,
      headers: signed.headers,
      body: body?.length ? body : undefined,
      signal: request.signal,
      // A followed redirect would carry the signed headers, STS token included, to wherever the
      // Location points: a 3xx comes back as the Response unless the caller asks otherwise.
      redirect: init?.redirect ?? "manual",
    });
  };

  /** Invokes a function. */
  async invokeFunction(functionName, options) {
    try {
      // The hot path: no copies of the options object, no extra awaits once loaded. The wasm
      // reads the other options from `options` and takes body and headers converted.
      let body, headers;
      try {
        ({ body, headers } = options ?? {});
      } catch (e) {
        throw unreadable("options", "could not be read", e);
      }
      let prepared = prepare(body, headers, true);
      if (prepared instanceof Promise) prepared = await prepared;
      const client = this.#wasm ?? (await this.#client());
      return new InvokeResponse(await client.invokeFunction(functionName, options, prepared.bytes, prepared.hash, prepared.pairs));
    } catch (e) {
      throw toFcError(e);
    }
  }

  // Never show credentials: JSON.stringify(client) and console.log(client) print only where it calls.
  toJSON() {
    const { endpoint, accountId, region } = readable(this.#options, "options", {});
    return { endpoint, accountId, region };
  }

  // Node's console.log and util.inspect show this instead of the fields (fetch is one).
  [Symbol.for("nodejs.util.inspect.custom")]() {
    return `FcClient ${JSON.stringify(this.toJSON())}`;
  }
}

/** One-shot invocation: `invokeFunction({ endpoint | accountId + region, credentials, fetch?, functionName, ...options })`. */
export async function invokeFunction(request) {
  let endpoint, accountId, region, credentials, fetch, functionName, options;
  try {
    ({ endpoint, accountId, region, credentials, fetch, functionName, ...options } = readable(request, "options"));
  } catch (e) {
    throw toFcError(e);
  }
  const config = Object.fromEntries(Object.entries({ endpoint, accountId, region, credentials, fetch }).filter(([, v]) => v !== undefined));
  return new FcClient(config).invokeFunction(functionName, options);
}

/** Signs any FC 3.0 request without sending it; returns `{ method, url, headers }`. */
export async function signRequest(request, credentials, options) {
  try {
    // A copy with every key the caller gave, so that the wasm still reports unknown ones.
    const { body, headers, ...copy } = readable(request, "request");
    let prepared = prepare(body, headers, false);
    if (prepared instanceof Promise) prepared = await prepared;
    if (wasmExports === null) await loaded();
    copy.body = prepared.bytes;
    copy.headers = prepared.pairs;
    copy.payloadHash ??= prepared.hash;
    return wasmSignRequest(copy, credentials, options);
  } catch (e) {
    throw toFcError(e);
  }
}
