// Builds the package's WebAssembly (tools/wasm-build.mjs: cargo → wasm-bindgen → wasm-opt)
// into dist/wasm/, then prints the sizes. Installs what it needs on a fresh machine: the
// wasm32 target and the wasm-bindgen CLI whose version equals the crate's in Cargo.lock.
//
//   node tools/build.mjs            build
//   node tools/build.mjs --check    only make sure the toolchain is installed

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildWasm, run as runCommand } from "./wasm-build.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "wasm");
const log = (msg) => process.stderr.write(`[build] ${msg}\n`);

const run = (cmd, args) => runCommand(cmd, args, { cwd: root });

function capture(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
}

function lockedVersion(name) {
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const m = lock.match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`));
  if (!m) throw new Error(`${name} is not in Cargo.lock`);
  return m[1];
}

function ensureToolchain() {
  if (!capture("rustup", ["target", "list", "--installed"]).split("\n").includes("wasm32-unknown-unknown")) {
    log("installing the wasm32-unknown-unknown target");
    run("rustup", ["target", "add", "wasm32-unknown-unknown"]);
  }
  const want = lockedVersion("wasm-bindgen");
  const versionOf = (cmd) => capture(cmd, ["--version"]).trim().split(" ")[1];
  const have = versionOf("wasm-bindgen");
  if (have !== want || versionOf("wasm-bindgen-test-runner") !== want) {
    // The CLI must equal the crate exactly. First with the lockfile wasm-bindgen-cli ships, so its
    // dependencies are the ones its release was built with; where the registry lacks one of them
    // (seen: webpki-roots 1.0.11 missing from the index here), without it.
    log(`installing wasm-bindgen-cli ${want} (found ${have ?? "none"}); this takes a few minutes once`);
    const args = ["install", "wasm-bindgen-cli", "--version", want, "--force"];
    try {
      run("cargo", [...args, "--locked"]);
    } catch {
      log(`cargo install --locked failed (see above); installing wasm-bindgen-cli ${want} with its dependencies resolved anew`);
      try {
        // Resolved anew, a dependency could pick a release that needs a newer Rust than this
        // machine's: prefer those that build with it.
        run("cargo", [...args, "--config", 'resolver.incompatible-rust-versions="fallback"']);
      } catch (e) {
        throw new Error(`could not install wasm-bindgen-cli ${want}, which building and testing need: ${e.message}`);
      }
    }
    for (const cmd of ["wasm-bindgen", "wasm-bindgen-test-runner"]) {
      const now = versionOf(cmd);
      if (now !== want) {
        throw new Error(
          `installed wasm-bindgen-cli ${want}, but \`${cmd}\` on PATH is ${now ?? "not found"}: ` +
            "put cargo's bin directory ($CARGO_HOME/bin, by default ~/.cargo/bin) first on PATH",
        );
      }
    }
  }
}

ensureToolchain();
if (process.argv.includes("--check")) process.exit(0);

log("cargo build --release --target wasm32-unknown-unknown --features npm (target/npm), wasm-bindgen, wasm-opt");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const before = buildWasm({ root, targetDir: join(root, "target", "npm"), outDir: out });
const wasmFile = join(out, "fc_invoke_bg.wasm");
const bytes = readFileSync(wasmFile);
const gz = gzipSync(bytes, { level: 9 }).length;
const sizes = { wasm: bytes.length, wasmGzip: gz, beforeWasmOpt: before };
writeFileSync(join(out, "sizes.json"), JSON.stringify(sizes, null, 2) + "\n");
log(`dist/wasm/fc_invoke_bg.wasm: ${(bytes.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (before wasm-opt ${(before / 1024).toFixed(1)} KB)`);
if (!existsSync(join(out, "fc_invoke.js"))) throw new Error("wasm-bindgen produced no glue");

// Node's ESM loader costs about half a millisecond per module: the Node entry ships as one file
// (js/node.js with core.js, the glue and its snippet), which cuts the import by about 2 ms.
// Bundlers and Deno take the unbundled entries. The .wasm goes in as base64 (js/node-wasm.js
// says why); Buffer decodes it on first use.
const esbuild = await import("esbuild").catch(() => null);
if (!esbuild) throw new Error("esbuild is not installed (npm install)");
const embedWasm = {
  name: "embed-wasm",
  setup(build) {
    build.onLoad({ filter: /[\\/]js[\\/]node-wasm\.js$/ }, () => ({
      contents: `export const wasmBytes = () => Buffer.from(${JSON.stringify(bytes.toString("base64"))}, "base64");\n`,
      loader: "js",
    }));
  },
};
const bundled = await esbuild.build({
  entryPoints: [join(root, "js", "node.js")],
  outfile: join(root, "dist", "node.js"),
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  plugins: [embedWasm],
  metafile: true,
});
if (!Object.keys(bundled.metafile.inputs).some((f) => f.endsWith("js/node-wasm.js"))) throw new Error("dist/node.js: the .wasm was not embedded");
log("dist/node.js: the Node entry, bundled");
