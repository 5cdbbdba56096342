// `npm run demo`: starts the bundled FC-compatible server on 127.0.0.1, invokes functions through
// the built package exactly as a user would (import "fc-invoke"), and prints what came back.

import { FcClient, FcError } from "fc-invoke";
import { startFcServer, DEMO_CREDENTIALS } from "../tests/server/fc-server.mjs";

const server = await startFcServer();
console.log(`local Function Compute 3.0 server: ${server.url} (verifies every ACS3-HMAC-SHA256 signature)\n`);
const client = new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS });

try {
  const res = await client.invokeFunction("echo", { body: "Hello from fc-invoke!", logType: "Tail" });
  console.log("Sync  echo  →", res.status, JSON.stringify(await res.text()), `requestId=${res.requestId}`);
  console.log("      log tail:", JSON.stringify(res.log));

  const info = await client.invokeFunction("json", { qualifier: "prod", body: { order: 42 } });
  console.log("Sync  json  →", info.status, await info.text());

  const queued = await client.invokeFunction("echo", { invocationType: "Async", asyncTaskId: "demo-task-1", body: "later" });
  console.log("Async echo  →", queued.status, `asyncTaskId=${queued.asyncTaskId}`);
  const task = await client.waitForAsyncTask("echo", "demo-task-1", { pollIntervalMs: 20, timeoutMs: 5000 });
  console.log("      task  →", task.status, JSON.stringify(task.returnPayload));

  const failed = await client.invokeFunction("fail");
  console.log("Sync  fail  →", failed.status, `functionError=${failed.functionError}`, await failed.text());

  try {
    await client.invokeFunction("missing-function");
  } catch (e) {
    if (!(e instanceof FcError)) throw e;
    console.log("Sync  missing-function → FcError", e.code, e.status, `requestId=${e.requestId}`);
  }
  console.log(`\n${server.invocations.length} invocations ran a handler (missing-function was answered 404); the server verified every request's signature.`);
  console.log("To call Function Compute itself: new FcClient({ accountId, region, credentials }) (README.md, Ten lines).");
} finally {
  await server.close();
}
