// The wasm layer's JS half, imported by src/wasm/host.rs: the driver that runs a call of the
// core over `fetch`, and the nonce and error objects the wasm asks for. It signs nothing and
// makes none of the call's decisions (retries, timeouts, what an answer means): each step comes
// from the wasm (src/wasm/call.rs), and what happened goes back to it. It only chooses which
// answers to parse as JSON for the wasm to read.

/**
 * What a driven call resolves to (src/wasm/host.rs `Kind`); the fifth, a request that is only
 * signed, resolves to its lines, from its last step.
 */
const INVOKE = 0;
const JSON_DOCUMENT = 1;
const NOTHING = 2;
const RESPONSE = 3;

/** How a step failed (src/wasm/call.rs `stage`). */
const NOT_SENT = 0;
const MAYBE_SENT = 1;
const SENT = 2;
const REDIRECTED = 3;
const TIMED_OUT = 4;
const ABORTED = 5;
const PROVIDER_FAILED = 6;

/**
 * Runs call `id` of `port` (the client's CallPort) to its end: does what each step says and
 * reports what happened, until the call is done; a failed call throws its FcError. Resolves to
 * the result of `kind`. `body` is sent with every attempt; `fetch` is the caller's, or
 * undefined for the global one (looked up on every attempt, so that mocks and instrumentation
 * installed later are used); `signal` is the caller's. `provider` gives credentials when the
 * call asks, as the JS face reads them: `{ accessKeyId, accessKeySecret, securityToken,
 * expirationMs }` (strings, a number), or `{ unusable }`, why the provider's answer is no use.
 */
export async function drive(port, id, kind, body, signal, fetch, provider, taskId) {
  try {
    let step = port.resume(id, Date.now(), randomNonce());
    let answer;
    for (;;) {
      // The port answers the next step's string, or the failed call's FcError; an Aborted one
      // keeps the caller's reason as its cause, as fetch rejects with it.
      if (typeof step !== "string") {
        if (step.code === "Aborted" && step.cause === undefined && signal?.reason !== undefined) step.cause = signal.reason;
        throw step;
      }
      // Each step first checks the caller's signal: an aborted call sends and waits no more.
      if (signal?.aborted && "SCW".includes(step[0])) {
        step = port.failed(id, ABORTED, signal.reason, Date.now(), Math.random());
        continue;
      }
      switch (step[0]) {
        case "S": {
          const lines = step.split("\n");
          const stop = attemptStop(signal, timeoutOf(lines[0]));
          try {
            answer = await exchange(fetch, lines[2], lines[1], headersFrom(lines, 3), body, stop?.signal);
          } catch (failure) {
            answer = undefined;
            // What exchange did not stage came from reading the answer a custom fetch gave: sent, maybe.
            const { stage, error } = failure instanceof Failed ? failure : new Failed(MAYBE_SENT, failure);
            step = port.failed(id, stopped(stop) ?? stage, error, Date.now(), Math.random());
            continue;
          } finally {
            stop?.dispose();
          }
          const ok = answer.status >= 200 && answer.status < 300;
          // The wasm reads the JSON of task documents, whatever their size (ListAsyncTasks with
          // payloads can be megabytes), and of error answers (code, message), which are small:
          // a large body is not one.
          const readJson = ok ? kind === JSON_DOCUMENT : answer.body.length <= 1 << 20;
          answer.json = readJson ? parseJson(answer.body) : undefined;
          step = port.answered(id, answer.status, answer.lines, answer.json, Date.now(), Math.random());
          // The service's error document, all of it: FC and RAM put more in it than Code and
          // Message (AccessDeniedDetail, to decode why a policy refused).
          if (typeof step !== "string" && !ok && step.status === answer.status && answer.json !== undefined && !Array.isArray(answer.json)) step.data = answer.json;
          break;
        }
        case "C": {
          const stop = attemptStop(signal, timeoutOf(step));
          const refresh = refreshed(provider);
          let got;
          try {
            got = await orAbort(refresh.pending, stop?.signal);
          } catch (error) {
            const stage = stopped(stop);
            if (stage !== undefined) refresh.givenUp = true;
            step = port.failed(id, stage ?? PROVIDER_FAILED, error, Date.now(), Math.random());
            continue;
          } finally {
            stop?.dispose();
          }
          step = port.credentials(id, got.accessKeyId, got.accessKeySecret, got.securityToken, got.expirationMs, got.unusable, Date.now(), randomNonce());
          break;
        }
        case "W":
          step = (await sleep(Number(step.slice(1)), signal))
            ? port.resume(id, Date.now(), randomNonce())
            : port.failed(id, ABORTED, signal.reason, Date.now(), Math.random());
          break;
        case "R":
          step = port.resume(id, Date.now(), randomNonce());
          break;
        case "G":
          // The signed request's "method\nurl\nname\nvalue\n…", as signRequest's, for the JS face.
          return step.slice(2);
        default:
          try {
            return resultOf(kind, answer, taskId, step === "A");
          } catch (error) {
            // A custom fetch's headers that throw when read: the answer came, but cannot be read.
            throw fcError(`network error: the answer's headers could not be read: ${error?.message ?? error}`, "NetworkError", undefined, undefined, undefined, error);
          }
      }
    }
  } finally {
    port.end(id);
  }
}

