// Types of the fc-invoke package (every runtime entry exports the same API).

/** AccessKey credentials; with `securityToken` they are temporary STS credentials. */
export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string | undefined;
}

/** What a credentials provider returns: credentials and, for STS, when they expire. */
export interface ProvidedCredentials extends Credentials {
  /** A Date, an ISO 8601 string or epoch milliseconds. Without it, the provider is called before every attempt, retries included. */
  expiration?: Date | string | number | undefined;
}

/** Called when credentials are needed; its result is cached until shortly before `expiration`, and concurrent calls share one refresh (a call that stops waiting leaves the next to ask again). */
export type CredentialsProvider = () => ProvidedCredentials | Promise<ProvidedCredentials>;

/**
 * `false`: no retries (a clock correction or an STS token refresh still resends once); `true` or an object: retries with full jitter, each limit left out taking
 * its default (maxAttempts 3, from 1 to 20; baseDelayMs 100 and maxDelayMs 5000, with
 * baseDelayMs ≤ maxDelayMs ≤ 600000).
 */
export type RetryOptions = boolean | { maxAttempts?: number | undefined; baseDelayMs?: number | undefined; maxDelayMs?: number | undefined };

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface FcClientOptions {
  /** An endpoint as scheme://host[:port], without a path, e.g. `http://127.0.0.1:9000` or a proxy; takes precedence over accountId + region. */
  endpoint?: string | undefined;
  /** With `region`: `https://{accountId}.{region}.fc.aliyuncs.com`. */
  accountId?: string | undefined;
  region?: string | undefined;
  credentials: Credentials | CredentialsProvider;
  /**
   * Defaults to the runtime's global fetch. API calls call it with `redirect: "error"` in Node and
   * `"manual"` elsewhere: a signed request is never redirected, and a redirect is a NetworkError.
   * `client.fetch` calls it with `"manual"` unless its init says otherwise.
   */
  fetch?: FetchLike | undefined;
  /** The client's retry policy; each call may override it. */
  retry?: RetryOptions | undefined;
}

export type InvokeBody = string | Uint8Array | ArrayBuffer | ArrayBufferView | Blob | JsonObject | readonly unknown[] | null | undefined;
/**
 * A plain object, sent as JSON: made by `{…}`, `JSON.parse` or `Object.create(null)`. Other
 * objects (a class's instance, a URL, an Error, a RegExp) type-check, as TypeScript cannot tell a
 * plain object by its shape, but are refused at run time (InvalidArgument): send
 * `JSON.stringify(value)` with a content type instead. Record<string, any>, not unknown: values typed by an interface (no
 * index signature) must fit. The members below keep out what the package refuses at run time but
 * Record<string, any> admits, by a method it has: a promise (a missing `await`: `then`), a
 * ReadableStream (a Worker's `request.body`: `getReader`), FormData, URLSearchParams, Headers, Map
 * or Set (`forEach`), a Date (`getTime`), a Response or Request (`arrayBuffer`). As data, keys of
 * those names may hold anything but a function.
 */
export type JsonObject = Record<string, any> & {
  then?: NotAMethod;
  getReader?: NotAMethod;
  forEach?: NotAMethod;
  getTime?: NotAMethod;
  arrayBuffer?: NotAMethod;
};
/** Any JSON value: what a key of a JSON object may hold where a method would give a non-JSON object away. */
export type NotAMethod = string | number | boolean | null | undefined | readonly unknown[] | { readonly [key: string]: unknown };
export type HeadersLike = Headers | Array<[string, string]> | Record<string, string | number>;

