// Retries, idempotency, timeouts, cancellation, clock skew and credential refresh, through the
// built package against the local server's fault injection. Each test names the rule it checks.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { FcClient, FcError } from "fc-invoke";
import { startFcServer, DEMO_CREDENTIALS, mintStsCredentials } from "../server/fc-server.mjs";
import { watchLibrarySleeps } from "./library-sleeps.mjs";

let server;
before(async () => (server = await startFcServer()));
after(() => server.close());
beforeEach(() => {
  server.reset();
  server.setFaults(null);
  server.setClockOffset(0);
});

const fast = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
const client = (extra = {}) => new FcClient({ endpoint: server.url, credentials: DEMO_CREDENTIALS, retry: fast, ...extra });

/** Injects `faults` in order, one per invocation, then none. */
function script(...faults) {
  const queue = [...faults];
  server.setFaults(() => queue.shift() ?? null);
}

const ran = () => server.invocations.length;
const requests = () => server.invocations.length + server.rejections.length;

test("Sync: 429 ResourceExhausted and 503 ResourceThrottled are retried (the function did not run)", async () => {
  script({ kind: "status", status: 429, code: "ResourceExhausted" }, { kind: "status", status: 503, code: "ResourceThrottled" });
  const res = await client().invokeFunction("echo", { body: "once" });
  assert.equal(await res.text(), "once");
  assert.equal(ran(), 1, "the handler ran exactly once");
  assert.equal(server.rejections.length, 2);
});

test("any code containing Throttling is retried", async () => {
  script({ kind: "status", status: 400, code: "Throttling.User" });
  await client().invokeFunction("echo");
  assert.equal(ran(), 1);
});

test("Retry-After is honoured: the retry is sent only after a wait of the full second", async () => {
  // No clock: the package's wait is observed as scheduled (1000 ms asked for, run after 0 ms so
  // the test takes no second), and the server notes whether that wait had ended when the retry
  // arrived. The fast retry policy alone would wait at most 5 ms.
  const watch = watchLibrarySleeps({ fastForward: true });
  const queue = [{ kind: "status", status: 503, code: "ResourceThrottled", retryAfter: 1 }];
  let waitsEndedAtRetry = null;
  server.setFaults(() => queue.shift() ?? ((waitsEndedAtRetry = watch.sleeps.map((s) => s.fired)), null));
  try {
    await client().invokeFunction("echo");
  } finally {
    watch.restore();
  }
  assert.deepEqual(watch.sleeps.map((s) => s.ms), [1000], "one wait, of Retry-After: 1");
  assert.deepEqual(waitsEndedAtRetry, [true], "the retry came after that wait, not during it");
  assert.equal(ran(), 1);
  assert.equal(server.rejections.length, 1);
});

test("Sync is NOT retried after a 500 that may have run it", async () => {
  script({ kind: "status", status: 500, code: "InternalServerError", run: true });
  await assert.rejects(client().invokeFunction("echo"), { code: "InternalServerError", status: 500 });
  assert.equal(ran(), 1);
  assert.equal(server.rejections.length, 1, "one answer only: no second request");
});

test("Sync is NOT retried after a timeout or a connection lost once sent", async () => {
  // Each call's fault is chosen by its body, once: on a loaded machine the timed-out call's
  // request can reach the server after the next call has begun, and must not take its fault.
  const faults = {
    "slow-headers": { kind: "slow-headers", ms: 300 },
    "reset-after-run": { kind: "reset-after-run" },
    reset: { kind: "reset" },
    "truncate 0123456789": { kind: "truncate" },
    "reset-mid-body 0123456789": { kind: "reset-mid-body" },
  };
  const given = new Set();
  server.setFaults(({ body }) => {
    const key = Buffer.from(body).toString();
    if (given.has(key)) return null;
    given.add(key);
    return faults[key] ?? null;
  });
  await assert.rejects(client().invokeFunction("echo", { body: "slow-headers", timeoutMs: 100 }), { code: "Timeout" });
  await assert.rejects(client().invokeFunction("echo", { body: "reset-after-run" }), { code: "NetworkError" });
  await assert.rejects(client().invokeFunction("echo", { body: "reset" }), { code: "NetworkError" });
  await assert.rejects(client().invokeFunction("echo", { body: "truncate 0123456789" }), { code: "NetworkError" });
  await assert.rejects(client().invokeFunction("echo", { body: "reset-mid-body 0123456789" }), { code: "NetworkError" });
  assert.equal(given.size, 5, "every call reached the server");
  assert.equal(server.invocations.length, 4, "each ran once; the 'reset' one never ran");
});

