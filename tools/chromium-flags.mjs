// The Chromium flags both browser harnesses use (tools/wasm-test.mjs through chromedriver,
// tests/runtimes/browser.test.mjs through playwright-core). The tests talk to nothing but
// 127.0.0.1: every other host name resolves to "not found" inside Chromium, so its own services
// (autofill, update, time queries to google.com) are never looked up; the features that would
// ask them are off as well. Headless mode is each harness's own.
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
  "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying",
];
