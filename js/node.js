// Node entry: the module is read from the installed package and compiled on first use.
import { readFileSync } from "node:fs";
import { initSync } from "../dist/wasm/fc_invoke.js";
import { setWasmLoader } from "./core.js";

setWasmLoader(() => initSync({ module: readFileSync(new URL("../dist/wasm/fc_invoke_bg.wasm", import.meta.url)) }));

export { FcClient, FcError, FcResponse, InvokeResponse, diagnostics, invokeFunction, signRequest } from "./core.js";