test("a refused connection is retried in Node, even for Sync, as nothing was sent (ECONNREFUSED)", async () => {
  const closed = await startFcServer();
  const closedUrl = closed.url;
  await closed.close();
  let calls = 0;
  const counting = (url, init) => (calls++, fetch(url, init));
  await assert.rejects(client({ endpoint: closedUrl, fetch: counting }).invokeFunction("echo"), (e) => {
    assert.equal(e.code, "NetworkError");
    assert.equal(e.cause?.cause?.code, "ECONNREFUSED", "the case this test is about");
    return true;
  });
  assert.equal(calls, 3, "every attempt made: none could have run the function");
});

test("a redirect is never followed: the signed request, token included, goes to the endpoint only", async () => {
  // Following would resend the same nonce, which the server refuses (a rejection); sending the
  // STS token on to the Location is what must not happen.
  const sts = mintStsCredentials(server);
  for (const status of [307, 308, 302]) {
    server.reset();
    script({ kind: "redirect", status });
    await assert.rejects(client({ credentials: sts }).invokeFunction("echo", { body: "once" }), (e) => {
      assert.ok(e instanceof FcError);
      assert.equal(e.code, "NetworkError");
      assert.match(e.message, /answered with a redirect; a signed request is never redirected, so give the URL it points to as the endpoint/);
      return true;
    });
    assert.equal(server.faultCounts.redirect, 1, `${status}: one request`);
    assert.equal(requests(), 0, `${status}: not resent, not run`);
  }
  // A fetch that hands redirects back (browsers, Deno, workerd: "manual", as a custom fetch may
  // too): every redirect status is one, refused after one attempt.
  for (const status of [301, 302, 303, 307, 308]) {
    let calls = 0;
    const handsBack = async () => (calls++, new Response(null, { status, headers: { location: "https://elsewhere.example/" } }));
    await assert.rejects(client({ fetch: handsBack }).invokeFunction("echo", { idempotent: true }), (e) => {
      assert.equal(e.code, "NetworkError");
      assert.match(e.message, new RegExp(`redirect \\(${status} to https://elsewhere\\.example/\\)`));
      return true;
    });
    assert.equal(calls, 1, `${status}: one attempt`);
  }
  // Not retried even where a retry is safe: it would be redirected the same way.
  server.reset();
  server.setFaults(() => ({ kind: "redirect" }));
  await assert.rejects(client().invokeFunction("echo", { idempotent: true }), { code: "NetworkError" });
  assert.equal(server.faultCounts.redirect, 1, "one attempt, no retries");
});

test("idempotent: true opts a Sync invocation into retries after 5xx and timeouts", async () => {
  script({ kind: "status", status: 500, code: "InternalServerError", run: true }, { kind: "reset-after-run" });
  const res = await client().invokeFunction("echo", { body: "again", idempotent: true });
  assert.equal(await res.text(), "again");
  assert.equal(ran(), 3, "the caller accepted repeats");
});

test("Async with a task id is retried and runs once (FC de-duplicates by task id)", async () => {
  script({ kind: "reset-after-run" }, { kind: "status", status: 500, code: "InternalServerError", run: true });
  const res = await client().invokeFunction("echo", { invocationType: "Async", asyncTaskId: "job-1", body: "x" });
  assert.equal(res.status, 202);
  assert.equal(res.asyncTaskId, "job-1");
  assert.equal(await res.text(), "", "no body, as FC's own 202 (not the conflict answer's)");
  assert.equal(server.invocations.filter((i) => i.asyncTaskId === "job-1").length, 1);
});

