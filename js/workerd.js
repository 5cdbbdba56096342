// Cloudflare Workers entry: Workers cannot compile wasm from bytes at run time, so the .wasm is
// imported as a module (wrangler and miniflare bundle it) and instantiated on first use.
import wasmModule from "../dist/wasm/fc_invoke_bg.wasm";
import { initSync } from "../dist/wasm/fc_invoke.js";
import { setWasmLoader } from "./core.js";

setWasmLoader(() => initSync({ module: wasmModule }));

export { FcClient, FcError, FcResponse, InvokeResponse, diagnostics, invokeFunction, signRequest } from "./core.js";
