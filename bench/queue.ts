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

import process from "node:process";
import { digestOf, format, percentile, post, postWithRetries, startLocalRelay, stats, until } from "./local-relay.js";

// BENCH_UPDATES shortens a trial run; the figures reported are for the default.
const UPDATES = Number(process.env.BENCH_UPDATES ?? 100_000);
const VISITORS = 20_000;
const CONCURRENCY = 64;
/** What one POST /v1/profiles may carry (RELAY_MAX_BATCH_ROWS). */
const SETUP_CHUNK = 10_000;
const SETUP_TIMEOUT_MS = 3 * 60_000;
const PUSH_TIMEOUT_MS = 10 * 60_000;
const DRAIN_TIMEOUT_MS = 5 * 60_000;
/** The first status check comes 60 s after a submission (worker/queue/follow-up-batch.ts). */
const FOLLOW_UP_TIMEOUT_MS = 3 * 60_000;

const visitorOf = (index: number) => `bench-${String(index % VISITORS).padStart(5, "0")}`;
const TIERS = ["bronze", "silver", "gold", "platinum"];
const attributesOf = (index: number): Record<string, string> =>
  index % 3 === 0
    ? { tier: TIERS[index % 4] as string, score: String(index) }
    : { score: String(index), city: `city-${index % 97}` };

async function main() {
  console.log(
    `queued delivery benchmark: ${format(UPDATES)} single updates over ${format(VISITORS)} visitors, ${CONCURRENCY} at a time`,
  );
  const relay = await startLocalRelay();
  const { base } = relay;
  let clean = false;
  try {
    console.log(`  wrangler dev --env bench on ${base} (pid ${relay.pid}; log ${relay.logFile})`);

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
    console.log(
      `  accepted                 ${format(UPDATES)} updates in ${seconds.toFixed(1)} s: ${format(Math.round(UPDATES / seconds))} updates/s (p50 ${percentile(latencies, 0.5)} ms, p99 ${percentile(latencies, 0.99)} ms)`,
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
    clean = true;
  } finally {
    // On failure the state and the log stay, for a look.
    await relay.stop(clean);
  }
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

try {
  await main();
} catch (error) {
  console.error(`bench:queue failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