test("a request the runtime sent twice (FC refuses the copy's nonce) may have run: retried only where that is safe", async () => {
  // What Deno's and Chromium's fetch do when a kept-alive connection drops after the request
  // went out: send the same request, nonce and all, again. Here the first copy's answer is lost.
  const resendingOnce = () => {
    let resent = false;
    return async (url, init) => {
      if (!resent) {
        resent = true;
        await (await fetch(url, init)).arrayBuffer();
      }
      return fetch(url, init);
    };
  };
  const sync = client({ fetch: resendingOnce() }).invokeFunction("echo", { body: "once" });
  await assert.rejects(sync, { code: "SignatureNonceUsed", status: 403 });
  assert.equal(ran(), 1, "the first copy ran; no retry ran it again");
  server.reset();
  const res = await client({ fetch: resendingOnce() }).invokeFunction("echo", { invocationType: "Async", asyncTaskId: "copied-1", body: "x" });
  assert.equal(res.status, 202, "the copy that got through queued the task");
  assert.equal(server.invocations.filter((i) => i.asyncTaskId === "copied-1").length, 1);
  server.reset();
  const again = await client({ fetch: resendingOnce() }).invokeFunction("echo", { body: "twice", idempotent: true });
  assert.equal(await again.text(), "twice");
  assert.equal(ran(), 2, "idempotent: the caller accepted a repeat");
});

test("Async without a task id is retried only where it provably did not run", async () => {
  script({ kind: "status", status: 429, code: "ResourceExhausted" });
  assert.equal((await client().invokeFunction("echo", { invocationType: "Async" })).status, 202);
  script({ kind: "reset-after-run" });
  await assert.rejects(client().invokeFunction("echo", { invocationType: "Async" }), { code: "NetworkError" });
  assert.equal(ran(), 2);
});

test("retry: false and maxAttempts bound the attempts", async () => {
  script({ kind: "status", status: 429, code: "ResourceExhausted" });
  await assert.rejects(client({ retry: false }).invokeFunction("echo"), { code: "ResourceExhausted" });
  server.reset();
  const always = () => ({ kind: "status", status: 429, code: "ResourceExhausted" });
  server.setFaults(always);
  await assert.rejects(client().invokeFunction("echo", { retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 2 } }), { code: "ResourceExhausted" });
  assert.equal(server.rejections.length, 5);
  await assert.rejects(client().invokeFunction("echo", { retry: { maxAttempts: 0 } }), { code: "InvalidArgument", argument: "retry" });
});

test("each retry is signed afresh: new date and nonce (the server refuses a replayed nonce)", async () => {
  script({ kind: "status", status: 429, code: "ResourceExhausted" });
  // Each attempt moves the clock (the server's too: one process) 5 s on, so a date taken again
  // differs from the first; what each attempt sent is recorded.
  const realNow = Date.now;
  let shift = 0;
  Date.now = () => realNow() + shift;
  const sent = [];
  const recording = async (url, init) => {
    sent.push({ date: init.headers["x-acs-date"], nonce: init.headers["x-acs-signature-nonce"] });
    shift += 5000;
    return fetch(url, init);
  };
  try {
    await client({ fetch: recording }).invokeFunction("echo");
  } finally {
    Date.now = realNow;
  }
  assert.equal(sent.length, 2);
  assert.notEqual(sent[1].nonce, sent[0].nonce);
  // Whole seconds: 5 s on, or 6 if the real clock crossed a second meanwhile.
  const apart = Date.parse(sent[1].date) - Date.parse(sent[0].date);
  assert.ok(apart === 5000 || apart === 6000, `the retry's date is its own time (${apart} ms after the first's)`);
  assert.ok(!server.rejections.some((r) => r.code === "SignatureNonceUsed"));
  assert.equal(ran(), 1);
});

