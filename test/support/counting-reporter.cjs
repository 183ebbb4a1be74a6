// Mocha reporter: mocha's spec output, plus one JSON line of counts appended to the file named by
// GSO_TEST_COUNTS_FILE, so .ci/run can print its own `N passed, M failed` across several runs.
// CommonJS because mocha loads reporters with require().
'use strict';
const { appendFileSync } = require('node:fs');
const Mocha = require('mocha');

const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_HOOK_END } = Mocha.Runner.constants;

class CountingReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let pending = 0;
    runner.on(EVENT_TEST_PASS, () => (passed += 1));
    // A failing hook is reported through EVENT_TEST_FAIL as well, so it is counted as a failure.
    runner.on(EVENT_TEST_FAIL, () => (failed += 1));
    runner.on(EVENT_TEST_PENDING, () => (pending += 1));
    runner.on(EVENT_HOOK_END, () => {});
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.GSO_TEST_COUNTS_FILE;
      if (file) appendFileSync(file, JSON.stringify({ suite: process.env.npm_lifecycle_event ?? 'mocha', passed, failed, pending }) + '\n');
    });
  }
}

module.exports = CountingReporter;
