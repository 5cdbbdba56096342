// Answers that are not what FC sends, from a custom fetch: each is a typed error, never a
// result of the wrong shape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FcClient } from "fc-invoke";
import { DEMO_CREDENTIALS } from "../server/fc-server.mjs";

const answering = (body, init = { status: 200 }) =>
  new FcClient({ endpoint: "http://127.0.0.1:9", credentials: DEMO_CREDENTIALS, retry: false, fetch: async () => new Response(body, init) });

test("a 2xx task answer that is not a JSON object is a NetworkError, not undefined", async () => {
  for (const body of ["<html>captive portal</html>", "", "[1, 2]", "42"]) {
    const client = answering(body);
    await assert.rejects(client.getAsyncTask("f", "t1"), { code: "NetworkError", message: /not the JSON object FC sends/ });
    await assert.rejects(client.listAsyncTasks("f"), { code: "NetworkError" });
    await assert.rejects(client.waitForAsyncTask("f", "t1", { pollIntervalMs: 1 }), { code: "NetworkError" });
  }
  const task = await answering(JSON.stringify({ taskId: "t1", status: "Succeeded" })).getAsyncTask("f", "t1");
  assert.deepEqual(task, { taskId: "t1", status: "Succeeded" });
});

test("an empty page of tasks has an empty tasks array, whether the answer left it out or sent null", async () => {
  for (const body of ["{}", '{"tasks":null}', '{"tasks":[]}']) assert.deepEqual(await answering(body).listAsyncTasks("f"), { tasks: [] }, body);
  assert.deepEqual(await answering('{"tasks":null,"nextToken":"n"}').listAsyncTasks("f"), { tasks: [], nextToken: "n" });
});

test("a task document of any size is read: a list with payloads can be megabytes", async () => {
  const payload = "p".repeat(3 << 20);
  const list = await answering(JSON.stringify({ tasks: [{ taskId: "t1", status: "Succeeded", taskPayload: payload }] })).listAsyncTasks("f", { includePayload: true });
  assert.equal(list.tasks.length, 1);
  assert.equal(list.tasks[0].taskPayload, payload);
  const task = await answering(JSON.stringify({ taskId: "t1", status: "Succeeded", taskPayload: payload })).waitForAsyncTask("f", "t1");
  assert.equal(task.taskPayload.length, payload.length);
});

test("an error answer without a Code is ServiceError with the status", async () => {
  await assert.rejects(answering("<html>bad gateway</html>", { status: 502 }).invokeFunction("f"), { code: "ServiceError", status: 502 });
});

test("a log tail that is not strict base64 comes as sent, as the Rust decoder gives it", async () => {
  const withLog = (value) => answering("ok", { status: 200, headers: { "x-fc-log-result": value } });
  for (const value of ["hello world", "aGk", "aGk=\tx"]) assert.equal((await withLog(value).invokeFunction("f", { logType: "Tail" })).log, value);
  assert.equal((await withLog(" aGk= ").invokeFunction("f", { logType: "Tail" })).log, "hi");
});

test("a network or provider failure keeps the original error as cause", async () => {
  const thrown = new TypeError("socket hang up");
  const failing = new FcClient({ endpoint: "http://127.0.0.1:9", credentials: DEMO_CREDENTIALS, retry: false, fetch: async () => { throw thrown; } });
  await assert.rejects(failing.invokeFunction("f"), (e) => e.code === "NetworkError" && e.cause === thrown && /socket hang up/.test(e.message));
  const backendDown = new Error("backend down");
  const provider = new FcClient({ endpoint: "http://127.0.0.1:9", credentials: async () => { throw backendDown; } });
  await assert.rejects(provider.invokeFunction("f"), (e) => e.code === "CredentialsError" && e.cause === backendDown);
  // Errors of the package's own making have none.
  await assert.rejects(answering("[]").getAsyncTask("f", "t"), (e) => e.code === "NetworkError" && e.cause === undefined);
});
