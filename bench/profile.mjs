// Where fc-invoke's time goes: CPU profiles of the benchmark's scenarios, with wasm function names.
//
//   node bench/profile.mjs            all scenarios; prints flat profiles, writes bench/profile.md
//   node bench/profile.mjs sign-1kb   one scenario (sign-1kb, sign-16mb, e2e-c1, e2e-c64, size)
//
// The shipped .wasm has no names (tools/build.mjs strips them), so this builds the same crate
// the same way (tools/wasm-build.mjs) into a temp dir but keeps the
// name section (-g), copies js/core.js + js/node.js next to it and profiles that copy with the
// inspector's sampling profiler (what `node --cpu-prof` uses). Nothing in the repo is touched but
// bench/profile.md; the .cpuprofile files (open in Chrome DevTools) go to the temp dir.

import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createInterface } from "node:readline";
import { Session } from "node:inspector/promises";
import os from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildWasm, run as runCommand } from "../tools/wasm-build.mjs";
import { wasmLayout } from "./wasm-layout.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const work = join(os.tmpdir(), "fc-invoke-bench-profile");
const log = (msg) => process.stderr.write(`[profile] ${msg}\n`);

const run = (cmd, args, opts = {}) => runCommand(cmd, args, { cwd: root, ...opts });

// ---------------------------------------------------------------------------------------------
// A named build of the current sources

function namedBuild() {
  // A fresh package dir: wasm-bindgen names the snippets folder by a hash, so an old build's
  // folder would otherwise linger next to the new one.
  const pkg = join(work, "pkg");
  rmSync(pkg, { recursive: true, force: true });
  const out = join(pkg, "dist", "wasm");
  mkdirSync(join(pkg, "js"), { recursive: true });
  mkdirSync(out, { recursive: true });
  // As tools/build.mjs builds it, with names; in an own target dir, so it disturbs no other
  // build. Writes fc_invoke.js, fc_invoke_bg.wasm and snippets/fc-invoke-<hash>/src/wasm/host.js
  // (the `#[wasm_bindgen(module = …)]` JS the glue imports).
  log("cargo build --release, wasm-bindgen, wasm-opt -Oz -g");
  buildWasm({ root, targetDir: join(work, "target"), outDir: out, names: true });
  // The JS face: every module in js/ (node.js imports core.js, which imports ../dist/wasm/…).
  for (const f of readdirSync(join(root, "js")).filter((f) => f.endsWith(".js"))) copyFileSync(join(root, "js", f), join(pkg, "js", f));
  // Every relative import of the glue and of js/*.js must resolve inside the copy, or the
  // profile would silently load something else (or fail at import with a less clear error).
  const glue = join(out, "fc_invoke.js");
  for (const file of [glue, ...readdirSync(join(pkg, "js")).map((f) => join(pkg, "js", f))]) {
    for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      if (!existsSync(join(dirname(file), spec))) throw new Error(`named build: ${file} imports ${spec}, which wasm-bindgen did not produce`);
    }
  }
  return pathToFileURL(join(pkg, "js", "node.js")).href;
}
// ---------------------------------------------------------------------------------------------
// Profile aggregation (the inspector's sampling profiler)

const isOurWasm = (url) => url.startsWith("wasm://") && url.includes("fc_invoke");

function category(frame) {
  const { url, functionName } = frame;
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)" || functionName === "(idle)" || functionName === "(root)") return functionName;
  // Node's fetch parses HTTP with llhttp compiled to wasm (unnamed functions, another module).
  if (url.startsWith("wasm://") && !isOurWasm(url)) return "undici (fetch)";
  // V8's adapters between wasm and JS calls (one per imported/exported signature), shown with a wasm URL.
  if (isOurWasm(url) && /^(wasm-to-js|js-to-wasm)/.test(functionName)) return "wasm↔JS call adapters";
  if (isOurWasm(url)) return "fc-invoke wasm";
  if (url.includes("/dist/wasm/fc_invoke.js")) return "fc-invoke wasm-bindgen glue (JS)";
  if (url.includes("/dist/wasm/snippets/")) return "fc-invoke src/wasm/host.js (snippet)";
  if (url.includes("/js/core.js") || url.includes("/js/node.js")) return "fc-invoke js/core.js";
  if (url.includes("undici")) return "undici (fetch)";
  if (url.includes("/bench/")) return "bench harness";
  if (url.startsWith("node:") || url === "") return functionName && url === "" ? "V8/Node builtins" : "Node internals";
  return "other";
}

// The categories that "own" the time of the V8 builtins and Node internals they call.
const OWNERS = new Set(["fc-invoke wasm", "wasm↔JS call adapters", "fc-invoke wasm-bindgen glue (JS)", "fc-invoke src/wasm/host.js (snippet)", "fc-invoke js/core.js", "undici (fetch)", "bench harness"]);

