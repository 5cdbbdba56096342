// Runs the wasm-bindgen tests (tests/wasm.rs) with the local FC server up, in Node or, with
// --browser, in headless Chromium through chromedriver. The server's URL reaches the tests at
// compile time (FC_TEST_ENDPOINT), the one channel that works in both.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFcServer } from "../tests/server/fc-server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const browser = process.argv.includes("--browser");
const server = await startFcServer();
const env = {
  ...process.env,
  FC_TEST_ENDPOINT: server.url,
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: "wasm-bindgen-test-runner",
  ...(browser
    ? { WASM_BINDGEN_USE_BROWSER: "1", CHROMEDRIVER: "/usr/bin/chromedriver", WASM_BINDGEN_TEST_WEBDRIVER_JSON: join(root, "tests", "webdriver.json") }
    : {}),
};
const child = spawn("cargo", ["test", "--target", "wasm32-unknown-unknown", "--features", "talc", "--test", "wasm"], { cwd: root, env, stdio: "inherit" });
const code = await new Promise((resolve) => child.on("close", resolve));
await server.close();
process.exit(code ?? 1);
