// The rest of the FC 3.0 data plane through the built package: the async task lifecycle, the
// generic request, and the signed fetch for HTTP triggers, against the local server.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FcClient, FcError, FcResponse, signRequest } from "fc-invoke";
import { startFcServer, DEMO_CREDENTIALS, DEMO_STS_CREDENTIALS } from "../server/fc-server.mjs";
import { watchLibrarySleeps } from "./library-sleeps.mjs";

let server;
let client;
before(async () => {
  server = await startFcServer();
  client = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS });
});
after(() => server.close());
beforeEach(() => server.reset());

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

test("invoke Async with a task id, wait for it, read its result", async () => {
  const queued = await client.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "video-001", body: "frame data" });
  assert.equal(queued.status, 202);
  const done = await client.waitForAsyncTask("echo", "video-001", { pollIntervalMs: 10, timeoutMs: 5000 });
  assert.equal(done.taskId, "video-001");
  assert.equal(done.status, "Succeeded");
  assert.equal(done.returnPayload, "frame data");
  const again = await client.getAsyncTask("echo", "video-001");
  assert.equal(again.status, "Succeeded");
  assert.ok(again.startedTime > 0 && again.endTime >= again.startedTime);
});

test("a task FC named (its request id, a UUID that may start with a digit) can be read, waited for and stopped", async () => {
  // Random UUIDs start with a digit 10 times in 16; invoke until one does (20 misses in a row:
  // about 3e-9).
  let queued;
  for (let i = 0; i < 20 && !/^[0-9]/.test(queued?.asyncTaskId ?? ""); i++) {
    queued = await client.invokeFunction("echo", { invocationType: "Async", body: "named by FC" });
  }
  const id = queued.asyncTaskId;
  assert.match(id, /^[0-9]/);
  assert.equal(id, queued.requestId);
  const done = await client.waitForAsyncTask("echo", id, { pollIntervalMs: 5, timeoutMs: 5000 });
  assert.deepEqual([done.taskId, done.status, done.returnPayload], [id, "Succeeded", "named by FC"]);
  assert.equal((await client.getAsyncTask("echo", id)).taskId, id);
  // Stopping a finished task reaches FC, which refuses it: the id itself passed.
  await assert.rejects(client.stopAsyncTask("echo", id), (e) => e instanceof FcError && e.code === "AsyncTaskAlreadyFinished");
  // Still refused: characters FC's ids never hold, and a leading '-'.
  for (const bad of ["-1", "a.b", "a/b", "x".repeat(129)]) {
    await assert.rejects(client.getAsyncTask("echo", bad), (e) => e.code === "InvalidArgument" && e.argument === "taskId", bad);
  }
});

test("an Async invocation's result has the caller's task id when the answer's header cannot be read (a cross-origin page)", async () => {
  // What a browser's fetch shows a page from FC's answer: only the headers FC exposes.
  const exposed = ["date", "x-fc-request-id", "x-fc-error-type", "x-fc-log-result", "content-type", "content-length"];
  const corsFetch = async (url, init) => {
    const res = await fetch(url, init);
    const headers = new Headers([...res.headers].filter(([name]) => exposed.includes(name)));
    return new Response(await res.arrayBuffer(), { status: res.status, headers });
  };
  const browserLike = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: corsFetch });
  const queued = await browserLike.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "cors-1", body: "x" });
  assert.equal(queued.status, 202);
  assert.equal(queued.headers.get("x-fc-async-task-id"), null);
  assert.equal(queued.asyncTaskId, "cors-1");
  // A task FC named stays unknown there; a Sync invocation has none.
  assert.equal((await browserLike.invokeFunction("echo", { invocationType: "Async", body: "y" })).asyncTaskId, undefined);
  assert.equal((await browserLike.invokeFunction("echo", { body: "z" })).asyncTaskId, undefined);
});

test("getAsyncTask and waitForAsyncTask send the qualifier: a task is found only under its own", async () => {
  await client.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "q-prod", qualifier: "prod", body: "q" });
  const done = await client.waitForAsyncTask("echo", "q-prod", { qualifier: "prod", pollIntervalMs: 5 });
  assert.equal(done.qualifier, "prod");
  assert.equal((await client.getAsyncTask("echo", "q-prod", { qualifier: "prod" })).taskId, "q-prod");
  // The server answers 404 for a qualifier the task was not invoked with: a qualifier that did
  // not reach it would find the task.
  await assert.rejects(client.getAsyncTask("echo", "q-prod", { qualifier: "1" }), { code: "AsyncTaskNotFound", status: 404 });
  await assert.rejects(client.waitForAsyncTask("echo", "q-prod", { qualifier: "1", pollIntervalMs: 5 }), { code: "AsyncTaskNotFound", status: 404 });
  // Stopping, the one call that changes a task, finds it only under its own qualifier too (this
  // one has ended, so it is found and cannot be stopped).
  await assert.rejects(client.stopAsyncTask("echo", "q-prod", { qualifier: "1" }), { code: "AsyncTaskNotFound", status: 404 });
  await assert.rejects(client.stopAsyncTask("echo", "q-prod", { qualifier: "prod" }), { code: "AsyncTaskAlreadyFinished", status: 400 });
  // Listing by qualifier lists that qualifier's tasks only.
  await client.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "q-latest", body: "q" });
  await client.waitForAsyncTask("echo", "q-latest", { pollIntervalMs: 5 });
  assert.deepEqual((await client.listAsyncTasks("echo", { qualifier: "prod" })).tasks.map((t) => t.taskId), ["q-prod"]);
  assert.deepEqual((await client.listAsyncTasks("echo", { qualifier: "LATEST" })).tasks.map((t) => t.taskId), ["q-latest"]);
});

