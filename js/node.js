// Node entry: the module is read from the installed package and compiled on first use.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { initSync } from "../dist/wasm/fc_invoke.js";
import { setWasmLoader } from "./core.js";

// node:crypto hashes without copying and faster than wasm or Web Crypto from a few KB on.
const digest = (bytes) => createHash("sha256").update(bytes).digest("hex");
setWasmLoader(() => initSync({ module: readFileSync(new URL("../dist/wasm/fc_invoke_bg.wasm", import.meta.url)) }), { digest, minBytes: 256 });

export { FcClient, FcError, FcResponse, InvokeResponse, diagnostics, invokeFunction, signRequest } from "./core.js";