/** A step's timeout: the digits after its letter, if any. */
const timeoutOf = (head) => (head.length > 1 ? Number(head.slice(1)) : undefined);

/**
 * The AttemptStop of one step, which ends it after `timeoutMs` or when the caller's `signal`
 * aborts; none without either: an AbortController costs fetch real work (signal wiring in
 * undici).
 */
const attemptStop = (signal, timeoutMs) => (timeoutMs === undefined && signal === undefined ? undefined : new AttemptStop(timeoutMs, signal));

/** The failure stage of a step its AttemptStop ended, if it did. */
function stopped(stop) {
  if (stop?.stopped === STOPPED_BY_TIMER) return TIMED_OUT;
  if (stop?.stopped === STOPPED_BY_CALLER) return ABORTED;
  return undefined;
}

/** Refreshes of one provider in progress: concurrent calls wait for the same one. */
const refreshing = new WeakMap();

/**
 * The refresh of `provider` in progress, `{ pending, givenUp }`, shared by every call
 * that asks while it is pending: `pending` is its answer. `provider` is the JS face's wrapper
 * (js/core.js providerOf), which returns a native promise: a throw or a hostile thenable of the
 * caller's provider rejects it.
 *
 * A call that stopped waiting for it (its timeout, its signal) marks it `givenUp`: the next call
 * asks the provider again, so one answer that never comes does not hold every later call, and
 * takes the first answer to arrive, its own or an earlier call's, so a slow provider's late
 * answer still counts. While the provider answers none, each call that gives up adds a link.
 */
function refreshed(provider) {
  let refresh = refreshing.get(provider);
  if (refresh === undefined || refresh.givenUp) {
    const asked = provider();
    // Chained on the earlier refresh's answer, itself the first of those before it: however many
    // calls gave up meanwhile, the first answer to arrive serves.
    const pending = refresh === undefined ? asked : firstAnswer(refresh.pending, asked);
    refresh = { pending, givenUp: false };
    refreshing.set(provider, refresh);
    const mine = refresh;
    const done = () => {
      if (refreshing.get(provider) === mine) refreshing.delete(provider);
    };
    pending.then(done, done);
  }
  return refresh;
}

/** The first of two answers to arrive, or the `latest` one's failure: the earlier may never come. */
const firstAnswer = (earlier, latest) =>
  new Promise((resolve, reject) => {
    earlier.then(resolve, () => {});
    latest.then(resolve, reject);
  });

/**
 * What the call resolves to, from its last answer; `taskId` is the Async invocation's own, and
 * `acceptedEarlier` says an earlier attempt queued its task.
 */
function resultOf(kind, answer, taskId, acceptedEarlier) {
  switch (kind) {
    case INVOKE:
      return invokeResult(answer, taskId, acceptedEarlier);
    case JSON_DOCUMENT:
      return answer.json;
    case RESPONSE:
      return { status: answer.status, requestId: headerOf(answer.headers, "x-fc-request-id"), headers: answer.headers, body: answer.body };
    case NOTHING:
    default:
      return undefined;
  }
}

/**
 * The object `invokeFunction` resolves to. A retried Async invocation whose task an earlier
 * attempt queued is that acceptance: 202 and, as FC's 202, no body; the headers and request id
 * are those of the conflict answer that showed it. The task id is the caller's when there is
 * one: FC does not expose `x-fc-async-task-id` to cross-origin pages.
 */
function invokeResult(answer, taskId, acceptedEarlier) {
  const { headers } = answer;
  const logResult = headerOf(headers, "x-fc-log-result");
  return {
    status: acceptedEarlier ? 202 : answer.status,
    requestId: headerOf(headers, "x-fc-request-id"),
    headers,
    body: acceptedEarlier ? new Uint8Array(0) : answer.body,
    log: logResult === undefined ? undefined : decodeLog(logResult),
    functionError: headerOf(headers, "x-fc-error-type") || undefined,
    asyncTaskId: taskId ?? headerOf(headers, "x-fc-async-task-id"),
  };
}

