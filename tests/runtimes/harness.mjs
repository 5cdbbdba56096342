// Shared by the runtime tests: a fresh consumer project with the packed tarball installed (so
// a missing `files` entry or a wrong `exports` condition fails the test), and child processes
// that are always cleaned up.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
// FC_INVOKE_TEST_TARBALL points the runtime tests at another tarball (to check by hand that a
// broken package makes them fail).
export const TARBALL = process.env.FC_INVOKE_TEST_TARBALL ?? join(root, ".tmp", "fc-invoke.tgz");
/** Binaries of the repo's dev dependencies (vite, wrangler, deno), run from consumer projects. */
export const bin = (name) => join(root, "node_modules", ".bin", name);

/**
 * Creates a consumer project in a temp dir: writes `files` ({ relativePath: text }), copies
 * `copy` ({ relativePath: absoluteSource }), installs the packed tarball, and returns its path.
 */
export function makeConsumer(name, { files = {}, copy = {}, packageJson = {} } = {}) {
  if (!existsSync(TARBALL)) throw new Error(`${TARBALL} is missing: run node tests/runtimes/pack.mjs (npm test does)`);
  const dir = mkdtempSync(join(tmpdir(), `fc-invoke-${name}-`));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `consumer-${name}`, private: true, type: "module", ...packageJson }, null, 2));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  for (const [path, source] of Object.entries(copy)) cpSync(source, join(dir, path), { recursive: true });
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", TARBALL], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  return dir;
}

export function removeConsumer(dir) {
  if (dir && dir.startsWith(tmpdir())) rmSync(dir, { recursive: true, force: true });
}

/** Runs a command to completion; resolves { code, stdout, stderr }; kills it after `timeoutMs`. */
export function run(cmd, args, { cwd, env, timeoutMs = 120_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", (e) => (clearTimeout(timer), reject(e)));
    child.on("close", (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
    // A child that exits without reading its stdin (find, node -e) makes this write fail with
    // EPIPE, which is not an error of the command.
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}
