// Node entry: the module is compiled on first use, from bytes embedded in the shipped bundle
// (js/node-wasm.js).
import { initSync } from "../dist/wasm/fc_invoke.js";
import { setWasmLoader } from "./core.js";
import { wasmBytes } from "./node-wasm.js";

// node:crypto hashes without copying and faster than wasm. Its one-shot `crypto.hash` (Node
// 20.12+) hashes bodies of every size: with it a 1 KB body signs in 0.91–0.95× the time, and end
// to end costs 0.93–1.02× / 0.99–1.01× the CPU per call at concurrency 1 / 64, within the noise of
// `bench/compare-builds.mjs --e2e` (bench/README.md). A hash object (`createHash`, older Nodes)
// costs tens of µs more between real fetches, so with it the wasm keeps bodies under 2 KB.
// Loading node:crypto takes about 2 ms, so it loads after the current turn instead of delaying the
// import and the first call: until then, bodies hash in wasm, except large ones, for which waiting
// for it is faster.
const WAIT_FOR_NODE_CRYPTO_FROM = 1 << 20;
let hash = null;
let minBytes = 1;
let loading = null;
const loadCrypto = () =>
  (loading ??= import("node:crypto").then((crypto) => {
    if (typeof crypto.hash === "function") {
      hash = (bytes) => crypto.hash("sha256", bytes);
    } else {
      hash = (bytes) => crypto.createHash("sha256").update(bytes).digest("hex");
      minBytes = 2048;
    }
  }));
// A failed load leaves bodies to the wasm; it must not surface as an unhandled rejection.
setImmediate(() => loadCrypto().catch(() => {})).unref?.();

function digest(bytes) {
  if (hash !== null) return bytes.length >= minBytes ? hash(bytes) : undefined;
  if (bytes.length >= WAIT_FOR_NODE_CRYPTO_FROM) return loadCrypto().then(() => digest(bytes));
  return undefined;
}

setWasmLoader(async () => initSync({ module: await wasmBytes() }), { digest });

export { FcClient, FcError, FcResponse, InvokeResponse, diagnostics, invokeFunction, signRequest } from "./core.js";
