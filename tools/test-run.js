#!/usr/bin/env node
// @ts-check
// `npm test`: lint, typecheck, build the renderer, then the unit and e2e Vitest projects, in that
// order, streaming their output. Every step runs even after a failure so one run shows everything.
// The last line is always `N passed, N failed`: Vitest tests from both projects plus one per
// lint/typecheck/build step. Exits non-zero on any failure or when no test ran at all.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const resultsDir = path.join(root, "test-results");
const bin = (/** @type {string} */ relative) => path.join(root, "node_modules", relative);
const minutes = (/** @type {number} */ n) => n * 60_000;

/**
 * @typedef {object} Step
 * @property {string} name
 * @property {string[]} args           arguments after `node`
 * @property {number} timeoutMs
 * @property {string} [vitestJson]      where the Vitest JSON reporter writes, for vitest steps
 * @property {string} [skipReason]
 */

/** @param {string} project @returns {Step} */
function vitestStep(project) {
  const vitestJson = path.join(resultsDir, `vitest-${project}.json`);
  return {
    name: `vitest ${project}`,
    args: [
      bin("vitest/vitest.mjs"), "run", "--project", project, "--passWithNoTests",
      "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`,
    ],
    timeoutMs: minutes(6),
    vitestJson,
  };
}

const rendererViteConfig = path.join(root, "renderer", "vite.config.ts");

/** @type {Step[]} */
const steps = [
  { name: "lint", args: [bin("eslint/bin/eslint.js"), "."], timeoutMs: minutes(3) },
  { name: "typecheck", args: [bin("typescript/bin/tsc"), "-p", "tsconfig.json", "--noEmit"], timeoutMs: minutes(3) },
  {
    name: "build renderer",
    args: [bin("vite/bin/vite.js"), "build", "--config", rendererViteConfig],
    timeoutMs: minutes(3),
    ...(existsSync(rendererViteConfig) ? {} : { skipReason: "renderer/vite.config.ts does not exist" }),
  },
  vitestStep("unit"),
  vitestStep("e2e"),
];

mkdirSync(resultsDir, { recursive: true });
for (const step of steps) {
  if (step.vitestJson !== undefined) rmSync(step.vitestJson, { force: true });
}

const env = {
  ...process.env,
  ELECTRON_SKIP_BINARY_DOWNLOAD: "1",
  // e2e specs write screenshots, traces and server logs below this folder.
  RMM_TEST_RESULTS_DIR: resultsDir,
};

/** @type {import("node:child_process").ChildProcess | undefined} */
let current;
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => {
    if (current?.pid !== undefined) killGroup(current.pid, "SIGTERM");
    process.exit(130);
  });
}

/** @param {number} pid @param {NodeJS.Signals} signal */
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** @param {Step} step @returns {Promise<{ code: number, timedOut: boolean }>} */
function runStep(step) {
  return new Promise((resolve) => {
    // Own process group, so a timeout can stop the tool together with the servers it started.
    const child = spawn(process.execPath, step.args, { cwd: root, env, stdio: "inherit", detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`\n[test-run] ${step.name} exceeded ${step.timeoutMs / 1000} s, stopping it`);
      if (child.pid !== undefined) killGroup(child.pid, "SIGTERM");
      setTimeout(() => child.pid !== undefined && killGroup(child.pid, "SIGKILL"), 10_000).unref();
    }, step.timeoutMs);
    child.once("error", (error) => {
      console.error(`[test-run] could not start ${step.name}: ${error.message}`);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code: code ?? (signal === null ? 1 : 128), timedOut });
    });
  });
}

/**
 * Counts from the Vitest JSON report. A file that failed to load has no failed test but is a
 * failure; a non-zero exit with nothing failed (a crashed globalSetup, an unhandled error) is one.
 * @param {string} file @param {number} exitCode
 */
function vitestCounts(file, exitCode) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  if (existsSync(file)) {
    /** @type {{ numPassedTests: number, numFailedTests: number, numPendingTests: number, numTodoTests: number,
     *   testResults: Array<{ status: string, assertionResults: Array<{ status: string }> }> }} */
    const report = JSON.parse(readFileSync(file, "utf8"));
    passed = report.numPassedTests;
    failed = report.numFailedTests;
    skipped = report.numPendingTests + report.numTodoTests;
    for (const result of report.testResults) {
      if (result.status === "failed" && !result.assertionResults.some((a) => a.status === "failed")) failed += 1;
    }
  }
  if (exitCode !== 0 && failed === 0) failed = 1;
  return { passed, failed, skipped };
}

/** @type {Array<{ step: string, result: string, seconds: number }>} */
const rows = [];
let passed = 0;
let failed = 0;
let testsRun = 0;

console.log(`[test-run] results, screenshots and logs: ${resultsDir}`);
for (const step of steps) {
  if (step.skipReason !== undefined) {
    console.log(`\n[test-run] ── ${step.name}: skipped (${step.skipReason})`);
    rows.push({ step: step.name, result: "skipped", seconds: 0 });
    continue;
  }
  console.log(`\n[test-run] ── ${step.name}`);
  const started = performance.now();
  const { code, timedOut } = await runStep(step);
  const seconds = (performance.now() - started) / 1000;
  const note = timedOut ? " (timed out)" : "";
  if (step.vitestJson !== undefined) {
    const counts = vitestCounts(step.vitestJson, code);
    passed += counts.passed;
    failed += counts.failed;
    testsRun += counts.passed + counts.failed;
    const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : "";
    rows.push({ step: step.name, result: `${counts.passed} passed, ${counts.failed} failed${skipped}${note}`, seconds });
  } else if (code === 0) {
    passed += 1;
    rows.push({ step: step.name, result: "passed", seconds });
  } else {
    failed += 1;
    rows.push({ step: step.name, result: `FAILED (exit ${code})${note}`, seconds });
  }
}

const stepWidth = Math.max(4, ...rows.map((r) => r.step.length));
const resultWidth = Math.max(6, ...rows.map((r) => r.result.length));
console.log("\n[test-run] summary");
console.log(`${"step".padEnd(stepWidth)}  ${"result".padEnd(resultWidth)}  duration`);
console.log(`${"-".repeat(stepWidth)}  ${"-".repeat(resultWidth)}  --------`);
for (const row of rows) {
  console.log(`${row.step.padEnd(stepWidth)}  ${row.result.padEnd(resultWidth)}  ${row.seconds.toFixed(1).padStart(7)}s`);
}
console.log(`\nresults, screenshots and logs: ${resultsDir}`);
if (testsRun === 0) console.log("no Vitest test ran: that is a failure");
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || testsRun === 0 ? 1 : 0;
