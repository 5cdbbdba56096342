// Browser and Deno entry: the module is fetched by URL on first use. Vite (and webpack 5) see
// `new URL(..., import.meta.url)` and ship the .wasm as an asset; esbuild leaves the URL alone.
import init from "../dist/wasm/fc_invoke.js";
import { setWasmLoader } from "./core.js";

setWasmLoader(() => init({ module_or_path: new URL("../dist/wasm/fc_invoke_bg.wasm", import.meta.url) }));

export { FcClient, FcError, FcResponse, InvokeResponse, diagnostics, invokeFunction, signRequest } from "./core.js";