test("waitForAsyncTask doubles its pause between polls from pollIntervalMs up to maxPollIntervalMs", async () => {
  // A task that ends on the 7th poll: the spy stops it just before that poll reaches the server.
  await client.invokeFunction("sleepy", { invocationType: "Async", asyncTaskId: "polled", body: "60000" });
  const polls = [];
  const counting = new FcClient({
    endpoint: server.url,
    credentials: DEMO_CREDENTIALS,
    fetch: (url, init) => {
      polls.push(url);
      if (polls.length === 7) server.stopAsyncTask("polled");
      return fetch(url, init);
    },
  });
  // The pauses are read as the package schedules them (and run after 0 ms), not timed.
  const watch = watchLibrarySleeps({ fastForward: true });
  let done;
  try {
    done = await counting.waitForAsyncTask("sleepy", "polled", { pollIntervalMs: 3, maxPollIntervalMs: 10 });
  } finally {
    watch.restore();
  }
  assert.equal(done.status, "Stopped");
  assert.equal(polls.length, 7);
  assert.ok(polls.every((u) => u === `${server.url}/2023-03-30/functions/sleepy/async-tasks/polled`));
  assert.deepEqual(watch.sleeps.map((s) => s.ms), [3, 6, 10, 10, 10, 10], "one pause between each two polls, doubling, capped");
  assert.ok(watch.sleeps.every((s) => s.fired), "each poll waited for its pause");

  // Either option given alone is honoured: a maximum under the default first pause caps it, and
  // a first pause over the default maximum is not cut to it.
  for (const [options, pauses] of [[{ maxPollIntervalMs: 100 }, [100, 100]], [{ pollIntervalMs: 8000 }, [8000, 8000]], [{ pollIntervalMs: 3000 }, [3000, 5000]]]) {
    let answers = 0;
    const task = async () => new Response(JSON.stringify({ taskId: "t", status: ++answers < 3 ? "Running" : "Succeeded" }));
    const paced = watchLibrarySleeps({ fastForward: true });
    try {
      await new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: task }).waitForAsyncTask("echo", "t", options);
    } finally {
      paced.restore();
    }
    assert.deepEqual(paced.sleeps.map((s) => s.ms), pauses, JSON.stringify(options));
  }
});

test("a task document's long strings are not copied into the wasm, whose memory never shrinks", async () => {
  const { diagnostics } = await import("fc-invoke");
  const huge = JSON.stringify({ status: "Running".repeat(2 ** 20), taskId: "t" }); // 7 MB of status
  const hostile = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: async () => new Response(huge, { headers: { "content-type": "application/json" } }) });
  await client.getAsyncTask("echo", "warm-up").catch(() => {}); // the wasm is loaded and sized
  const before = diagnostics().wasmMemoryBytes;
  // (Bounded: were the status read, "Running…" would be polled until the timeout.)
  await assert.rejects(hostile.waitForAsyncTask("echo", "t", { pollIntervalMs: 10, timeoutMs: 3000 }), (e) => e.code === "NetworkError" && /no task status/.test(e.message));
  assert.ok(diagnostics().wasmMemoryBytes - before < 2 ** 20, `grew by ${diagnostics().wasmMemoryBytes - before} bytes`);
  // What FC sends is read: a long error message (FC's are short) still reaches the FcError.
  const message = "m".repeat(4096);
  const failing = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: async () => Response.json({ Code: "Odd", Message: message }, { status: 400 }) });
  await assert.rejects(failing.getAsyncTask("echo", "t"), (e) => e.code === "Odd" && e.message.includes(message));
});

test("a thousand headers sign; more are refused before the pairwise merge (src/acs3/mod.rs MAX_HEADERS)", async () => {
  const headers = (n) => Array.from({ length: n }, (_, i) => [`x-h${i}`, "v"]);
  const signed = await signRequest({ method: "POST", url: `${server.url}/x`, headers: headers(1000) }, DEMO_CREDENTIALS, { action: "A" });
  assert.equal(signed.headers["x-h999"], "v");
  await assert.rejects(signRequest({ url: `${server.url}/x`, headers: headers(1001) }, DEMO_CREDENTIALS, { action: "A" }), (e) => e.code === "InvalidArgument" && e.argument === "headers" && /at most 1000/.test(e.message));
  await assert.rejects(client.fetch(`${server.url}/http/web-echo/x`, { headers: headers(1001) }), { code: "InvalidArgument", argument: "headers" });
});

test("waitForAsyncTask's own timeoutMs is refused under that name", async () => {
  await assert.rejects(client.waitForAsyncTask("echo", "t", { timeoutMs: 0 }), (e) => e.code === "InvalidArgument" && e.argument === "timeoutMs" && e.message === "invalid timeoutMs: must be a number of milliseconds from 1 to 2147483647");
});

test("a failing task ends Failed with its error", async () => {
  await client.invokeFunction("fail", { invocationType: "Async", asyncTaskId: "bad-1" });
  const done = await client.waitForAsyncTask("fail", "bad-1", { pollIntervalMs: 10, timeoutMs: 5000 });
  assert.equal(done.status, "Failed");
  assert.match(done.taskErrorMessage, /boom/);
});

