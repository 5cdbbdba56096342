// Where Chromium is and the flags both browser harnesses start it with (tools/wasm-test.mjs
// through chromedriver, tests/runtimes/browser.test.mjs through playwright-core). The tests talk
// to nothing but 127.0.0.1: every other host name resolves to "not found" inside Chromium, so its
// own services (autofill, update, time queries to google.com) are never looked up; the features
// that would ask them are off as well. Headless mode is each harness's own.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The env variable's value, else the first of `names` on PATH, else the first fallback that exists. */
export function findBinary(variable, names, fallbacks) {
  if (process.env[variable]) return process.env[variable];
  for (const name of names) {
    const found = spawnSync("sh", ["-c", 'command -v "$1"', "sh", name], { encoding: "utf8" }).stdout.trim();
    if (found) return found;
  }
  return fallbacks.find((path) => existsSync(path));
}

/** Chromium: CHROMIUM_PATH, else chromium or chromium-browser on PATH, else /usr/bin/chromium. */
export const findChromium = () => findBinary("CHROMIUM_PATH", ["chromium", "chromium-browser"], ["/usr/bin/chromium"]);

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
