// The wasm layer's I/O glue, imported by src/wasm/host.rs. Each function replaces many small
// crossings (one per header, one per field) with one call, which the benchmark showed to cost
// more than the signing itself. No signing logic here.

/**
 * One request, sent and read whole in one promise: calls `fetch` (the global one, looked up on
 * each call so that mocks and instrumentation installed later are used, when `fetch` is
 * undefined) with headers given as "name\nvalue\n…" (names and values never hold newlines) and
 * resolves like readResponse. A failure rejects with { stage, error }: "init" (fetch threw:
 * nothing was sent), "send" (fetch rejected), "redirect" (the answer was a redirect) or "read"
 * (the body failed), which is what the retry rules need to know. `signal` stops the wait even
 * when a custom fetch ignores it.
 */
export async function exchange(fetch, url, method, headerLines, body, signal) {
  const init = { method, headers: objectFromLines(headerLines), redirect: REDIRECT };
  if (body !== undefined) init.body = body;
  if (signal !== undefined) init.signal = signal;
  let pending;
  try {
    pending = fetch === undefined ? globalThis.fetch(url, init) : fetch(url, init);
  } catch (error) {
    throw { stage: "init", error };
  }
  let response;
  try {
    response = await orAbort(pending, signal);
  } catch (error) {
    if (stringField(field(error, "cause"), "message") === "unexpected redirect") throw { stage: "redirect", error: redirectError() };
    throw { stage: "send", error };
  }
  if (!isResponseLike(response)) throw { stage: "send", error: new TypeError("fetch did not return a Response") };
  if (response.type === "error") throw { stage: "send", error: new TypeError("fetch returned a network error") };
  if (isRedirect(response)) {
    response.body?.cancel?.().catch(() => {});
    throw { stage: "redirect", error: redirectError(response) };
  }
  try {
    return await orAbort(readResponse(response), signal);
  } catch (error) {
    throw { stage: "read", error };
  }
}

/**
 * A Response by its shape, not its class: the `undici` package, node-fetch and other realms
 * have their own Response classes.
 */
function isResponseLike(value) {
  return (
    typeof value === "object" && value !== null && typeof value.status === "number" &&
    typeof value.arrayBuffer === "function" && typeof value.headers?.[Symbol.iterator] === "function"
  );
}