test("stop a long task and see it stopped", async () => {
  await client.invokeFunction("sleepy", { invocationType: "Async", asyncTaskId: "long-1", body: "60000" });
  const running = await client.getAsyncTask("sleepy", "long-1");
  assert.ok(["Enqueued", "Running"].includes(running.status), running.status);
  await client.stopAsyncTask("sleepy", "long-1");
  const stopped = await client.waitForAsyncTask("sleepy", "long-1", { pollIntervalMs: 10, timeoutMs: 5000 });
  assert.equal(stopped.status, "Stopped");
  await assert.rejects(client.stopAsyncTask("sleepy", "long-1"), (e) => e instanceof FcError && e.status === 400);
});

test("waiting gives up at its timeout, and an abort stops it at once", async () => {
  await client.invokeFunction("sleepy", { invocationType: "Async", asyncTaskId: "slow-1", body: "60000" });
  await assert.rejects(client.waitForAsyncTask("sleepy", "slow-1", { pollIntervalMs: 20, timeoutMs: 200 }), { code: "Timeout" });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(client.waitForAsyncTask("sleepy", "slow-1", { pollIntervalMs: 1000, signal: controller.signal }), { code: "Aborted" });
  await client.stopAsyncTask("sleepy", "slow-1");
});

test("list with filters and pagination", async () => {
  for (const id of ["job-a", "job-b", "job-c", "job-d", "job-e", "other-1"]) {
    await client.invokeFunction("echo", { invocationType: "Async", asyncTaskId: id, body: id });
    await new Promise((r) => setTimeout(r, 2)); // distinct start times for the sort
  }
  for (const id of ["job-a", "job-b", "job-c", "job-d", "job-e", "other-1"]) await client.waitForAsyncTask("echo", id, { pollIntervalMs: 5 });

  const seen = [];
  let nextToken;
  let pages = 0;
  do {
    const page = await client.listAsyncTasks("echo", { prefix: "job-", limit: 2, nextToken, sortOrderByTime: "asc" });
    seen.push(...page.tasks.map((t) => t.taskId));
    nextToken = page.nextToken;
    pages++;
  } while (nextToken);
  assert.deepEqual(seen, ["job-a", "job-b", "job-c", "job-d", "job-e"], "every task once, oldest first");
  assert.equal(pages, 3);
  // Its tokens hold what a query must encode ('+', '&', '=', a space, a line break), as FC's may.
  assert.match(nextToken ?? (await client.listAsyncTasks("echo", { limit: 1 })).nextToken, /\+\/ &=%\n$/);
  // So may a prefix: each value reaches the server as given, and adds no parameter.
  const sent = [];
  const capturing = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: (url, init) => (sent.push(new URL(url)), fetch(url, init)) });
  assert.deepEqual((await capturing.listAsyncTasks("echo", { prefix: "job-+&limit=1 %2B\n", status: "Succeeded" })).tasks, []);
  assert.deepEqual([...sent.at(-1).searchParams], [["prefix", "job-+&limit=1 %2B\n"], ["status", "Succeeded"]]);

  const desc = await client.listAsyncTasks("echo", { sortOrderByTime: "desc", limit: 100 });
  assert.equal(desc.tasks[0].taskId, "other-1");
  assert.equal(desc.tasks.length, 6);
  const succeeded = await client.listAsyncTasks("echo", { status: "Succeeded", includePayload: true, sortOrderByTime: "asc" });
  assert.deepEqual(
    succeeded.tasks.map((t) => [t.taskId, t.status, t.taskPayload]),
    ["job-a", "job-b", "job-c", "job-d", "job-e", "other-1"].map((id) => [id, "Succeeded", id]),
  );
  const withoutPayload = await client.listAsyncTasks("echo", { prefix: "other" });
  assert.deepEqual(withoutPayload.tasks.map((t) => [t.taskId, t.taskPayload]), [["other-1", undefined]]);
  const first = desc.tasks.at(-1).startedTime;
  const window = await client.listAsyncTasks("echo", { startedTimeBegin: first, startedTimeEnd: first });
  assert.deepEqual(window.tasks.map((t) => t.taskId), ["job-a"]);
  await assert.rejects(client.listAsyncTasks("echo", { limit: 0 }), { code: "InvalidArgument", argument: "limit" });
  await assert.rejects(client.listAsyncTasks("echo", { sortOrderByTime: "up" }), { code: "InvalidArgument" });
  await assert.rejects(client.getAsyncTask("echo", "no-such-task"), { code: "AsyncTaskNotFound", status: 404 });
});

