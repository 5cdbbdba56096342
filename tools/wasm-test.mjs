// Runs the wasm-bindgen tests (tests/wasm.rs) with the local FC server up, in Node or, with
// --browser, in headless Chromium through chromedriver. The server's URL reaches the tests at
// compile time (FC_TEST_ENDPOINT), the one channel that works in both.
//
// The browser run takes Chromium from CHROMIUM_PATH and chromedriver from CHROMEDRIVER (.ci/run
// sets both from `command -v`), else from PATH, else /usr/bin; its webdriver config is written
// from them into target/ for each run.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFcServer } from "../tests/server/fc-server.mjs";
import { CHROMIUM_FLAGS, findBinary, findChromium } from "./chromium-flags.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const browser = process.argv.includes("--browser");

// chromedriver's Chromium runs headless; the other flags are shared with the runtime tests.
const CHROMIUM_ARGS = ["--headless=new", ...CHROMIUM_FLAGS];

function browserEnv() {
  const chromium = findChromium();
  const chromedriver = findBinary("CHROMEDRIVER", ["chromedriver"], ["/usr/bin/chromedriver"]);
  const missing = [!chromium && "Chromium (set CHROMIUM_PATH)", !chromedriver && "chromedriver (set CHROMEDRIVER)"].filter(Boolean);
  if (missing.length) {
    console.error(`wasm-test --browser: not found: ${missing.join(", ")}. On Debian: apt-get install chromium chromium-driver.`);
    process.exit(1);
  }
  const config = join(root, "target", "wasm-test", "webdriver.json");
  mkdirSync(dirname(config), { recursive: true });
  writeFileSync(config, JSON.stringify({ "goog:chromeOptions": { binary: chromium, args: CHROMIUM_ARGS } }, null, 2) + "\n");
  // The runner kills chromedriver without ending its session, which leaves Chromium's profile
  // (16 MB) in TMPDIR on every run: a TMPDIR of this run's own, removed after it.
  const tmp = mkdtempSync(join(dirname(config), "tmp-"));
  return { WASM_BINDGEN_USE_BROWSER: "1", CHROMEDRIVER: chromedriver, WASM_BINDGEN_TEST_WEBDRIVER_JSON: config, TMPDIR: tmp };
}

const extra = browser ? browserEnv() : {};
const server = await startFcServer();
const env = {
  ...process.env,
  FC_TEST_ENDPOINT: server.url,
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: "wasm-bindgen-test-runner",
  ...extra,
};
const child = spawn("cargo", ["test", "--target", "wasm32-unknown-unknown", "--features", "talc,js-api", "--test", "wasm"], { cwd: root, env, stdio: "inherit" });
const code = await new Promise((resolve) => child.on("close", resolve));
await server.close();
if (extra.TMPDIR) rmSync(extra.TMPDIR, { recursive: true, force: true });
process.exit(code ?? 1);