/** `promise`, or a rejection as soon as `signal` aborts. */
export function orAbort(promise, signal) {
  if (signal === undefined) return promise;
  let onAbort;
  const aborted = new Promise((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

/**
 * The credentials provider's answer as a fresh native promise: a throw or a hostile thenable
 * rejects it rather than throwing into the wasm.
 */
export function callProvider(provider) {
  return new Promise((resolve) => resolve(provider()));
}

/** Whether `signal` (an AbortSignal by `instanceof`) can be read; a fake one throws. */
export function isReadableSignal(signal) {
  try {
    return typeof signal.aborted === "boolean";
  } catch {
    return false;
  }
}

/**
 * Signed requests are never redirected: host and path are signed, so a redirected request can
 * only fail, and following it would send the security token on to another URL. Node's fetch
 * (no navigator before Node 21) gets "error": it rejects with "unexpected redirect", and skips
 * the clone of the request and its body that the other modes cost it (a tenth to a fifth of its
 * CPU per call: bench/results.md, (e) against (b)). Elsewhere "manual" hands the redirect back,
 * which can say where it pointed: browsers say only "Failed to fetch" in "error" mode, and
 * workerd refuses it.
 */
const userAgent = globalThis.navigator?.userAgent;
const REDIRECT = userAgent === undefined || String(userAgent).startsWith("Node.js/") ? "error" : "manual";

/** A redirect as fetch defines them; browsers give an opaque one (status 0, no headers). */
const isRedirect = (response) => response.type === "opaqueredirect" || [301, 302, 303, 307, 308].includes(response.status);

function redirectError(response) {
  const location = response?.headers?.get?.("location");
  const where = response?.status ? ` (${response.status}${location ? ` to ${location}` : ""})` : "";
  return new TypeError(`the endpoint answered with a redirect${where}; a signed request is never redirected, so give the URL it points to as the endpoint`);
}

/** Reads a whole Response: resolves to [status, "name\nvalue\n…" of every header, Headers, bytes]. */
async function readResponse(response) {
  const body = new Uint8Array(await response.arrayBuffer());
  let lines = "";
  for (const [name, value] of response.headers) lines += `${name}\n${value}\n`;
  return [response.status, lines, response.headers, body];
}

/** The plain object `invokeFunction` resolves to; `logResult` is x-fc-log-result as sent. */
export function invokeResult(status, headers, body, requestId, logResult, functionError, asyncTaskId) {
  const log = logResult === undefined ? undefined : decodeLog(logResult);
  return { status, requestId, headers, body, log, functionError, asyncTaskId };
}

/**
 * The log tail from its base64, as the core's `InvokeMeta::log` decodes it: UTF-8 with invalid
 * sequences replaced (a leading BOM kept), and a value that is not base64 handed over as it
 * came. Decoded here because the runtime's `atob` costs the .wasm nothing, where the Rust base64
 * decoder costs it 2.6 KB gzipped.
 */
function decodeLog(base64) {
  const text = base64.trim();
  // atob also takes what strict base64 refuses (inner spaces, missing padding).
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return base64;
  let binary;
  try {
    binary = atob(text);
  } catch {
    return base64;
  }
  return textDecoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/**
 * A short, safe description of a thrown value: the string itself or its `message`, with
 * `cause.code` (else `cause.message`) if any; at most 300 characters (code points).
 */
export function jsMessage(value) {
  let message = typeof value === "string" ? value : (stringField(value, "message") ?? "unknown error");
  const cause = field(value, "cause");
  const code = stringField(cause, "code");
  if (code !== undefined) {
    message = `${message} (${code})`;
  } else {
    const inner = stringField(cause, "message");
    if (inner !== undefined) message = `${message}: ${inner}`;
  }
  return Array.from(message).slice(0, 300).join("");
}

/** `value[name]` as Reflect.get reads it; undefined for a non-object or a getter that throws. */
function field(value, name) {
  if ((typeof value !== "object" || value === null) && typeof value !== "function") return undefined;
  try {
    return value[name];
  } catch {
    return undefined;
  }
}

function stringField(value, name) {
  const v = field(value, name);
  return typeof v === "string" ? v : undefined;
}

/**
 * Bytes parsed as JSON (invalid UTF-8 replaced, as TextDecoder does), when they hold an object;
 * else undefined. Decoded here, so the body is not copied into wasm memory first.
 */
export function parseJson(bytes) {
  try {
    const value = JSON.parse(textDecoder.decode(bytes));
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

// ignoreBOM: a leading BOM stays (in a log tail, as Rust's decoding keeps it), and makes the
// text not JSON, as before.
const textDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** The plain object `request` resolves to. */
export function responseResult(status, requestId, headers, body) {
  return { status, requestId, headers, body };
}

/** The rejection value for an error of the wasm: an Error named FcError with its fields set. */
export function fcError(message, code, status, requestId, argument, cause) {
  const error = cause === undefined ? new Error(message) : new Error(message, { cause });
  error.name = "FcError";
  error.code = code;
  if (status !== undefined) error.status = status;
  if (requestId !== undefined) error.requestId = requestId;
  if (argument !== undefined) error.argument = argument;
  return error;
}

/** The name lists readFields has split, by their joined form. */
const fieldLists = new Map();

/**
 * An object's fields `names` ("a, b, c") in one string, for the wasm's Fields reader: "u"
 * (undefined or null), "x" (not an object), "!" + key (a key outside `names`, unless `open`),
 * "e" + message (reading threw), or
 * "{" then per name "-" (absent), "s" + UTF-16 length + ":" + text, "t", "f", or "o" (anything
 * else, numbers included, which the wasm reads on its own).
 */
export function readFields(value, names, open) {
  if (value === undefined || value === null) return "u";
  if (typeof value !== "object") return "x";
  let list = fieldLists.get(names);
  if (list === undefined) fieldLists.set(names, (list = names.split(", ")));
  // A getter or a proxy trap may throw: that must come back as a value, never unwind through
  // the wasm (it would abandon the caller's state, and the module with it).
  try {
    return encodeFields(value, list, open);
  } catch (error) {
    return "e" + String(error?.message ?? error).slice(0, 200);
  }
}

function encodeFields(value, list, open) {
  if (!open) {
    for (const key of Object.keys(value)) if (!list.includes(key)) return "!" + key;
  }
  let out = "{";
  for (const name of list) {
    const v = value[name];
    switch (typeof v) {
      case "undefined":
        out += "-";
        break;
      case "string":
        out += "s" + v.length + ":" + v;
        break;
      case "boolean":
        out += v ? "t" : "f";
        break;
      default:
        out += v === null ? "-" : "o";
    }
  }
  return out;
}

/** `{ method, url, headers }` of a signed request, headers from "name\nvalue\n…". */
export function signedResult(method, url, headerLines) {
  return { method, url, headers: objectFromLines(headerLines) };
}

/** A plain object from "name\nvalue\n…". */
function objectFromLines(lines) {
  const object = {};
  const parts = lines.split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) object[parts[i]] = parts[i + 1];
  return object;
}

/**
 * [[name, value], …] → "name\nvalue\n…", or null when it is not a list of string pairs or an
 * element holds a line break (which would change how the string splits).
 */
export function linesFromPairs(pairs) {
  try {
    return pairLines(pairs);
  } catch {
    return null; // a throwing getter or proxy: see readFields
  }
}

function pairLines(pairs) {
  if (!Array.isArray(pairs)) return null;
  let lines = "";
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const [name, value] = pair;
    if (typeof name !== "string" || typeof value !== "string" || /[\r\n]/.test(name) || /[\r\n]/.test(value)) return null;
    lines += `${name}\n${value}\n`;
  }
  return lines;
}

// Looked up on the first nonce, not at import: in Node, reading globalThis.crypto loads Web
// Crypto and Node's streams (about 1.5 ms), which an import that signs nothing should not pay.
let webCrypto;
let randomUUID;

/**
 * A fresh random nonce: crypto.randomUUID, or 16 random bytes in hex where randomUUID is missing
 * (browsers outside secure contexts), or, without Web Crypto at all, time and Math.random
 * (unique enough against replay, not secret).
 */
export function randomNonce() {
  if (webCrypto === undefined) {
    webCrypto = globalThis.crypto ?? null;
    randomUUID = typeof webCrypto?.randomUUID === "function" ? webCrypto.randomUUID.bind(webCrypto) : null;
  }
  if (randomUUID) {
    try {
      return randomUUID();
    } catch {
      // fall through
    }
  }
  if (typeof webCrypto?.getRandomValues === "function") {
    const bytes = webCrypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return Date.now().toString(16) + Math.random().toString(16).slice(2);
}

/** `AttemptStop.stopped`: why an attempt stopped early (the Rust side reads the same numbers). */
const STOPPED_BY_TIMER = 1;
const STOPPED_BY_CALLER = 2;

/**
 * One attempt's AbortController: it aborts when `timeoutMs` passes or the caller's `signal`
 * aborts, whichever comes first, and `stopped` records which. `dispose()` clears the timer and
 * the listener, so nothing outlives the attempt. Wired here rather than in Rust, where each
 * callback would be a wasm closure kept alive by hand.
 */
export class AttemptStop {
  #controller = new AbortController();
  #timer;
  #caller;
  #onAbort;
  stopped = 0;

  constructor(timeoutMs, signal) {
    const stop = (reason) => {
      if (this.stopped === 0) {
        this.stopped = reason;
        this.#controller.abort();
      }
    };
    if (signal !== undefined) {
      this.#caller = signal;
      this.#onAbort = () => stop(STOPPED_BY_CALLER);
      signal.addEventListener("abort", this.#onAbort);
    }
    if (timeoutMs !== undefined) this.#timer = setTimeout(() => stop(STOPPED_BY_TIMER), timeoutMs);
  }

  get signal() {
    return this.#controller.signal;
  }

  dispose() {
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener("abort", this.#onAbort);
  }
}

/**
 * Waits `ms`: resolves to true when the time has passed, to false as soon as `signal` aborts.
 * The same race as an attempt's, so it is an AttemptStop whose own signal ends the wait.
 */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const stop = new AttemptStop(ms, signal);
    stop.signal.addEventListener(
      "abort",
      () => {
        stop.dispose();
        resolve(stop.stopped === STOPPED_BY_TIMER);
      },
      { once: true },
    );
  });
}