/** A header's value, or undefined (not null) when absent; a string, whatever a custom fetch's headers give. */
const headerOf = (headers, name) => {
  const value = headers.get(name);
  return value == null ? undefined : String(value);
};

/**
 * The headers as "name\nvalue\n…", for the wasm to read an error answer (its code, Retry-After,
 * Date, request id): but for values over 64 KB, and up to 1 MiB in all, as jsonField bounds what
 * it hands over. A custom fetch (or Node's with a raised header limit) can answer with headers of
 * any size, and the wasm's memory, once grown to hold them, never shrinks.
 */
function headerLines(headers) {
  let lines = "";
  for (const [name, value] of headers) {
    if (value.length > MAX_FIELD) continue;
    lines += `${name}\n${value}\n`;
    if (lines.length > 1 << 20) break;
  }
  return lines;
}

/** Why an exchange failed: how far the request got (NOT_SENT … SENT) and the error. */
class Failed {
  constructor(stage, error) {
    this.stage = stage;
    this.error = error;
  }
}

/**
 * One request, sent and read whole: resolves to { status, headers, body, lines } (`lines`: the
 * headers of an error answer as "name\nvalue\n…"), or rejects with
 * { stage, error }: NOT_SENT (fetch threw, or the connection was refused), MAYBE_SENT (fetch
 * rejected), REDIRECTED or SENT (the body failed), which is what the retry rules need to know.
 * `signal` stops the wait even when a custom fetch ignores it.
 */
async function exchange(fetch, url, method, headers, body, signal) {
  const init = { method, headers, redirect: REDIRECT };
  if (body !== undefined) init.body = body;
  if (signal !== undefined) init.signal = signal;
  let pending;
  try {
    pending = fetch === undefined ? globalThis.fetch(url, init) : fetch(url, init);
  } catch (error) {
    throw new Failed(NOT_SENT, error);
  }
  let response;
  try {
    response = await orAbort(pending, signal);
  } catch (error) {
    const cause = field(error, "cause");
    if (stringField(cause, "message") === "unexpected redirect") throw new Failed(REDIRECTED, redirectError());
    throw new Failed(connectFailed(error) || connectFailed(cause) ? NOT_SENT : MAYBE_SENT, error);
  }
  if (!isResponseLike(response)) throw new Failed(MAYBE_SENT, new TypeError("fetch did not return a Response"));
  // Read once: a custom fetch's getter could answer differently each time, and the wasm reads 16 bits.
  const { status } = response;
  if (!Number.isInteger(status) || status < 0 || status > 999) throw new Failed(MAYBE_SENT, new TypeError(`fetch returned status ${status}, which no HTTP answer has`));
  if (response.type === "error") throw new Failed(MAYBE_SENT, new TypeError("fetch returned a network error"));
  if (isRedirect(response, status)) {
    response.body?.cancel?.().catch(() => {});
    throw new Failed(REDIRECTED, redirectError(response));
  }
  try {
    const bytes = new Uint8Array(await orAbort(response.arrayBuffer(), signal));
    const { headers } = response;
    // The wasm reads an error answer's headers (code, Retry-After, Date): read here, where a
    // custom fetch's headers that cannot be read are a failed answer.
    const lines = status >= 200 && status < 300 ? undefined : headerLines(headers);
    return { status, headers, body: bytes, lines };
  } catch (error) {
    throw new Failed(SENT, error);
  }
}

/**
 * Field `name` of an answer's parsed JSON, for the wasm (src/wasm/call.rs): a string, a number or
 * undefined. A string over 64 KB, far longer than any field FC sends (a status, an error code or
 * message), is not handed over: a task document has no size limit, and the wasm's memory, once
 * grown to hold one, never shrinks. Reading it here rather than through js_sys's Reflect also
 * costs the .wasm 144 bytes less.
 */
export function jsonField(json, name) {
  if (typeof json !== "object" || json === null || Array.isArray(json) || !Object.hasOwn(json, name)) return undefined;
  const value = json[name];
  return (typeof value === "string" && value.length <= MAX_FIELD) || typeof value === "number" ? value : undefined;
}

/** The longest text of an answer (a JSON field, a header value) handed to the wasm: 64 KB. */
const MAX_FIELD = 1 << 16;

/** Error codes Node's fetch (undici) gives when no connection was made, so nothing was sent. */
const NOT_SENT_CODES = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"];

/**
 * Whether fetch's failure (its error or that error's `cause`) says no connection was made, so
 * nothing was sent: one of Node's codes, or Deno's "client error (Connect)" (refused, DNS, TLS
 * handshake; in the cause in Deno 2.9, in the error itself in some earlier versions). Browsers and
 * workerd say only that the fetch failed, which may have been after sending.
 */
