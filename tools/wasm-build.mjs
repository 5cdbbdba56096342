// The npm package's .wasm, built one way for tools/build.mjs (the shipped build) and
// bench/profile.mjs (the same with names): cargo (release, feature npm) → wasm-bindgen
// (--target web) → wasm-opt.

import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join, sep } from "node:path";

// Features rustc enables by default for wasm32-unknown-unknown, which wasm-opt must be told.
const FEATURES = ["simd", "bulk-memory", "sign-ext", "mutable-globals", "nontrapping-float-to-int", "reference-types", "multivalue"].map(
  (f) => `--enable-${f}`,
);

// Beyond -Oz, 0.7 KB less gzipped together (43.2 -> 42.5 KB), signing as fast
// (bench/compare-builds.mjs: 1.01x the time):
// - the module makes its own memory, which starts zeroed, and Rust's stack-first layout leaves
//   the lowest KB untouched but for a nearly overflowed stack, so wasm-opt may assume both;
// - functions of more than 30 bytes with one caller stay functions (-ocimfs): inlining them
//   all makes code that gzip compresses worse. Not --traps-never-happen: a trap must stay one.
const TUNING = ["--low-memory-unused", "--zero-filled-memory", "--one-caller-inline-max-function-size", "30", "--converge"];

/** Runs `cmd` with its output shown (`opts` as spawnSync takes them); throws if it fails. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

function wasmOptPath(root) {
  try {
    return join(dirname(createRequire(join(root, "package.json")).resolve("binaryen/package.json")), "bin", "wasm-opt");
  } catch {
    throw new Error("binaryen (wasm-opt) is not installed (npm install)");
  }
}

/**
 * Builds the crate in `root` into `outDir` (fc_invoke_bg.wasm, the glue fc_invoke.js and its
 * snippets), with cargo's output in `targetDir`; `names` keeps the name section (for profiles).
 * Returns the .wasm's size before wasm-opt.
 */
export function buildWasm({ root, targetDir, outDir, names = false }) {
  // Without reference types, so that wasm-bindgen keeps JS values in a JS array instead of an
  // externref table: 1.0 KB less .wasm gzipped and 0.2 KB more glue; signing and end to end as
  // fast (bench/compare-builds.mjs --e2e: 1.00×; 0.93× / 1.02×). Only this crate and its
  // dependencies can be built without them: std's prebuilt core and alloc advertise them in the
  // module's target_features section, from which wasm-bindgen would decide to use externrefs, so
  // the section goes before wasm-bindgen reads it. The wasm tests keep the default (an
  // externref build of the same code) in target/; this build has its own target dir.
  //
  // Panic locations name dependencies' sources by path (never shown: the npm build formats no
  // panic): without the build machine's cargo home and the registry's index directory in them,
  // the .wasm is the same wherever it is built, and 44 bytes smaller gzipped. The index
  // directories exist once the dependencies are fetched.
  run("cargo", ["fetch", "--target", "wasm32-unknown-unknown"], { cwd: root });
  const registry = join(process.env.CARGO_HOME ?? join(homedir(), ".cargo"), "registry", "src") + sep;
  const indexes = readdirSync(registry).map((index) => `--remap-path-prefix=${registry}${index}${sep}=`);
  const rustflags = ["-C", "target-feature=-reference-types", `--remap-path-prefix=${registry}=`, ...indexes];
  run("cargo", [
    "build", "--release", "--lib", "--target", "wasm32-unknown-unknown", "--features", "npm", "--target-dir", targetDir,
    "--config", `target.wasm32-unknown-unknown.rustflags = ${JSON.stringify(rustflags)}`,
  ], { cwd: root });
  const wasmOpt = wasmOptPath(root);
  const linked = join(targetDir, "wasm32-unknown-unknown", "release", "fc_invoke.wasm");
  const unmarked = join(targetDir, "fc_invoke.no-target-features.wasm");
  run(process.execPath, [wasmOpt, linked, "--strip-target-features", "-g", ...FEATURES, "-o", unmarked], { cwd: root });
  run("wasm-bindgen", ["--target", "web", "--no-typescript", "--out-dir", outDir, "--out-name", "fc_invoke", unmarked], { cwd: root });
  const wasm = join(outDir, "fc_invoke_bg.wasm");
  const before = statSync(wasm).size;
  const keep = names ? ["-g"] : ["--strip-debug"];
  run(process.execPath, [wasmOpt, wasm, "-Oz", ...TUNING, ...keep, "--strip-producers", ...FEATURES, "-o", wasm], { cwd: root });
  return before;
}