test("the overall deadline bounds retries and waits", async () => {
  server.setFaults(() => ({ kind: "status", status: 503, code: "ResourceThrottled", retryAfter: 5 }));
  // A wait that would end past the deadline is not started: the 503 is final at once. (With
  // fastForward, a package that did wait 5 s would retry at once and show here as a wait and a
  // second request.)
  const watch = watchLibrarySleeps({ fastForward: true });
  try {
    await assert.rejects(client().invokeFunction("echo", { deadlineMs: 500 }), { code: "ResourceThrottled" });
  } finally {
    watch.restore();
  }
  assert.deepEqual(watch.sleeps, [], "no wait of Retry-After: 5 inside a 500 ms deadline");
  assert.equal(server.rejections.length, 1, "one attempt");
  server.setFaults(() => ({ kind: "slow-headers", ms: 2000 }));
  await assert.rejects(client().invokeFunction("echo", { deadlineMs: 200, timeoutMs: 10_000 }), { code: "Timeout" });
});

test("aborting during a backoff wait rejects at once with Aborted", async () => {
  server.setFaults(() => ({ kind: "status", status: 503, code: "ResourceThrottled", retryAfter: 30 }));
  const controller = new AbortController();
  // Abort as soon as the 30 s wait is scheduled (deferred: not from inside the package's setTimeout).
  const watch = watchLibrarySleeps({ onSleep: () => setImmediate(() => controller.abort()) });
  try {
    await assert.rejects(client().invokeFunction("echo", { signal: controller.signal }), { code: "Aborted" });
  } finally {
    watch.restore();
  }
  // Event order, not elapsed time: the call rejected while its 30 s wait was still pending.
  assert.deepEqual(watch.sleeps, [{ ms: 30_000, fired: false }]);
  assert.equal(server.rejections.length, 1, "no retry after the abort");
});

test("nothing outlives a call: its timers are cleared and its listeners on the caller's signal removed", async () => {
  const { getEventListeners } = await import("node:events");
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const before = timers();
  const controller = new AbortController();
  // Ends normally, after a retried 503 (a backoff wait) with a per-attempt timer.
  script({ kind: "status", status: 503, code: "ResourceThrottled" });
  const res = await client({ retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 20 } }).invokeFunction("echo", {
    body: "x",
    timeoutMs: 60_000,
    signal: controller.signal,
  });
  assert.equal(await res.text(), "x");
  assert.equal(getEventListeners(controller.signal, "abort").length, 0, "listeners left on the caller's signal");
  assert.equal(timers(), before, "timers left running");
  // Ends by the caller's abort during a long backoff wait.
  server.setFaults(() => ({ kind: "status", status: 503, code: "ResourceThrottled", retryAfter: 30 }));
  const aborting = new AbortController();
  const call = client().invokeFunction("echo", { signal: aborting.signal, timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 100));
  aborting.abort();
  await assert.rejects(call, { code: "Aborted" });
  assert.equal(getEventListeners(aborting.signal, "abort").length, 0, "listeners left on the caller's signal");
  assert.equal(timers(), before, "timers left running");
});

test("many concurrent calls sharing one signal add one listener to it (Node warned of a leak from 11)", async () => {
  const { getEventListeners } = await import("node:events");
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const shared = new AbortController();
    const c = client();
    const calls = Array.from({ length: 30 }, () => c.invokeFunction("slow", { body: "60000", signal: shared.signal, timeoutMs: 60_000 }).catch((e) => e));
    while (ran() < 30) await new Promise((r) => setTimeout(r, 10));
    assert.equal(getEventListeners(shared.signal, "abort").length, 1, "one listener for all calls");
    shared.abort(new Error("shutting down"));
    for (const e of await Promise.all(calls)) assert.equal(e.code, "Aborted");
    assert.equal(getEventListeners(shared.signal, "abort").length, 0);
    // Calls that end on their own leave the shared signal too.
    const done = await Promise.all(Array.from({ length: 12 }, () => c.invokeFunction("echo", { body: "x", signal: new AbortController().signal })));
    assert.equal(done.length, 12);
    const kept = new AbortController();
    await Promise.all(Array.from({ length: 12 }, () => c.invokeFunction("echo", { body: "x", signal: kept.signal })));
    assert.equal(getEventListeners(kept.signal, "abort").length, 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.map((w) => w.name), []);
  } finally {
    process.off("warning", onWarning);
  }
});

