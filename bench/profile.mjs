// Where fc-invoke's time goes: CPU profiles of the benchmark's scenarios, with wasm function names.
//
//   node bench/profile.mjs            all scenarios; prints flat profiles, writes bench/profile.md
//   node bench/profile.mjs sign-1kb   one scenario (sign-1kb, sign-16mb, e2e-c1, e2e-c64, size)
//
// The shipped .wasm has no names (tools/build.mjs strips them), so this builds the same crate
// the same way (cargo release → wasm-bindgen → wasm-opt -Oz) into a temp dir but keeps the
// name section (-g), copies js/core.js + js/node.js next to it and profiles that copy with the
// inspector's sampling profiler (what `node --cpu-prof` uses). Nothing in the repo is touched but
// bench/profile.md; the .cpuprofile files (open in Chrome DevTools) go to the temp dir.

import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const require = createRequire(import.meta.url);
const work = join(os.tmpdir(), "fc-invoke-bench-profile");
const log = (msg) => process.stderr.write(`[profile] ${msg}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

// ---------------------------------------------------------------------------------------------
// A named build of the current sources

function namedBuild() {
  const target = join(work, "target");
  log("cargo build --release (own target dir, so it does not disturb other builds)");
  run("cargo", ["build", "--release", "--lib", "--target", "wasm32-unknown-unknown", "--target-dir", target]);
  const pkg = join(work, "pkg");
  mkdirSync(join(pkg, "js"), { recursive: true });
  mkdirSync(join(pkg, "dist", "wasm"), { recursive: true });
  run("wasm-bindgen", ["--target", "web", "--no-typescript", "--out-dir", join(pkg, "dist", "wasm"), "--out-name", "fc_invoke", join(target, "wasm32-unknown-unknown", "release", "fc_invoke.wasm")]);
  const wasm = join(pkg, "dist", "wasm", "fc_invoke_bg.wasm");
  const wasmOpt = join(dirname(require.resolve("binaryen/package.json")), "bin", "wasm-opt");
  const features = ["bulk-memory", "sign-ext", "mutable-globals", "nontrapping-float-to-int", "reference-types", "multivalue"];
  run(process.execPath, [wasmOpt, wasm, "-Oz", "-g", "--strip-producers", ...features.map((f) => `--enable-${f}`), "-o", wasm]);
  for (const f of ["core.js", "node.js"]) copyFileSync(join(root, "js", f), join(pkg, "js", f));
  return pathToFileURL(join(pkg, "js", "node.js")).href;
}

// ---------------------------------------------------------------------------------------------
// Profile aggregation

function category(frame) {
  const { url, functionName } = frame;
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)" || functionName === "(idle)" || functionName === "(root)") return functionName;
  if (url.startsWith("wasm://")) return "fc-invoke wasm";
  if (url.includes("/dist/wasm/fc_invoke.js")) return "fc-invoke wasm-bindgen glue (JS)";
  if (url.includes("/js/core.js") || url.includes("/js/node.js")) return "fc-invoke js/core.js";
  if (url.includes("undici")) return "undici (fetch)";
  if (url.includes("/bench/")) return "bench harness";
  if (url.startsWith("node:") || url === "") return functionName && url === "" ? "V8/Node builtins" : "Node internals";
  return "other";
}

function flat(profile) {
  const dt = new Map(); // node id → µs
  for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byFn = new Map();
  const byCat = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const t = dt.get(node.id) ?? 0;
    if (!t) continue;
    const f = node.callFrame;
    if (f.functionName === "(idle)") continue;
    total += t;
    const where = f.url.startsWith("wasm://") ? "wasm" : f.url ? `${f.url.replace(/^.*\/(?=[^/]+$)/, "")}:${f.lineNumber + 1}` : "";
    const key = `${f.functionName || "(anonymous)"}  ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + t);
    const c = category(f);
    byCat.set(c, (byCat.get(c) ?? 0) + t);
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, byFn: sorted(byFn), byCat: sorted(byCat) };
}

