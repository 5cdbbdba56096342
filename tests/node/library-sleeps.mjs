// Observes the waits the built package schedules (the backoff before a retry, the pause between
// polls) without measuring time: while installed, setTimeout calls made from the package's
// `sleep` (js host, bundled into dist/node.js) are recorded with the delay asked for, and whether
// the timer has fired. Other timers (the test server's, fetch's, an attempt's timeout) pass
// through untouched.
//
// Not a test file: node --test picks only *.test.mjs here.

const SLEEP_FRAME = /^\s*at sleep\d* \(.*\/dist\/node\.js:\d+:\d+\)$/m;

/**
 * Installs the spy and returns `{ sleeps, restore }`; `sleeps` is a live list of
 * `{ ms, fired }`. With `fastForward`, a recorded wait is scheduled after 0 ms instead of `ms`,
 * so a test of a 1 s Retry-After takes no second. `onSleep(entry)` runs when a wait is
 * scheduled, synchronously inside setTimeout: defer anything that re-enters the package.
 * If the package's sleep stops being recognisable, nothing is recorded and the tests that
 * expect waits fail rather than pass.
 */
export function watchLibrarySleeps({ fastForward = false, onSleep } = {}) {
  const original = globalThis.setTimeout;
  const sleeps = [];
  globalThis.setTimeout = function (callback, ms, ...args) {
    const probe = {};
    Error.captureStackTrace(probe);
    if (typeof callback !== "function" || !SLEEP_FRAME.test(probe.stack)) return original.call(this, callback, ms, ...args);
    const entry = { ms, fired: false };
    sleeps.push(entry);
    onSleep?.(entry);
    return original.call(
      this,
      (...a) => {
        entry.fired = true;
        callback(...a);
      },
      fastForward ? 0 : ms,
      ...args,
    );
  };
  return {
    sleeps,
    restore() {
      globalThis.setTimeout = original;
    },
  };
}
