import { afterEach, describe, expect, it, vi } from "vitest";
import type { BundleMessage, UpdateMessage } from "../../../worker/delivery/queue-messages.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import {
  ADMIN_KEY,
  capturedLogs,
  envWith,
  errorOf,
  fakeTarget,
  get,
  post,
  READ_KEY,
  requestLines,
  WRITE_KEY,
} from "../helpers.js";
import { bundleMessage, consume, deadLetters, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

const HOUR = 60 * 60 * 1000;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

afterEach(() => {
  vi.useRealTimers();
});

describe('RELAY_DELIVERY = "queue"', () => {
  it("answers 202 once the update is queued, stamped with a unique id and its arrival time, and sends nothing to Target", async () => {
    const { sent } = fakeTarget();
    const { bindings, updates } = queuedBindings();
    const before = Date.now();

    const response = await handleRequest(
      post("/v1/profiles/q-1", { attributes: { tier: "gold", ltv: 1200, city: null } }),
      bindings,
    );

    expect(response.status).toBe(202);
    const body = (await response.json()) as { requestId: string; queued: number };
    expect(body).toEqual({ requestId: response.headers.get("x-request-id"), queued: 1, via: "queued" });
    expect(sent).toEqual([]);
    const message = updates.sent[0]?.body as UpdateMessage;
    expect(message).toEqual({
      type: "update",
      id: expect.stringMatching(UUID_V7),
      receivedAt: expect.any(Number),
      mbox3rdPartyId: "q-1",
      attributes: { tier: "gold", ltv: 1200 },
      origin: "single",
    });
    expect(message.receivedAt).toBeGreaterThanOrEqual(before);
    expect(message.receivedAt).toBeLessThanOrEqual(Date.now());
  });

  it("stamps ids that sort in arrival order, even within one millisecond", async () => {
    const { bindings, updates } = queuedBindings();

    for (let index = 0; index < 30; index++)
      await handleRequest(post("/v1/profiles/q-2", { attributes: { step: index } }), bindings);

    const messages = updates.sent.map(({ body }) => body as UpdateMessage);
    const sorted = [...messages].sort((a, b) => a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : 1));
    expect(sorted.map(({ attributes }) => attributes.step)).toEqual([...Array(30).keys()]);
    expect(new Set(messages.map(({ id }) => id)).size).toBe(30);
  });

  it("answers 503 with Retry-After when the queue does not take the update", async () => {
    const { bindings, updates } = queuedBindings();
    updates.fail();

    const lines = await capturedLogs(async () => {
      const response = await handleRequest(post("/v1/profiles/q-3", { attributes: { tier: "gold" } }), bindings);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("10");
      expect(await errorOf(response)).toEqual({
        code: "queue_unavailable",
        message: "the relay could not queue the update: try again",
      });
    });

    expect(lines.join("\n")).not.toContain("canary-queue-error");
  });

  it("still refuses an update a single update could not carry, before queuing it", async () => {
    const { bindings, updates } = queuedBindings();

    const response = await handleRequest(
      post("/v1/profiles/q-4", { attributes: { notes: "x".repeat(62_000) } }),
      bindings,
    );

    expect(response.status).toBe(400);
    expect(updates.sent).toEqual([]);
  });

  it("queues a batch request's updates in bundles on the deliveries queue, each stamped on its own", async () => {
    const { sent } = fakeTarget();
    const { bindings, updates, deliveries } = queuedBindings();
    const rows = Array.from({ length: 250 }, (_, index) => ({
      mbox3rdPartyId: `qb-${index % 200}`,
      attributes: { tier: `t${index}`, notes: "n".repeat(500) },
    }));

    let response = new Response();
    const lines = await capturedLogs(async () => {
      response = await handleRequest(post("/v1/profiles", { updates: rows }), bindings);
    });

    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ requestId: expect.any(String), rows: 200, queued: 250 });
    expect(sent).toEqual([]);
    expect(updates.sent).toEqual([]);
    const bundles = deliveries.sent.map(({ body }) => body as BundleMessage);
    expect(bundles.length).toBeGreaterThan(1);
    const queued = bundles.flatMap(({ updates: list }) => list);
    expect(queued.map(({ mbox3rdPartyId, attributes }) => ({ mbox3rdPartyId, attributes }))).toEqual(rows);
    expect(queued.every(({ origin }) => origin === "batch")).toBe(true);
    expect(new Set(queued.map(({ id }) => id)).size).toBe(250);
    expect(requestLines(lines)[0]).toMatchObject({ status: 202, delivery: "queued", updates: 250, rows: 200 });
  });
});

