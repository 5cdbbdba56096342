// The request the bench signs and sends, and the end-to-end contenders that need only fetch and
// fc-invoke: shared by bench/run.mjs (Node) and bench/deno-e2e.mjs (Deno), so both runtimes
// time the very same calls. Plain JS (no Buffer), for both.

import { sdkSign } from "./sdk-signer.mjs";

// mulberry32: deterministic bodies.
export function bytes(n, seed = 42) {
  const out = new Uint8Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i += 4) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (t >>> (8 * k)) & 0xff;
  }
  return out;
}

export const FUNCTION = "my-func";
export const QUALIFIER = "prod";
export const HEADERS = { "content-type": "application/octet-stream", "x-fc-invocation-type": "Sync", "x-fc-log-type": "None" };
export const CREDS = {
  accessKeyId: "STS.NUgYrLnoC37mZZCNnAbez2Pb1",
  accessKeySecret: "Bench+Secret/0123456789abcdefghijklmnopq",
  // STS tokens are long (≈ 600–1000 characters); the signer hashes it as a header.
  securityToken: "CAIS" + btoa(String.fromCharCode(...bytes(480, 7))),
};

/**
 * The end-to-end calls against `endpoint`, each throwing unless the answer is a 200, all with the
 * same body: (a) `ours`, FcClient.invokeFunction with retry defaults; (b) `bare`, an unsigned fetch
 * of the same URL, method, body and header bytes (one signature computed up front) in `redirect`
 * mode, the one fc-invoke sends in this runtime; (e) `bareDefault`, the same in fetch's default
 * redirect mode, as hand-written fetch code sends it; (d) `sdkSigned`, that fetch signed on every
 * call by the official signer (current date, fresh nonce): a signed fetch with nothing else.
 * The body is 1 KB unless `bodyBytes` says otherwise.
 */
export async function fetchContenders({ FcClient, signRequest, endpoint, redirect, bodyBytes = 1024 }) {
  const url = `${endpoint}/2023-03-30/functions/${FUNCTION}/invocations?qualifier=${QUALIFIER}`;
  const body = bytes(bodyBytes, 1);
  const client = new FcClient({ endpoint, credentials: CREDS });
  const ours = async () => {
    const res = await client.invokeFunction(FUNCTION, { qualifier: QUALIFIER, logType: "None", body });
    if (res.status !== 200) throw new Error(`status ${res.status}`);
  };
  const signed = await signRequest({ method: "POST", url, headers: HEADERS, body }, CREDS, { action: "InvokeFunction" });
  const send = async (headers, mode, to = url) => {
    const res = await fetch(to, { method: "POST", headers, body, redirect: mode });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`status ${res.status}`);
  };
  const target = new URL(url);
  // The signing steps alone (for timing them in place between fetches too): fc-invoke's public
  // signRequest, what invokeFunction does before its fetch, and the official signer as (d) calls it.
  const signOurs = () => signRequest({ method: "POST", url, headers: HEADERS, body }, CREDS, { action: "InvokeFunction" });
  const signSdk = () =>
    sdkSign({ method: "POST", host: target.host, pathname: target.pathname, query: { qualifier: QUALIFIER }, headers: HEADERS, body }, CREDS, { action: "InvokeFunction" });
  const sdkSigned = () => {
    // Sent as (b) is: without the client's user-agent (not signed), which fetch sets itself.
    const { host, "user-agent": userAgent, ...headers } = signSdk();
    return send(headers, redirect);
  };
  return {
    body,
    signOurs,
    signSdk,
    ours,
    bare: () => send(signed.headers, redirect, signed.url),
    bareDefault: () => send(signed.headers, undefined, signed.url),
    sdkSigned,
  };
}

/** Runs `call` `total` times, `concurrency` at a time; counts failures instead of stopping. */
export async function runCalls(call, total, concurrency) {
  let started = 0;
  let errors = 0;
  let firstError;
  const worker = async () => {
    while (started < total) {
      started++;
      try {
        await call();
      } catch (e) {
        errors++;
        firstError ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { errors, firstError };
}
