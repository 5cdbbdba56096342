// Signing speed of two builds of the package, side by side in one process: the same request
// signed by each build in alternating samples, medians and their ratio. For choosing build
// settings (Cargo.toml's opt-level), where the rest of the bench would only add noise.
//
//   node bench/compare-builds.mjs <build A's dist/node.js> <build B's dist/node.js> [body bytes]
//
// Build B in a second worktree (git worktree add ../b; edit; node tools/build.mjs there).

import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [pathA, pathB, bodyArg = "0"] = process.argv.slice(2);
if (!pathA || !pathB) {
  console.error("usage: node bench/compare-builds.mjs <A/dist/node.js> <B/dist/node.js> [body bytes]");
  process.exit(2);
}

const url = "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com/2023-03-30/functions/my-func/invocations?qualifier=prod";
const credentials = { accessKeyId: "STS.NUgYrLnoC37mZZCNnAbez2Pb1", accessKeySecret: "Bench+Secret/0123456789abcdefghijklmnopq", securityToken: "CAIS" + "x".repeat(640) };
const headers = { "content-type": "application/octet-stream", "x-fc-invocation-type": "Sync", "x-fc-log-type": "None" };
const body = new Uint8Array(Number(bodyArg)).fill(7);
// Fixed date and nonce: both builds must give the same signature.
const options = { action: "InvokeFunction", date: 1700000000000, nonce: "compare-builds" };

const builds = await Promise.all(
  [pathA, pathB].map(async (path, i) => {
    const file = resolve(path);
    const { signRequest } = await import(pathToFileURL(file).href);
    const wasm = readFileSync(resolve(file, "..", "wasm", "fc_invoke_bg.wasm"));
    return { name: "AB"[i], file, signRequest, wasmBytes: wasm.length, wasmGzip: gzipSync(wasm, { level: 9 }).length };
  }),
);

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