// The glue's imports are anonymous functions inside `__wbg_…: function () { return handleError(function (…) {…}) }`:
// name them after the import, so a profile says `__wbg_get_… (Reflect.get)` instead of `(anonymous) fc_invoke.js:214`.
let glueLines = null;
function glueName(frame) {
  if (!frame.url.includes("/dist/wasm/fc_invoke.js") || (frame.functionName && !/^__wb(g|indgen)/.test(frame.functionName))) return frame.functionName;
  glueLines ??= readFileSync(fileURLToPath(frame.url), "utf8").split("\n");
  for (let l = frame.lineNumber; l >= Math.max(0, frame.lineNumber - 3); l--) {
    const m = glueLines[l]?.match(/^\s*(__wbg\w+|__wbindgen\w+):/);
    if (m) return `${m[1]} (${(glueLines[l + 1] ?? "").trim().replace(/^const ret = /, "").slice(0, 40)})`;
  }
  return frame.functionName;
}

function frameKey(f) {
  const where = f.url.startsWith("wasm://") ? (isOurWasm(f.url) ? "wasm" : "llhttp wasm") : f.url ? `${f.url.replace(/^.*\/(?=[^/]+$)/, "")}:${f.lineNumber + 1}` : "";
  return `${glueName(f) || "(anonymous)"}  ${where}`.trim();
}

function flat(profile) {
  const dt = new Map(); // node id → µs
  for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const parent = new Map();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node);
  const byFn = new Map();
  const byCat = new Map();
  const byOwner = new Map();
  const add = (m, k, t) => m.set(k, (m.get(k) ?? 0) + t);
  let total = 0;
  for (const node of profile.nodes) {
    const t = dt.get(node.id) ?? 0;
    if (!t) continue;
    const f = node.callFrame;
    if (f.functionName === "(idle)") continue;
    total += t;
    add(byFn, frameKey(f), t);
    const c = category(f);
    add(byCat, c, t);
    // Owner: the nearest frame on the stack that is fc-invoke's, undici's or the harness's code, so
    // that a TextDecoder call made by the glue counts for the glue and a stream made by fetch for undici.
    let owner = c === "GC" || c === "(program)" ? c : null;
    for (let n = node; !owner && n; n = parent.get(n.id)) {
      const k = category(n.callFrame);
      if (OWNERS.has(k)) owner = k;
    }
    add(byOwner, owner ?? "Node event loop, microtask queue (no owner on the stack)", t);
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, byFn: sorted(byFn), byCat: sorted(byCat), byOwner: sorted(byOwner) };
}

// The main thread's own scheduler statistics (Linux): time on a CPU and time runnable but waiting.
// The sampling profiler charges wall time to the frame on the stack, including time the thread was
// preempted (on a 2-core VM the server often runs in its place right after `writev` wakes it).
function schedstat() {
  try {
    const [run, wait] = readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, "utf8").split(" ").map(Number);
    return { run: run / 1000, wait: wait / 1000 };
  } catch {
    return null;
  }
}

