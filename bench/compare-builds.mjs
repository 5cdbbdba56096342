// Signing speed of two builds of the package, side by side in one process: the same request
// signed by each build in alternating samples, medians and their ratio. For choosing build
// settings (Cargo.toml's opt-level), where the rest of the bench would only add noise.
//
//   node bench/compare-builds.mjs <build A's dist/node.js> <build B's dist/node.js> [body bytes] [--e2e]
//
// --e2e also compares the builds' FcClient.invokeFunction end to end (client CPU per call against
// bench/trivial-server.mjs, concurrency 1 and 64; a 1 KB body unless body bytes are given): a
// build that signs faster in a tight loop may not be faster between real fetches, where its code
// runs with cold caches.
//
// Build B in a second worktree (git worktree add ../b; edit; node tools/build.mjs there).

import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fetchContenders, runCalls } from "./bench-request.mjs";

const args = process.argv.slice(2);
const E2E = args.includes("--e2e");
const [pathA, pathB, bodyArg] = args.filter((a) => a !== "--e2e");
if (!pathA || !pathB) {
  console.error("usage: node bench/compare-builds.mjs <A/dist/node.js> <B/dist/node.js> [body bytes] [--e2e]");
  process.exit(2);
}

const url = "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com/2023-03-30/functions/my-func/invocations?qualifier=prod";
const credentials = { accessKeyId: "STS.NUgYrLnoC37mZZCNnAbez2Pb1", accessKeySecret: "Bench+Secret/0123456789abcdefghijklmnopq", securityToken: "CAIS" + "x".repeat(640) };
const headers = { "content-type": "application/octet-stream", "x-fc-invocation-type": "Sync", "x-fc-log-type": "None" };
const body = new Uint8Array(Number(bodyArg ?? 0)).fill(7);
// Fixed date and nonce: both builds must give the same signature.
const options = { action: "InvokeFunction", date: 1700000000000, nonce: "compare-builds" };

const builds = await Promise.all(
  [pathA, pathB].map(async (path, i) => {
    const file = resolve(path);
    const { signRequest, FcClient } = await import(pathToFileURL(file).href);
    const wasm = readFileSync(resolve(file, "..", "wasm", "fc_invoke_bg.wasm"));
    return { name: "AB"[i], file, signRequest, FcClient, wasmBytes: wasm.length, wasmGzip: gzipSync(wasm, { level: 9 }).length };
  }),
);

// The Node entry loads node:crypto one macrotask after its import, and a loop of promises alone
// never yields one: without this turn, both builds would hash every body in wasm.
await new Promise((resolve) => setImmediate(resolve));

const sign = (b) => b.signRequest({ method: "POST", url, headers, body }, credentials, options);
const [sigA, sigB] = await Promise.all(builds.map(async (b) => (await sign(b)).headers.authorization));
if (sigA !== sigB) throw new Error(`the builds disagree:\n  A ${sigA}\n  B ${sigB}`);

const SAMPLES = 41;
const PER_SAMPLE = 1000;
for (const b of builds) for (let i = 0; i < 5000; i++) await sign(b); // warm up both
const times = builds.map(() => []);
for (let s = 0; s < SAMPLES; s++) {
  const order = s % 2 === 0 ? [0, 1] : [1, 0];
  for (const i of order) {
    const start = performance.now();
    for (let n = 0; n < PER_SAMPLE; n++) await sign(builds[i]);
    times[i].push(((performance.now() - start) * 1000) / PER_SAMPLE);
  }
}
const median = (xs) => xs.toSorted((x, y) => x - y)[xs.length >> 1];
const [a, b] = times.map(median);
const kb = (n) => (n / 1024).toFixed(1);
for (const [i, build] of builds.entries()) {
  console.log(`${build.name} ${median(times[i]).toFixed(2)} µs per signature (${body.length} B body); .wasm ${kb(build.wasmBytes)} KB, ${kb(build.wasmGzip)} KB gzipped  ${build.file}`);
}
console.log(`B/A time ${(b / a).toFixed(2)}×, B/A .wasm gzipped ${(builds[1].wasmGzip / builds[0].wasmGzip).toFixed(2)}× (${SAMPLES} alternating samples of ${PER_SAMPLE} signatures each)`);

if (E2E) await endToEnd();

/** Both builds' invokeFunction against one trivial server, in alternating rounds; CPU ratios paired by round. */
async function endToEnd() {
  const server = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), "trivial-server.mjs")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const { port } = await new Promise((resolve, reject) => {
      server.once("message", resolve);
      server.once("exit", (code) => reject(new Error(`the bench server exited (${code})`)));
    });
    // Each build's (a) of the main bench: the same request, body and credentials.
    const endpoint = `http://127.0.0.1:${port}`;
    const calls = await Promise.all(builds.map(async (b) => (await fetchContenders({ ...b, endpoint, redirect: "error", bodyBytes: Number(bodyArg ?? 1024) })).ours));
    // Rounds alternate which build goes first, and the one going second runs a few per cent
    // cheaper at concurrency 1 (A against itself: 0.92–0.97× in a median of 9 single rounds).
    // So each ratio is taken over two consecutive rounds, one in each order.
    const ROUNDS = 10;
    for (const [concurrency, total] of [[1, 500], [64, 2048]]) {
      const cpu = builds.map(() => []);
      for (let r = -1; r < ROUNDS; r++) {
        for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
          const cpu0 = process.cpuUsage();
          const { errors, firstError } = await runCalls(calls[i], total, concurrency);
          const used = process.cpuUsage(cpu0);
          if (errors) throw new Error(`build ${builds[i].name}: ${errors} of ${total} calls failed (${firstError?.message})`);
          if (r >= 0) cpu[i].push((used.user + used.system) / total); // round -1 warms up
        }
      }
      const both = (xs, k) => xs[2 * k] + xs[2 * k + 1];
      const paired = median(Array.from({ length: ROUNDS / 2 }, (_, k) => both(cpu[1], k) / both(cpu[0], k)));
      console.log(`end to end, concurrency ${concurrency}: A ${median(cpu[0]).toFixed(0)}, B ${median(cpu[1]).toFixed(0)} µs client CPU per call; B/A ${paired.toFixed(2)}× (median over ${ROUNDS / 2} pairs of rounds of ${total} calls, each pair in both orders)`);
    }
  } finally {
    server.kill();
  }
}