export interface InvokeOptions {
  /** A version number, `LATEST` or an alias. */
  qualifier?: string | undefined;
  /** Default `"Sync"`. */
  invocationType?: "Sync" | "Async" | undefined;
  /** `"Tail"` returns the last 4 KB of the function's log in `response.log`. Default `"None"`. */
  logType?: "None" | "Tail" | undefined;
  /** For Async: an id you choose (letters, digits, `_`, `-`; starts with a letter or `_`; at most 128). */
  asyncTaskId?: string | undefined;
  /** The event. A plain object or array is sent as JSON (with `content-type: application/json`). */
  body?: InvokeBody | undefined;
  /**
   * Extra headers, their values in printable ASCII; a `content-type` replaces the default `application/octet-stream`. Refused
   * (InvalidArgument): those the signer sets (`host`, `authorization`, `content-length`, its
   * `x-acs-*`), the `x-fc-*` these options set (`x-fc-invocation-type`, `x-fc-log-type`,
   * `x-fc-async-task-id`), and the connection's own, which fetch manages (`keep-alive`,
   * `transfer-encoding`, `upgrade`, `expect`, and `connection` other than `close` or `keep-alive`).
   */
  headers?: HeadersLike | undefined;
  /** Aborting rejects at once with `FcError` code `"Aborted"`. */
  signal?: AbortSignal | undefined;
  /** Time limit of each attempt, in milliseconds (at least 1; none by default); exceeding it rejects with code `"Timeout"`. */
  timeoutMs?: number | undefined;
  /** Time limit of the whole call, retries and waits included, in milliseconds (at least 1). */
  deadlineMs?: number | undefined;
  /** This call's retry policy, instead of the client's (limits it leaves out take the defaults, not the client's). */
  retry?: RetryOptions | undefined;
  /**
   * Declares the invocation safe to repeat: then a Sync call (or an Async one without
   * `asyncTaskId`) is also retried after failures where the function may already have run (5xx,
   * timeouts, a connection lost after sending).
   */
  idempotent?: boolean | undefined;
}

/** A successful answer of the FC API (non-2xx answers reject with FcError). */
export declare class FcResponse {
  /** Made by the client only. */
  protected constructor();
  readonly status: number;
  /** `x-fc-request-id`. */
  readonly requestId: string | undefined;
  /** Every response header, as the runtime's fetch gave them. */
  readonly headers: Headers;
  /** The whole body. */
  readonly body: Uint8Array;
  text(): Promise<string>;
  /** The body parsed as JSON; `any` unless typed, as fetch's Response.json() gives it. */
  json<T = any>(): Promise<T>;
}

export declare class InvokeResponse extends FcResponse {
  protected constructor();
  /** 200 for Sync, 202 for Async. */
  readonly status: number;
  /** The decoded log tail, when `logType` was `"Tail"`. */
  readonly log: string | undefined;
  /** Set when the function itself failed (`x-fc-error-type`, e.g. `"UnhandledInvocationError"`); `status` is still 200. */
  readonly functionError: string | undefined;
  /** The async task id, for Async invocations: the caller's, or the one FC made (which a browser page of another origin cannot read: undefined there). */
  readonly asyncTaskId: string | undefined;
}

export type AsyncTaskStatus =
  | "Enqueued" | "Dequeued" | "Running" | "Succeeded" | "Failed" | "Stopped" | "Stopping" | "Invalid" | "Expired" | "Retrying";

export interface AsyncTaskEvent {
  eventId?: number;
  status?: string;
  timestamp?: number;
  eventDetail?: string;
}

/** An async task as FC 3.0 describes it (GetAsyncTask, ListAsyncTasks). */
export interface AsyncTask {
  taskId?: string;
  status?: AsyncTaskStatus;
  /** Epoch milliseconds. */
  startedTime?: number;
  endTime?: number;
  durationMs?: number;
  qualifier?: string;
  requestId?: string;
  /** The function's result (Succeeded). */
  returnPayload?: string;
  /** The event (ListAsyncTasks only with includePayload). */
  taskPayload?: string;
  /** Why it failed (Failed). */
  taskErrorMessage?: string;
  functionArn?: string;
  instanceId?: string;
  alreadyRetriedTimes?: number;
  destinationStatus?: string;
  events?: AsyncTaskEvent[];
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Per attempt, in milliseconds (at least 1). */
  timeoutMs?: number | undefined;
  retry?: RetryOptions | undefined;
}

