// The JS face shared by every runtime entry (node.js, web.js, workerd.js). It reads the caller's
// JS values (options objects, bodies, headers, credentials) into the typed arguments the wasm
// takes, and turns results and errors back into JS objects; the wasm validates the values and
// does the real work.

import { newClient, signRequest as wasmSignRequest } from "../dist/wasm/fc_invoke.js";

let loadWasm = () => {
  throw new Error("fc-invoke: import the package entry (\"fc-invoke\"), not js/core.js");
};
let ready = null;
let wasmExports = null;
let runtimeDigest = null;

/**
 * Called once by each runtime entry with the way that runtime instantiates the module and,
 * optionally, `{ digest }`: the runtime's native SHA-256 (bytes → hex, a Promise of it, or
 * undefined where the wasm should hash those bytes).
 */
export function setWasmLoader(load, { digest } = {}) {
  loadWasm = load;
  runtimeDigest = digest ?? null;
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
  constructor(code, message, fields) {
    const { status, requestId, argument, cause, data } = fields ?? {};
    super(message, cause === undefined ? undefined : { cause });
    this.name = "FcError";
    /** A client code (InvalidArgument, CredentialsError, NetworkError, Timeout, Aborted, InitError, InternalError) or the service's Code. */
    this.code = code;
    this.status = status;
    this.requestId = requestId;
    this.argument = argument;
    /** The service's error answer as JSON, when it was JSON. */
    this.data = data;
  }

  toJSON() {
    const { name, code, message, status, requestId, argument, data } = this;
    return { name, code, message, status, requestId, argument, data };
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
  if (runtimeDigest !== null) {
    try {
      const hash = runtimeDigest(bytes);
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

/**
 * An array or an object literal, of any realm (an iframe's, node:vm's): its prototype is an
 * Object.prototype, the one object whose prototype is null, or it has none. Class instances,
 * Maps and Dates are a step further down.
 */
function isPlainJson(value) {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** The built-in tag of a value ("[object ArrayBuffer]", "[object Blob]"), which holds across realms. */
const tagOf = (value) => Object.prototype.toString.call(value);

// Bodies are read by the built-in getters and methods, not through the object: a subclass or an
// own property could answer a length the buffer does not have (the wasm sizes its copies by it),
// and the built-ins accept what is one of any realm, and nothing else.
/**
 * The getter `name` of `proto`; undefined where a runtime puts the property on each object
 * instead, as workerd does for Blob and AbortSignal before its 2022-01-31 compatibility date.
 */
const getterOf = (proto, name) => Object.getOwnPropertyDescriptor(proto, name)?.get;
const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
// Its kind ("Uint8Array"…) for a typed array of any realm, undefined for anything else; no throw.
const typedArrayKind = getterOf(typedArrayProto, Symbol.toStringTag);
const arrayBufferLength = getterOf(ArrayBuffer.prototype, "byteLength");
const TYPED_ARRAY = ["buffer", "byteOffset", "byteLength"].map((name) => getterOf(typedArrayProto, name));
const DATA_VIEW = ["buffer", "byteOffset", "byteLength"].map((name) => getterOf(DataView.prototype, name));
/**
 * Throws for a typed array whose buffer is detached, or shrunk below it (whose length reads 0),
 * and runs no code of the caller's (slice would, through a subclass's constructor).
 */
const typedArrayAt = typedArrayProto.at;
/** Blob's `type` getter and `arrayBuffer`, where the runtime has Blob. */
const BLOB = typeof Blob === "undefined" ? undefined : { type: getterOf(Blob.prototype, "type"), arrayBuffer: Blob.prototype.arrayBuffer };

/**
 * Whether `value` is a `Class` of any realm, by `getter`'s check of its internal slots; by
 * instanceof where the runtime has no such getter (getterOf).
 */
const isA = (getter, Class, value) => (getter === undefined ? value instanceof Class : accepts(getter, value));

/** Whether the built-in `getter` accepts `value`: a brand check that holds across realms. */
function accepts(getter, value) {
  try {
    getter.call(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * A copy of a caller's options object (undefined and null: empty), or `fallback`; else
 * `InvalidArgument`, so that a string does not become "unknown option `0`" and a throwing getter
 * is the caller's error, not ours. Its own fields, and of `keys` those its prototypes give (a
 * class's getters, defaults under Object.create; not an Object.prototype's, see read).
 */
function readable(value, argument, fallback, keys = []) {
  if (value === undefined || value === null) return { __proto__: null };
  try {
    if (typeof value === "object" && !Array.isArray(value)) {
      const copy = { __proto__: null, ...value };
      for (const key of keys) {
        if (key in copy) continue;
        const v = fieldOf(value, key);
        // A method of the object's class (a `credentials()` provider, a `fetch`) keeps its object.
        if (v !== undefined) copy[key] = typeof v === "function" ? v.bind(value) : v;
      }
      return copy;
    }
  } catch (e) {
    if (fallback !== undefined) return fallback;
    throw unreadable(argument, "could not be read", e);
  }
  if (fallback !== undefined) return fallback;
  throw invalid(argument, "must be an object");
}

/**
 * A URL's "user:password@" in a runtime's message: from the first scheme's ':' and any mix of /
 * and \ that URL parsers take, to the last '@', as a password pasted unencoded may hold '@', '/',
 * '?', '#' or a space (an '@' in a query takes what precedes it too); $1 keeps the scheme.
 * Replaced by "$1…@", which shows that something went.
 */
const USERINFO = /([a-z][a-z\d+.-]*:[/\\]*)[^]*@/i;

/**
 * How much of a runtime's message is searched for what it must not show, and shown: the patterns
 * take time quadratic in the text's length, and a message may quote a 1 MiB URL.
 */
const SHOWN = 1000;

const invalid = (argument, reason) => new FcError("InvalidArgument", `invalid ${argument}: ${reason}`, { argument });

/**
 * `InvalidArgument` for a caller's value that threw while we read or converted it. `quoting`:
 * the message may quote what it refused (Node's and Deno's Request quote a refused header value,
 * which may be an API key), which is dropped.
 */
function unreadable(argument, what, cause, quoting = false) {
  const said = String(cause?.message ?? cause);
  const head = said.slice(0, SHOWN);
  // A URL's user:password is dropped, as toJSON drops it, and so is what a `quoting` message
  // quotes; then the cause is not kept: it would show them. In the runtime's Request messages,
  // after any mix of / and \ that URL parsers take; in others, only after a "//", so that
  // "role: ci@prod" stays as written.
  const reason = quoting ? head.replace(/(["'`])[^]*\1/g, "$1…$1").replace(USERINFO, "$1…@") : head.replace(/\/\/(?:\S*|[^/?#]*)@/g, "//…@");
  return new FcError("InvalidArgument", `invalid ${argument}: ${what}: ${reason.slice(0, 200)}`, { argument, cause: reason === said ? cause : undefined });
}

const TYPE_NAMES = { string: "a string", number: "a number", boolean: "true or false" };

/**
 * The fields of the options object `value` (undefined or null: none) that `schema` names, each
 * of its type (`"string"`, `"number"`, `"boolean"`, or `"any"`), null counted as absent. A key
 * outside `schema` is refused, so that a typo such as `invocationtype` is an error rather than
 * an option silently ignored. Errors are `InvalidArgument` for `argument`; a getter or proxy
 * that throws is one too. Nothing comes from the root of `value`'s prototype chain
 * (Object.prototype), which an app's careless deep merge may have polluted: an `endpoint` or a
 * `fetch` there is not the caller's. The fields go into an object with no prototype, for the
 * same reason.
 */
function read(value, argument, schema) {
  if (value === undefined || value === null) return EMPTY;
  if (typeof value !== "object") throw invalid(argument, "must be an object");
  const fields = { __proto__: null };
  try {
    const keys = Object.keys(value);
    for (const key of keys) {
      if (!Object.hasOwn(schema, key)) throw invalid(argument, `unknown option \`${key}\`; expected one of ${Object.keys(schema).join(", ")}`);
    }
    const proto = prototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      // A plain object (the usual case, and the quick one): its own fields.
      for (const name of keys) take(fields, argument, schema[name], name, value[name]);
    } else {
      // A class instance, an object made by Object.create, a Request to sign: getters and fields
      // on its prototypes count.
      for (const name of Object.keys(schema)) take(fields, argument, schema[name], name, fieldOf(value, name));
    }
  } catch (e) {
    throw e instanceof FcError ? e : unreadable(argument, "could not be read", e);
  }
  return fields;
}

/** Sets `fields[name]` to `v`, a field of `type` (read's), unless absent; or throws. */
function take(fields, argument, type, name, v) {
  if (v === undefined || v === null) return;
  if (type !== "any" && typeof v !== type) throw invalid(argument, `\`${name}\` must be ${TYPE_NAMES[type]}`);
  // The wasm is passed NaN for a number not given: a caller's NaN would pass for that.
  if (type === "number" && Number.isNaN(v)) throw invalid(argument, `\`${name}\` must be a number, not NaN`);
  // "any" fields (a body, headers) are bounded where they become the wasm's text, if they do.
  fields[name] = type === "string" ? bounded(v, name) : v;
}

/**
 * `value[name]`, but for what an Object.prototype (a polluted one) would give: undefined when
 * the first Object.prototype on its chain holds `name` and nothing before it does. A Proxy that
 * answers only `get` (a lazy view of a secret store) is read.
 */
function fieldOf(value, name) {
  if (Object.hasOwn(value, name)) return value[name];
  let o = value;
  for (;;) {
    try {
      o = Object.getPrototypeOf(o);
    } catch {
      // A Proxy whose prototype cannot be read: its own fields only, for what it inherits may
      // be a polluted Object.prototype's.
      return undefined;
    }
    if (o === null) return value[name];
    if (Object.hasOwn(o, name)) return isObjectPrototype(o) ? undefined : value[name];
    if (isObjectPrototype(o)) return value[name];
  }
}

/** Object.getPrototypeOf, or null where a Proxy's trap throws. */
function prototypeOf(value) {
  try {
    return Object.getPrototypeOf(value);
  } catch {
    return null;
  }
}

/** This realm's Object.prototype, or another's (an iframe's, a node:vm context's). */
const isObjectPrototype = (o) => o === Object.prototype || (prototypeOf(o) === null && Object.hasOwn(o, "isPrototypeOf"));

const EMPTY = Object.freeze({ __proto__: null });

/** A string argument, or `InvalidArgument`. */
function text(value, argument) {
  if (typeof value !== "string") throw invalid(argument, "must be a string");
  return bounded(value, argument);
}

/**
 * The most text one argument may hold: every string is copied into wasm memory, and signing
 * copies it a few times more, so hundreds of megabytes would exhaust the wasm's 4 GB. No URL,
 * header or id FC takes comes near it.
 */
const MAX_TEXT = 1 << 20;

/** `value`, or `InvalidArgument` when it is longer than MAX_TEXT. */
function bounded(value, argument) {
  if (value.length > MAX_TEXT) throw invalid(argument, `is longer than ${MAX_TEXT} characters`);
  return value;
}

const signalAborted = typeof AbortSignal === "undefined" ? undefined : getterOf(AbortSignal.prototype, "aborted");

/** The caller's AbortSignal, checked (a fake one, whose getters throw, is refused). */
function signalOf(value) {
  if (value === undefined) return undefined;
  // By the `aborted` getter's check of its internal slots, so that another realm's signal (an
  // iframe's) is one too, as fetch takes it, and a look-alike is not.
  if (typeof AbortSignal !== "undefined" && isA(signalAborted, AbortSignal, value)) return value;
  throw invalid("signal", "must be an AbortSignal");
}

/**
 * The `retry` option for the wasm: `[]` when not given (the client's policy), else
 * `[maxAttempts, baseDelayMs, maxDelayMs]`, NaN for each limit not given (its default); the wasm
 * checks the values.
 */
function retryNumbers(value) {
  if (value === undefined) return [];
  if (value === true || value === false) return [value ? NaN : 1, NaN, NaN];
  const r = read(value, "retry", RETRY_OPTIONS);
  return [r.maxAttempts ?? NaN, r.baseDelayMs ?? NaN, r.maxDelayMs ?? NaN];
}

/**
 * A call's numeric options for the wasm: `[timeoutMs, deadlineMs, idempotent (1 or 0), …retry
 * (retryNumbers)]`, NaN for a time not given.
 */
const callNumbers = ({ timeoutMs = NaN, deadlineMs = NaN, idempotent, retry }) => [timeoutMs, deadlineMs, idempotent ? 1 : 0, ...retryNumbers(retry)];

/** Milliseconds since the epoch from a Date, a date string or a number (NaN when none of them). */
function epochMs(value) {
  if (value instanceof Date) {
    try {
      return Date.prototype.getTime.call(value);
    } catch {
      return NaN; // an object made to look like a Date
    }
  }
  if (typeof value === "number") return value;
  if (typeof value === "string") return Date.parse(value);
  return NaN;
}

/**
 * Credentials `{ accessKeyId, accessKeySecret, securityToken?, expiration? }` (other keys, as in
 * an STS answer, are ignored) with the expiration in epoch milliseconds, or `{ unusable }`: why
 * they cannot be used. Their values are checked by the wasm.
 */
function credentialsOf(value) {
  if (typeof value !== "object" || value === null) return unusable("expected an object with accessKeyId and accessKeySecret");
  const out = unusable(undefined);
  try {
    // By fieldOf, as options are read: nor does Object.prototype give a provider's answer an
    // expiration far away (kept, never asked again).
    for (const name of ["accessKeyId", "accessKeySecret", "securityToken"]) {
      const v = fieldOf(value, name);
      if (v === undefined || v === null) continue;
      if (typeof v !== "string") return unusable(`${name} must be a string`);
      if (v.length > MAX_TEXT) return unusable(`${name} is longer than ${MAX_TEXT} characters`);
      out[name] = v;
    }
    const expiration = fieldOf(value, "expiration");
    if (expiration !== undefined && expiration !== null) {
      out.expirationMs = epochMs(expiration);
      if (!Number.isFinite(out.expirationMs)) return unusable("expiration must be a Date, an ISO date string or epoch milliseconds");
    }
  } catch {
    return unusable("expected an object with accessKeyId and accessKeySecret");
  }
  return out;
}

/**
 * credentialsOf's answer, with every field its own, as what it gives is read field by field: one
 * left out came from a polluted Object.prototype (static keys got a token). A fixed shape rather
 * than a null prototype, which V8 keeps as a dictionary, on every signature's path.
 */
const unusable = (why) => ({ accessKeyId: undefined, accessKeySecret: undefined, securityToken: undefined, expirationMs: undefined, unusable: why });

/** Static credentials given to the client or to signRequest: read, or `CredentialsError`. */
function staticCredentials(value) {
  const credentials = credentialsOf(value);
  if (credentials.unusable !== undefined) throw new FcError("CredentialsError", `credentials: ${credentials.unusable}`);
  return credentials;
}

/**
 * The caller's credentials provider as the wasm's driver calls it: its answer, read (see
 * credentialsOf); a throw, a rejection or a hostile thenable rejects.
 */
const providerOf = (provider) => () => new Promise((resolve) => resolve(provider())).then(credentialsOf);

/**
 * Body → { bytes, contentType } with the content type the body implies (JSON, a Blob's type);
 * a Promise of it only for a Blob, so the common cases cost no extra turn of the event loop.
 * With `copy`, buffers are copied: a request to be sent takes its body when called, as fetch
 * does, so that a caller reusing the buffer afterwards changes nothing (the hash included).
 */
function bodyBytes(body, copy) {
  if (body === undefined || body === null) return { bytes: undefined };
  if (typeof body === "string") return { bytes: encoder.encode(body) };
  let kind;
  try {
    // A Proxy's traps run here; what they throw is the caller's error.
    const tag = tagOf(body);
    // Older workerd's Blob has no toStringTag.
    const blob = BLOB !== undefined && (tag === "[object Blob]" || tag === "[object File]" || body instanceof Blob) && isA(BLOB.type, Blob, body);
    kind = ArrayBuffer.isView(body) || (tag === "[object ArrayBuffer]" && accepts(arrayBufferLength, body)) ? "bytes" : blob ? "blob" : typeof body === "object" && isPlainJson(body) ? "json" : undefined;
  } catch (e) {
    throw unreadable("body", "cannot be read", e);
  }
  if (kind === "bytes") return { bytes: viewBytes(body, copy) };
  if (kind === "blob") {
    // By the built-in methods, which read a Blob of any realm and nothing else.
    const contentType = (BLOB.type === undefined ? body.type : BLOB.type.call(body)) || undefined;
    return BLOB.arrayBuffer.call(body).then(
      (buffer) => ({ bytes: new Uint8Array(buffer), contentType }),
      (e) => {
        throw unreadable("body", "the Blob could not be read", e);
      },
    );
  }
  if (kind === "json") {
    let json;
    try {
      json = JSON.stringify(body);
    } catch (e) {
      throw unreadable("body", "cannot be sent as JSON", e);
    }
    // A toJSON that answers undefined leaves nothing to send.
    if (json === undefined) throw invalid("body", "has no JSON form (its toJSON returned undefined)");
    return { bytes: encoder.encode(json), contentType: "application/json" };
  }
  throw invalid("body", "must be a string, Uint8Array, ArrayBuffer, Blob or a plain object (sent as JSON)");
}

/**
 * A buffer's or view's bytes as a plain Uint8Array over the same memory (copied with `copy`):
 * no code of the caller's runs when the wasm reads it. A detached buffer is refused, not sent
 * empty.
 */
function viewBytes(body, copy) {
  let view;
  try {
    if (!ArrayBuffer.isView(body)) {
      view = new Uint8Array(body);
    } else {
      // By its internal slots, so a view from another realm (an iframe, node:vm) is read too.
      const [buffer, byteOffset, byteLength] = typedArrayKind.call(body) === undefined ? DATA_VIEW : TYPED_ARRAY;
      view = new Uint8Array(buffer.call(body), byteOffset.call(body), byteLength.call(body));
    }
    if (view.byteLength === 0) {
      new Uint8Array(view.buffer, 0, 0); // throws for a detached buffer
      if (ArrayBuffer.isView(body) && typedArrayKind.call(body) !== undefined) typedArrayAt.call(body, 0);
    }
  } catch (e) {
    throw unreadable("body", "its buffer cannot be read (detached, or resized below the view?)", e);
  }
  // slice() also turns a SharedArrayBuffer or resizable buffer, which fetch refuses, into a plain one.
  return copy ? view.slice() : view;
}

/**
 * Name/value lists (Headers or URLSearchParams, [name, value] pairs, or a plain object) →
 * "name\nvalue\n…" for the wasm (undefined for none); values may be of `valueTypes` and are
 * turned into strings. A line break inside a name or value is refused: it would change how the
 * lines split. So are pairs `refused(name, value)` refuses. (How many headers a request may
 * have, the wasm judges: src/acs3/mod.rs MAX_HEADERS.) `line(name, value)` writes each pair
 * otherwise (a query's).
 */
function nameLines(value, argument, valueTypes, accepted, refused, line = asLine) {
  if (value === undefined || value === null) return undefined;
  const bad = () => invalid(argument, `must be ${accepted}`);
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
  let lines = "";
  try {
    for (const p of entries) {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || !valueTypes.includes(typeof p[1])) throw bad();
      const [name, v] = p;
      const value = typeof v === "string" ? v : String(v);
      if (refused?.(name, value)) throw invalid(argument, `\`${name}\` cannot be sent with fetch (\`connection\` only as close or keep-alive)`);
      lines += line(name, value, argument);
    }
  } catch (e) {
    throw e instanceof FcError ? e : unreadable(argument, "could not be read", e);
  }
  return bounded(lines, argument);
}

const LINE_BREAK = /[\r\n]/;

/** A pair as "name\nvalue\n", which a line break inside either would split otherwise. */
function asLine(name, value, argument) {
  if (LINE_BREAK.test(name) || LINE_BREAK.test(value)) throw invalid(argument, "must be [name, value] string pairs with no CR or LF in names or values");
  return `${name}\n${value}\n`;
}

/** Whether "name\nvalue\n…" has a header `name` (lower case), in any case. */
function hasName(lines, name) {
  const parts = lines?.split("\n") ?? [];
  for (let i = 0; i < parts.length; i += 2) if (parts[i].toLowerCase() === name) return true;
  return false;
}

/**
 * Whether fetch refuses header `name: value`: the connection's own headers, on which Node's fetch
 * throws (a NetworkError, retried where safe) and which browsers drop, but for `connection:
 * close` or `keep-alive`, which Node and Deno send. Only for requests the package sends: one
 * signRequest signs may go out by another HTTP stack. The signer's own (host, x-acs-*, …) the
 * wasm refuses.
 */
const fetchRefuses = (name, value) => HOP_BY_HOP.test(name) || (/^connection$/i.test(name) && !/^\s*(close|keep-alive)\s*$/i.test(value));
const HOP_BY_HOP = /^(keep-alive|transfer-encoding|upgrade|expect)$/i;

/**
 * The content type of a string body that signRequest signs (`sending` false): fetch sends one
 * with this type unless the headers give one, and the official signer signs the content-type a
 * request has. A body the package sends gets its default from the wasm.
 */
const stringType = (body, sending) => (!sending && typeof body === "string" ? "text/plain;charset=UTF-8" : undefined);

/** Headers as the wasm takes them; `sending`: the package sends the request with fetch. */
const headerLines = (headers, sending) =>
  nameLines(headers, "headers", ["string", "number"], "a Headers object, [name, value] pairs or an object of string values", sending ? fetchRefuses : undefined);

/**
 * Body and headers as the wasm takes them: `{ bytes, hash, lines }` (hash: hex SHA-256 or
 * undefined), or a Promise of it for a Blob or a body hashed by Web Crypto. `sending`: the
 * package sends the request with fetch (bodyBytes copies the body; headerLines).
 */
function prepare(body, headers, sending, givenHash) {
  let lines = headerLines(headers, sending);
  const finish = ({ bytes, contentType }) => {
    // The body's own type (JSON, a Blob's) counts against the body, a string's default against the headers.
    const type = contentType ?? stringType(body, sending);
    if (type && !hasName(lines, "content-type")) lines = bounded(`${lines ?? ""}content-type\n${type}\n`, contentType ? "body" : "headers");
    // A hash the caller gave is not computed again.
    const hash = givenHash ?? nativeBodyHash(bytes);
    return hash instanceof Promise ? hash.then((h) => ({ bytes, hash: h, lines })) : { bytes, hash, lines };
  };
  const converted = bodyBytes(body, sending);
  return converted instanceof Promise ? converted.then(finish) : finish(converted);
}

/**
 * The whole body of `request` (client.fetch hashes it), or `Aborted` as soon as its signal
 * aborts, as fetch stops on it: the read is cancelled, so an upload that never ends (a Worker
 * proxying a slow client's) cannot hold the call. Firefox's Request has no `body` stream: there
 * its arrayBuffer() is read, and given up on (not cancelled) at the abort.
 */
async function requestBytes(request) {
  const { signal } = request;
  const aborted = () => new FcError("Aborted", "the call was aborted", { cause: signal.reason });
  if (request.body === null) return new Uint8Array(0);
  if (typeof request.body?.getReader !== "function") {
    let stop;
    const stopped = new Promise((_, reject) => signal.addEventListener("abort", (stop = () => reject(aborted())), { once: true }));
    try {
      return new Uint8Array(await Promise.race([request.arrayBuffer(), stopped]));
    } catch (e) {
      throw e instanceof FcError ? e : unreadable("body", "could not be read", e);
    } finally {
      signal.removeEventListener("abort", stop);
    }
  }
  let reader;
  const cancel = () => reader?.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    reader = request.body.getReader();
    const chunks = [];
    let length = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (signal.aborted) throw aborted();
      if (done) break;
      // What arrayBuffer() takes: a stream of other chunks (strings, say) is no body.
      if (tagOf(value) !== "[object Uint8Array]") throw new TypeError("the body stream gave a chunk that is not a Uint8Array");
      chunks.push(value);
      length += value.byteLength;
    }
    // One chunk is sent as it is, unless over a buffer fetch refuses (shared or resizable), or
    // another realm's, which may be one.
    if (chunks.length === 1) {
      const [only] = chunks;
      return only.buffer instanceof ArrayBuffer && !only.buffer.resizable ? only : new Uint8Array(only);
    }
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    return bytes;
  } catch (e) {
    throw e instanceof FcError ? e : unreadable("body", "could not be read", e);
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

/**
 * The bytes signRequest signed, to send, as an ArrayBuffer (a plain object's are its JSON, which
 * fetch would not send for it): every version of TypeScript's DOM types lets fetch take one, and
 * fetch takes no shared or resizable one. The view's own buffer where it is all of one; null, as
 * fetch's init writes none, for no bytes.
 */
function sendable(bytes) {
  if (!bytes?.length) return null;
  const { buffer } = bytes;
  // Checks cheap enough for every signature: another realm's buffer is copied too.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength && buffer instanceof ArrayBuffer && !buffer.resizable;
  return whole ? buffer : bytes.slice().buffer;
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

/**
 * `path` with `query` added, each name and value percent-encoded, so that they may hold any text:
 * FC's list tokens can end in a line break, which the wasm's "name\nvalue\n" lines cannot carry.
 * The wasm reads a path's query as the signature needs it.
 */
function withQuery(path, query) {
  const encoded = nameLines(query, "query", ["string", "number", "boolean"], "URLSearchParams, [name, value] pairs or an object of strings, numbers or booleans", undefined, queryPair);
  if (!encoded || typeof path !== "string") return path;
  // Before a fragment, which is not sent (and which the wasm drops, with what follows it).
  const hash = path.indexOf("#");
  const [head, fragment] = hash === -1 ? [path, ""] : [path.slice(0, hash), path.slice(hash)];
  return `${head}${head.endsWith("?") ? "" : head.includes("?") ? "&" : "?"}${encoded.slice(0, -1)}${fragment}`;
}

/** "name=value&", percent-encoded; a lone surrogate as U+FFFD, as the UTF-8 of other text has it. */
const queryPair = (name, value) => `${encodeURIComponent(name.toWellFormed?.() ?? name)}=${encodeURIComponent(value.toWellFormed?.() ?? value)}&`;

// What each call reads from its options object (`any`: read further below or by the wasm).
const CLIENT_OPTIONS = { endpoint: "string", accountId: "string", region: "string", credentials: "any", fetch: "any", retry: "any" };
const RETRY_OPTIONS = { maxAttempts: "number", baseDelayMs: "number", maxDelayMs: "number" };
const CALL_OPTIONS = { signal: "any", timeoutMs: "number", deadlineMs: "number", retry: "any", idempotent: "boolean" };
const INVOKE_OPTIONS = { qualifier: "string", invocationType: "string", logType: "string", asyncTaskId: "string", headers: "any", body: "any", ...CALL_OPTIONS };
const TASK_OPTIONS = { qualifier: "string", signal: "any", timeoutMs: "number", retry: "any" };
const LIST_OPTIONS = {
  qualifier: "string", status: "string", prefix: "string", startedTimeBegin: "number", startedTimeEnd: "number", limit: "number",
  nextToken: "string", sortOrderByTime: "string", includePayload: "boolean", signal: "any", timeoutMs: "number", retry: "any",
};
const WAIT_OPTIONS = { qualifier: "string", signal: "any", pollIntervalMs: "number", maxPollIntervalMs: "number", timeoutMs: "number" };
const REQUEST_OPTIONS = { method: "string", path: "string", query: "any", headers: "any", body: "any", action: "string", ...CALL_OPTIONS };
const REQUEST_TO_SIGN = { method: "string", url: "string", headers: "any", body: "any", payloadHash: "string" };
const SIGN_OPTIONS = { action: "string", version: "string", date: "any", nonce: "string" };

/**
 * An endpoint as given, but for a user or password in it (the first call refuses those): all
 * between its scheme and the last '@', as USERINFO finds it, but in linear time. From the text,
 * not as a URL parser reads it: with a '/' in its password, the URL parses with the rest of the
 * password in its path.
 */
function withoutPassword(endpoint) {
  const at = typeof endpoint === "string" ? endpoint.lastIndexOf("@") : -1;
  if (at === -1) return endpoint;
  const scheme = /^[a-z][a-z\d+.-]*:[/\\]*/i.exec(endpoint)?.[0] ?? "";
  return `${scheme}…@${endpoint.slice(at + 1)}`;
}

/**
 * `url` (an endpoint, a URL to sign), or `InvalidArgument` when fetch would send its host
 * otherwise or not at all: the signature covers the host. The runtime's URL parser judges the two
 * kinds the wasm cannot: an IPv6 address, which fetch writes in its one short form ([::1] for
 * [0:0:0:0:0:0:0:1]), and a name with an IDN label (xn--…), which fetch refuses unless it is valid
 * punycode. The wasm checks the rest of the URL.
 */
function hostAsSent(url, argument) {
  // Most URLs have neither: one quick look spares them the pattern below.
  if (typeof url !== "string" || !(url.includes("://[") || /xn--/i.test(url))) return url;
  const host = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:@]*xn--[^/?#:@]*)/i.exec(url)?.[1];
  if (host === undefined) return url;
  const ipv6 = host.startsWith("[");
  let sent;
  try {
    sent = new URL(url).hostname;
  } catch {
    // Wrong elsewhere (the wasm says where), unless the host alone is refused.
    if (ipv6 || URL.canParse?.(`http://${host}`) !== false) return url;
    throw invalid(argument, `fetch cannot send to ${host}: an xn-- label must be valid punycode`);
  }
  const given = host.toLowerCase();
  if (given !== sent) throw invalid(argument, `write the ${ipv6 ? "IPv6 address" : "host"} as fetch sends it, ${sent}, not ${given}`);
  return url;
}

/**
 * A URL (a Request's, one to sign) with the characters the URL parser leaves raw in a path (`|`,
 * `^`, `[`, `]`) percent-encoded: the signature is of an RFC 3986 path, and encoded they name
 * the same resource. Other characters a path may not hold the wasm refuses.
 */
function pathEncoded(url) {
  if (typeof url !== "string" || !/[|^[\]]/.test(url)) return url;
  const path = url.indexOf("/", url.indexOf("://") + 3);
  if (path < 0) return url;
  const length = url.slice(path).search(/[?#]/);
  const end = length < 0 ? url.length : path + length;
  return url.slice(0, path) + url.slice(path, end).replace(/[|^[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) + url.slice(end);
}

/**
 * Whether client.fetch leaves header `name: value` out: what fetch sets itself (host,
 * content-length) or refuses (see fetchRefuses), as browsers' fetch leaves out the headers it
 * forbids. A proxied request (workerd's incoming one, or a copy of its headers edited as an init's)
 * carries them.
 */
const leftToFetch = (name, value) => /^(host|content-length)$/i.test(name) || fetchRefuses(name, value);

/** Whether `value` is a Request, of this realm or not (undici's, an iframe's). */
const isRequest = (value) => typeof value === "object" && value !== null && Object.prototype.toString.call(value) === "[object Request]";

/**
 * client.fetch's init as a plain object. An init that is not one (a Request, as in the Workers
 * proxy idiom `fetch(url, request)`, or a class instance) has its fields read one by one: a
 * spread copies no getter. A Request's redirect mode is left out, as one given as input (see
 * requestOptions).
 */
function initOf(init) {
  if (typeof init !== "object" || init === null) return init;
  // A Proxy whose prototype cannot be read (null here) is given to Request as it is, as fetch would take it.
  const proto = prototypeOf(init);
  if (proto === Object.prototype || proto === null) return init;
  const fields = requestOptions(init);
  const names = isRequest(init) ? ["method", "headers", "body", "signal", "duplex"] : ["method", "headers", "body", "signal", "duplex", "redirect"];
  for (const name of names) {
    const value = fieldOf(init, name);
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}

/** What fetch takes by default for a Request's own options (runtimes without one leave it undefined). */
const REQUEST_DEFAULTS = { cache: "default", credentials: "same-origin", integrity: "", keepalive: false, mode: "cors", referrer: "about:client", referrerPolicy: "" };

/**
 * A Request's options that are not fetch's defaults, for fetch to send it with (client.fetch
 * sends a new request: the signed one). Not its redirect: client.fetch returns a redirect unless
 * its init asks to follow it.
 */
function requestOptions(request) {
  const options = {};
  for (const name of Object.keys(REQUEST_DEFAULTS)) {
    const value = fieldOf(request, name);
    if (value !== undefined && value !== REQUEST_DEFAULTS[name]) options[name] = value;
  }
  // A navigation's Request (a service worker's event.request): fetch takes no "navigate" in an
  // init, and a Request made from it is "same-origin".
  if (options.mode === "navigate") options.mode = "same-origin";
  return options;
}

/** The wasm client for the options an FcClient was made with. */
function wasmClient(options) {
  const o = read(options, "options", CLIENT_OPTIONS);
  // Checked here, so that the wasm's message can speak of the runtime's global fetch alone.
  if (o.fetch !== undefined && typeof o.fetch !== "function") throw invalid("fetch", "must be a function");
  const { credentials } = o;
  const provider = typeof credentials === "function" ? providerOf(credentials) : undefined;
  const keys = provider === undefined && credentials !== undefined ? staticCredentials(credentials) : EMPTY;
  const { accessKeyId, accessKeySecret, securityToken } = keys;
  return answer(newClient(hostAsSent(o.endpoint, "endpoint"), o.accountId, o.region, accessKeyId, accessKeySecret, securityToken, provider, o.fetch, retryNumbers(o.retry)));
}

/** What the wasm answered, or the FcError it answered instead (thrown). */
function answer(value) {
  if (value instanceof Error) throw value;
  return value;
}

/** `{ method, url, headers, body }` from "method\nurl\nname\nvalue\n…" and the body signed. */
function signedOf(lines, body = null) {
  const parts = lines.split("\n");
  const headers = {};
  for (let i = 2; i + 1 < parts.length; i += 2) headers[parts[i]] = parts[i + 1];
  return { method: parts[0], url: parts[1], headers, body };
}

/** Wasm clients a trap left borrowed (FcClient#failed). */
const trapped = new WeakSet();

/**
 * Each client's options, credentials among them. Not a private field: browsers' consoles show
 * those when a logged client is expanded, and static credentials with them.
 */
const optionsOf = new WeakMap();

/** A method called on something else than a client: `const { invokeFunction } = client`, say. */
const unbound = (method) => new FcError("InvalidArgument", `invalid this: ${method} must be called on its FcClient (client.${method}(…)), or bound to it`, { argument: "this" });

/** A Function Compute 3.0 client. Options are checked on the first call. */
export class FcClient {
  #wasm = null;
  /** Calls using #wasm now: close() frees it once there are none (a running call reports to it). */
  #running = 0;
  #closing = false;

  /** Whether `value` is a client: the methods' `this`, which is not one when called unbound. */
  static #is(value) {
    return typeof value === "object" && value !== null && #running in value;
  }

  constructor(options = {}) {
    // Kept whole: the first call reports unknown keys (a typo such as `credentails`). What is not
    // a plain readable object is kept as given, for that call to refuse.
    optionsOf.set(this, readable(options, "options", options, Object.keys(CLIENT_OPTIONS)));
  }

  async #client() {
    await loaded();
    this.#wasm ??= wasmClient(optionsOf.get(this));
    return this.#wasm;
  }

  /**
   * A call: `setup` reads the caller's arguments now, when the method is called, as fetch takes
   * its body (a buffer or options object reused right after the call changes nothing), and
   * returns what runs with the wasm client. Its errors reject, as FcErrors.
   */
  async #call(setup) {
    let call;
    try {
      call = setup();
    } catch (e) {
      throw toFcError(e);
    }
    return this.#run(call);
  }

  async #run(call) {
    this.#running++;
    let wasm;
    try {
      wasm = await this.#client();
      return await call(wasm);
    } catch (e) {
      throw this.#failed(wasm, e);
    } finally {
      this.#ended();
    }
  }

  /**
   * A call's error as an FcError. A trap (the wasm out of memory: many calls with strings near
   * the 1 MiB bound) leaves the wasm client borrowed for good: the client drops it, so later
   * calls get a new one. Its other running calls, whose requests may have gone out, then get the
   * wasm's "busy": an InvalidArgument of argument "call", as are the wasm's other complaints about
   * how the JS drove a call, none of them the caller's input: all are InternalErrors.
   */
  #failed(wasm, e) {
    if (e instanceof WebAssembly.RuntimeError && wasm !== undefined) {
      trapped.add(wasm);
      if (this.#wasm === wasm) this.#wasm = null;
    } else if (e?.code === "InvalidArgument" && e.argument === "call") {
      const why = trapped.has(wasm) ? "the WebAssembly trapped during another call of this client" : e.message;
      return new FcError("InternalError", `fc-invoke internal error: ${why}; this call's request may have been sent`, { cause: e });
    }
    return toFcError(e);
  }

  #ended() {
    if (--this.#running === 0 && this.#closing) this.close();
  }

  /**
   * Frees the client's WebAssembly memory now, or once its running calls end, rather than when
   * the client is garbage collected: needed only where nothing collects it (workerd before its
   * 2025-05-05 compatibility date has no FinalizationRegistry). A later call sets it up again.
   */
  close() {
    if (!FcClient.#is(this)) throw unbound("close");
    this.#closing = this.#running > 0;
    if (this.#closing || this.#wasm === null) return;
    const wasm = this.#wasm;
    this.#wasm = null;
    // One a trap left borrowed cannot be freed (free() would throw): it stays, as its memory would.
    if (trapped.has(wasm)) return;
    // The port its calls reported to, a JS object of its own: freed with it.
    try {
      const port = wasm.port;
      wasm.free();
      port.free();
    } catch {
      // Still borrowed by a call that trapped before the client saw it: left, as a trapped one is.
    }
  }

  /** GetAsyncTask: the task's state, result and events. */
  getAsyncTask(functionName, taskId, options) {
    if (!FcClient.#is(this)) return Promise.reject(unbound("getAsyncTask"));
    return this.#asyncTask(false, functionName, taskId, options);
  }

  /** StopAsyncTask: stops a running task. */
  stopAsyncTask(functionName, taskId, options) {
    if (!FcClient.#is(this)) return Promise.reject(unbound("stopAsyncTask"));
    return this.#asyncTask(true, functionName, taskId, options);
  }

  #asyncTask(stop, functionName, taskId, options) {
    return this.#call(() => {
      const [name, task, o] = [text(functionName, "functionName"), text(taskId, "taskId"), read(options, "options", TASK_OPTIONS)];
      const [signal, numbers] = [signalOf(o.signal), callNumbers(o)];
      return (c) => c.asyncTask(stop, name, task, o.qualifier, signal, numbers);
    });
  }

  /** ListAsyncTasks: one page, `{ tasks, nextToken }`. */
  async listAsyncTasks(functionName, options) {
    if (!FcClient.#is(this)) throw unbound("listAsyncTasks");
    const page = await this.#call(() => {
      const name = text(functionName, "functionName");
      const o = read(options, "options", LIST_OPTIONS);
      const [signal, numbers] = [signalOf(o.signal), callNumbers(o)];
      return (c) =>
        c.listAsyncTasks(
          name, o.qualifier, o.status, o.prefix, o.startedTimeBegin, o.startedTimeEnd, o.limit, o.nextToken, o.sortOrderByTime,
          o.includePayload, signal, numbers,
        );
    });
    // An empty page may leave `tasks` out or null (a Go server's nil slice): always an array.
    return page.tasks == null ? { ...page, tasks: [] } : page;
  }

  /** Polls GetAsyncTask with backoff until the task has ended; resolves to the final task. */
  waitForAsyncTask(functionName, taskId, options) {
    if (!FcClient.#is(this)) return Promise.reject(unbound("waitForAsyncTask"));
    return this.#call(() => {
      const [name, task, o] = [text(functionName, "functionName"), text(taskId, "taskId"), read(options, "options", WAIT_OPTIONS)];
      // Its timeoutMs bounds the whole wait: the wasm makes it the wait's deadline.
      const [signal, numbers] = [signalOf(o.signal), callNumbers({ __proto__: null, timeoutMs: o.timeoutMs })];
      return (c) => c.waitForAsyncTask(name, task, o.qualifier, o.pollIntervalMs, o.maxPollIntervalMs, signal, numbers);
    });
  }

  /** Any FC 3.0 API call: `{ method, path, query, headers, body, action, … }`. */
  request(options = {}) {
    if (!FcClient.#is(this)) return Promise.reject(unbound("request"));
    return this.#call(() => {
      const o = read(options, "options", REQUEST_OPTIONS);
      const path = withQuery(o.path, o.query);
      const [signal, numbers] = [signalOf(o.signal), callNumbers(o)];
      const prepared = prepare(o.body, o.headers, true);
      // A Blob's bytes still to come: awaited once the client is set up, which may fail first.
      if (prepared instanceof Promise) prepared.catch(() => {});
      return async (c) => {
        const { bytes, hash, lines } = await prepared;
        return new FcResponse(await c.request(o.method, path, lines, o.action, bytes, hash, signal, numbers));
      };
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
      init = initOf(init);
      try {
        const streaming = typeof ReadableStream !== "undefined" && init?.body instanceof ReadableStream;
        request = new Request(input, streaming ? { duplex: "half", ...init } : init);
      } catch (e) {
        throw unreadable("input", "not a request fetch can make", e, true);
      }
      bounded(request.url, "input");
      bounded(request.method, "input");
      // An init.signal aborted already: rejected with its reason, as fetch rejects, signing and sending nothing.
      if (request.signal.aborted) throw request.signal.reason;
      body = request.method === "GET" || request.method === "HEAD" ? undefined : await requestBytes(request);
      const hash = await nativeBodyHash(body);
      // What fetch refuses is left out here, as browsers' fetch does, so headerLines need not refuse it.
      const headers = [...request.headers].filter(([name, value]) => !leftToFetch(name, value));
      signed = signedOf(await this.#run((client) => client.signTrigger(request.method, pathEncoded(request.url), headerLines(headers), body, hash, signalOf(request.signal))));
    } catch (e) {
      throw request?.signal.aborted && e === request.signal.reason ? e : toFcError(e);
    }
    const send = optionsOf.get(this).fetch ?? globalThis.fetch;
    const options = {
      // The caller's other fields (credentials, cache, keepalive, mode, …) go to fetch as given,
      // from a Request given as input too.
      ...requestOptions(request),
      ...init,
      method: signed.method,
      headers: signed.headers,
      body: body?.length ? body : undefined,
      signal: request.signal,
      // A followed redirect would carry the signed headers, STS token included, to wherever the
      // Location points: a 3xx comes back as the Response unless the caller asks otherwise.
      // The init's own redirect only: one on a polluted Object.prototype is not the caller's.
      redirect: (init != null && Object.hasOwn(init, "redirect") ? init.redirect : undefined) ?? "manual",
    };
    // A no-cors request goes without its signed headers (and with redirect "manual" not at all):
    // a service worker's event.request for an <img> or a <script> is one.
    if (options.mode === "no-cors") options.mode = "cors";
    return send(signed.url, options);
  };

  /** Invokes a function. */
  async invokeFunction(functionName, options) {
    if (!FcClient.#is(this)) throw unbound("invokeFunction");
    try {
      // The hot path: no extra awaits once loaded.
      const name = text(functionName, "functionName");
      const o = read(options, "options", INVOKE_OPTIONS);
      let prepared = prepare(o.body, o.headers, true);
      if (prepared instanceof Promise) prepared = await prepared;
      this.#running++;
      let client;
      try {
        client = this.#wasm ?? (await this.#client());
        const raw = await client.invokeFunction(
          name, o.qualifier, o.invocationType, o.logType, o.asyncTaskId, prepared.lines, prepared.bytes, prepared.hash,
          signalOf(o.signal), callNumbers(o),
        );
        return new InvokeResponse(raw);
      } catch (e) {
        throw this.#failed(client, e);
      } finally {
        this.#ended();
      }
    } catch (e) {
      throw toFcError(e);
    }
  }

  // Never show credentials: JSON.stringify(client) and console.log(client) print only where it calls.
  toJSON() {
    const { endpoint, accountId, region } = readable(optionsOf.get(this), "options", {});
    return { endpoint: withoutPassword(endpoint), accountId, region };
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
    const keys = [...Object.keys(CLIENT_OPTIONS), "functionName", ...Object.keys(INVOKE_OPTIONS)];
    ({ endpoint, accountId, region, credentials, fetch, functionName, ...options } = readable(request, "options", undefined, keys));
  } catch (e) {
    throw toFcError(e);
  }
  const config = Object.fromEntries(Object.entries({ endpoint, accountId, region, credentials, fetch }).filter(([, v]) => v !== undefined));
  // Its client is freed at once, not left to a FinalizationRegistry that may be missing.
  const client = new FcClient(config);
  try {
    return await client.invokeFunction(functionName, options);
  } finally {
    client.close();
  }
}

/** Signs any FC 3.0 request without sending it; returns `{ method, url, headers }`. */
export async function signRequest(request, credentials, options) {
  try {
    const r = read(request, "request", REQUEST_TO_SIGN);
    const o = read(options, "options", SIGN_OPTIONS);
    const keys = staticCredentials(credentials);
    if (r.url === undefined) throw invalid("url", "is required");
    let date;
    if (o.date !== undefined) {
      date = epochMs(o.date);
      if (!Number.isFinite(date)) throw invalid("date", "must be a Date, a date string or milliseconds since the epoch");
    }
    let prepared = prepare(r.body, r.headers, false, r.payloadHash);
    if (prepared instanceof Promise) prepared = await prepared;
    if (wasmExports === null) await loaded();
    const { bytes, lines, hash } = prepared;
    const signed = answer(wasmSignRequest(
      r.method, hostAsSent(pathEncoded(r.url), "url"), lines, hash === undefined ? bytes : undefined, hash, keys.accessKeyId, keys.accessKeySecret, keys.securityToken,
      o.action, o.version, date, o.nonce,
    ));
    return signedOf(signed, sendable(bytes));
  } catch (e) {
    throw toFcError(e);
  }
}
