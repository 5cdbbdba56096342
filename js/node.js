// Node entry: the module is read from the installed package and compiled on first use.
import { initSync } from "../dist/wasm/fc_invoke.js";
import { setWasmLoader } from "./core.js";

// node:crypto hashes without copying and faster than wasm. Below 2 KB the wasm still hashes:
// in a loop of signatures node:crypto is ahead from a few hundred bytes, but between real fetches
// each of its hash objects costs tens of µs more, and with the wasm the whole call costs 5% less
// CPU at 1 KB and concurrency 1, within noise at 64 (medians of `bench/compare-builds.mjs --e2e`;
// data in bench/README.md). From 2 to 4 KB the two are within noise. Loading it takes about 2 ms, so it loads after the current turn instead of
// delaying the import and the first call: until then, bodies hash in wasm, except large ones,
// for which waiting for it is faster.
const NODE_CRYPTO_FROM = 2048;
const WAIT_FOR_NODE_CRYPTO_FROM = 1 << 20;
let createHash = null;
let loading = null;
const loadCrypto = () =>
  (loading ??= import("node:crypto").then((crypto) => {
    createHash = crypto.createHash;
  }));
// A failed load leaves bodies to the wasm; it must not surface as an unhandled rejection.
setImmediate(() => loadCrypto().catch(() => {})).unref?.();

function digest(bytes) {
  if (createHash !== null) return createHash("sha256").update(bytes).digest("hex");
  if (bytes.length >= WAIT_FOR_NODE_CRYPTO_FROM) return loadCrypto().then(() => digest(bytes));
  return undefined;
}

// Not `import { readFileSync } from "node:fs"`: that makes Node build every export of fs, its
// streams included, which cost about 2 ms of every import (bench/results.md, start-up).
// getBuiltinModule (Node 20.16+) hands over the already loaded module.
const nodeFs = () => process.getBuiltinModule?.("node:fs") ?? import("node:fs");
const wasmUrl = new URL("../dist/wasm/fc_invoke_bg.wasm", import.meta.url);

setWasmLoader(async () => initSync({ module: (await nodeFs()).readFileSync(wasmUrl) }), { digest, minBytes: NODE_CRYPTO_FROM });

export { FcClient, FcError, FcResponse, InvokeResponse, diagnostics, invokeFunction, signRequest } from "./core.js";