test("listAsyncTasks filters by status: tasks in different states, each list exact", async () => {
  await client.invokeFunction("sleepy", { invocationType: "Async", asyncTaskId: "st-done", body: "0" });
  await client.waitForAsyncTask("sleepy", "st-done", { pollIntervalMs: 5 });
  await client.invokeFunction("sleepy", { invocationType: "Async", asyncTaskId: "st-stopped", body: "60000" });
  await client.stopAsyncTask("sleepy", "st-stopped");
  await client.invokeFunction("sleepy", { invocationType: "Async", asyncTaskId: "st-running", body: "60000" });
  try {
    for (let i = 0; i < 1000 && server.asyncTaskView("st-running").status !== "Running"; i++) await new Promise((r) => setTimeout(r, 1));
    assert.equal(server.asyncTaskView("st-running").status, "Running");
    const ids = async (status) => (await client.listAsyncTasks("sleepy", { status, sortOrderByTime: "asc" })).tasks.map((t) => [t.taskId, t.status]);
    assert.deepEqual(await ids(undefined), [["st-done", "Succeeded"], ["st-stopped", "Stopped"], ["st-running", "Running"]]);
    assert.deepEqual(await ids("Running"), [["st-running", "Running"]]);
    assert.deepEqual(await ids("Succeeded"), [["st-done", "Succeeded"]]);
    assert.deepEqual(await ids("Stopped"), [["st-stopped", "Stopped"]]);
    assert.deepEqual(await ids("Failed"), []);
  } finally {
    await client.stopAsyncTask("sleepy", "st-running");
  }
});

test("the generic request reaches the same endpoints", async () => {
  await client.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "gen-1", body: "g" });
  await client.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "other-1", body: "o" });
  await client.waitForAsyncTask("echo", "gen-1", { pollIntervalMs: 5 });
  const res = await client.request({ method: "GET", path: "/2023-03-30/functions/echo/async-tasks/gen-1", action: "GetAsyncTask" });
  assert.ok(res instanceof FcResponse);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).status, "Succeeded");
  // The query is sent: unfiltered, the list holds both tasks.
  const all = await client.request({ path: "/2023-03-30/functions/echo/async-tasks", action: "ListAsyncTasks" });
  assert.deepEqual((await all.json()).tasks.map((t) => t.taskId).sort(), ["gen-1", "other-1"]);
  const list = await client.request({ path: "/2023-03-30/functions/echo/async-tasks", query: { prefix: "gen", limit: 10 }, action: "ListAsyncTasks" });
  assert.deepEqual((await list.json()).tasks.map((t) => t.taskId), ["gen-1"]);
  // Query values may hold any text, line breaks included (FC's list tokens can end in one): sent
  // percent-encoded and signed, in every form, and added to a query the path has.
  const sent = [];
  const capturing = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: (url, init) => (sent.push(url), fetch(url, init)) });
  const tasksOf = async (options) => (await (await capturing.request({ path: "/2023-03-30/functions/echo/async-tasks", action: "ListAsyncTasks", ...options })).json()).tasks.map((t) => t.taskId);
  for (const [query, prefix] of [[{ prefix: "gen\n" }, "gen\n"], [[["prefix", "gen\r\n"]], "gen\r\n"], [new URLSearchParams({ prefix: "g+e n%\uD800é" }), "g+e n%\uFFFDé"]]) {
    assert.deepEqual(await tasksOf({ query }), [], prefix);
    assert.equal(new URL(sent.at(-1)).searchParams.get("prefix"), prefix);
  }
  assert.deepEqual(await tasksOf({ path: "/2023-03-30/functions/echo/async-tasks?prefix=gen", query: { limit: 10 } }), ["gen-1"]);
  assert.deepEqual(await tasksOf({ path: "/2023-03-30/functions/echo/async-tasks?", query: { prefix: "other" } }), ["other-1"]);
  // Before a fragment, which is not sent.
  assert.deepEqual(await tasksOf({ path: "/2023-03-30/functions/echo/async-tasks?limit=5#top", query: { prefix: "gen" } }), ["gen-1"]);
  assert.equal(new URL(sent.at(-1)).search, "?limit=5&prefix=gen");
  const invoked = await client.request({
    method: "POST",
    path: "/2023-03-30/functions/echo/invocations",
    headers: { "content-type": "application/octet-stream" },
    body: "raw",
    action: "InvokeFunction",
  });
  assert.equal(await invoked.text(), "raw");
  assert.equal(invoked.headers.get("x-echo-content-type"), "application/octet-stream", "a given content type is kept");
  // A body without a content type is sent as JSON (README), whatever its JS type.
  for (const body of ['{"k":1}', new TextEncoder().encode('{"k":2}')]) {
    const json = await client.request({ method: "POST", path: "/2023-03-30/functions/echo/invocations", body, action: "InvokeFunction" });
    assert.equal(json.headers.get("x-echo-content-type"), "application/json");
    assert.equal(server.invocations.at(-1).headers["content-type"], "application/json");
  }
  await assert.rejects(client.request({ path: "/2023-03-30/functions/nope/async-tasks/x", action: "GetAsyncTask" }), { code: "FunctionNotFound" });
  await assert.rejects(client.request({ path: "no-slash", action: "X" }), { code: "InvalidArgument", argument: "path" });
  await assert.rejects(client.request({ path: "/x" }), { code: "InvalidArgument", argument: "action" });
});