export interface TaskOptions extends CallOptions {
  qualifier?: string | undefined;
}

export interface ListAsyncTasksOptions extends TaskOptions {
  status?: AsyncTaskStatus | undefined;
  /** Task ids starting with this. */
  prefix?: string | undefined;
  /** Epoch milliseconds, inclusive. */
  startedTimeBegin?: number | undefined;
  startedTimeEnd?: number | undefined;
  /** 1 to 100. */
  limit?: number | undefined;
  /** From the previous page. */
  nextToken?: string | undefined;
  sortOrderByTime?: "asc" | "desc" | undefined;
  includePayload?: boolean | undefined;
}

export interface WaitForAsyncTaskOptions {
  qualifier?: string | undefined;
  signal?: AbortSignal | undefined;
  /**
   * First wait between polls (default 500 ms, at least 1); it doubles up to maxPollIntervalMs
   * (default 5000 ms or pollIntervalMs if longer; at least 1), which also caps the first.
   */
  pollIntervalMs?: number | undefined;
  maxPollIntervalMs?: number | undefined;
  /**
   * Give up after this long (ms, at least 1) with code "Timeout": the last poll comes one
   * pollIntervalMs before it (a longer pause is cut short), so it gives up up to that much early.
   */
  timeoutMs?: number | undefined;
}

export interface RequestOptions extends CallOptions {
  /** Default "GET". */
  method?: string | undefined;
  /** Percent-encoded, from the root: "/2023-03-30/functions"; it may carry a query. */
  path: string;
  /** Added to the path's query; names and values of any text, percent-encoded when sent. */
  query?: URLSearchParams | Array<[string, string]> | Record<string, string | number | boolean> | undefined;
  headers?: HeadersLike | undefined;
  /** A body without content-type is sent as application/json. */
  body?: InvokeBody | undefined;
  /** `x-acs-action`, e.g. "ListFunctions". */
  action: string;
  deadlineMs?: number | undefined;
  /** Safe to repeat after a failure that may have reached FC (GET and HEAD always are). */
  idempotent?: boolean | undefined;
}

export declare class FcClient {
  constructor(options: FcClientOptions);
  /**
   * `functionName`: a letter or `_`, then letters, digits, `_`, `-` (at most 64), or
   * `service$function` for a function made under FC 2.0.
   */
  invokeFunction(functionName: string, options?: InvokeOptions): Promise<InvokeResponse>;
  getAsyncTask(functionName: string, taskId: string, options?: TaskOptions): Promise<AsyncTask>;
  stopAsyncTask(functionName: string, taskId: string, options?: TaskOptions): Promise<void>;
  listAsyncTasks(functionName: string, options?: ListAsyncTasksOptions): Promise<{ tasks: AsyncTask[]; nextToken?: string }>;
  /** Polls with backoff until the task has ended (Succeeded, Failed, Stopped, Invalid, Expired). */
  waitForAsyncTask(functionName: string, taskId: string, options?: WaitForAsyncTaskOptions): Promise<AsyncTask>;
  /** Any FC 3.0 API call, signed and sent. */
  request(options: RequestOptions): Promise<FcResponse>;
  /**
   * A drop-in fetch for HTTP triggers and custom domains with signature authentication: signs the
   * request and returns the runtime's own Response (non-2xx included, streams untouched). It
   * sends the credentials (the STS token too) to whatever URL it is given: only your own.
   * Redirects are not followed (`redirect: "manual"`) unless `init.redirect` asks: a followed
   * redirect would carry the signed headers, STS token included, to another URL. `init.signal`
   * also stops a wait for the credentials provider (an FcError `Aborted`); init's other fields
   * (credentials, cache, keepalive, …) are passed on to fetch. The URL is sent as signed: the
   * query sorted (by name, then value), and `|`, `^`, `[`, `]` in the path percent-encoded. A
   * Request may be the input or the init (a proxy's incoming one). The headers fetch sets itself
   * or refuses (host, content-length, transfer-encoding, expect…) are left out, as browsers'
   * fetch leaves out those it forbids; mode "no-cors" is sent as "cors". Header values must be
   * printable ASCII, as the signature needs them (InvalidArgument otherwise, signed or not).
   */
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  toJSON(): { endpoint?: string; accountId?: string; region?: string };
  /**
   * Frees the client's WebAssembly memory now, or once its running calls end, instead of when the
   * client is garbage collected. Needed only where nothing collects it (workerd before its
   * 2025-05-05 compatibility date). A later call sets the client up again.
   */
  close(): void;
}

