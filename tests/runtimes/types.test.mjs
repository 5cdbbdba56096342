// The TypeScript definitions, as a TypeScript user gets them from the installed package.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { bin, makeConsumer, removeConsumer, root, run } from "./harness.mjs";

test("index.d.ts types the documented API and rejects misuse (tsc --strict, and with exactOptionalPropertyTypes)", async () => {
  const dir = makeConsumer("types", { copy: { "usage.ts": join(root, "tests/runtimes/types/usage.ts") } });
  try {
    const args = ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--lib", "es2022,dom", "--skipLibCheck", "false", "usage.ts"];
    for (const extra of [[], ["--exactOptionalPropertyTypes"]]) {
      const { code, stdout, stderr } = await run(bin("tsc"), [...args, ...extra], { cwd: dir });
      assert.equal(code, 0, `${extra.join(" ")}\n${stdout}${stderr}`);
    }
  } finally {
    removeConsumer(dir);
  }
});
