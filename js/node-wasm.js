// The .wasm's bytes for the Node entry (js/node.js), read from the package's files. dist/node.js,
// the entry the package ships, has them embedded instead (tools/build.mjs): a server bundler
// (Next.js, esbuild or ncc for a serverless function) moves the entry away from the package's
// files, and resolved against the bundle the .wasm's URL named no file.

// Not `import { readFileSync } from "node:fs"`: that makes Node build every export of fs, its
// streams included, which cost about 2 ms of every import (bench/results.md, start-up).
// getBuiltinModule (Node 20.16+) hands over the already loaded module.
const nodeFs = () => process.getBuiltinModule?.("node:fs") ?? import("node:fs");

export const wasmBytes = async () => (await nodeFs()).readFileSync(new URL("../dist/wasm/fc_invoke_bg.wasm", import.meta.url));
