import { fork } from "node:child_process";
import { once } from "node:events";
import { fetchContenders, runCalls, CREDS, HEADERS, FUNCTION, QUALIFIER } from "./bench-request.mjs";
import { FcClient, signRequest } from "../dist/node.js";
import { sdkSign } from "./sdk-signer.mjs";
const child = fork(new URL("./trivial-server.mjs", import.meta.url));
const [{ port }] = await once(child, "message");
const endpoint = `http://127.0.0.1:${port}`;
const c = await fetchContenders({ FcClient, signRequest, endpoint, redirect: "error" });
const url = `${endpoint}/2023-03-30/functions/${FUNCTION}/invocations?qualifier=${QUALIFIER}`;
const signed = await signRequest({ method: "POST", url, headers: HEADERS, body: c.body }, CREDS, { action: "InvokeFunction" });
const H = signed.headers;
const target = new URL(url);
const send = async (headers) => { const res = await fetch(signed.url, { method: "POST", headers, body: c.body, redirect: "error" }); await res.arrayBuffer(); };
const req = { method: "POST", host: target.host, pathname: target.pathname, query: { qualifier: QUALIFIER }, headers: HEADERS, body: c.body };
const t1 = [], t2 = [], o1 = [], o2 = [];
const sdkTwice = () => { let t = performance.now(); sdkSign(req, CREDS, { action: "InvokeFunction" }); t1.push(performance.now() - t); t = performance.now(); sdkSign(req, CREDS, { action: "InvokeFunction" }); t2.push(performance.now() - t); return send(H); };
const oursTwice = async () => { let t = performance.now(); await signRequest({ method: "POST", url, headers: HEADERS, body: c.body }, CREDS, { action: "InvokeFunction" }); o1.push(performance.now() - t); t = performance.now(); await signRequest({ method: "POST", url, headers: HEADERS, body: c.body }, CREDS, { action: "InvokeFunction" }); o2.push(performance.now() - t); return send(H); };
const med = (a) => (a.slice().sort((x, y) => x - y)[a.length >> 1] * 1000).toFixed(1);
for (let r = 0; r < 8; r++) {
  for (const a of [t1, t2, o1, o2]) a.length = 0;
  await runCalls(sdkTwice, 400, 1);
  await runCalls(oursTwice, 400, 1);
  const l1 = [], l2 = [];
  for (let i = 0; i < 400; i++) { const t = performance.now(); sdkSign(req, CREDS, { action: "InvokeFunction" }); l1.push(performance.now() - t); }
  for (let i = 0; i < 400; i++) { const t = performance.now(); await signRequest({ method: "POST", url, headers: HEADERS, body: c.body }, CREDS, { action: "InvokeFunction" }); l2.push(performance.now() - t); }
  console.log(`sdk: first ${med(t1)} second ${med(t2)} loop ${med(l1)} | ours: first ${med(o1)} second ${med(o2)} loop ${med(l2)}`);
}
child.kill();
