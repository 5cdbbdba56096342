// Node as users install the package: the packed tarball in a fresh project, the examples run
// with plain `node`, ESM and CommonJS, against the local FC server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { bin, makeConsumer, removeConsumer, run, root } from "./harness.mjs";
import { startFcServer, DEMO_CREDENTIALS, DEMO_STS_CREDENTIALS } from "../server/fc-server.mjs";

let server;
let dir;

before(async () => {
  server = await startFcServer();
  dir = makeConsumer("node", { copy: { "invoke.mjs": join(root, "examples/node/invoke.mjs"), "invoke.cjs": join(root, "examples/node/invoke.cjs") } });
});
after(async () => {
  await server?.close();
  removeConsumer(dir);
});

const env = (creds) => ({
  FC_ENDPOINT: server.url,
  FC_ACCESS_KEY_ID: creds.accessKeyId,
  FC_ACCESS_KEY_SECRET: creds.accessKeySecret,
  FC_SECURITY_TOKEN: creds.securityToken ?? "",
});

async function runJson(file, args, creds = DEMO_CREDENTIALS) {
  const { code, stdout, stderr } = await run(process.execPath, [file, ...args], { cwd: dir, env: env(creds) });
  assert.equal(stderr, "", "no warnings or errors on stderr");
  return { code, out: JSON.parse(stdout) };
}

test("ESM example: import from the installed package, static keys", async () => {
  const { code, out } = await runJson("invoke.mjs", ["echo", "hello node"]);
  assert.equal(code, 0);
  assert.equal(out.status, 200);
  assert.equal(out.body, "hello node");
  assert.match(out.log, /echo 10 bytes/);
  assert.equal(server.invocations.at(-1).requestId, out.requestId);
});

test("ESM example with STS credentials", async () => {
  const { out } = await runJson("invoke.mjs", ["json", "x"], DEMO_STS_CREDENTIALS);
  assert.equal(out.status, 200);
  assert.equal(server.invocations.at(-1).accessKeyId, DEMO_STS_CREDENTIALS.accessKeyId);
});

test("ESM example: a service error exits non-zero with the FcError code", async () => {
  const { code, out } = await runJson("invoke.mjs", ["no-such-function"]);
  assert.equal(code, 1);
  assert.deepEqual([out.error, out.status], ["FunctionNotFound", 404]);
});

test("CommonJS example: require() of the package", async () => {
  const { code, out } = await runJson("invoke.cjs", ["echo", "from cjs"]);
  assert.equal(code, 0);
  assert.equal(out.body, "from cjs");
});

test("bundled with the server's code (esbuild, as for a serverless function) and run away from node_modules", async () => {
  // A server bundler moves the Node entry into the bundle: a .wasm read from a URL relative to the
  // entry named no file there (InitError), so dist/node.js carries the .wasm's bytes itself.
  const out = join(dir, "deployed");
  const built = await run(bin("esbuild"), ["invoke.mjs", "--bundle", "--platform=node", "--format=esm", `--outfile=${join(out, "invoke.mjs")}`], { cwd: dir });
  assert.equal(built.code, 0, built.stderr);
  const { readdirSync } = await import("node:fs");
  assert.deepEqual(readdirSync(out), ["invoke.mjs"], "one file to deploy, no .wasm beside it");
  const { code, stdout, stderr } = await run(process.execPath, [join(out, "invoke.mjs"), "echo", "bundled"], { cwd: out, env: env(DEMO_CREDENTIALS) });
  assert.equal(stderr, "");
  assert.equal(code, 0, stdout);
  assert.equal(JSON.parse(stdout).body, "bundled");
});

test("the node condition resolves to the Node entry and the package ships only what it needs", async () => {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", "console.log(import.meta.resolve('fc-invoke'))"], { cwd: dir });
  assert.match(stdout.trim(), /node_modules\/fc-invoke\/dist\/node\.js$/);
  const { stdout: listing } = await run("find", ["node_modules/fc-invoke", "-type", "f"], { cwd: dir });
  const files = listing.trim().split("\n").map((f) => f.replace("node_modules/fc-invoke/", "").replace(/snippets\/fc-invoke-[0-9a-f]+\//, "snippets/*/")).sort();
  assert.deepEqual(files, [
    "LICENSE-APACHE", "LICENSE-MIT", "README.md", "dist/node.js", "dist/wasm/fc_invoke.js", "dist/wasm/fc_invoke_bg.wasm", "dist/wasm/snippets/*/src/wasm/host.js",
    "js/core.js", "js/index.d.ts", "js/web.js", "js/workerd.js", "package.json",
  ]);
});