test("request and the task methods take their arguments when called, as fetch does: a buffer or options changed later change nothing", async () => {
  // A fresh client: its first call also waits for the wasm client to be set up.
  for (const fresh of [false, true]) {
    const c = fresh ? new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS }) : client;
    const buffer = new TextEncoder().encode("AAAA");
    const options = { method: "POST", path: "/2023-03-30/functions/echo/invocations", action: "InvokeFunction", body: buffer, headers: { "content-type": "text/plain" } };
    const pending = c.request(options);
    buffer.fill(66);
    options.headers = { "content-type": "application/x-later" };
    options.path = "/2023-03-30/functions/nope/invocations";
    const res = await pending;
    assert.equal(await res.text(), "AAAA", "the bytes given at the call were sent");
    assert.equal(res.headers.get("x-echo-content-type"), "text/plain");
    // A Blob's bytes, read after the call returns, are still those given.
    assert.equal(await (await c.request({ ...options, path: "/2023-03-30/functions/echo/invocations", body: new Blob(["blob"]) })).text(), "blob");
    await c.invokeFunction("echo", { invocationType: "Async", asyncTaskId: `taken-${fresh}` });
    const taskOptions = { qualifier: "LATEST" };
    const read = c.getAsyncTask("echo", `taken-${fresh}`, taskOptions);
    taskOptions.qualifier = "nope";
    assert.equal((await read).taskId, `taken-${fresh}`);
    const waitOptions = { pollIntervalMs: 5 };
    const waited = c.waitForAsyncTask("echo", `taken-${fresh}`, waitOptions);
    waitOptions.qualifier = "nope";
    assert.equal((await waited).status, "Succeeded");
    const listOptions = { prefix: "taken" };
    const listed = c.listAsyncTasks("echo", listOptions);
    listOptions.prefix = "nothing";
    assert.ok((await listed).tasks.some((t) => t.taskId === `taken-${fresh}`));
  }
  // Bad input still rejects, never throws.
  const rejected = client.request({ path: 5 });
  assert.ok(rejected instanceof Promise);
  await assert.rejects(rejected, { code: "InvalidArgument" });
  // A Blob whose bytes cannot be read, on a client whose setup fails first: one rejection, the
  // setup's, and no unhandled one.
  const failing = new FcClient({ endpoint: "ftp://x", credentials: DEMO_CREDENTIALS });
  const unreadableBlob = new Blob(["x"]);
  unreadableBlob.arrayBuffer = () => Promise.reject(new Error("unreadable"));
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await assert.rejects(failing.request({ method: "POST", path: "/x", action: "X", body: unreadableBlob }), { code: "InvalidArgument", argument: "endpoint" });
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  assert.deepEqual(unhandled, []);
});

test("a method called unbound (const { invokeFunction } = client) rejects with an FcError naming it", async () => {
  const { invokeFunction, getAsyncTask, stopAsyncTask, listAsyncTasks, waitForAsyncTask, request, close, fetch: boundFetch } = client;
  for (const [name, call] of Object.entries({ invokeFunction, getAsyncTask, stopAsyncTask, listAsyncTasks, waitForAsyncTask, request })) {
    let pending;
    assert.doesNotThrow(() => (pending = call("echo", "t")), name);
    await assert.rejects(pending, (e) => {
      assert.ok(e instanceof FcError, name);
      assert.equal(e.code, "InvalidArgument", name);
      assert.equal(e.argument, "this", name);
      assert.match(e.message, new RegExp(`${name} must be called on its FcClient`));
      return true;
    });
  }
  // A look-alike made from the prototype is no client either.
  await assert.rejects(FcClient.prototype.invokeFunction.call(Object.create(FcClient.prototype), "echo"), { code: "InvalidArgument", argument: "this" });
  assert.throws(() => close(), (e) => e instanceof FcError && e.argument === "this");
  // fetch is bound to its client, as documented.
  assert.equal((await boundFetch(`${server.url}/http/web-echo/x`)).status, 200);
  // The client itself is unharmed.
  assert.equal((await client.invokeFunction("echo", { body: "ok" })).status, 200);
});

test("client.fetch reaches a signed HTTP trigger with GET and POST and returns the runtime's Response", async () => {
  const get = await client.fetch(`${server.url}/http/web-echo/a/b?x=1&y=two words`);
  assert.ok(get instanceof Response);
  assert.equal(get.status, 200);
  const echoed = await get.json();
  assert.equal(echoed.method, "GET");
  assert.equal(echoed.path, "/a/b");
  assert.deepEqual(echoed.query, { x: "1", y: "two words" });
  // A literal "+" in a path is a plus: sent as written, though signed as "%20" like the SDK does.
  const plus = await client.fetch(`${server.url}/http/web-echo/a+b*c%7E`);
  assert.equal(plus.status, 200);
  assert.equal((await plus.json()).path, "/a+b*c%7E");

  const body = new TextEncoder().encode("posted ✓");
  const post = await client.fetch(new URL(`${server.url}/http/web-echo/p`), { method: "POST", body, headers: { "content-type": "text/plain" } });
  const info = await post.json();
  assert.equal(info.method, "POST");
  assert.equal(info.bodySha256, sha256(body));
  assert.equal(info.contentType, "text/plain");

  // A string body: fetch would add text/plain itself; it is signed, as the trigger requires.
  const text = await client.fetch(`${server.url}/http/web-echo/s`, { method: "PUT", body: "plain string" });
  assert.equal((await text.json()).contentType, "text/plain;charset=UTF-8");
  assert.equal(server.triggerCalls.length, 4);

  // signRequest returns them encoded too, for the caller to send (it refused them).
  const signedRaw = await signRequest({ url: `${server.url}/http/web-echo/a|b^c[d]?k=2&k=1` }, DEMO_CREDENTIALS, { action: "A" });
  assert.equal(signedRaw.url, `${server.url}/http/web-echo/a%7Cb%5Ec%5Bd%5D?k=1&k=2`);
  assert.equal((await fetch(signedRaw.url, { headers: signedRaw.headers })).status, 200);
  // What fetch accepts and leaves raw in a path (| ^ [ ]) is sent encoded, as the signature needs
  // it; a repeated query key goes in the signature's order (sorted by value).
  const raw = await client.fetch(`${server.url}/http/web-echo/a|b^c[d]?k=2&k=1#frag`);
  assert.equal(raw.status, 200);
  const rawEchoed = await raw.json();
  assert.equal(rawEchoed.path, "/a%7Cb%5Ec%5Bd%5D");
  assert.equal(server.triggerCalls.at(-1).path, "/a%7Cb%5Ec%5Bd%5D");
  assert.equal(server.triggerCalls.at(-1).query, "k=1&k=2");

  // A Request object works too, and a detached reference to client.fetch.
  const detached = client.fetch;
  const viaRequest = await detached(new Request(`${server.url}/http/web-echo/r`, { method: "DELETE" }));
  assert.equal(server.triggerCalls.length, 7);
  assert.equal((await viaRequest.json()).method, "DELETE");
});