async function profiled(name, seconds, body) {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  const t0 = performance.now();
  let ops = 0;
  while (performance.now() - t0 < seconds * 1000) ops += await body();
  const wall = performance.now() - t0;
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  mkdirSync(work, { recursive: true });
  const file = join(work, `${name}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  return { ...flat(profile), ops, wall, file };
}

// ---------------------------------------------------------------------------------------------
// Scenarios (the same request as bench/run.mjs)

const URL_ = "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com/2023-03-30/functions/my-func/invocations?qualifier=prod";
const HEADERS = { "content-type": "application/octet-stream", "x-fc-invocation-type": "Sync", "x-fc-log-type": "None" };
const CREDS = { accessKeyId: "STS.NUgYrLnoC37mZZCNnAbez2Pb1", accessKeySecret: "Bench+Secret/0123456789abcdefghijklmnopq", securityToken: "CAIS" + "Q".repeat(640) };
const OPTS = { action: "InvokeFunction", version: "2023-03-30", date: "2025-11-25T12:00:00Z", nonce: "3f2a9c1e8b7d4a6f9e0c1b2a3d4e5f60" };
const body = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 24);

function startServer() {
  const child = spawn(process.execPath, [join(here, "trivial-server.mjs")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve) => child.once("message", ({ port }) => resolve({ port, stop: () => child.kill() })));
}

async function loop(call, n, concurrency) {
  let started = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < n) {
      started++;
      await call();
    }
  }));
  return n;
}

const scenarios = {
  async "sign-1kb"(pkg) {
    const b = body(1024);
    const sign = () => pkg.signRequest({ method: "POST", url: URL_, headers: HEADERS, body: b }, CREDS, OPTS);
    for (let i = 0; i < 2000; i++) await sign();
    return profiled("sign-1kb", 4, async () => (await loop(sign, 200, 1), 200));
  },
  async "sign-16mb"(pkg) {
    const b = body(16 * 1024 * 1024);
    const sign = () => pkg.signRequest({ method: "POST", url: URL_, headers: HEADERS, body: b }, CREDS, OPTS);
    for (let i = 0; i < 3; i++) await sign();
    return profiled("sign-16mb", 4, async () => (await sign(), 1));
  },
  ...Object.fromEntries(
    [1, 64].map((c) => [
      `e2e-c${c}`,
      async (pkg) => {
        const server = await startServer();
        try {
          const endpoint = `http://127.0.0.1:${server.port}`;
          const client = new pkg.FcClient({ endpoint, credentials: CREDS });
          const b = body(1024);
          const ours = async () => {
            if ((await client.invokeFunction("my-func", { qualifier: "prod", logType: "None", body: b })).status !== 200) throw new Error("not 200");
          };
          const signed = await pkg.signRequest({ method: "POST", url: `${endpoint}/2023-03-30/functions/my-func/invocations?qualifier=prod`, headers: HEADERS, body: b }, CREDS, { action: "InvokeFunction" });
          const bare = async () => {
            const res = await fetch(signed.url, { method: "POST", headers: signed.headers, body: b });
            await res.arrayBuffer();
          };
          await loop(ours, 2000, c);
          await loop(bare, 2000, c);
          const a = await profiled(`e2e-c${c}-fc-invoke`, 4, async () => loop(ours, 256, c));
          const z = await profiled(`e2e-c${c}-bare-fetch`, 4, async () => loop(bare, 256, c));
          return { ...a, baseline: z };
        } finally {
          server.stop();
        }
      },
    ]),
  ),
};

// ---------------------------------------------------------------------------------------------
// Where the .wasm's bytes go: function body sizes from the named build

