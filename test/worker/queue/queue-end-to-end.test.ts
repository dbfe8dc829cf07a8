import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueuedUpdate } from "../../../worker/delivery/queue-messages.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { capturedLogs, envWith, post } from "../helpers.js";
import {
  deadLetters,
  faultyTarget,
  QUEUES,
  QueueSimulator,
  seededRandom,
  storedAttributes,
  unlimited,
} from "../queue-helpers.js";

const UPDATES = 10_000;
const VISITORS = 2_000;
const NAMES = ["tier", "score", "city"] as const;
/** Auto delivery sends a third directly, each a real round trip: a smaller run keeps it quick. */
const AUTO_UPDATES = 4_000;
const AUTO_VISITORS = 800;

/**
 * The relay in queue mode, from POST /v1/profiles/{id} to Target, with the Worker's real queue
 * handler, Durable Objects and core client; Cloudflare Queues are simulated (queue-helpers.ts) so
 * that hours of retry delays pass in no time, and redelivery and reordering are under the test's
 * control. Everything random is seeded.
 */
async function pushUpdates(
  bindings: ReturnType<typeof envWith>,
  random: () => number,
  updates = UPDATES,
  visitors = VISITORS,
) {
  const newest = new Map<string, Record<string, string>>();
  const statuses = new Map<number, number>();
  for (let index = 0; index < updates; index++) {
    const visitor = `e2e-${index % visitors}`;
    const names = NAMES.filter(() => random() < 0.6);
    const attributes = Object.fromEntries(
      (names.length > 0 ? names : NAMES.slice(0, 1)).map((name) => [name, `${name}-${index}`]),
    );
    const { status } = await handleRequest(post(`/v1/profiles/${visitor}`, { attributes }), bindings);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    newest.set(visitor, { ...newest.get(visitor), ...attributes });
  }
  return { newest, statuses };
}

const sumOf = (lines: readonly string[], field: string) =>
  lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .reduce((sum, line) => sum + (typeof line[field] === "number" && "queue" in line ? (line[field] as number) : 0), 0);