export interface OneShotInvokeOptions extends FcClientOptions, InvokeOptions {
  functionName: string;
}

/** One-shot invocation with a throwaway client. */
export declare function invokeFunction(options: OneShotInvokeOptions): Promise<InvokeResponse>;

export interface RequestToSign {
  /** Default `"GET"`. */
  method?: string | undefined;
  /** The absolute URL; its path must be percent-encoded. */
  url: string;
  headers?: HeadersLike | undefined;
  /** A string without a content type gets `text/plain;charset=UTF-8` (fetch's for a string), signed. */
  body?: InvokeBody | undefined;
  /** The body's hex SHA-256, if you have it (then `body` is not needed). */
  payloadHash?: string | undefined;
}

export interface SignOptions {
  /** `x-acs-action`, e.g. `"InvokeFunction"`. */
  action: string;
  /** `x-acs-version`; default `"2023-03-30"`. */
  version?: string | undefined;
  /** Default: now. */
  date?: Date | string | number | undefined;
  /** Default: a fresh random nonce. */
  nonce?: string | undefined;
}

export interface SignedRequest {
  method: string;
  /** The URL to send, exactly: the path as given (but `|`, `^`, `[`, `]` percent-encoded), the query in canonical form. */
  url: string;
  /** Lower-case names, `authorization` included; `host` is signed but left to fetch. */
  headers: Record<string, string>;
  /** The body as signed, to send: its bytes (a plain object's JSON); null for none or an empty one. */
  body: ArrayBuffer | null;
}

/** Signs any FC 3.0 request without sending it. */
export declare function signRequest(request: RequestToSign, credentials: Credentials, options: SignOptions): Promise<SignedRequest>;

export type FcErrorCode =
  | "InvalidArgument"
  | "CredentialsError"
  | "NetworkError"
  | "Timeout"
  | "Aborted"
  | "InitError"
  | "InternalError"
  /** The service answered an error without a Code (e.g. a gateway's HTML page); `status` is set. */
  | "ServiceError"
  | (string & {}); // or the service's own Code, e.g. "SignatureNotMatch" (then `status` is set)

/**
 * Client codes come without `status`: nothing was answered (for InvalidArgument, nothing was
 * sent). FC's own codes come with `status`, among them its 400 "InvalidArgument".
 */
export declare class FcError extends Error {
  constructor(
    code: FcErrorCode,
    message: string,
    options?: { status?: number | undefined; requestId?: string | undefined; argument?: string | undefined; cause?: unknown; data?: { [key: string]: unknown } | undefined },
  );
  readonly name: "FcError";
  readonly code: FcErrorCode;
  /** HTTP status, for errors the service answered. */
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  /** For InvalidArgument: which argument. */
  readonly argument: string | undefined;
  /**
   * For errors the service answered in JSON: that document as sent, with what it holds beyond
   * Code, Message and RequestId (RAM's AccessDeniedDetail, for one).
   */
  readonly data: { [key: string]: unknown } | undefined;
  /**
   * The original error: fetch's for a NetworkError, the provider's for a CredentialsError, the
   * signal's reason for Aborted, what reading the caller's value threw for an InvalidArgument.
   */
  readonly cause?: unknown;
  toJSON(): { name: "FcError"; code: string; message: string; status?: number | undefined; requestId?: string | undefined; argument?: string | undefined; data?: { [key: string]: unknown } | undefined };
}

/** For monitoring and leak tests: the WebAssembly memory size in bytes (0 before the first call). */
export declare function diagnostics(): { wasmMemoryBytes: number };