test("clock skew: a wrong clock is corrected from the server's Date once, and kept", async () => {
  server.setClockOffset(2 * 3600_000); // the device is two hours slow
  const c = client({ retry: false });
  const res = await c.invokeFunction("echo", { body: "skewed" });
  assert.equal(await res.text(), "skewed");
  await c.invokeFunction("echo");
  await c.invokeFunction("echo");
  const skews = server.rejections.filter((r) => r.code === "RequestTimeTooSkewed");
  assert.equal(skews.length, 1, "only the first call was rejected; later ones sign with the learnt offset");
  assert.equal(ran(), 3);
  // A fresh client learns it too: one more rejection, then its retry gets through.
  await client().invokeFunction("echo");
  assert.equal(server.rejections.filter((r) => r.code === "RequestTimeTooSkewed").length, 2, "a fresh client is rejected once too");
  assert.equal(ran(), 4);
  // Without a Date header there is nothing to learn from: the skew error is final, not retried.
  const withoutDate = async (url, init) => {
    const res = await fetch(url, init);
    const headers = new Headers(res.headers);
    headers.delete("date");
    return new Response(await res.arrayBuffer(), { status: res.status, headers });
  };
  await assert.rejects(client({ fetch: withoutDate }).invokeFunction("echo"), { code: "RequestTimeTooSkewed", status: 403 });
  assert.equal(server.rejections.filter((r) => r.code === "RequestTimeTooSkewed").length, 3, "one attempt, not retried");
  assert.equal(ran(), 4);
});

test("credentials: an expired token is refreshed once and retried", async () => {
  let provided = 0;
  const provider = async () => (provided++, mintStsCredentials(server, { ttlMs: 3600_000 }));
  script({ kind: "expired-token" });
  const c = client({ credentials: provider, retry: false });
  await c.invokeFunction("echo");
  assert.equal(provided, 2, "cached credentials were replaced after the service said they expired");
  script({ kind: "expired-token" }, { kind: "expired-token" });
  await assert.rejects(c.invokeFunction("echo"), { code: "InvalidSecurityToken.Expired" });
  assert.equal(requests(), 4);
});

test("credentials: static credentials cannot be refreshed, so an expired token is final", async () => {
  const { accessKeyId, accessKeySecret, securityToken } = mintStsCredentials(server, { ttlMs: 3600_000 });
  script({ kind: "expired-token" });
  const c = client({ credentials: { accessKeyId, accessKeySecret, securityToken } });
  await assert.rejects(c.invokeFunction("echo"), { code: "InvalidSecurityToken.Expired" });
  assert.equal(requests(), 1, "the same token is not sent again");
});

test("credentials: a token the server already expired is refreshed before use (safety margin)", async () => {
  let provided = 0;
  const provider = async () => (provided++, mintStsCredentials(server, { ttlMs: 10_000 }));
  const c = client({ credentials: provider });
  await c.invokeFunction("echo");
  await c.invokeFunction("echo");
  assert.equal(provided, 2, "10 s left is inside the 60 s margin: refreshed, never sent expired");
  assert.ok(!server.rejections.some((r) => r.code.startsWith("InvalidSecurityToken")));
});

test("credentials: a failing or malformed provider is a CredentialsError without secrets", async () => {
  const secret = "provider-secret-xyz";
  for (const provider of [
    async () => {
      throw new Error("backend is down");
    },
    () => {
      throw new TypeError("sync throw");
    },
    async () => ({ accessKeyId: "STS.x" }),
    async () => ({ accessKeyId: "STS.x", accessKeySecret: secret, securityToken: "tok\nen" }),
    async () => ({ accessKeyId: "STS.x", accessKeySecret: secret, expiration: "not a date" }),
    async () => "nope",
  ]) {
    await assert.rejects(client({ credentials: provider }).invokeFunction("echo"), (e) => {
      assert.ok(e instanceof FcError);
      assert.equal(e.code, "CredentialsError", e.message);
      assert.ok(!JSON.stringify(e).includes(secret) && !e.message.includes(secret));
      return true;
    });
  }
  assert.equal(requests(), 0);
});
