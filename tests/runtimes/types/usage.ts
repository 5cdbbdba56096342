// Compiled with `tsc --noEmit --strict` against the installed package: the README's API must type-check,
// and misuse must not (the @ts-expect-error lines fail the build if they stop being errors).
import { FcClient, FcError, FcResponse, invokeFunction, signRequest, type InvokeResponse, type SignedRequest } from "fc-invoke";

const client = new FcClient({
  endpoint: "http://127.0.0.1:9000",
  credentials: async () => ({ accessKeyId: "STS.x", accessKeySecret: "s", securityToken: "t", expiration: new Date() }),
});
const byRegion = new FcClient({ accountId: "123", region: "cn-hangzhou", credentials: { accessKeyId: "a", accessKeySecret: "b" }, fetch: globalThis.fetch, retry: false });

async function main(): Promise<void> {
  const res: InvokeResponse = await client.invokeFunction("f", {
    qualifier: "prod",
    invocationType: "Async",
    logType: "Tail",
    asyncTaskId: "t1",
    body: { a: 1 },
    headers: new Headers(),
    signal: new AbortController().signal,
    timeoutMs: 1000,
    deadlineMs: 5000,
    retry: { maxAttempts: 5 },
    idempotent: true,
  });
  const status: number = res.status;
  const text: string = await res.text();
  const data = await res.json<{ a: number }>();
  const n: number = data.a;
  const bytes: Uint8Array = res.body;
  const log: string | undefined = res.log;
  const fe: string | undefined = res.functionError;
  await byRegion.invokeFunction("f", { body: new Uint8Array(2), headers: [["x", "1"]] });
  await invokeFunction({ endpoint: "http://h", credentials: { accessKeyId: "a", accessKeySecret: "b" }, functionName: "f", body: "x" });
  const signed: SignedRequest = await signRequest({ method: "POST", url: "http://h/", body: "x" }, { accessKeyId: "a", accessKeySecret: "b" }, { action: "InvokeFunction", date: new Date(), nonce: "n" });
  const auth: string | undefined = signed.headers["authorization"];
  await fetch(signed.url, { method: signed.method, headers: signed.headers, body: signed.body });
  // Options read from the environment may be undefined, which means absent (exactOptionalPropertyTypes too).
  const fromEnv: string | undefined = undefined;
  const made = new FcError("Custom", "made by hand", { status: undefined, requestId: fromEnv, argument: undefined, data: undefined });
  const fields: number | undefined = made.toJSON().status;
  const envClient = new FcClient({ endpoint: fromEnv, credentials: { accessKeyId: "a", accessKeySecret: "b", securityToken: fromEnv }, retry: { maxAttempts: undefined } });
  await envClient.invokeFunction("f", { qualifier: fromEnv, timeoutMs: undefined, signal: undefined });
  await signRequest({ url: "http://h/", payloadHash: fromEnv }, { accessKeyId: "a", accessKeySecret: "b" }, { action: "A", nonce: fromEnv });
  try {
    await client.invokeFunction("f");
  } catch (e) {
    if (e instanceof FcError) {
      const detail: unknown = e.data?.["AccessDeniedDetail"];
    }
  }
  const task = await client.waitForAsyncTask("f", "t1", { pollIntervalMs: 100, timeoutMs: 60_000 });
  const finished: boolean = task.status === "Succeeded" || task.status === "Failed";
  const page = await client.listAsyncTasks("f", { prefix: "job-", limit: 10, sortOrderByTime: "asc", includePayload: true });
  const ids: Array<string | undefined> = page.tasks.map((t) => t.taskId);
  await client.stopAsyncTask("f", "t1", { qualifier: "prod" });
  const api = await client.request({ path: "/2023-03-30/functions", action: "ListFunctions", query: { limit: 10 } });
  const listed: unknown = await api.json();
  // Untyped, json() is read as fetch's is (README: `const { functions } = await res.json()`).
  const { functions } = await api.json();
  const count: number = functions.length;
  const triggered: Response = await client.fetch("https://f.example.fcapp.run/path", { method: "POST", body: "x" });
  console.log(finished, ids, listed, triggered.status);
  // @ts-expect-error sortOrderByTime is "asc" | "desc"
  await client.listAsyncTasks("f", { sortOrderByTime: "up" });
  try {
    await client.invokeFunction("f");
  } catch (e) {
    if (e instanceof FcError) {
      const code: string = e.code;
      const s: number | undefined = e.status;
      console.log(code, s, e.requestId, e.argument);
    }
  }
  // @ts-expect-error invocationType is "Sync" | "Async"
  await client.invokeFunction("f", { invocationType: "sync" });
  // @ts-expect-error credentials are required
  new FcClient({ endpoint: "http://h" });
  // @ts-expect-error signRequest needs an action
  await signRequest({ url: "http://h/" }, { accessKeyId: "a", accessKeySecret: "b" }, {});
  // An event typed by an interface (no index signature) is a body.
  interface Order { id: number; items: string[] }
  const order: Order = { id: 7, items: ["a"] };
  await client.invokeFunction("f", { body: order });
  // A readonly array is sent as JSON, as any array is.
  const readonlyIds: readonly number[] = [1, 2, 3];
  await client.invokeFunction("f", { body: readonlyIds });
  // What the package refuses at run time as a body does not type-check either.
  const stream = new ReadableStream<Uint8Array>();
  // @ts-expect-error a stream is not an invocation body (client.fetch takes one)
  await client.invokeFunction("f", { body: stream });
  // @ts-expect-error a promise (a missing await) is not a body
  await client.invokeFunction("f", { body: Promise.resolve({ a: 1 }) });
  // @ts-expect-error FormData is not a body
  await client.request({ method: "POST", path: "/x", action: "X", body: new FormData() });
  // @ts-expect-error URLSearchParams is not a body
  await signRequest({ method: "POST", url: "http://h/", body: new URLSearchParams("a=1") }, { accessKeyId: "a", accessKeySecret: "b" }, { action: "X" });
  // @ts-expect-error a Map is not a body
  await client.invokeFunction("f", { body: new Map([["a", 1]]) });
  // @ts-expect-error a Date is not a body
  await client.invokeFunction("f", { body: new Date() });
  // @ts-expect-error a Response is not a body
  await client.invokeFunction("f", { body: new Response("x") });
  // A JSON event with ordinary keys, nested objects included, is; so are keys named like those
  // methods, holding data (a JSON Schema's if/then, a step's forEach).
  await client.invokeFunction("f", { body: { id: 1, nested: { then: "later", list: [1] }, when: new Date().toISOString() } });
  await client.invokeFunction("f", { body: { if: { properties: {} }, then: { required: ["a"] }, forEach: "each item", getTime: 5, arrayBuffer: [1] } });
  interface Step { then?: string; forEach?: string[] }
  const step: Step = { then: "next", forEach: ["a"] };
  await client.invokeFunction("f", { body: step });
  // close() frees the client's wasm memory (older workerd has no FinalizationRegistry).
  const closed: void = client.close();
  // client.fetch is a bound property, usable detached.
  const detached: (input: string | URL | Request, init?: RequestInit) => Promise<Response> = client.fetch;
  // FcError can be made (mocks, tests) as the package makes it.
  const mocked = new FcError("ResourceExhausted", "throttled", { status: 429, requestId: "r" });
  const throttled: boolean = mocked.code === "ResourceExhausted" && mocked.status === 429;
  // @ts-expect-error responses are made by the client
  new FcResponse();
  console.log(status, text, n, bytes, log, fe, auth, detached, throttled, count, closed);
}
void main;
