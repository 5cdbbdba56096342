// Start-up probe, run in a fresh Node process by bench/run.mjs:
//   node bench/startup-child.mjs <fc-invoke | sdk | webcrypto | phases>
// Measures from just before the import to the first signed request, and prints one JSON line.

const t0 = performance.now();
const variant = process.argv[2];

const url = "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com/2023-03-30/functions/my-func/invocations?qualifier=prod";
const credentials = { accessKeyId: "STS.NUgYrLnoC37mZZCNnAbez2Pb1", accessKeySecret: "Bench+Secret/0123456789abcdefghijklmnopq", securityToken: "CAIS" + "x".repeat(600) };
const body = new Uint8Array(1024);
const headers = { "content-type": "application/octet-stream", "x-fc-invocation-type": "Sync", "x-fc-log-type": "None" };
const options = { action: "InvokeFunction", version: "2023-03-30" };

let authorization;
let t1;
if (variant === "fc-invoke") {
  const { signRequest } = await import("fc-invoke");
  t1 = performance.now();
  authorization = (await signRequest({ method: "POST", url, headers, body }, credentials, options)).headers.authorization;
} else if (variant === "sdk") {
  const { sdkSign } = await import("./sdk-signer.mjs");
  t1 = performance.now();
  const u = new URL(url);
  authorization = sdkSign(
    { method: "POST", host: u.host, pathname: u.pathname, query: Object.fromEntries(u.searchParams), headers, body },
    credentials,
    options,
  ).Authorization;
} else if (variant === "webcrypto") {
  const { signAcs3 } = await import("./webcrypto-signer.mjs");
  t1 = performance.now();
  authorization = (await signAcs3({ method: "POST", url, headers, body }, credentials, options)).headers.authorization;
} else if (variant === "phases") {
  // What the Node entry does on its first call, step by step, with the same files: Web Crypto's
  // first use (the nonce), the glue's import, decoding, compiling and instantiating the .wasm,
  // then the first and second calls into it (fixed date, nonce and body hash, so no other work).
  const { readFileSync } = await import("node:fs");
  // The Node entry carries the .wasm in base64 (tools/build.mjs) and decodes it on first use.
  const embedded = readFileSync(new URL("../dist/wasm/fc_invoke_bg.wasm", import.meta.url)).toString("base64");
  const at = [performance.now()];
  const mark = () => at.push(performance.now());
  globalThis.crypto.randomUUID();
  mark();
  const glue = await import("../dist/wasm/fc_invoke.js");
  mark();
  const bytes = Buffer.from(embedded, "base64");
  mark();
  const module = new WebAssembly.Module(bytes);
  mark();
  glue.initSync({ module });
  mark();
  // The glue's export takes what the JS face reads from the objects (js/core.js signRequest).
  const lines = Object.entries(headers).map(([k, v]) => `${k}\n${v}\n`).join("");
  const { accessKeyId, accessKeySecret, securityToken } = credentials;
  const sign = () =>
    glue.signRequest("POST", url, lines, undefined, "0".repeat(64), accessKeyId, accessKeySecret, securityToken, options.action, options.version, 1700000000000, "startup-probe");
  sign();
  mark();
  sign();
  mark();
  const step = (i) => at[i + 1] - at[i];
  process.stdout.write(JSON.stringify({ variant, webCryptoMs: step(0), glueImportMs: step(1), readMs: step(2), compileMs: step(3), instantiateMs: step(4), firstCallMs: step(5), secondCallMs: step(6) }) + "\n");
  process.exit(0);
} else {
  throw new Error(`unknown variant ${variant}`);
}
const t2 = performance.now();
if (!/^ACS3-HMAC-SHA256 Credential=.+,Signature=[0-9a-f]{64}$/.test(authorization)) throw new Error(`bad authorization: ${authorization}`);
process.stdout.write(JSON.stringify({ variant, processStartToImportMs: t0, importMs: t1 - t0, firstSignMs: t2 - t1, totalMs: t2 - t0 }) + "\n");