test("client.fetch does not follow a redirect: the signed headers never reach the other origin", async () => {
  const { createServer } = await import("node:http");
  const seen = [];
  const elsewhere = createServer((req, res) => (seen.push(req.headers), res.end("elsewhere")));
  await new Promise((r) => elsewhere.listen(0, "127.0.0.1", r));
  const target = `http://127.0.0.1:${elsewhere.address().port}/steal`;
  const redirector = createServer((req, res) => res.writeHead(307, { location: target }).end());
  await new Promise((r) => redirector.listen(0, "127.0.0.1", r));
  try {
    const sts = new FcClient({ endpoint: server.url, credentials: DEMO_STS_CREDENTIALS });
    const res = await sts.fetch(`http://127.0.0.1:${redirector.address().port}/x`);
    assert.equal(res.status, 307);
    assert.equal(res.headers.get("location"), target);
    assert.deepEqual(seen, []);
    // A caller who asks for it explicitly gets it.
    const followed = await sts.fetch(`http://127.0.0.1:${redirector.address().port}/x`, { redirect: "follow" });
    assert.equal(await followed.text(), "elsewhere");
    assert.equal(seen.length, 1);
  } finally {
    redirector.close();
    elsewhere.close();
  }
});

test("client.fetch: a streamed request body, and a streamed answer read chunk by chunk", async () => {
  const parts = ["first,", "second,", "third"];
  const stream = new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
      controller.close();
    },
  });
  const res = await client.fetch(`${server.url}/http/web-echo/stream`, { method: "POST", body: stream, duplex: "half" });
  assert.equal((await res.json()).bodySha256, sha256(Buffer.from(parts.join(""))));

  const streamed = await client.fetch(`${server.url}/http/web-stream/?chunks=4`);
  assert.equal(streamed.status, 200);
  const reader = streamed.body.getReader();
  const chunks = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(new TextDecoder().decode(r.value));
  assert.ok(chunks.length >= 2, `answer arrived in pieces (${chunks.length})`);
  assert.equal(chunks.join(""), "chunk 0\nchunk 1\nchunk 2\nchunk 3\n");
});

test("client.fetch: a stream's one chunk over a buffer fetch refuses (shared, resizable) is sent as a copy", async () => {
  for (const buffer of [new SharedArrayBuffer(4), new ArrayBuffer(4, { maxByteLength: 8 })]) {
    // A Buffer's slice() is a view of the same memory: copied all the same.
    for (const chunk of [new Uint8Array(buffer).fill(65), Buffer.from(buffer).fill(65)]) {
      const body = new ReadableStream({ start: (controller) => (controller.enqueue(chunk), controller.close()) });
      const res = await client.fetch(`${server.url}/http/web-echo/one`, { method: "POST", body, duplex: "half" });
      assert.equal(res.status, 200, `${chunk.constructor.name} over ${buffer.constructor.name}`);
      assert.equal((await res.json()).bodySha256, sha256(Buffer.from("AAAA")));
    }
  }
});

test("client.fetch: a wrong key is refused; STS credentials work; non-2xx is a Response, not an error", async () => {
  const wrong = new FcClient({ endpoint: server.url, credentials: { ...DEMO_CREDENTIALS, accessKeySecret: "wrong" } });
  const refused = await wrong.fetch(`${server.url}/http/web-echo/x`);
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).Code, "SignatureNotMatch");
  const sts = new FcClient({ endpoint: server.url, credentials: DEMO_STS_CREDENTIALS });
  assert.equal((await sts.fetch(`${server.url}/http/web-echo/x`)).status, 200);
  assert.equal(server.triggerCalls.at(-1).accessKeyId, DEMO_STS_CREDENTIALS.accessKeyId);
  assert.equal((await client.fetch(`${server.url}/http/web-status/?status=418`)).status, 418);
  // Refused before anything is sent; the fetch given throws, so a regression cannot reach out.
  const offline = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: async () => assert.fail("nothing may be sent") });
  await assert.rejects(offline.fetch("not a url"), { name: "FcError", code: "InvalidArgument", argument: "input" });
});