describe.each([
  { delay: "at once", visibilityDelay: undefined, updates: UPDATES, visitors: VISITORS },
  // Our reading of Adobe's figures (docs/target-api.md): single updates visible after a minute, batches
  // after an hour, their statuses incomplete until then. The relay's clock follows the queues' virtual
  // time, so follow-ups really wait, with at most 10 of its batches unread at once (delivery/batch-slots.ts).
  {
    delay: "with a realistic delay (batches an hour later)",
    visibilityDelay: "realistic" as const,
    updates: 2_000,
    visitors: 400,
  },
])("queued delivery, end to end, Target applying writes $delay", ({ visibilityDelay, updates, visitors }) => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it(`delivers the newest value of every attribute of ${updates} updates over ${visitors} visitors through a faulty Target: nothing lost, nothing stale`, async () => {
    const random = seededRandom(20_240_605);
    // The retry jitter too: the run is the same every time.
    vi.spyOn(Math, "random").mockImplementation(seededRandom(99));
    const clientCode = visibilityDelay === undefined ? "acme" : "acme-delayed";
    // A fifth of calls answer 503; some time out after Target applied them; some say success=false; some rows fail.
    const { emulator, faults } = faultyTarget({
      random,
      unavailable: 0.2,
      timeouts: 0.06,
      rejected: 0.05,
      failedRows: 0.03,
      emulator: { clientCode, ...(visibilityDelay ? { visibilityDelay } : {}) },
    });
    // Single-route writes are for visitors Target knows (a single update creates no profile).
    for (let index = 0; index < visitors; index++) emulator.seedProfile({ thirdPartyId: `e2e-${index}` });
    const start = Date.now();
    if (visibilityDelay) vi.useFakeTimers({ toFake: ["Date"], now: start });
    const queues = new QueueSimulator({
      random,
      redeliver: 0.05,
      batchSizes: { deliveries: 20 },
      ...(visibilityDelay ? { clock: (seconds: number) => vi.setSystemTime(start + seconds * 1000) } : {}),
    });
    const bindings = envWith({
      TARGET_CLIENT_CODE: clientCode,
      RELAY_DELIVERY: "queue",
      UPDATES_QUEUE: queues.binding(QUEUES.updates),
      DELIVERIES_QUEUE: queues.binding(QUEUES.deliveries),
      RELAY_RATE_LIMIT: unlimited,
      TARGET_TIMEOUT: "250",
    });

    let pushed: Awaited<ReturnType<typeof pushUpdates>> | undefined;
    const lines = await capturedLogs(async () => {
      pushed = await pushUpdates(bindings, random, updates, visitors);
      await queues.drain(bindings);
    });
    const { newest, statuses } = pushed as NonNullable<typeof pushed>;
    // Past every visibility delay: what Target holds in the end.
    if (visibilityDelay) vi.setSystemTime(Date.now() + 2 * 60 * 60 * 1000);

    expect(statuses).toEqual(new Map([[202, updates]]));
    expect(storedAttributes(emulator, newest.keys())).toEqual(Object.fromEntries(newest));
    expect((await deadLetters().summary()).total).toBe(0);
    // Every message was settled explicitly, and the faults and disorder really happened.
    expect(queues.stats.unsettled).toBe(0);
    expect(faults.unavailable).toBeGreaterThan(0);
    expect(faults.timeouts).toBeGreaterThan(0);
    expect(faults.rejected).toBeGreaterThan(0);
    expect(faults.failedRows).toBeGreaterThan(0);
    expect(queues.stats.retried).toBeGreaterThan(0);
    expect(queues.stats.redelivered).toBeGreaterThan(0);
    // Older writes arrived after newer ones: dropped once those were delivered, held back while not.
    expect(sumOf(lines, "superseded")).toBeGreaterThan(0);
    expect(sumOf(lines, "waiting")).toBeGreaterThan(0);
    // Each failed row's updates (one or more per visitor) were queued once more.
    expect(sumOf(lines, "requeued")).toBeGreaterThanOrEqual(faults.failedRows);
    // No status vanished before the relay read it: Target keeps the last 10, and the relay never had more unread.
    const statusReads = emulator.calls.filter(({ operation }) => operation === "batchStatus");
    expect(statusReads.filter(({ status }) => status === 404)).toEqual([]);
    const submissions = emulator.calls.filter(
      ({ operation, status }) => operation === "batchUpdate" && status === 200,
    ).length;
    if (visibilityDelay === undefined) {
      // Thousands of updates per bulk call, within Target's bulk budget.
      expect(updates / submissions).toBeGreaterThan(500);
      expect(submissions + statusReads.length).toBeLessThanOrEqual(50);
    } else {
      // Statuses read incomplete for an hour: each batch's follow-up checked again and again.
      expect(statusReads.length).toBeGreaterThan(2 * submissions);
    }
  }, 120_000);
});