describe("Idempotency-Key", () => {
  const withKey = (key: string, headers: Record<string, string> = {}) => ({
    headers: { "idempotency-key": key, ...headers },
  });

  it("answers a repeat like the first, and queues nothing more", async () => {
    const { bindings, updates } = queuedBindings();
    const request = () => post("/v1/profiles/i-1", { attributes: { tier: "gold" } }, withKey("order-1"));

    const first = await handleRequest(request(), bindings);
    const repeat = await handleRequest(request(), bindings);

    expect([first.status, repeat.status]).toEqual([202, 202]);
    expect(await repeat.text()).toBe(await first.text());
    expect(repeat.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.has("idempotent-replayed")).toBe(false);
    expect(updates.sent).toHaveLength(1);
  });

  it("scopes keys by the caller's key name", async () => {
    const { bindings, updates } = queuedBindings();

    await handleRequest(
      post("/v1/profiles/i-2", { attributes: { tier: "gold" } }, { key: WRITE_KEY, ...withKey("shared") }),
      bindings,
    );
    await handleRequest(
      post("/v1/profiles/i-2", { attributes: { tier: "gold" } }, { key: ADMIN_KEY, ...withKey("shared") }),
      bindings,
    );

    expect(updates.sent).toHaveLength(2);
  });

  it("refuses the same key with another request (422), and a malformed key (400)", async () => {
    const { bindings, updates } = queuedBindings();
    await handleRequest(post("/v1/profiles/i-3", { attributes: { tier: "gold" } }, withKey("order-3")), bindings);

    const other = await handleRequest(
      post("/v1/profiles/i-3", { attributes: { tier: "silver" } }, withKey("order-3")),
      bindings,
    );
    const malformed = await handleRequest(
      post("/v1/profiles/i-3", { attributes: { tier: "gold" } }, withKey("has space")),
      bindings,
    );

    expect(other.status).toBe(422);
    expect((await errorOf(other)).code).toBe("idempotency_key_reused");
    expect(malformed.status).toBe(400);
    expect(await errorOf(malformed)).toMatchObject({ code: "invalid_input", field: "Idempotency-Key" });
    expect(updates.sent).toHaveLength(1);
  });

  it("keeps only successes: after a 503, a repeat runs again", async () => {
    const { bindings, updates } = queuedBindings();
    updates.fail();
    const failed = await handleRequest(
      post("/v1/profiles/i-4", { attributes: { tier: "gold" } }, withKey("order-4")),
      bindings,
    );
    updates.fail(false);

    const repeat = await handleRequest(
      post("/v1/profiles/i-4", { attributes: { tier: "gold" } }, withKey("order-4")),
      bindings,
    );

    expect([failed.status, repeat.status]).toEqual([503, 202]);
    expect(repeat.headers.has("idempotent-replayed")).toBe(false);
    expect(updates.sent).toHaveLength(1);
  });

  it("answers 409 to a repeat while the first is still running, and works in direct delivery too", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "i-5" });
    emulator.injectFaults({ delayMs: 150 });
    const request = () => post("/v1/profiles/i-5", { attributes: { tier: "gold" } }, withKey("order-5"));

    const first = handleRequest(request(), envWith({}));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const during = await handleRequest(request(), envWith({}));
    expect((await first).status).toBe(202);
    const after = await handleRequest(request(), envWith({}));

    expect(during.status).toBe(409);
    expect(during.headers.get("retry-after")).toBe("1");
    expect(after.headers.get("idempotent-replayed")).toBe("true");
    expect(emulator.calls.filter(({ operation }) => operation === "update")).toHaveLength(1);
  });

  it("forgets a key after 24 hours", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now() - 40 * 24 * HOUR;
    vi.setSystemTime(start);
    const { bindings, updates } = queuedBindings();
    const request = () => post("/v1/profiles/i-6", { attributes: { tier: "gold" } }, withKey("order-6"));

    await handleRequest(request(), bindings);
    vi.setSystemTime(start + 23 * HOUR);
    const within = await handleRequest(request(), bindings);
    vi.setSystemTime(start + 25 * HOUR);
    const after = await handleRequest(request(), bindings);

    expect(within.headers.get("idempotent-replayed")).toBe("true");
    expect(after.headers.has("idempotent-replayed")).toBe(false);
    expect(updates.sent).toHaveLength(2);
  });
});