const connectFailed = (cause) =>
  NOT_SENT_CODES.includes(stringField(cause, "code")) || (stringField(cause, "message") ?? "").includes("client error (Connect)");

/**
 * A Response by its shape, not its class: the `undici` package, node-fetch and other realms
 * have their own Response classes.
 */
function isResponseLike(value) {
  return (
    typeof value === "object" && value !== null && typeof value.status === "number" &&
    typeof value.arrayBuffer === "function" && typeof value.headers?.[Symbol.iterator] === "function" && typeof value.headers.get === "function"
  );
}

/** `promise`, or a rejection as soon as `signal` aborts. */
function orAbort(promise, signal) {
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
 * Signed requests are never redirected: host and path are signed, so a redirected request can
 * only fail, and following it would send the security token on to another URL. Node's fetch
 * (no navigator before Node 21; nor has workerd before its 2022-03-21 compatibility date) gets
 * "error": it rejects with "unexpected redirect", and skips
 * the clone of the request and its body that the other modes cost it (a tenth to a fifth of its
 * CPU per call: bench/results.md, (e) against (b)). Elsewhere "manual" hands the redirect back,
 * which can say where it pointed: browsers say only "Failed to fetch" in "error" mode, and
 * workerd refuses it.
 */
const userAgent = globalThis.navigator?.userAgent;
// workerd, which may also have no navigator and call its process "node" (nodejs_compat), has WebSocketPair.
const isNode = userAgent === undefined ? globalThis.process?.release?.name === "node" && globalThis.WebSocketPair === undefined : String(userAgent).startsWith("Node.js/");
const REDIRECT = isNode ? "error" : "manual";

/** A redirect as fetch defines them; browsers give an opaque one (status 0, no headers). */
const isRedirect = (response, status) => response.type === "opaqueredirect" || [301, 302, 303, 307, 308].includes(status);

function redirectError(response) {
  const location = response?.headers?.get?.("location");
  const where = response?.status ? ` (${response.status}${location ? ` to ${location}` : ""})` : "";
  return new TypeError(`the endpoint answered with a redirect${where}; a signed request is never redirected, so give the URL it points to as the endpoint`);
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
function parseJson(bytes) {
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

/** A plain object of headers from the name, value, name, value… of `lines` from index `from`. */
function headersFrom(lines, from) {
  const headers = {};
  for (let i = from; i + 1 < lines.length; i += 2) headers[lines[i]] = lines[i + 1];
  return headers;
}

// Looked up on the first nonce, not at import: in Node, reading globalThis.crypto loads Web
// Crypto and Node's streams (about 1.5 ms), which an import that signs nothing should not pay.
let webCrypto;
let randomUUID;

/** The global fetch, or undefined where the runtime has none (the wasm says which argument). */
export function globalFetch() {
  return globalThis.fetch;
}

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
class AttemptStop {
  #controller = new AbortController();
  #timer;
  #caller;
  /** The set of stops waiting on the caller's signal, this one among them. */
  #stops;
  stopped = 0;

  constructor(timeoutMs, signal) {
    if (signal !== undefined) {
      this.#caller = signal;
      this.#stops = callerStops(signal).add(this);
    }
    if (timeoutMs !== undefined) this.#timer = setTimeout(() => this.stop(STOPPED_BY_TIMER), timeoutMs);
  }

  stop(reason) {
    if (this.stopped === 0) {
      this.stopped = reason;
      this.#controller.abort();
    }
  }

  get signal() {
    return this.#controller.signal;
  }

  dispose() {
    clearTimeout(this.#timer);
    const stops = this.#stops;
    if (stops?.delete(this) && stops.size === 0) {
      this.#caller.removeEventListener("abort", stops.onAbort);
      stopsBySignal.delete(this.#caller);
    }
  }
}

/**
 * The AttemptStops waiting on each caller's signal, behind one listener: an app-wide signal
 * shared by many concurrent calls would otherwise get a listener per call, and Node warns of a
 * leak (MaxListenersExceededWarning) from the eleventh.
 */
const stopsBySignal = new WeakMap();

function callerStops(signal) {
  let stops = stopsBySignal.get(signal);
  if (stops === undefined) {
    stops = new Set();
    stops.onAbort = () => {
      for (const stop of stops) stop.stop(STOPPED_BY_CALLER);
    };
    signal.addEventListener("abort", stops.onAbort);
    stopsBySignal.set(signal, stops);
  }
  return stops;
}

/**
 * Waits `ms`: resolves to true when the time has passed, to false as soon as `signal` aborts.
 * The same race as an attempt's, so it is an AttemptStop whose own signal ends the wait.
 */
function sleep(ms, signal) {
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
