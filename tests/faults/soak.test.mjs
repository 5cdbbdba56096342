// The short profile of the fault-injection soak (the long one is `npm run soak`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSoak } from "./soak.mjs";

test("3000 invocations, 100 in flight, mixed faults: nothing lost, duplicated, hung or leaked", { timeout: 120_000 }, async () => {
  const { summary, violations, outcomes } = await runSoak({ total: 3000, concurrency: 100, seed: 7 });
  assert.deepEqual(violations, []);
  assert.ok(summary.retries > 0, "faults caused retries");
  assert.ok(outcomes.ok > 0 && Object.keys(outcomes).length > 2, "a mix of successes and typed failures");
  assert.ok(summary.clockSkewRejections > 0, "the skewed clock was corrected");
});