// A timeout, so that a signal ignored fails the test instead of hanging it.
test("client.fetch: init.signal also stops a wait for the credentials provider; init's other fields reach fetch", { timeout: 10_000 }, async () => {
  const seen = [];
  const recording = async (url, init) => (seen.push(init), new Response("ok"));
  const waiting = new FcClient({ endpoint: server.url, credentials: () => new Promise(() => {}), fetch: recording });
  await assert.rejects(waiting.fetch(`${server.url}/http/web-echo/x`, { signal: AbortSignal.timeout(50) }), { name: "FcError", code: "Aborted" });
  // One aborted already rejects as fetch does, with its reason, asking nothing of the provider.
  const reason = new Error("gave up before");
  await assert.rejects(waiting.fetch(`${server.url}/http/web-echo/x`, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  assert.equal(seen.length, 0, "nothing was sent");
  const own = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: recording });
  await own.fetch(`${server.url}/http/web-echo/x`, { credentials: "include", cache: "no-store", keepalive: true, headers: { "x-my": "1" } });
  const [init] = seen;
  assert.deepEqual([init.credentials, init.cache, init.keepalive, init.redirect], ["include", "no-store", true, "manual"]);
  assert.equal(init.headers["x-my"], "1");
  assert.match(init.headers.authorization, /^ACS3-HMAC-SHA256 Credential=/);
  // The same fields set on a Request given as input, and none that fetch takes by default.
  seen.length = 0;
  const options = { credentials: "omit", cache: "no-store", keepalive: true, referrerPolicy: "no-referrer", integrity: "sha256-abc" };
  await own.fetch(new Request(`${server.url}/http/web-echo/x`, options));
  const fromRequest = Object.fromEntries(Object.keys(options).map((name) => [name, seen[0][name]]));
  assert.deepEqual(fromRequest, options);
  assert.deepEqual(Object.keys(seen[0]).sort(), [...Object.keys(options), "body", "headers", "method", "redirect", "signal"].sort());
  assert.equal(seen[0].redirect, "manual");
});

test("client.fetch proxies as fetch does: a Request as init, a Request carrying fetch's own headers, a no-cors mode", async () => {
  // An init whose prototype cannot be read (a Proxy) is read as fetch reads it, not an internal error.
  const opaque = new Proxy({ method: "POST", body: "through a proxy" }, { getPrototypeOf() { throw new Error("opaque"); } });
  const proxied = await client.fetch(`${server.url}/http/web-echo/x`, opaque);
  assert.equal((await proxied.json()).bodyLength, "through a proxy".length);
  // The Workers proxy idiom, fetch(url, request): a Request's fields are getters, which a spread
  // does not copy, so a POST went out as a bodiless GET.
  const incoming = new Request("https://worker.example/api", { method: "POST", body: "proxied", headers: { "content-type": "text/plain", "x-my": "1" } });
  const asInit = await client.fetch(`${server.url}/http/web-echo/p`, incoming);
  const echoed = await asInit.json();
  assert.deepEqual([echoed.method, echoed.bodySha256, echoed.contentType], ["POST", sha256(new TextEncoder().encode("proxied")), "text/plain"]);
  // workerd's incoming Request carries host, content-length or transfer-encoding, and
  // connection: fetch sets those itself, so they are left out rather than refused.
  const carrying = new Request(`${server.url}/http/web-echo/q`, {
    method: "PUT",
    body: "x",
    headers: { host: "worker.example", "content-length": "1", connection: "keep-alive", "transfer-encoding": "chunked", "x-kept": "yes" },
  });
  const sent = [];
  const recording = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: async (url, init) => (sent.push(init), fetch(url, init)) });
  const res = await recording.fetch(carrying);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(sent[0].headers["x-kept"], "yes");
  assert.deepEqual(["host", "content-length", "transfer-encoding"].filter((h) => h in sent[0].headers), []);
  assert.equal(sent[0].headers.connection, "keep-alive", "one fetch sends is kept");
  // In an init's headers too, as browsers' fetch leaves out those it forbids: the Workers idiom
  // of editing a copy of the incoming headers carries host and content-length.
  await recording.fetch(`${server.url}/http/web-echo/c`, { headers: { connection: "close" } });
  assert.equal(sent.at(-1).headers.connection, "close");
  const edited = new Headers(carrying.headers);
  edited.set("x-new", "1");
  for (const [input, headers] of [[`${server.url}/http/web-echo/c`, { expect: "100-continue", host: "h" }], [new Request(`${server.url}/http/web-echo/c`), edited]]) {
    const answered = await recording.fetch(input, { headers });
    assert.equal(answered.status, 200, await answered.clone().text());
    assert.deepEqual(["expect", "host", "content-length", "transfer-encoding"].filter((h) => h in sent.at(-1).headers), []);
  }
  assert.equal(sent.at(-1).headers["x-new"], "1");
  // An init with a Request's shape that is not this realm's Request (the undici package's, an
  // iframe's): its fields are getters too.
  const { Request: OtherRequest } = await import("node:vm").then((vm) => ({ Request: vm.runInNewContext("Request", { Request: class Request { get method() { return "POST"; } get body() { return "other"; } get [Symbol.toStringTag]() { return "Request"; } } }) }));
  const other = await client.fetch(`${server.url}/http/web-echo/o`, new OtherRequest());
  assert.deepEqual([(await other.json()).method], ["POST"]);
  // A no-cors request (a service worker's for an <img>) would go without its signed headers.
  await recording.fetch(`${server.url}/http/web-echo/n`, { mode: "no-cors" });
  assert.equal(sent.at(-1).mode, "cors");
  // A navigation's Request (a service worker proxying event.request): fetch takes no "navigate".
  const navigation = new (class { get mode() { return "navigate"; } get method() { return "GET"; } })();
  assert.equal((await recording.fetch(`${server.url}/http/web-echo/nav`, navigation)).status, 200);
  assert.equal(sent.at(-1).mode, "same-origin");
  // Given explicitly, they are still refused, as for any call.
  await assert.rejects(client.invokeFunction("echo", { headers: { host: "h" } }), { code: "InvalidArgument", argument: "headers" });
});

