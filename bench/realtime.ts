// Real-time delivery, end to end on this machine: `npm run bench:realtime` (not part of npm test).
//
// Runs the local relay (`wrangler dev --env bench`, against the built-in emulator, fresh state each
// time) once per RELAY_DELIVERY: "realtime" (the Delivery API), "direct" (single updates) and
// "queue". In each:
//   1. write-to-visible latency: LATENCY_WRITES writes, one visitor each (their profiles made first:
//      a single update never creates one), started WRITE_INTERVAL_MS apart, after WARMUP_WRITES
//      others (the first calls to each Durable Object start it); each visitor is then read back
//      through GET /v1/profiles/{id} until the new value shows. p50 and p99 of the time from sending
//      the write to seeing it.
// Then, in realtime mode:
//   2. throughput: 1,000 new visitors × 10 writes, 32 at a time, in visitor order, so that a visitor's
//      writes are in flight together (each sets its own attribute: none waits for another's order);
//      then the emulator must hold every value (its digest equals ours), and its counts are read:
//      billed calls, visitors whose sessionId changed within their session (must be 0), sessions
//      shared by two visitors (0), and the most requests of one session in flight at once (Target
//      takes 100).
// The emulator applies what it accepts at once, so the latencies are the relay's path to Target (for
// "queue", its queues' batching). Target adds its own processing to single updates and batches
// ("usually within an hour"); the edge that took a Delivery API call sees the values at once. The
// figures are printed with that beside them. Wrangler is stopped by its process group whatever
// happens (on failure its log and state stay, for a look).

import process from "node:process";
import {
  digestOf,
  format,
  get,
  percentile,
  post,
  postWithRetries,
  startLocalRelay,
  stats,
  until,
  type LocalRelay,
} from "./local-relay.js";

const LATENCY_WRITES = 200;
const WARMUP_WRITES = 200;
/** 10 writes a second: the latency of a write, not of a relay saturated by them (throughput is measured apart). */
const WRITE_INTERVAL_MS = 100;
const VISITORS = 1_000;
const WRITES_PER_VISITOR = 10;
const CONCURRENCY = 32;
/** Read-backs poll fast at first, then at most this far apart (a queued write takes seconds). */
const MAX_POLL_MS = 500;
const SETUP_TIMEOUT_MS = 3 * 60_000;
const VISIBLE_TIMEOUT_MS = 3 * 60_000;
const PUSH_TIMEOUT_MS = 10 * 60_000;

type Mode = "realtime" | "direct" | "queue";

/** What Target itself adds, per path (docs/target-api.md). */
const TARGET_ADDS: Record<Mode, string> = {
  realtime: "Target: the edge that took the call sees it at once",
  direct: "Target: + its processing of single updates, usually within an hour",
  queue: "Target: + its processing of batches, usually within an hour",
};

async function main() {
  console.log("real-time delivery benchmark: the local relay on the emulator, one run per RELAY_DELIVERY");
  const latencies = new Map<Mode, number[]>();
  for (const mode of ["realtime", "direct", "queue"] as const) {
    await withRelay(mode, async (relay) => {
      // What each visitor should hold in the end: the emulator's digest is checked against it.
      const newest = new Map<string, Record<string, string>>();
      latencies.set(mode, await writeToVisible(relay.base, newest));
      if (mode === "realtime") await throughput(relay.base, newest);
    });
  }
  console.log(
    `  write-to-visible, ${LATENCY_WRITES} writes of one visitor each, ${1000 / WRITE_INTERVAL_MS} a second, read back through the relay:`,
  );
  for (const [mode, times] of latencies) {
    console.log(
      `    ${mode.padEnd(9)} p50 ${String(percentile(times, 0.5)).padStart(6)} ms   p99 ${String(percentile(times, 0.99)).padStart(6)} ms   (${TARGET_ADDS[mode]})`,
    );
  }
}

async function withRelay(mode: Mode, run: (relay: LocalRelay) => Promise<void>): Promise<void> {
  const relay = await startLocalRelay({ RELAY_DELIVERY: mode });
  let clean = false;
  try {
    console.log(`  RELAY_DELIVERY = "${mode}": wrangler dev --env bench on ${relay.base} (pid ${relay.pid})`);
    await run(relay);
    clean = true;
  } catch (error) {
    console.error(`  (wrangler's log: ${relay.logFile})`);
    throw error;
  } finally {
    await relay.stop(clean);
  }
}