async function profiled(name, seconds, body) {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  const s0 = schedstat();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let ops = 0;
  while (performance.now() - t0 < seconds * 1000) ops += await body();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s1 = schedstat();
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  mkdirSync(work, { recursive: true });
  const file = join(work, `${name}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  writeFileSync(file.replace(/\.cpuprofile$/, ".ops.json"), JSON.stringify({ ops, wall }));
  const sched = s0 && s1 ? { run: (s1.run - s0.run) / ops, wait: (s1.wait - s0.wait) / ops } : null;
  return { ...flat(profile), ops, wall, file, processCpu: (cpu.user + cpu.system) / ops, sched };
}

// How often each of fc-invoke's JS functions runs per operation, from V8's precise coverage (call
// counts, exact): every `__wbg_…`/`__wbindgen_…` call is one crossing from wasm into JS.
async function callCounts(body, ops) {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.startPreciseCoverage", { callCount: true, detailed: false });
  await body(Math.min(ops, 20));
  await session.post("Profiler.takePreciseCoverage"); // resets the counters
  await body(ops);
  const { result } = await session.post("Profiler.takePreciseCoverage");
  await session.post("Profiler.stopPreciseCoverage");
  await session.post("Profiler.disable");
  session.disconnect();
  const rows = [];
  for (const script of result) {
    const file = script.url.includes("/dist/wasm/fc_invoke.js") ? "fc_invoke.js"
      : script.url.includes("/dist/wasm/snippets/") ? "host.js"
      : script.url.includes("/js/core.js") ? "core.js"
      : script.url.includes("/js/node.js") ? "node.js"
      : null;
    if (!file) continue;
    const source = readFileSync(fileURLToPath(script.url), "utf8");
    for (const fn of script.functions) {
      const count = fn.ranges[0]?.count ?? 0;
      if (!count || fn.ranges[0].startOffset === 0) continue; // the module itself
      const line = source.slice(0, fn.ranges[0].startOffset).split("\n").length - 1;
      const name = glueName({ functionName: fn.functionName, url: script.url, lineNumber: line }) || "(anonymous)";
      rows.push({ name, where: `${file}:${line + 1}`, perOp: count / ops, file });
    }
  }
  rows.sort((a, b) => b.perOp - a.perOp);
  // An import's anonymous inner function runs exactly as often as the import: show the import only.
  const seen = new Set();
  return rows.filter((r) => {
    const k = `${r.name}|${r.perOp}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
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

function signScenario(bytes) {
  return async (pkg) => {
    const b = body(bytes);
    // node:crypto loads one macrotask after the import (js/node.js); a loop of promises alone
    // never yields one, and would profile bodies hashed in wasm instead.
    await new Promise((resolve) => setImmediate(resolve));
    return { ours: () => pkg.signRequest({ method: "POST", url: URL_, headers: HEADERS, body: b }, CREDS, OPTS), stop() {} };
  };
}

/** fc-invoke's `invokeFunction` and a bare unsigned fetch of the same request (redirect mode included), as bench/run.mjs has them. */
async function e2eSetup(pkg) {
  const server = await startServer();
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = new pkg.FcClient({ endpoint, credentials: CREDS });
  const b = body(1024);
  const ours = async () => {
    if ((await client.invokeFunction("my-func", { qualifier: "prod", logType: "None", body: b })).status !== 200) throw new Error("not 200");
  };
  const signed = await pkg.signRequest({ method: "POST", url: `${endpoint}/2023-03-30/functions/my-func/invocations?qualifier=prod`, headers: HEADERS, body: b }, CREDS, { action: "InvokeFunction" });
  const bare = async () => {
    const res = await fetch(signed.url, { method: "POST", headers: signed.headers, body: b, redirect: "error" });
    await res.arrayBuffer();
  };
  return { ours, bare, stop: () => server.stop() };
}

// warm: calls before measuring; batch: calls per loop() in the inspector run; perfCalls: calls
// measured per perf run (after perfWarm); countOps: calls for the call counts (0: none).
const scenarios = {
  "sign-1kb": { setup: signScenario(1024), concurrency: 1, warm: 2000, batch: 200, seconds: 4, countOps: 200, perfWarm: 20000, perfCalls: 40000 },
  "sign-16mb": { setup: signScenario(16 * 1024 * 1024), concurrency: 1, warm: 3, batch: 1, seconds: 4, countOps: 0 },
  "e2e-c1": { setup: e2eSetup, concurrency: 1, warm: 2000, batch: 256, seconds: 5, countOps: 200, perfWarm: 6000, perfCalls: 4000 },
  "e2e-c64": { setup: e2eSetup, concurrency: 64, warm: 2000, batch: 256, seconds: 5, countOps: 256, perfWarm: 6000, perfCalls: 8000 },
};

async function inspect(name, sc, pkg) {
  const { ours, bare, stop } = await sc.setup(pkg);
  try {
    const c = sc.concurrency;
    await loop(ours, sc.warm, c);
    if (bare) await loop(bare, sc.warm, c);
    const a = await profiled(bare ? `${name}-fc-invoke` : name, sc.seconds, () => loop(ours, sc.batch, c));
    const z = bare ? await profiled(`${name}-bare-fetch`, sc.seconds, () => loop(bare, sc.batch, c)) : null;
    const counts = sc.countOps ? await callCounts((n) => loop(ours, n, c), sc.countOps) : null;
    return { ...a, baseline: z, counts };
  } finally {
    await stop();
  }
}

// ---------------------------------------------------------------------------------------------
// --perf: CPU samples of the whole client process with Linux perf
//
// The inspector samples the main thread's wall time; perf (cpu-clock, frame-pointer call chains,
// V8's jitdump for JS and wasm names) samples CPU time of every thread: what process.cpuUsage()
// and bench/run.mjs count. Each contender runs in its own process (this file with --child=…),
// warmed up, with perf enabled only around the measured calls; runs alternate fc-invoke, bare.

const PERF_DIR = join(work, "perf");

function perfUsable() {
  if (process.platform !== "linux") return "not Linux";
  const r = spawnSync("perf", ["record", "-q", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"], { stdio: "ignore" });
  return r.status === 0 ? null : "perf is missing or may not record (perf_event_paranoid; run as root or lower it)";
}

async function perfChild(spec) {
  const [name, which, calls, ctl, ack] = spec.split("|");
  const sc = scenarios[name];
  const pkg = await import(pathToFileURL(join(work, "pkg", "js", "node.js")).href);
  const { ours, bare, stop } = await sc.setup(pkg);
  const call = which === "bare-fetch" ? bare : ours;
  await loop(call, sc.perfWarm, sc.concurrency);
  const [c, a] = [openSync(ctl, "w"), openSync(ack, "r")];
  const control = (cmd) => {
    writeSync(c, `${cmd}\n`);
    readSync(a, Buffer.alloc(8)); // perf answers "ack"
  };
  control("enable");
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await loop(call, Number(calls), sc.concurrency);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  control("disable");
  process.stdout.write(JSON.stringify({ pid: process.pid, calls: Number(calls), cpu: (cpu.user + cpu.system) / Number(calls), wall }) + "\n");
  await stop();
  process.exit(0);
}

function perfRecord(name, which, rep) {
  const sc = scenarios[name];
  const ctl = join(PERF_DIR, "ctl"), ack = join(PERF_DIR, "ack");
  for (const f of [ctl, ack]) rmSync(f, { force: true });
  run("mkfifo", [ctl, ack]);
  const raw = join(PERF_DIR, "raw.data");
  const data = join(PERF_DIR, `${name}-${which}-${rep}.data`);
  const args = ["record", "-q", "-k", "mono", "-g", "-e", "cpu-clock", "-F", "10000", "-D", "-1", `--control=fifo:${ctl},${ack}`, "-o", raw, "--"];
  const child = [process.execPath, "--perf-prof", "--interpreted-frames-native-stack", fileURLToPath(import.meta.url), `--child=${[name, which, sc.perfCalls, ctl, ack].join("|")}`];
  // cwd: V8 writes its jitdump (jit-<pid>.dump) there, and perf inject its jitted-<pid>-<n>.so files.
  const r = spawnSync("perf", [...args, ...child], { cwd: PERF_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`perf record of ${name} ${which} failed (exit ${r.status})`);
  const meta = JSON.parse(r.stdout.trim().split("\n").pop());
  run("perf", ["inject", "--jit", "-i", raw, "-o", data], { cwd: PERF_DIR, stdio: ["ignore", "ignore", "inherit"] });
  rmSync(raw, { force: true });
  return { meta, data };
}

const PERF_OWNERS = new Set(["wasm", "glue", "host.js", "core.js", "undici", "harness"]);
const FC_KINDS = new Set(["wasm", "glue", "host.js", "core.js"]);
const PERF_OWNER_NAMES = {
  wasm: "fc-invoke wasm",
  glue: "fc-invoke wasm-bindgen glue (JS)",
  "host.js": "fc-invoke src/wasm/host.js (snippet)",
  "core.js": "fc-invoke js/core.js",
  undici: "undici (fetch), with the Node internals it calls",
  harness: "bench harness",
};

/** What a perf frame is, and a short name for it. */
function perfFrame(sym, dso) {
  const jit = dso.startsWith("/tmp/perf-") || /jitted-\d+-\d+\.so$/.test(dso);
  if (dso.includes("kernel")) return { kind: "kernel", name: sym };
  if (jit) {
    if (/^(Stub:)?(js-to-wasm|wasm-to-js)/.test(sym) || /^JS:(js-to-wasm|wasm-to-js)/.test(sym)) return { kind: "adapter", name: `wasm↔JS adapter ${sym.replace(/^(Stub:|JS:)/, "").replace(/-\d+-\w+$/, "").slice(0, 90)}` };
    const js = sym.match(/^JS:[*^~+]?(.*?) ?((?:file:\/\/|node:)\S+?):(\d+)(?::\d+)?$/);
    if (js) {
      const [, fn, url, line] = js;
      const name = glueName({ functionName: fn, url, lineNumber: Number(line) - 1 }) || "(anonymous)";
      const short = `${name} ${url.replace(/^.*\/(?=[^/]+$)/, "").replace(/^node:internal\/(deps\/)?/, "")}:${line}`;
      const kind = url.includes("/dist/wasm/fc_invoke.js") ? "glue"
        : url.includes("/dist/wasm/snippets/") ? "host.js"
        : url.includes("/js/core.js") || url.includes("/js/node.js") ? "core.js"
        : url.includes("undici") ? "undici"
        : url.includes("/bench/") ? "harness"
        : "node";
      return { kind, name: short };
    }
    if (sym.startsWith("JS:wasm-function[")) return { kind: "undici", name: `llhttp ${sym.slice(3).replace(/-\d+-\w+$/, "")}` };
    if (sym.startsWith("JS:")) return { kind: "wasm", name: sym.slice(3).replace(/-\d+-(turbofan|liftoff)$/, "").replace(/::h[0-9a-f]{16}/g, "").replace(/\[[0-9a-f]{16}\]/g, "") };
    if (/^(Builtin|BytecodeHandler|RegExp):/.test(sym)) return { kind: "v8", name: `V8 ${sym}` };
    return { kind: "v8", name: `V8 JIT ${sym}` };
  }
  const short = sym.replace(/\(.*$/, "").replace(/^non-virtual thunk to /, "");
  if (/^Builtins_/.test(sym)) return { kind: "v8", name: `V8 Builtin:${sym.slice(9)}` };
  if (/Scaveng|MarkCompact|MinorMarkSweep|Heap::|GCTracer|Sweeper|Marking|Evacuat|ConcurrentMark|IncrementalMarking|MemoryAllocator|ArrayBufferSweeper/.test(sym)) return { kind: "gc", name: `V8 GC ${short}` };
  if (/compiler::|Compil|Turbofan|Maglev|Baseline|Parser|Bytecode/.test(sym)) return { kind: "compiler", name: `V8 compiler ${short}` };
  if (sym.startsWith("v8::") || sym.startsWith("Runtime_")) return { kind: "v8", name: `V8 ${short}` };
  return { kind: "native", name: `${short} (${dso.replace(/^.*\//, "")})` };
}

/** A kernel leaf as the syscall (or fault, interrupt) it belongs to. */
function kernelLeaf(frames) {
  const entry = frames.findIndex((f) => /^(entry_SYSCALL|asm_exc_page_fault|asm_sysvec|asm_common_interrupt|ret_from_fork)/.test(f.sym));
  if (entry < 0) return "[kernel] other";
  const s = frames[entry].sym;
  if (s.startsWith("asm_exc_page_fault")) return "[kernel] page fault";
  if (!s.startsWith("entry_SYSCALL")) return "[kernel] interrupt / scheduler";
  const user = frames[entry + 1]?.sym ?? "?";
  return `[kernel] syscall ${user.replace(/^(__GI_)?_*(libc_)?/, "")}`;
}

async function perfAggregate(data, meta) {
  const perCall = (ns) => ns / 1000 / meta.calls;
  const sums = { owner: new Map(), leaf: new Map(), ownerFn: new Map(), fcIncl: new Map() };
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  const take = (s) => {
    if (!s || s.pid !== meta.pid) return;
    const frames = s.frames.map((f) => ({ ...f, ...perfFrame(f.sym, f.dso) }));
    const leafKind = frames[0]?.kind ?? "native";
    const leaf = leafKind === "kernel" ? kernelLeaf(frames) : frames[0]?.name ?? "?";
    let owner, ownerFn = "";
    if (s.tid !== meta.pid) {
      owner = frames.some((f) => f.kind === "gc") ? "other threads: GC" : frames.some((f) => f.kind === "compiler") ? "other threads: JIT compiler" : "other threads: other";
    } else if (leafKind === "gc" || (leafKind === "kernel" && frames.some((f) => f.kind === "gc"))) {
      owner = "GC (main thread)";
    } else {
      const o = frames.find((f) => PERF_OWNERS.has(f.kind));
      owner = o ? PERF_OWNER_NAMES[o.kind] : "Node event loop and internals (no fc-invoke/undici frame)";
      ownerFn = o ? o.name : "";
    }
    const t = perCall(s.period);
    total += t;
    add(sums.owner, owner, t);
    add(sums.leaf, leaf, t);
    if (ownerFn) add(sums.ownerFn, `${ownerFn}`, t);
    // fc-invoke's own functions, inclusive of the V8 code they call but not of fetch's work.
    if (ownerFn && FC_KINDS.has(frames.find((f) => PERF_OWNERS.has(f.kind)).kind)) {
      const seen = new Set();
      for (const f of frames) if (FC_KINDS.has(f.kind) && !seen.has(f.name)) (seen.add(f.name), add(sums.fcIncl, f.name, t));
    }
  };
  const p = spawn("perf", ["script", "-i", data, `--pid=${meta.pid}`, "-F", "pid,tid,period,ip,sym,dso", "--max-stack=80"], { cwd: PERF_DIR, stdio: ["ignore", "pipe", "ignore"] });
  let cur = null;
  for await (const line of createInterface({ input: p.stdout })) {
    if (!line.trim()) {
      take(cur);
      cur = null;
      continue;
    }
    const head = line.match(/^\s*(\d+)\/(\d+)\s+(\d+)\s*$/);
    if (head) {
      take(cur);
      cur = { pid: +head[1], tid: +head[2], period: +head[3], frames: [] };
      continue;
    }
    const f = line.trim().match(/^[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)$/);
    if (f && cur) cur.frames.push({ sym: f[1], dso: f[2] });
  }
  take(cur);
  return { total, ...sums };
}

async function perfScenario(name, reps) {
  const sc = scenarios[name];
  const contenders = name.startsWith("e2e") ? ["fc-invoke", "bare-fetch"] : ["fc-invoke"];
  const acc = Object.fromEntries(contenders.map((w) => [w, { runs: [], total: 0, owner: new Map(), leaf: new Map(), ownerFn: new Map(), fcIncl: new Map() }]));
  for (let rep = 1; rep <= reps; rep++) {
    for (const which of contenders) {
      log(`perf ${name} ${which} (${rep}/${reps})`);
      const { meta, data } = perfRecord(name, which, rep);
      const agg = await perfAggregate(data, meta);
      // Keep the recording for `perf report` only for the last repetition: jitted code is ~30 MB per run.
      if (rep < reps) for (const f of readdirSync(PERF_DIR)) if (f.includes(`-${meta.pid}`) || f === basename(data)) rmSync(join(PERF_DIR, f), { force: true });
      const a = acc[which];
      a.runs.push(meta);
      a.total += agg.total / reps;
      for (const k of ["owner", "leaf", "ownerFn", "fcIncl"]) for (const [n, v] of agg[k]) a[k].set(n, (a[k].get(n) ?? 0) + v / reps);
    }
  }
  return acc;
}

// ---------------------------------------------------------------------------------------------
// Where the .wasm's bytes go: function body sizes from the named build (bench/wasm-layout.mjs)

const CRATES = ["fc_invoke", "sha2", "hmac", "digest", "base64", "block_buffer", "hybrid_array", "js_sys", "web_sys", "wasm_bindgen_futures", "wasm_bindgen", "dlmalloc", "alloc", "core", "std"];

function crateOf(name) {
  if (/^(wasmclient_|__wbindgen|__wbg_|__externref|signRequest|setSyncDigest|__wbg)/.test(name) || /externref shim|multivalue shim/.test(name)) return "wasm-bindgen exports and shims";
  if (/^func\[\d+\]$/.test(name)) return "(unnamed)";
  if (/^<(str|char|\[T\]|\[u8\]|[iuf](8|16|32|64|128|size))>/.test(name)) return "core";
  if (/^(__multi3|__ashl|__lshr|__udiv|__umod|__div|mem(cmp|cpy|set|move)|bcmp)\w*$/.test(name)) return "compiler_builtins";
  // The first known crate named in the path: `<char as core::fmt::Debug>::fmt` is core's,
  // `<fc_invoke::X as core::fmt::Display>::fmt` is fc_invoke's.
  const segments = [...name.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::/g)].map((m) => m[1]);
  return segments.find((s) => CRATES.includes(s)) ?? segments[0] ?? name;
}

function renderSizes(file) {
  const { functions, data, total } = wasmLayout(readFileSync(file));
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
const µs = (x) => x.toFixed(Math.abs(x) < 10 ? 2 : 1);
const code = (s) => `\`${s.replace(/\|/g, "\\|").replace(/`/g, "'")}\``;

function render(name, p) {
  const lines = [`## ${name}\n`];
  const sched = p.sched ? `; the main thread was on a CPU ${p.sched.run.toFixed(1)} µs and runnable but waiting ${p.sched.wait.toFixed(1)} µs per operation (schedstat)` : "";
  lines.push(
    `${p.ops} operations in ${(p.wall / 1000).toFixed(1)} s; sampled ${(p.total / p.ops).toFixed(1)} µs per operation on the main thread (wall time while not idle)${sched}; ` +
      `process CPU (all threads, profiler included) ${p.processCpu.toFixed(1)} µs per operation. Profile: \`${p.file}\`\n`,
  );
  const table = (title, rows, base, baseOps) => {
    lines.push(base ? `| ${title} | µs/op | % | bare fetch µs/op | extra µs/op |` : `| ${title} | % | µs/op |`, base ? "|:--|--:|--:|--:|--:|" : "|:--|--:|--:|");
    const names = base ? [...new Set([...rows.map(([c]) => c), ...base.map(([c]) => c)])] : rows.map(([c]) => c);
    const get = (list, c) => list.find(([d]) => d === c)?.[1] ?? 0;
    const data = names.map((c) => [c, get(rows, c) / p.ops, base ? get(base, c) / baseOps : 0]).sort((a, b) => b[1] - b[2] - (a[1] - a[2]) || b[1] - a[1]);
    for (const [c, t, b] of data) lines.push(base ? `| ${c} | ${µs(t)} | ${pct(t * p.ops, p.total)} | ${µs(b)} | ${µs(t - b)} |` : `| ${c} | ${pct(t * p.ops, p.total)} | ${µs(t)} |`);
    lines.push("");
  };
  table("category of the sampled frame", p.byCat, p.baseline?.byCat, p.baseline?.ops);
  table("owner: nearest fc-invoke / undici / harness frame on the stack", p.byOwner, p.baseline?.byOwner, p.baseline?.ops);
  if (p.baseline) {
    lines.push(`Bare fetch of the same request: ${p.baseline.ops} calls in ${(p.baseline.wall / 1000).toFixed(1)} s; sampled ${(p.baseline.total / p.baseline.ops).toFixed(1)} µs per call${p.baseline.sched ? `; main thread on a CPU ${p.baseline.sched.run.toFixed(1)} µs, waiting ${p.baseline.sched.wait.toFixed(1)} µs per call` : ""}; process CPU ${p.baseline.processCpu.toFixed(1)} µs per call. Profile: \`${p.baseline.file}\`\n`);
    const base = new Map(p.baseline.byFn.map(([f, t]) => [f, t / p.baseline.ops]));
    const diff = p.byFn.map(([f, t]) => [f, t / p.ops - (base.get(f) ?? 0)]);
    for (const [f, t] of base) if (!p.byFn.some(([g]) => g === f)) diff.push([f, -t]);
    diff.sort((x, y) => y[1] - x[1]);
    lines.push("| functions (self time) costing fc-invoke more than the bare fetch | extra µs/op |", "|:--|--:|");
    for (const [f, d] of diff.slice(0, 30)) lines.push(`| ${code(f)} | ${µs(d)} |`);
    lines.push("");
  }
  lines.push("| top functions by self time | % | µs/op |", "|:--|--:|--:|");
  for (const [f, t] of p.byFn.slice(0, 30)) lines.push(`| ${code(f)} | ${pct(t, p.total)} | ${us(t, p.ops)} |`);
  if (p.counts) {
    const sum = (pred) => p.counts.filter(pred).reduce((s, r) => s + r.perOp, 0);
    const imports = sum((r) => /^__wb(g|indgen)/.test(r.name));
    const find = (n) => p.counts.find((r) => r.name === n)?.perOp ?? 0;
    lines.push(
      "",
      `Calls per operation (V8 precise coverage, exact): ${imports.toFixed(1)} calls from wasm into JS imports (\`__wbg_…\`, \`__wbindgen_…\`); ` +
        `${find("passStringToWasm0").toFixed(1)} strings copied into wasm (\`passStringToWasm0\`), ${find("getStringFromWasm0").toFixed(1)} decoded out of it (\`getStringFromWasm0\`); ` +
        `${find("handleError").toFixed(1)} \`handleError\` wrappers (an \`apply\` with \`arguments\` each).\n`,
      "| fc-invoke JS function | where | calls/op |",
      "|:--|:--|--:|",
      ...p.counts.filter((r) => r.perOp >= 0.01).slice(0, 45).map((r) => `| ${code(r.name)} | ${r.where} | ${r.perOp.toFixed(r.perOp < 10 ? 2 : 1)} |`),
    );
  }
  return lines.join("\n") + "\n";
}

function renderPerf(name, acc, reps) {
  const ours = acc["fc-invoke"], bare = acc["bare-fetch"];
  const med = (runs) => {
    const v = runs.map((r) => r.cpu).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  const calls = ours.runs[0].calls;
  const lines = [
    `## perf: ${name}\n`,
    `Linux perf, cpu-clock at 10 kHz, all threads of the client process, ${reps} run${reps > 1 ? "s" : ""} of ${calls} calls per contender after ${scenarios[name].perfWarm} warm-up calls (alternating, one process each). ` +
      `Process CPU per call (process.cpuUsage(), median of runs; perf's own sampling included): fc-invoke ${med(ours.runs).toFixed(1)} µs (runs: ${ours.runs.map((r) => r.cpu.toFixed(0)).join(", ")})` +
      (bare ? `, bare fetch ${med(bare.runs).toFixed(1)} µs (runs: ${bare.runs.map((r) => r.cpu.toFixed(0)).join(", ")})` : "") +
      `. Sampled: fc-invoke ${ours.total.toFixed(1)} µs per call${bare ? `, bare fetch ${bare.total.toFixed(1)} µs, extra ${(ours.total - bare.total).toFixed(1)} µs` : ""}.\n`,
  ];
  const table = (title, key, n) => {
    const names = [...new Set([...ours[key].keys(), ...(bare ? bare[key].keys() : [])])];
    const rows = names.map((k) => [k, ours[key].get(k) ?? 0, bare?.[key].get(k) ?? 0]).sort((a, b) => (bare ? b[1] - b[2] - (a[1] - a[2]) : b[1] - a[1]));
    lines.push(bare ? `| ${title} | fc-invoke µs/call | bare fetch µs/call | extra µs/call |` : `| ${title} | µs/call | % |`, bare ? "|:--|--:|--:|--:|" : "|:--|--:|--:|");
    for (const [k, a, b] of rows.slice(0, n)) lines.push(bare ? `| ${code(k)} | ${µs(a)} | ${µs(b)} | ${µs(a - b)} |` : `| ${code(k)} | ${µs(a)} | ${pct(a, ours.total)} |`);
    lines.push("");
  };
  table("owner (nearest fc-invoke / undici frame on the stack; GC and other threads apart)", "owner", 20);
  if (bare) {
    lines.push(
      "perf sees TurboFan-inlined functions as the function they were inlined into, and the two processes inline differently: " +
        "in the bare fetch, undici code inlined into the harness's call counts as `bench harness`, and an undici function can show up under its caller. " +
        "Compare owners and leaves; use the inspector tables above for which undici functions run.\n",
    );
  }
  table("owning function (the nearest fc-invoke / undici frame; includes the V8 and Node code it calls)", "ownerFn", 40);
  table("leaf function (self time)", "leaf", 40);
  const incl = [...ours.fcIncl].sort((a, b) => b[1] - a[1]);
  lines.push(
    "fc-invoke's functions inclusive of everything they call except fetch's work (samples whose nearest owner is fc-invoke code; " +
      "the futures and closure plumbing at the top of every stack is left out):\n",
    "| fc-invoke function (inclusive) | µs/call |",
    "|:--|--:|",
    ...incl
      .filter(([k]) => !/^(wasm_bindgen::convert::closures|wasm_bindgen__convert__closures|js_sys::futures|real fc_invoke\.js|cb0 fc_invoke\.js)/.test(k))
      .slice(0, 50)
      .map(([k, v]) => `| ${code(k)} | ${µs(v)} |`),
    "",
  );
  return lines.join("\n") + "\n";
}

const argv = process.argv.slice(2);
const childSpec = argv.find((a) => a.startsWith("--child="))?.slice(8);
if (childSpec) await perfChild(childSpec);
const wantPerf = argv.includes("--perf");
const perfReps = Number(argv.find((a) => a.startsWith("--perf-reps="))?.slice(12) ?? 3);
const wanted = argv.filter((a) => !a.startsWith("--"));
for (const w of wanted) if (!scenarios[w] && w !== "size") throw new Error(`unknown scenario ${w}; one of ${Object.keys(scenarios).join(", ")}, size`);
const perfProblem = wantPerf ? perfUsable() : null;
if (perfProblem) throw new Error(`--perf: ${perfProblem}`);
const commit = (() => {
  try {
    const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim();
    const dirty = spawnSync("git", ["status", "--porcelain", "--", "src", "js", "Cargo.toml", "Cargo.lock"], { cwd: root, encoding: "utf8" }).stdout.split("\n").filter(Boolean).map((l) => l.slice(3));
    return dirty.length ? `${head} with uncommitted changes in ${dirty.join(", ")}` : head;
  } catch {
    return "unknown";
  }
})();
const entry = namedBuild();
const pkg = await import(entry);
const out = [
  `# fc-invoke CPU profiles\n`,
  `\`node bench/profile.mjs ${argv.join(" ")}\`, Node ${process.version}, ${os.cpus()[0]?.model} × ${os.cpus().length}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. ` +
    `A named -Oz build of the current sources (commit ${commit}). Inspector sampling every 100 µs (main thread, wall time)${wantPerf ? "; the perf sections sample CPU time of all threads" : ""}.\n`,
];
const wantedScenario = (name) => !wanted.length || wanted.includes(name);
for (const [name, sc] of Object.entries(scenarios)) {
  if (!wantedScenario(name)) continue;
  log(name);
  out.push(render(name, await inspect(name, sc, pkg)));
}
if (wantPerf) {
  rmSync(PERF_DIR, { recursive: true, force: true });
  mkdirSync(PERF_DIR, { recursive: true });
  for (const name of Object.keys(scenarios).filter((n) => scenarios[n].perfCalls && wantedScenario(n))) out.push(renderPerf(name, await perfScenario(name, perfReps), perfReps));
  out.push(`The last run of each perf recording is kept for \`perf report -i <file>\` in \`${PERF_DIR}\` (with V8's jitted code).\n`);
}
if (wantedScenario("size")) out.push(renderSizes(join(work, "pkg", "dist", "wasm", "fc_invoke_bg.wasm")));
const md = out.join("\n");
process.stdout.write(md);
if (!wanted.length) writeFileSync(join(here, "profile.md"), md);
process.exit(0);