test("client.fetch honours init.signal: an aborted signal sends nothing, an abort cuts a pending request", async () => {
  await assert.rejects(client.fetch(`${server.url}/http/web-echo/x`, { signal: AbortSignal.abort() }), { name: "AbortError" });
  await assert.rejects(client.fetch(`${server.url}/http/web-echo/x`, { method: "POST", body: "x", signal: AbortSignal.abort() }), { name: "AbortError" });
  await assert.rejects(client.fetch(new Request(`${server.url}/http/web-echo/x`, { signal: AbortSignal.abort() })), { name: "AbortError" });
  assert.equal(server.triggerCalls.length, 0, "nothing reached the trigger");

  // A trigger that answers only when the test lets it: the abort must win, whatever the time.
  let release, markStarted;
  const gate = new Promise((r) => (release = r));
  const started = new Promise((r) => (markStarted = r));
  let answered = false;
  server.setHttpFunction("held", async () => {
    markStarted();
    await gate;
    answered = true;
    return "late answer";
  });
  // Only so that a fetch ignoring the abort fails below instead of hanging.
  const safety = setTimeout(release, 10_000);
  try {
    const controller = new AbortController();
    const call = client.fetch(`${server.url}/http/held/`, { signal: controller.signal });
    await started;
    controller.abort();
    await assert.rejects(call, { name: "AbortError" });
    assert.equal(answered, false, "rejected while the trigger had not answered");
  } finally {
    clearTimeout(safety);
    release();
    server.deleteHttpFunction("held");
  }
  assert.equal(server.triggerCalls.length, 1);

  // A request body that has not ended: the abort stops its reading (cancelled at its source), as fetch's would.
  let cancelled;
  const endless = () =>
    new ReadableStream({
      pull: (c) =>
        new Promise((r) =>
          setImmediate(() => {
            if (cancelled === undefined) c.enqueue(new Uint8Array(16));
            r();
          }),
        ),
      cancel: (reason) => (cancelled = reason),
    });
  const reason = new Error("the caller gave up");
  const controller = new AbortController();
  const pending = client.fetch(`${server.url}/http/web-echo/x`, { method: "POST", body: endless(), duplex: "half", signal: controller.signal });
  setImmediate(() => controller.abort(reason));
  await assert.rejects(pending, (e) => e instanceof FcError && e.code === "Aborted" && e.cause === reason);
  assert.equal(cancelled, reason, "the body's source was cancelled");
  // A Worker proxying a request whose upload never ends gives up on its timeout.
  const incoming = new Request(`${server.url}/http/web-echo/x`, { method: "POST", body: endless(), duplex: "half", signal: AbortSignal.timeout(50) });
  await assert.rejects(client.fetch(`${server.url}/http/web-echo/x`, incoming), (e) => e.code === "Aborted" && e.cause?.name === "TimeoutError");
  assert.equal(server.triggerCalls.length, 1, "nothing more was sent");
  cancelled = undefined;
  // A custom fetch that ignores the signal: an aborted one still sends nothing, and no empty body.
  let sentAnyway = 0;
  const deaf = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, fetch: async () => (sentAnyway++, new Response("sent")) });
  const early = new Error("aborted before the call");
  await assert.rejects(deaf.fetch(`${server.url}/http/web-echo/x`, { method: "POST", body: "data", signal: AbortSignal.abort(early) }), (e) => e === early);
  assert.equal(sentAnyway, 0);
  // Where a Request has no body stream (Firefox), the body is read whole, and an abort still ends the wait.
  const bodyGetter = Object.getOwnPropertyDescriptor(Request.prototype, "body");
  delete Request.prototype.body;
  try {
    const echoed = await client.fetch(`${server.url}/http/web-echo/x`, { method: "POST", body: "no stream" });
    assert.equal((await echoed.json()).bodyLength, "no stream".length);
    // A slow body (Firefox sends no streams, so it ends), given up on at the abort, before it ends.
    let left = 20;
    const slow = new ReadableStream({
      pull: (c) => new Promise((r) => setTimeout(() => (--left > 0 ? c.enqueue(new Uint8Array(16)) : c.close(), r()), 10)),
    });
    const stalled = new AbortController();
    const waiting = client.fetch(`${server.url}/http/web-echo/x`, { method: "POST", body: slow, duplex: "half", signal: stalled.signal });
    setImmediate(() => stalled.abort(reason));
    await assert.rejects(waiting, (e) => e.code === "Aborted" && e.cause === reason);
    assert.ok(left > 0, "rejected before the body ended");
  } finally {
    Object.defineProperty(Request.prototype, "body", bodyGetter);
  }
  // A body stream of other chunks than bytes is refused, as arrayBuffer() refuses it.
  const strings = new ReadableStream({ start: (c) => (c.enqueue("text"), c.close()) });
  await assert.rejects(client.fetch(`${server.url}/http/web-echo/x`, { method: "POST", body: strings, duplex: "half" }), { code: "InvalidArgument", argument: "body" });
});
