// Queued delivery, end to end on this machine: `npm run bench:queue` (not part of npm test).
//
// Starts the relay with `wrangler dev --env bench` (RELAY_DELIVERY = "queue", against the built-in
// emulator, fresh state in a temporary directory), then:
//   1. creates the visitors' profiles through POST /v1/profiles (queued too), and waits for them;
//   2. pushes 100,000 single updates (POST /v1/profiles/{id}) over loopback, 64 at a time, each
//      visitor's updates one after the other (so "newest" is well defined);
//   3. waits until the emulator holds exactly the newest value of every attribute (its digest, from
//      the local-only GET /_emulator/stats, equals ours), then for the batches' follow-ups;
//   4. prints accepted updates per second, Target calls per 1,000 updates, updates per bulk call,
//      the time until all were in the emulator, and the most bulk calls in any rolling minute.
// Every wait and request is bounded; wrangler is stopped by its process group id at the end,
// whatever happens (on failure its log and state stay, for a look). BENCH_UPDATES=5000 makes a
// quick trial run; the figures to report are the default's.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import process from "node:process";
import { toHex } from "../src/internal/index.js";

// BENCH_UPDATES shortens a trial run; the figures reported are for the default.
const UPDATES = Number(process.env.BENCH_UPDATES ?? 100_000);
const VISITORS = 20_000;
const CONCURRENCY = 64;
/** What one POST /v1/profiles may carry (RELAY_MAX_BATCH_ROWS). */
const SETUP_CHUNK = 10_000;
const KEY = "bench-key";
/** Retries of an update answered 503. */
const MAX_RETRIES = 5;
/** No request may hang the benchmark: each is given up (and retried) after this long. */
const REQUEST_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 90_000;
const SETUP_TIMEOUT_MS = 3 * 60_000;
const PUSH_TIMEOUT_MS = 10 * 60_000;
const DRAIN_TIMEOUT_MS = 5 * 60_000;
/** The first status check comes 60 s after a submission (worker/queue/follow-up-batch.ts). */
const FOLLOW_UP_TIMEOUT_MS = 3 * 60_000;

// Run from its bundle in node_modules/.cache/bench/ or from bench/: the repo is above either.
const HERE = decodeURIComponent(new URL(".", import.meta.url).pathname);
const REPO = HERE.includes("/node_modules/")
  ? HERE.replace(/\/node_modules\/.*$/, "")
  : HERE.replace(/\/bench\/?$/, "");

interface Stats {
  readonly profiles: number;
  readonly digest: string;
  readonly calls: {
    readonly update: number;
    readonly fetch: number;
    readonly batchUpdate: number;
    readonly batchStatus: number;
  };
  readonly bulkCallTimes: readonly number[];
}

const visitorOf = (index: number) => `bench-${String(index % VISITORS).padStart(5, "0")}`;
const TIERS = ["bronze", "silver", "gold", "platinum"];
const attributesOf = (index: number): Record<string, string> =>
  index % 3 === 0
    ? { tier: TIERS[index % 4] as string, score: String(index) }
    : { score: String(index), city: `city-${index % 97}` };