describe('RELAY_DELIVERY = "auto"', () => {
  /** Auto delivery for its own Target account, whose single-update share allows `limit` a day. */
  function auto(clientCode: string, limit: number) {
    const target = fakeTarget({ clientCode });
    const queues = queuedBindings({
      RELAY_DELIVERY: "auto",
      TARGET_CLIENT_CODE: clientCode,
      RELAY_SINGLE_UPDATE_SHARE: String(limit / 1_000_000),
    });
    return { ...target, ...queues };
  }
  const singleUpdates = (emulator: ReturnType<typeof fakeTarget>["emulator"]) =>
    emulator.calls.filter(({ operation }) => operation === "update").length;

  it("sends directly while the rolling 24-hour count is under the share, queues beyond, and sends directly again once it rolls off", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now() - 30 * 24 * HOUR;
    vi.setSystemTime(start);
    const { emulator, bindings, updates } = auto("auto-1", 2);
    emulator.seedProfile({ thirdPartyId: "a-1" });
    const send = async () =>
      (await (
        await handleRequest(post("/v1/profiles/a-1", { attributes: { tier: "gold" } }), bindings)
      ).json()) as object;

    const firstDay = [await send(), await send(), await send()];
    vi.setSystemTime(start + 23 * HOUR);
    const stillCounted = await send();
    vi.setSystemTime(start + 25 * HOUR);
    const rolledOff = await send();

    expect(firstDay.map((body) => "queued" in body)).toEqual([false, false, true]);
    expect("queued" in stillCounted).toBe(true);
    expect("queued" in rolledOff).toBe(false);
    expect(singleUpdates(emulator)).toBe(3);
    expect(updates.sent).toHaveLength(2);
  });

  it("admits a direct write first: an older queued write delivered afterwards does not overwrite it", async () => {
    const { emulator, bindings } = auto("auto-2", 1000);
    emulator.seedProfile({ thirdPartyId: "a-2" });
    const older = updateMessage("a-2", { tier: "from-the-queue", ltv: 5 }, Date.now() - 60_000, "batch");

    await handleRequest(post("/v1/profiles/a-2", { attributes: { tier: "direct" } }), bindings);
    await consume(QUEUES.deliveries, [{ body: bundleMessage([older]) }], bindings);

    expect(emulator.getProfile({ thirdPartyId: "a-2" })?.attributes).toEqual({ tier: "direct", ltv: "5" });
  });

  it("queues the update instead when Target fails it, and answers 202", async () => {
    const { emulator, bindings, updates } = auto("auto-3", 1000);
    emulator.injectFaults({ status: 503, times: 3 });

    const lines = await capturedLogs(async () => {
      const response = await handleRequest(post("/v1/profiles/a-3", { attributes: { tier: "gold" } }), bindings);
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ queued: 1 });
    });

    expect(updates.sent).toHaveLength(1);
    expect(requestLines(lines)[0]).toMatchObject({ status: 202, delivery: "queued", upstream: "TargetHttpError 503" });
  });

  it("queues batch requests, whatever the count", async () => {
    const { emulator, bindings, deliveries } = auto("auto-4", 1000);

    const response = await handleRequest(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "a-4", attributes: { tier: "gold" } }] }),
      bindings,
    );

    expect(await response.json()).toMatchObject({ queued: 1 });
    expect(emulator.calls).toEqual([]);
    expect(deliveries.sent).toHaveLength(1);
  });
});

