// End to end in Deno, run by bench/run.mjs against its trivial server:
//   deno run --allow-net=127.0.0.1 --allow-read --allow-env --allow-sys=hostname --v8-flags=--expose-gc bench/deno-e2e.mjs <port> <rounds> <calls at c1> <calls at c64>
// Client CPU per call (process.cpuUsage, user + system) of fc-invoke, of a bare fetch of the same
// request and of a fetch signed by the official signer, in rounds (the first one a warm-up),
// the contenders rotating within each. Prints one JSON line: per concurrency, per contender,
// the CPU per call of every counted round, so the parent pairs them by round as for Node.

import process from "node:process";
import { FcClient, signRequest } from "../js/web.js"; // the package's `deno` entry
import { sdkSign } from "./sdk-signer.mjs";

const [port, rounds, callsC1, callsC64] = Deno.args.map(Number);
const endpoint = `http://127.0.0.1:${port}`;
const FUNCTION = "my-func";
const QUALIFIER = "prod";
const url = `${endpoint}/2023-03-30/functions/${FUNCTION}/invocations?qualifier=${QUALIFIER}`;
const HEADERS = { "content-type": "application/octet-stream", "x-fc-invocation-type": "Sync", "x-fc-log-type": "None" };
const CREDS = {
  accessKeyId: "STS.NUgYrLnoC37mZZCNnAbez2Pb1",
  accessKeySecret: "Bench+Secret/0123456789abcdefghijklmnopq",
  securityToken: "CAIS" + "x".repeat(640),
};
const body = new Uint8Array(1024).map((_, i) => (i * 31 + 7) & 0xff);

const client = new FcClient({ endpoint, credentials: CREDS });
const ours = async () => {
  const res = await client.invokeFunction(FUNCTION, { qualifier: QUALIFIER, logType: "None", body });
  if (res.status !== 200) throw new Error(`status ${res.status}`);
};
// The same URL, method, body and header bytes as fc-invoke sends (one signature computed once),
// and its redirect mode in Deno ("manual").
const signed = await signRequest({ method: "POST", url, headers: HEADERS, body }, CREDS, { action: "InvokeFunction" });
const bare = async () => {
  const res = await fetch(signed.url, { method: "POST", headers: signed.headers, body, redirect: "manual" });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
};
const target = new URL(url);
const sdkSigned = async () => {
  const { host, ...headers } = sdkSign(
    { method: "POST", host: target.host, pathname: target.pathname, query: { qualifier: QUALIFIER }, headers: HEADERS, body },
    CREDS,
    { action: "InvokeFunction" },
  );
  const res = await fetch(url, { method: "POST", headers, body, redirect: "manual" });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
};
const contenders = { a: ours, b: bare, d: sdkSigned };
for (const call of Object.values(contenders)) await call(); // fail loudly before timing anything

async function runCalls(call, total, concurrency) {
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const keys = Object.keys(contenders);
const out = { deno: Deno.version.deno, v8: Deno.version.v8, results: [] };
for (const [concurrency, calls] of [[1, callsC1], [64, callsC64]]) {
  const row = { concurrency, calls, rounds, cpu: Object.fromEntries(keys.map((k) => [k, []])) };
  for (let r = -1; r < rounds; r++) {
    const order = keys.map((_, i) => keys[(i + Math.max(0, r)) % keys.length]);
    for (const key of order) {
      globalThis.gc?.();
      const cpu0 = process.cpuUsage();
      await runCalls(contenders[key], calls, concurrency);
      const cpu = process.cpuUsage(cpu0);
      if (r >= 0) row.cpu[key].push((cpu.user + cpu.system) / calls);
    }
  }
  out.results.push(row);
}
console.log(JSON.stringify(out));