describe("queued delivery, end to end", () => {
  it("in auto delivery, mixing direct and queued single updates with batch requests, while the queues run: nothing lost, nothing stale", async () => {
    const random = seededRandom(31_337);
    vi.spyOn(Math, "random").mockImplementation(seededRandom(97));
    const clientCode = "acme-auto";
    // Fewer faults than above: direct sends wait out real timeouts, and retried bulk calls share the real budget.
    const { emulator, faults } = faultyTarget({
      random,
      unavailable: 0.1,
      timeouts: 0.01,
      rejected: 0.03,
      failedRows: 0.03,
      emulator: { clientCode },
    });
    for (let index = 0; index < AUTO_VISITORS; index++) emulator.seedProfile({ thirdPartyId: `e2e-${index}` });
    const queues = new QueueSimulator({ random, redeliver: 0.05 });
    const bindings = envWith({
      RELAY_DELIVERY: "auto",
      TARGET_CLIENT_CODE: clientCode,
      // Room for a third of the updates as single updates: the rest is queued.
      RELAY_SINGLE_UPDATE_SHARE: String(AUTO_UPDATES / 3 / 1_000_000),
      UPDATES_QUEUE: queues.binding(QUEUES.updates),
      DELIVERIES_QUEUE: queues.binding(QUEUES.deliveries),
      RELAY_RATE_LIMIT: unlimited,
      TARGET_TIMEOUT: "100",
    });
    const before = (await deadLetters().summary()).total;

    const newest = new Map<string, Record<string, string>>();
    const statuses = new Map<number, number>();
    const lines = await capturedLogs(async () => {
      for (let index = 0, requests = 0; index < AUTO_UPDATES; requests++) {
        const names = NAMES.filter(() => random() < 0.6);
        const attributes = () =>
          Object.fromEntries((names.length > 0 ? names : NAMES.slice(0, 1)).map((name) => [name, `${name}-${index}`]));
        let response: Response;
        if (random() < 0.1) {
          // A batch request of up to 20 updates, the same visitor possibly twice (the later wins).
          const updates = Array.from({ length: Math.min(1 + Math.floor(random() * 20), AUTO_UPDATES - index) }, () => {
            const update = { mbox3rdPartyId: `e2e-${Math.floor(random() * AUTO_VISITORS)}`, attributes: attributes() };
            index++;
            return update;
          });
          response = await handleRequest(post("/v1/profiles", { updates }), bindings);
          for (const { mbox3rdPartyId, attributes: written } of updates)
            newest.set(mbox3rdPartyId, { ...newest.get(mbox3rdPartyId), ...written });
        } else {
          const visitor = `e2e-${index % AUTO_VISITORS}`;
          const written = attributes();
          index++;
          response = await handleRequest(post(`/v1/profiles/${visitor}`, { attributes: written }), bindings);
          newest.set(visitor, { ...newest.get(visitor), ...written });
        }
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        // The queues deliver as the writes come, so direct sends meet writes on their way.
        if (requests % 400 === 399) await queues.drain(bindings, queues.stats.batches + 3);
      }
      await queues.drain(bindings);
    });

    expect([...statuses.keys()]).toEqual([202]);
    expect(storedAttributes(emulator, newest.keys())).toEqual(Object.fromEntries(newest));
    expect((await deadLetters().summary()).total - before).toBe(0);
    expect(queues.stats.unsettled).toBe(0);
    expect(faults.unavailable).toBeGreaterThan(0);
    expect(faults.timeouts).toBeGreaterThan(0);
    expect(faults.failedRows).toBeGreaterThan(0);
    // Both ways were taken, and direct sends were queued behind writes on their way.
    const deliveries = lines.map(
      (line) => JSON.parse(line) as { route?: string; delivery?: string; upstream?: string },
    );
    const singles = deliveries.filter(({ route }) => route === "POST /v1/profiles/:mbox3rdPartyId");
    expect(singles.filter(({ delivery }) => delivery === "direct").length).toBeGreaterThan(AUTO_UPDATES / 10);
    expect(singles.filter(({ delivery }) => delivery === "queued").length).toBeGreaterThan(AUTO_UPDATES / 10);
    expect(
      singles.filter(({ delivery, upstream }) => delivery === "queued" && upstream !== undefined).length,
    ).toBeGreaterThan(0);
  }, 120_000);

  it("with a permanent fault, keeps every update in the dead-letter store, with the reason, and delivers none", async () => {
    const random = seededRandom(7);
    vi.spyOn(Math, "random").mockImplementation(seededRandom(98));
    const { emulator } = faultyTarget({ random, permanent: true, emulator: { clientCode: "acme-down" } });
    const queues = new QueueSimulator({ random });
    const bindings = envWith({
      RELAY_DELIVERY: "queue",
      TARGET_CLIENT_CODE: "acme-down",
      UPDATES_QUEUE: queues.binding(QUEUES.updates),
      DELIVERIES_QUEUE: queues.binding(QUEUES.deliveries),
      RELAY_RATE_LIMIT: unlimited,
    });
    const before = (await deadLetters().summary()).total;

    const queued: QueuedUpdate[] = [];
    await capturedLogs(async () => {
      await pushUpdates(bindings, random);
      for (const { body } of queues.held(QUEUES.updates)) queued.push(body as QueuedUpdate);
      await queues.drain(bindings);
    });

    const summary = await deadLetters().summary();
    expect(summary.total - before).toBe(UPDATES);
    expect(summary.reasons.find(({ reason }) => reason === "TargetHttpError 503")?.count).toBe(UPDATES);
    const kept = await deadLetters().peek(2 * UPDATES, "TargetHttpError 503");
    const key = ({ id, receivedAt, mbox3rdPartyId, attributes }: QueuedUpdate) =>
      JSON.stringify([id, receivedAt, mbox3rdPartyId, attributes]);
    expect(new Set(kept.map(key))).toEqual(new Set(queued.map(key)));
    // Bundles were retried until their retries ran out, never acked; Target holds nothing.
    expect(queues.stats.acked.get(QUEUES.deliveries) ?? 0).toBe(0);
    expect(queues.stats.deadLettered).toBeGreaterThan(0);
    expect(emulator.profiles()).toEqual([]);
  }, 120_000);
});
