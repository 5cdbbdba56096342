// End to end in Deno, run by bench/run.mjs against its trivial server:
//   deno run --allow-net=127.0.0.1 --allow-read --allow-env --allow-sys=hostname --v8-flags=--expose-gc bench/deno-e2e.mjs <port> <rounds> <calls at c1> <calls at c64>
// Client CPU per call (process.cpuUsage, user + system) of fc-invoke, of a bare fetch of the same
// request and of a fetch signed by the official signer (bench-request.mjs, as in Node), in rounds
// (the first one a warm-up), the contenders rotating within each. Prints one JSON line: per
// concurrency, per contender, the CPU per call of every counted round, so the parent pairs them
// by round as for Node, and the failed calls.

import process from "node:process";
import { FcClient, signRequest } from "../js/web.js"; // the package's `deno` entry
import { fetchContenders, runCalls } from "./bench-request.mjs";

const [port, rounds, callsC1, callsC64] = Deno.args.map(Number);
// fc-invoke sends redirect: "manual" outside Node, so the bare fetches do too.
const { ours, bare, sdkSigned } = await fetchContenders({ FcClient, signRequest, endpoint: `http://127.0.0.1:${port}`, redirect: "manual" });
const contenders = { a: ours, b: bare, d: sdkSigned };
for (const call of Object.values(contenders)) await call(); // fail loudly before timing anything

const keys = Object.keys(contenders);
const out = { deno: Deno.version.deno, v8: Deno.version.v8, results: [] };
for (const [concurrency, calls] of [[1, callsC1], [64, callsC64]]) {
  const row = { concurrency, calls, rounds, cpu: Object.fromEntries(keys.map((k) => [k, []])), errors: 0 };
  for (let r = -1; r < rounds; r++) {
    const order = keys.map((_, i) => keys[(i + Math.max(0, r)) % keys.length]);
    // A full GC only before the warm-up, as bench/run.mjs does.
    if (r < 0) globalThis.gc?.();
    for (const key of order) {
      const cpu0 = process.cpuUsage();
      const { errors, firstError } = await runCalls(contenders[key], calls, concurrency);
      const cpu = process.cpuUsage(cpu0);
      if (errors) console.error(`[deno] ${key}, concurrency ${concurrency}: ${errors} of ${calls} calls failed (${firstError?.message})`);
      if (r < 0) continue;
      row.errors += errors;
      row.cpu[key].push((cpu.user + cpu.system) / calls);
    }
  }
  out.results.push(row);
}
console.log(JSON.stringify(out));