describe("dead letters", () => {
  const letter = (id: string, reason: string) => {
    const { type: _, ...update } = updateMessage(id, { tier: "gold" }, Date.now(), "batch");
    return { update: { ...update, requeued: true as const }, reason };
  };

  it("are listed and replayed with an admin-scoped key only", async () => {
    const { bindings } = queuedBindings();

    const statuses = [];
    for (const key of [WRITE_KEY, READ_KEY]) {
      statuses.push((await handleRequest(get("/v1/dead-letters", { key }), bindings)).status);
      statuses.push((await handleRequest(post("/v1/dead-letters/replay", {}, { key }), bindings)).status);
    }

    expect(statuses).toEqual([403, 403, 403, 403]);
  });

  it("are listed as counts by reason, without ids or values", async () => {
    const { bindings } = queuedBindings();
    await deadLetters().keep(
      [letter("dl-secret-id-1", "reason-listed"), letter("dl-secret-id-2", "reason-listed")],
      Date.now(),
    );

    const response = await handleRequest(get("/v1/dead-letters", { key: ADMIN_KEY }), bindings);

    const text = await response.text();
    expect(response.status).toBe(200);
    expect(JSON.parse(text).reasons).toContainEqual({
      reason: "reason-listed",
      count: 2,
      oldestReceivedAt: expect.any(Number),
      lastDeadAt: expect.any(Number),
    });
    expect(text).not.toContain("dl-secret-id");
    expect(text).not.toContain("gold");
  });

  it("are replayed oldest first, by reason, onto the deliveries queue with their ids and arrival times, then forgotten", async () => {
    const { bindings, deliveries } = queuedBindings();
    const letters = ["dl-3", "dl-4", "dl-5"].map((id) => letter(id, "reason-replayed"));
    await deadLetters().keep(letters, Date.now());
    const before = (await deadLetters().summary()).total;

    const response = await handleRequest(
      post("/v1/dead-letters/replay", { limit: 2, reason: "reason-replayed" }, { key: ADMIN_KEY }),
      bindings,
    );

    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ requestId: expect.any(String), replayed: 2, remaining: before - 2 });
    const replayed = (deliveries.sent[0]?.body as BundleMessage).updates;
    // Their one re-enqueue after a failed row is given back.
    expect(replayed).toEqual(letters.slice(0, 2).map(({ update: { requeued: _, ...update } }) => update));
    expect(await deadLetters().peek(10, "reason-replayed")).toEqual([letters[2]?.update]);
  });

  it("stay when the queue does not take the replay (503), and the body is checked", async () => {
    const { bindings, deliveries } = queuedBindings();
    await deadLetters().keep([letter("dl-6", "reason-kept")], Date.now());
    deliveries.fail();

    const failed = await handleRequest(
      post("/v1/dead-letters/replay", { reason: "reason-kept" }, { key: ADMIN_KEY }),
      bindings,
    );
    const invalid = await handleRequest(post("/v1/dead-letters/replay", { limit: 0 }, { key: ADMIN_KEY }), bindings);

    expect(failed.status).toBe(503);
    expect(await deadLetters().peek(10, "reason-kept")).toHaveLength(1);
    expect(invalid.status).toBe(400);
    expect(await errorOf(invalid)).toMatchObject({ field: "limit" });
  });
});

describe("GET /_emulator/stats", () => {
  it("exists against the local emulator only", async () => {
    const keys = JSON.stringify([
      { name: "dev-reader", key: "dev-read-key", scope: "read" },
      { name: "dev-writer", key: "dev-key", scope: "write" },
    ]);
    const local = envWith({
      TARGET_UPSTREAM: "emulator",
      TARGET_TOKEN: undefined,
      TARGET_CLIENT_CODE: "stats",
      RELAY_KEYS: keys,
    });
    await handleRequest(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "s-1", attributes: { tier: "gold" } }] }, { key: "dev-key" }),
      local,
    );

    const stats = await handleRequest(get("/_emulator/stats", { key: "dev-read-key" }), local);
    const againstTarget = await handleRequest(get("/_emulator/stats"), envWith({}));

    expect(await stats.json()).toEqual({
      profiles: 1,
      attributes: 1,
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      calls: { update: 0, fetch: 0, batchUpdate: 1, batchStatus: 0, delivery: 0 },
      realtime: { billedCalls: 0, sessionSwitches: 0, sharedSessions: 0, maxConcurrentRequests: 0 },
      bulkCallTimes: [expect.any(Number)],
    });
    expect(againstTarget.status).toBe(404);
  });
});