/** Each write's time from sent to seen through GET /v1/profiles/{id}, sorted. */
async function writeToVisible(base: string, newest: Map<string, Record<string, string>>): Promise<number[]> {
  const visitor = (index: number) => `lat-${String(index).padStart(4, "0")}`;
  const warmVisitor = (index: number) => `warm-${String(index).padStart(4, "0")}`;
  const ids = [
    ...Array.from({ length: WARMUP_WRITES }, (_, index) => warmVisitor(index)),
    ...Array.from({ length: LATENCY_WRITES }, (_, index) => visitor(index)),
  ];
  const updates = ids.map((mbox3rdPartyId) => ({ mbox3rdPartyId, attributes: { mark: "seed" } }));
  const made = await post(`${base}/v1/profiles`, { updates });
  if (made.status !== 202) throw new Error(`setup: POST /v1/profiles answered ${made.status}`);
  await until(SETUP_TIMEOUT_MS, "the profiles", async () => (await stats(base)).profiles >= ids.length);
  for (const id of ids) newest.set(id, { mark: "seed" });
  // The warm-up: the same write, 8 at a time, to other visitors.
  for (let start = 0; start < WARMUP_WRITES; start += 8) {
    await Promise.all(
      ids
        .slice(start, Math.min(start + 8, WARMUP_WRITES))
        .map((id) => postWithRetries(`${base}/v1/profiles/${id}`, { attributes: { mark: "seed" } }, () => {})),
    );
  }

  const times = await Promise.all(
    Array.from({ length: LATENCY_WRITES }, async (_, index) => {
      await sleep(index * WRITE_INTERVAL_MS);
      const mark = `w-${index}`;
      const sent = performance.now();
      const response = await postWithRetries(
        `${base}/v1/profiles/${visitor(index)}`,
        { attributes: { mark } },
        () => {},
      );
      if (response.status !== 202) throw new Error(`a write was answered ${response.status}`);
      newest.set(visitor(index), { mark });
      for (let poll = 0; ; poll++) {
        const profile = await get(`${base}/v1/profiles/${visitor(index)}`);
        if (profile.ok && ((await profile.json()) as { attributes: { mark?: string } }).attributes.mark === mark)
          return performance.now() - sent;
        const elapsed = performance.now() - sent;
        if (elapsed > VISIBLE_TIMEOUT_MS) throw new Error("a write never became visible");
        await sleep(Math.min(MAX_POLL_MS, Math.max(5, elapsed / 20)));
      }
    }),
  );
  return times.sort((a, b) => a - b);
}

/** 1,000 new visitors × 10 writes, 32 at a time, then what Target (the emulator) saw. */
async function throughput(base: string, newest: Map<string, Record<string, string>>): Promise<void> {
  const before = await stats(base);
  const writes = Array.from({ length: VISITORS * WRITES_PER_VISITOR }, (_, index) => ({
    visitor: `rt-${String(Math.floor(index / WRITES_PER_VISITOR)).padStart(4, "0")}`,
    attributes: { [`w${index % WRITES_PER_VISITOR}`]: `v-${index}` },
  }));
  const via = new Map<string, number>();
  const latencies: number[] = [];
  let next = 0;
  let retried = 0;
  const started = performance.now();
  const deadline = Date.now() + PUSH_TIMEOUT_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let index = next++; index < writes.length; index = next++) {
        if (Date.now() > deadline) throw new Error("the push took longer than its bound");
        const { visitor, attributes } = writes[index] as (typeof writes)[number];
        const sent = performance.now();
        const response = await postWithRetries(`${base}/v1/profiles/${visitor}`, { attributes }, () => retried++);
        latencies.push(performance.now() - sent);
        if (response.status !== 202) throw new Error(`a write was answered ${response.status}`);
        const path = ((await response.json()) as { via?: string }).via ?? "?";
        via.set(path, (via.get(path) ?? 0) + 1);
        newest.set(visitor, { ...newest.get(visitor), ...attributes });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // Writes that fell back to the queues arrive later: every value must be in before counting.
  const expected = await digestOf(newest);
  let last = before;
  await until(VISIBLE_TIMEOUT_MS, "every write to reach the emulator", async () => {
    last = await stats(base);
    return last.digest === expected;
  });

  latencies.sort((a, b) => a - b);
  const total = writes.length;
  const { realtime } = last;
  console.log(
    `  throughput, realtime: ${format(VISITORS)} new visitors × ${WRITES_PER_VISITOR} writes, ${CONCURRENCY} at a time`,
  );
  console.log(
    `    accepted                ${format(total)} writes in ${seconds.toFixed(1)} s: ${format(Math.round(total / seconds))} writes/s (p50 ${percentile(latencies, 0.5)} ms, p99 ${percentile(latencies, 0.99)} ms)`,
  );
  console.log(
    `    paths (the answer's via) ${[...via].map(([path, count]) => `${format(count)} ${path}`).join(", ")}${retried > 0 ? ` (${retried} requests retried after a 503)` : ""}`,
  );
  console.log(
    `    Target                  ${format(last.calls.delivery - before.calls.delivery)} Delivery API calls, ${format(realtime.billedCalls - before.realtime.billedCalls)} billed; ${format(last.profiles - before.profiles)} profiles created; every value in the emulator`,
  );
  console.log(
    `    sessions                ${format(realtime.sessionSwitches)} session switches, ${format(realtime.sharedSessions)} shared sessions, at most ${realtime.maxConcurrentRequests} requests of one session at once (Target takes 100)`,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

try {
  await main();
} catch (error) {
  console.error(`bench:realtime failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