function wasmFunctionSizes(buf) {
  let pos = 8;
  const leb = () => {
    let result = 0, shift = 0, byte;
    do {
      byte = buf[pos++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  const str = () => {
    const n = leb();
    const s = buf.subarray(pos, pos + n).toString("utf8");
    pos += n;
    return s;
  };
  const limits = () => {
    const flag = buf[pos++];
    leb();
    if (flag & 1) leb();
  };
  let importedFunctions = 0;
  const bodies = [];
  const names = new Map();
  let data = 0;
  while (pos < buf.length) {
    const id = buf[pos++];
    const len = leb();
    const end = pos + len;
    if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        str();
        str();
        const kind = buf[pos++];
        if (kind === 0) (leb(), importedFunctions++);
        else if (kind === 1) (pos++, limits());
        else if (kind === 2) limits();
        else if (kind === 3) pos += 2;
        else if (kind === 4) (pos++, leb());
      }
    } else if (id === 10) {
      for (let n = leb(); n > 0; n--) {
        const size = leb();
        bodies.push(size);
        pos += size;
      }
    } else if (id === 11) {
      data = len;
    } else if (id === 0 && str() === "name") {
      while (pos < end) {
        const sub = buf[pos++];
        const subLen = leb();
        const subEnd = pos + subLen;
        if (sub === 1) for (let n = leb(); n > 0; n--) names.set(leb(), str());
        pos = subEnd;
      }
    }
    pos = end;
  }
  const functions = bodies.map((size, i) => ({ size, name: names.get(importedFunctions + i) ?? `func[${importedFunctions + i}]` }));
  return { functions, data, total: buf.length };
}

function crateOf(name) {
  const m = name.replace(/^[<&\s]+/, "").replace(/^(dyn |mut )/, "").match(/^([A-Za-z_][A-Za-z0-9_]*)/);
  return m ? m[1] : name;
}

function renderSizes(file) {
  const { functions, data, total } = wasmFunctionSizes(readFileSync(file));
  const code = functions.reduce((s, f) => s + f.size, 0);
  const byCrate = new Map();
  for (const f of functions) byCrate.set(crateOf(f.name), (byCrate.get(crateOf(f.name)) ?? 0) + f.size);
  const serde = functions.filter((f) => /serde/.test(f.name)).reduce((s, f) => s + f.size, 0);
  const fmt = functions.filter((f) => /core::fmt|Display|Debug/.test(f.name)).reduce((s, f) => s + f.size, 0);
  const kb = (b) => `${(b / 1024).toFixed(1)} KB`;
  const lines = [
    `## size: where the .wasm's bytes go\n`,
    `Named -Oz build (same code as dist/, plus names): ${kb(total)} total, code ${kb(code)} in ${functions.length} functions, data ${kb(data)}. ` +
      `Functions whose name mentions serde: ${kb(serde)}; core::fmt / Display / Debug: ${kb(fmt)}.\n`,
    "| first path segment of the function name (≈ crate) | code | % of code |",
    "|:--|--:|--:|",
    ...[...byCrate].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([c, b]) => `| \`${c}\` | ${kb(b)} | ${((100 * b) / code).toFixed(1)} % |`),
    "",
    "| largest functions | bytes |",
    "|:--|--:|",
    ...[...functions].sort((a, b) => b.size - a.size).slice(0, 30).map((f) => `| \`${f.name.replace(/\|/g, "\\|").slice(0, 160)}\` | ${f.size} |`),
  ];
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------

const pct = (t, total) => `${((100 * t) / total).toFixed(1)} %`;
const us = (t, ops) => (t / ops).toFixed(t / ops < 10 ? 2 : 1);

function render(name, p) {
  const lines = [`## ${name}\n`, `${p.ops} operations in ${(p.wall / 1000).toFixed(1)} s; sampled CPU ${(p.total / p.ops).toFixed(1)} µs per operation (main thread). Profile: \`${p.file}\`\n`];
  lines.push("| category | % | µs/op |", "|:--|--:|--:|");
  for (const [c, t] of p.byCat) lines.push(`| ${c} | ${pct(t, p.total)} | ${us(t, p.ops)} |`);
  if (p.baseline) {
    lines.push("", `Bare fetch of the same request, for comparison: ${(p.baseline.total / p.baseline.ops).toFixed(1)} µs per call.\n`);
    lines.push("| category (bare fetch) | % | µs/op |", "|:--|--:|--:|");
    for (const [c, t] of p.baseline.byCat) lines.push(`| ${c} | ${pct(t, p.baseline.total)} | ${us(t, p.baseline.ops)} |`);
  }
  if (p.baseline) {
    const base = new Map(p.baseline.byFn.map(([f, t]) => [f, t / p.baseline.ops]));
    const diff = p.byFn.map(([f, t]) => [f, t / p.ops - (base.get(f) ?? 0)]);
    for (const [f, t] of base) if (!p.byFn.some(([g]) => g === f)) diff.push([f, -t]);
    diff.sort((x, y) => y[1] - x[1]);
    lines.push("", "| functions costing fc-invoke more than the bare fetch | extra µs/op |", "|:--|--:|");
    for (const [f, d] of diff.slice(0, 30)) lines.push(`| \`${f.replace(/\|/g, "\\|")}\` | ${d.toFixed(d < 10 ? 2 : 1)} |`);
  }
  lines.push("", "| top functions by self time | % | µs/op |", "|:--|--:|--:|");
  for (const [f, t] of p.byFn.slice(0, 30)) lines.push(`| \`${f.replace(/\|/g, "\\|")}\` | ${pct(t, p.total)} | ${us(t, p.ops)} |`);
  return lines.join("\n") + "\n";
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("--"));
for (const w of wanted) if (!scenarios[w] && w !== "size") throw new Error(`unknown scenario ${w}; one of ${Object.keys(scenarios).join(", ")}`);
const entry = namedBuild();
const pkg = await import(entry);
const out = [`# fc-invoke CPU profiles\n`, `\`node bench/profile.mjs ${process.argv.slice(2).join(" ")}\`, Node ${process.version}, ${os.cpus()[0]?.model}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. Sampling every 100 µs; a named -Oz build of the current sources.\n`];
for (const [name, fn] of Object.entries(scenarios)) {
  if (wanted.length && !wanted.includes(name)) continue;
  log(name);
  const p = await fn(pkg);
  out.push(render(name, p));
}
if (!wanted.length || wanted.includes("size")) out.push(renderSizes(join(work, "pkg", "dist", "wasm", "fc_invoke_bg.wasm")));
const md = out.join("\n");
process.stdout.write(md);
if (!wanted.length) writeFileSync(join(here, "profile.md"), md);
process.exit(0);