async function main() {
  const state = mkdtempSync(`${tmpdir()}/target-profile-bench-`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logFile = `${state}/wrangler.log`;
  const log = openSync(logFile, "w");
  const wrangler = spawn(
    `${REPO}/node_modules/.bin/wrangler`,
    [
      "dev",
      "--env",
      "bench",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      `${state}/state`,
      "--log-level",
      "warn",
    ],
    {
      cwd: REPO,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_SEND_ERROR_REPORTS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
      },
      detached: true, // its own process group, stopped as one
      stdio: ["ignore", log, log],
    },
  );
  const stop = () => stopGroup(wrangler);
  process.on("SIGINT", () => void stop().then(() => process.exit(130)));
  process.on("SIGTERM", () => void stop().then(() => process.exit(143)));

  try {
    console.log(
      `queued delivery benchmark: ${format(UPDATES)} single updates over ${format(VISITORS)} visitors, ${CONCURRENCY} at a time`,
    );
    console.log(`  wrangler dev --env bench on ${base} (pid ${wrangler.pid}; log ${logFile})`);
    await until(
      READY_TIMEOUT_MS,
      "the relay to start",
      async () => (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).ok,
    );

    // 1. The profiles (single updates never create one).
    const newest = new Map<string, Record<string, string>>();
    for (let start = 0; start < VISITORS; start += SETUP_CHUNK) {
      const updates = Array.from({ length: Math.min(SETUP_CHUNK, VISITORS - start) }, (_, offset) => {
        const mbox3rdPartyId = visitorOf(start + offset);
        newest.set(mbox3rdPartyId, { tier: "new" });
        return { mbox3rdPartyId, attributes: { tier: "new" } };
      });
      const response = await post(`${base}/v1/profiles`, { updates });
      if (response.status !== 202) throw new Error(`setup: POST /v1/profiles answered ${response.status}`);
    }
    await until(SETUP_TIMEOUT_MS, "the profiles to be created", async () => (await stats(base)).profiles >= VISITORS);
    const before = await stats(base);

    // 2. The updates: each visitor's by one worker, in order.
    const latencies: number[] = [];
    const started = Date.now();
    const deadline = started + PUSH_TIMEOUT_MS;
    const refused = new Map<string, number>();
    let retried = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, worker) => {
        for (let index = 0; index < UPDATES; index++) {
          const visitor = index % VISITORS;
          if (visitor % CONCURRENCY !== worker) continue;
          if (Date.now() > deadline) throw new Error("the push took longer than its bound");
          const attributes = attributesOf(index);
          const sent = performance.now();
          const response = await postWithRetries(
            `${base}/v1/profiles/${visitorOf(visitor)}`,
            { attributes },
            () => retried++,
          );
          latencies.push(performance.now() - sent);
          if (response.status === 202) Object.assign(newest.get(visitorOf(visitor)) as object, attributes);
          else {
            const answer = `${response.status} ${(await response.text()).slice(0, 200)}`;
            refused.set(answer, (refused.get(answer) ?? 0) + 1);
          }
        }
      }),
    );
    const accepted = Date.now();
    if (refused.size > 0)
      throw new Error(`updates were refused: ${JSON.stringify(Object.fromEntries(refused))} (answer: count)`);

    // 3. All in the emulator, then the follow-ups.
    const expected = await digestOf(newest);
    let last = before;
    await until(
      DRAIN_TIMEOUT_MS,
      "every update to reach the emulator",
      async () => (last = await stats(base)).digest === expected,
      250,
    );
    const allIn = Date.now();
    await until(FOLLOW_UP_TIMEOUT_MS, "the batches' follow-ups", async () => {
      last = await stats(base);
      return last.calls.batchStatus - before.calls.batchStatus >= last.calls.batchUpdate - before.calls.batchUpdate;
    });

    // 4. The figures.
    const submissions = last.calls.batchUpdate - before.calls.batchUpdate;
    const checks = last.calls.batchStatus - before.calls.batchStatus;
    const singles = last.calls.update - before.calls.update;
    const calls = submissions + checks + singles + (last.calls.fetch - before.calls.fetch);
    const seconds = (accepted - started) / 1000;
    latencies.sort((a, b) => a - b);
    const percentile = (p: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] as number);
    console.log(
      `  accepted                 ${format(UPDATES)} updates in ${seconds.toFixed(1)} s: ${format(Math.round(UPDATES / seconds))} updates/s (p50 ${percentile(0.5)} ms, p99 ${percentile(0.99)} ms)`,
    );
    if (retried > 0)
      console.log(`  retried                  ${retried} requests (503 or a dropped connection), then accepted`);
    console.log(
      `  all in the emulator      ${((allIn - started) / 1000).toFixed(1)} s after the first update (${((allIn - accepted) / 1000).toFixed(1)} s after the last was accepted)`,
    );
    console.log(
      `  Target calls             ${calls}: ${submissions} batch submissions, ${checks} status checks, ${singles} single updates = ${((calls * 1000) / UPDATES).toFixed(2)} per 1,000 updates`,
    );
    console.log(
      `  updates per bulk call    ${format(Math.round(UPDATES / Math.max(1, submissions)))} per batch submission (${format(Math.round(UPDATES / Math.max(1, submissions + checks)))} per bulk call, status checks included)`,
    );
    console.log(
      `  bulk calls in a minute   at most ${maxPerMinute(last.bulkCallTimes)} in any rolling minute, setup included (Target allows 50)`,
    );
    rmSync(state, { recursive: true, force: true });
  } finally {
    // On failure the state and the log stay, for a look.
    await stop();
  }
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

/**
 * A POST that a caller would retry: on a 503 ("not taken, try again": the relay's own, or wrangler
 * dev's proxy when it loses the worker's connection under load) after its Retry-After, and on a
 * dropped connection. A repeat of a write that was taken after all is harmless: same values, and
 * the visitor's next write is not sent before this one is answered.
 */
async function postWithRetries(url: string, body: unknown, onRetry: () => void): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await post(url, body).catch((error: unknown) => error as Error);
    const retryable = response instanceof Error || response.status === 503;
    if (!retryable || attempt === MAX_RETRIES) {
      if (response instanceof Error) throw response;
      return response;
    }
    onRetry();
    const seconds = response instanceof Error ? 1 : Number(response.headers.get("retry-after") ?? 1);
    await new Promise((resolve) => setTimeout(resolve, 1000 * Math.min(10, seconds)));
  }
}

async function stats(base: string): Promise<Stats> {
  const response = await fetch(`${base}/_emulator/stats`, {
    headers: { authorization: `Bearer ${KEY}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`GET /_emulator/stats answered ${response.status}`);
  return (await response.json()) as Stats;
}

/** The emulator's digest of `newest` (worker/local-emulator.ts): the same canonical JSON, hashed. */
async function digestOf(newest: ReadonlyMap<string, Record<string, string>>): Promise<string> {
  const byName = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);
  const profiles = [...newest]
    .map(([id, attributes]) => [id, Object.entries(attributes).sort(byName)] as const)
    .sort(byName);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(profiles)));
  return toHex(digest);
}

/** The most calls within any 60 s. */
function maxPerMinute(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= 60_000) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

async function until(timeoutMs: number, what: string, check: () => Promise<boolean>, intervalMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A failed check (a dropped connection under load) is just "not yet".
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      // Listening on a TCP port, the address is an AddressInfo.
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** SIGTERM to the process group, SIGKILL if it is still there after 10 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", resolve));
  const signal = (name: string) => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // Already gone.
    }
  };
  signal("SIGTERM");
  const timer = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), 10_000));
  if ((await Promise.race([exited, timer])) === "late") signal("SIGKILL");
}

const format = (value: number) => value.toLocaleString("en-US");

try {
  await main();
} catch (error) {
  console.error(`bench:queue failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
