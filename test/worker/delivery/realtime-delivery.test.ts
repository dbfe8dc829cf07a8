import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createTargetClient, type RealtimeSession } from "../../../src/index.js";
import type { UpdateMessage } from "../../../worker/delivery/queue-messages.js";
import { writesOf } from "../../../worker/delivery/writes.js";
import type { Env } from "../../../worker/env.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { admitWrites } from "../../../worker/objects/newest-writes-client.js";
import { realtimeSessionStore } from "../../../worker/objects/realtime-sessions.js";
import { quotasOf } from "../../../worker/objects/target-quotas.js";
import { capturedLogs, errorOf, fakeTarget, post, requestLines } from "../helpers.js";
import { bundleMessage, consume, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

// RELAY_DELIVERY = "realtime": single-route writes through the Delivery API. Each test uses its own
// visitors: the Durable Objects (sessions, versions, quotas) live for the whole file.
const newestWrites = env.NEWEST_WRITES as NonNullable<Env["NEWEST_WRITES"]>;
const sessions = env.REALTIME_SESSIONS as NonNullable<Env["REALTIME_SESSIONS"]>;
const DAY = 24 * 60 * 60 * 1000;

/** The relay in realtime mode; `clientCode` gives a test its own quotas (the cap is counted per account). */
function realtimeBindings(overrides: Partial<Record<keyof Env, unknown>> = {}) {
  return queuedBindings({ RELAY_DELIVERY: "realtime", RELAY_REALTIME_CALLS_PER_DAY: 1_000_000, ...overrides });
}

const write = (bindings: Env, id: string, attributes: Record<string, unknown>) =>
  handleRequest(post(`/v1/profiles/${id}`, { attributes }), bindings);

/** The sessionIds the Delivery API calls of the relay carried, in order. */
const sessionIdsOf = (sent: readonly { url: string }[]) =>
  sent
    .filter(({ url }) => new URL(url).pathname === "/rest/v1/delivery")
    .map(({ url }) => new URL(url).searchParams.get("sessionId"));

/** The updates a recording queue holds. */
const queuedUpdates = (queue: { sent: readonly { body: unknown }[] }) =>
  queue.sent.map(({ body }) => body as UpdateMessage);

describe('RELAY_DELIVERY = "realtime"', () => {
  it("writes a single-route update through the Delivery API: the profile created, visible at once, answered via realtime", async () => {
    const { emulator, sent } = fakeTarget();
    const { bindings, updates } = realtimeBindings();

    const lines = await capturedLogs(async () => {
      const response = await write(bindings, "rt-1", { tier: "gold", ltv: 1200, gone: null });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ requestId: response.headers.get("x-request-id"), via: "realtime" });
    });

    expect(emulator.getProfile({ thirdPartyId: "rt-1" })?.attributes).toEqual({ tier: "gold", ltv: "1200" });
    expect(emulator.calls.map((call) => call.operation)).toEqual(["delivery"]);
    // The Delivery API takes no token: the relay's stays home.
    expect(sent[0]?.headers["authorization"]).toBeUndefined();
    expect(updates.sent).toEqual([]);
    expect(requestLines(lines)[0]).toMatchObject({ delivery: "realtime", status: 202 });
  });

  it("sends batch-route writes as direct delivery does: one v2 batch, at once", async () => {
    const { emulator } = fakeTarget();
    const { bindings } = realtimeBindings();
    const response = await handleRequest(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "rt-b1", attributes: { tier: "gold" } }] }),
      bindings,
    );
    expect(await response.json()).toMatchObject({ batchId: expect.any(String), rows: 1 });
    expect(emulator.calls.map((call) => call.operation)).toEqual(["batchUpdate"]);
  });
});

describe("realtime sessions, shared by every isolate", () => {
  it("keep one sessionId per visitor across isolates (each its own Target client and memory), never one for two", async () => {
    const { emulator, sent } = fakeTarget();
    // Two configurations are two isolates' worth of state: two Target clients, two session gates.
    const isolates = [realtimeBindings().bindings, realtimeBindings().bindings];

    // A new visitor written from both at once (different attributes, so that neither waits for the
    // other's lease): they race to open the session.
    await Promise.all(isolates.map((bindings, index) => write(bindings, "rt-s1", { [`first${index}`]: index })));
    for (let step = 2; step < 8; step++) await write(isolates[step % 2] as Env, "rt-s1", { step });
    await write(isolates[0] as Env, "rt-s2", { step: 0 });
    await write(isolates[1] as Env, "rt-s2", { step: 1 });

    const ids = sessionIdsOf(sent);
    expect(ids).toHaveLength(10);
    expect(new Set(ids.slice(0, 8)).size).toBe(1);
    expect(new Set(ids.slice(8)).size).toBe(1);
    expect(ids[8]).not.toBe(ids[0]);
    expect(emulator.deliveryStats()).toMatchObject({ sessionSwitches: 0, sharedSessions: 0 });
  });

  it("would switch sessions with each isolate's own memory: the contrast the shared store removes", async () => {
    const { emulator } = fakeTarget();
    const [a, b] = [1, 2].map(() => createTargetClient({ clientCode: "acme", retry: 0 }));
    await a?.updateProfileRealtime({ mbox3rdPartyId: "rt-s3", attributes: { step: 1 } });
    await b?.updateProfileRealtime({ mbox3rdPartyId: "rt-s3", attributes: { step: 2 } });
    expect(emulator.deliveryStats().sessionSwitches).toBe(1);
  });

  it("open one session for racing callers, and save only over the same one, in the RealtimeSessions objects", async () => {
    const store = realtimeSessionStore(sessions);
    const now = Date.now();
    const fresh = (sessionId: string): RealtimeSession => ({ sessionId, expiresAt: now + 60_000 });

    const opened = await Promise.all(
      Array.from({ length: 10 }, (_, index) => store.open("thirdPartyId:rt-s4", fresh(`s-${index}`), now)),
    );
    expect(new Set(opened.map(({ sessionId }) => sessionId)).size).toBe(1);
    const [{ sessionId }] = opened as [RealtimeSession];

    await store.save("thirdPartyId:rt-s4", { ...fresh("someone-else"), edgeHost: "mboxedge1.tt.omtrdc.net" }, now);
    await store.save(
      "thirdPartyId:rt-s4",
      { sessionId, edgeHost: "mboxedge45.tt.omtrdc.net", tntId: "t.45_0", expiresAt: now + 120_000 },
      now,
    );
    expect(await store.open("thirdPartyId:rt-s4", fresh("later"), now + 1)).toEqual({
      sessionId,
      edgeHost: "mboxedge45.tt.omtrdc.net",
      tntId: "t.45_0",
      expiresAt: now + 120_000,
    });
    // Over, it is forgotten: the next call opens a new one.
    expect((await store.open("thirdPartyId:rt-s4", fresh("next"), now + 120_000)).sessionId).toBe("next");
  });
});

describe("realtime edge hosts", () => {
  it("send a visitor's later calls to the edge Target answered from", async () => {
    const { sent } = fakeTarget({ edgeHost: "mboxedge31.tt.omtrdc.net" });
    const { bindings } = realtimeBindings();
    await write(bindings, "rt-e1", { step: 1 });
    await write(bindings, "rt-e1", { step: 2 });
    expect(sent.map(({ url }) => new URL(url).origin)).toEqual([
      "https://acme.tt.omtrdc.net",
      "https://mboxedge31.tt.omtrdc.net",
    ]);
  });

  it("never follow an edge host outside .tt.omtrdc.net", async () => {
    const { sent } = fakeTarget({ edgeHost: "evil.example.com" });
    const { bindings } = realtimeBindings();
    await write(bindings, "rt-e2", { step: 1 });
    await write(bindings, "rt-e2", { step: 2 });
    expect(sent.map(({ url }) => new URL(url).host)).toEqual(["acme.tt.omtrdc.net", "acme.tt.omtrdc.net"]);
  });
});

describe("realtime writes that go to the queues instead", () => {
  it("go there when the Delivery API fails, as batch-route writes, answered via queued, and then create the profile", async () => {
    const { emulator } = fakeTarget();
    emulator.injectFaults({ times: 3, status: 503, operations: ["delivery"] });
    const { bindings, updates } = realtimeBindings();

    const lines = await capturedLogs(async () => {
      const response = await write(bindings, "rt-f1", { tier: "gold" });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ requestId: expect.any(String), queued: 1, via: "queued" });
    });
    expect(requestLines(lines)[0]).toMatchObject({
      delivery: "queued",
      fallback: "failed",
      upstream: "TargetHttpError 503",
    });
    const [queued] = queuedUpdates(updates);
    expect(queued).toMatchObject({ type: "update", mbox3rdPartyId: "rt-f1", origin: "batch" });

    const { type: _, ...update } = queued as UpdateMessage;
    await consume(QUEUES.deliveries, [{ body: bundleMessage([{ type: "update", ...update }]) }], bindings);
    expect(emulator.calls.at(-1)?.operation).toBe("batchUpdate");
    expect(emulator.getProfile({ thirdPartyId: "rt-f1" })?.attributes).toEqual({ tier: "gold" });
  });

  it("go there when Target refuses the call (400), or when a value is longer than the Delivery API carries", async () => {
    const { emulator } = fakeTarget();
    emulator.injectFaults({
      status: 400,
      body: '{"status":400,"message":"Invalid property token"}',
      operations: ["delivery"],
    });
    const { bindings, updates } = realtimeBindings();

    const lines = await capturedLogs(async () => {
      await write(bindings, "rt-f2", { tier: "gold" });
      await write(bindings, "rt-f3", { note: "n".repeat(300) });
    });

    expect(requestLines(lines).map(({ fallback }) => fallback)).toEqual(["failed", "unfit"]);
    expect(emulator.calls.map((call) => call.operation)).toEqual(["delivery"]);
    expect(queuedUpdates(updates).map(({ mbox3rdPartyId, origin }) => [mbox3rdPartyId, origin])).toEqual([
      ["rt-f2", "batch"],
      ["rt-f3", "batch"],
    ]);
  });

  it("are noted as creations to come: switched to direct meanwhile, a newer single-route write waits for the profile, and goes in the v2 file", async () => {
    const { emulator } = fakeTarget();
    emulator.injectFaults({ times: 3, status: 503, operations: ["delivery"] });
    const { bindings, updates } = realtimeBindings();
    const direct = { ...bindings, RELAY_DELIVERY: "direct" } as Env;

    await write(bindings, "rt-f5", { tier: "gold" });
    const later = await write(direct, "rt-f5", { city: "Paris" });
    const queued = queuedUpdates(updates).map(({ type: _, ...update }) => ({ type: "update" as const, ...update }));
    await consume(QUEUES.deliveries, [{ body: bundleMessage(queued) }], bindings);

    expect(await later.json()).toMatchObject({ queued: 1, via: "queued" });
    expect(emulator.calls.filter(({ operation }) => operation === "update")).toEqual([]);
    expect(emulator.getProfile({ thirdPartyId: "rt-f5" })?.attributes).toEqual({ tier: "gold", city: "Paris" });
  });

  it("answer 503 when the queue does not take them either", async () => {
    const { emulator } = fakeTarget();
    emulator.injectFaults({ times: 3, status: 503, operations: ["delivery"] });
    const { bindings, updates } = realtimeBindings();
    updates.fail();
    await capturedLogs(async () => {
      const response = await write(bindings, "rt-f4", { tier: "gold" });
      expect(response.status).toBe(503);
      expect((await errorOf(response)).code).toBe("queue_unavailable");
    });
  });
});

describe("the daily cap of billed realtime calls (RELAY_REALTIME_CALLS_PER_DAY)", () => {
  const attributes = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`a${i}`, i]));

  it("counts one call per mbox of 50 attributes, across isolates, and queues what would pass it", async () => {
    const { emulator } = fakeTarget({ clientCode: "cap1" });
    const cap = { TARGET_CLIENT_CODE: "cap1", RELAY_REALTIME_CALLS_PER_DAY: 3 };
    const isolates = [realtimeBindings(cap), realtimeBindings(cap)];

    const vias = [];
    for (const [index, [id, count]] of (
      [
        ["rt-c1", 60],
        ["rt-c2", 51],
        ["rt-c3", 1],
        ["rt-c4", 1],
      ] as const
    ).entries()) {
      const response = await write(isolates[index % 2]?.bindings as Env, id, attributes(count));
      vias.push(((await response.json()) as { via: string }).via);
    }

    // 2 calls, then 2 more would make 4 > 3 (queued), then 1 (3 in all), then none left.
    expect(vias).toEqual(["realtime", "queued", "realtime", "queued"]);
    expect(emulator.deliveryStats().billedCalls).toBe(3);
    expect(
      await quotasOf(env.TARGET_QUOTAS as NonNullable<Env["TARGET_QUOTAS"]>, "cap1").realtimeCalls(Date.now()),
    ).toBe(3);
  });

  it("frees what was taken 24 hours ago", async () => {
    const quotas = quotasOf(env.TARGET_QUOTAS as NonNullable<Env["TARGET_QUOTAS"]>, "cap2");
    const start = Date.parse("2026-03-01T10:00:00Z");
    expect(await quotas.takeRealtimeCalls(3, 3, start)).toBe(true);
    expect(await quotas.takeRealtimeCalls(1, 3, start + DAY - 60 * 60 * 1000)).toBe(false);
    expect(await quotas.takeRealtimeCalls(3, 3, start + DAY + 1)).toBe(true);
  });

  it("logs the fallback, and creates the profile through the queue all the same", async () => {
    const { emulator } = fakeTarget({ clientCode: "cap3" });
    const { bindings, updates } = realtimeBindings({ TARGET_CLIENT_CODE: "cap3", RELAY_REALTIME_CALLS_PER_DAY: 1 });
    const lines = await capturedLogs(async () => {
      await write(bindings, "rt-c5", { tier: "first" });
      await write(bindings, "rt-c6", { tier: "capped" });
    });
    expect(requestLines(lines).map(({ delivery, fallback }) => [delivery, fallback])).toEqual([
      ["realtime", undefined],
      ["queued", "cap"],
    ]);
    const { type: _, ...update } = queuedUpdates(updates)[0] as UpdateMessage;
    await consume(QUEUES.deliveries, [{ body: bundleMessage([{ type: "update", ...update }]) }], bindings);
    expect(emulator.getProfile({ thirdPartyId: "rt-c6" })?.attributes).toEqual({ tier: "capped" });
  });
});

describe("realtime writes, in order with queued writes of the same visitor", () => {
  it("are queued after an older write still on its way, and the newest wins once both land", async () => {
    const { emulator } = fakeTarget();
    const { bindings, updates } = realtimeBindings();
    const older = updateMessage("rt-o1", { tier: "older", city: "Lyon" }, Date.now() - 60_000, "batch");
    const { type: _, ...olderUpdate } = older;
    expect(await admitWrites(newestWrites, writesOf([olderUpdate]))).toEqual(["send", "send"]);

    const lines = await capturedLogs(async () => {
      const response = await write(bindings, "rt-o1", { tier: "newer" });
      expect(await response.json()).toMatchObject({ via: "queued" });
    });
    expect(requestLines(lines)[0]).toMatchObject({ fallback: "ordered" });
    expect(emulator.calls).toEqual([]);

    // The queues deliver the two in the wrong order: the newer one first.
    const newer = queuedUpdates(updates)[0] as UpdateMessage;
    await consume(QUEUES.deliveries, [{ body: bundleMessage([newer]) }, { body: bundleMessage([older]) }], bindings);
    expect(emulator.getProfile({ thirdPartyId: "rt-o1" })?.attributes).toEqual({ tier: "newer", city: "Lyon" });
  });

  it("win over an older queued write delivered after them", async () => {
    const { emulator } = fakeTarget();
    const { bindings } = realtimeBindings();
    await write(bindings, "rt-o2", { tier: "realtime" });
    const late = updateMessage("rt-o2", { tier: "older" }, Date.now() - 60_000, "batch");

    const settled = await consume(QUEUES.deliveries, [{ body: bundleMessage([late]) }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    expect(emulator.calls.map((call) => call.operation)).toEqual(["delivery"]);
    expect(emulator.getProfile({ thirdPartyId: "rt-o2" })?.attributes).toEqual({ tier: "realtime" });
  });

  it("hold back a newer queued write while they are on their way to Target", async () => {
    const { emulator } = fakeTarget();
    emulator.injectFaults({ delayMs: 200, operations: ["delivery"] });
    const { bindings } = realtimeBindings();

    const sending = write(bindings, "rt-o3", { tier: "realtime" });
    // Once Target has the call (it answers 200 ms later), the write holds its lease.
    while (!emulator.calls.some((call) => call.operation === "delivery"))
      await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = bundleMessage([updateMessage("rt-o3", { tier: "newer" }, Date.now(), "batch")]);
    const held = await consume(QUEUES.deliveries, [{ body: newer }], bindings);
    expect((await (await sending).json()) as object).toMatchObject({ via: "realtime" });
    const released = await consume(QUEUES.deliveries, [{ body: newer }], bindings);

    expect([...held.retried.keys()]).toEqual(["msg-0"]);
    expect(released.acked).toEqual(["msg-0"]);
    expect(emulator.getProfile({ thirdPartyId: "rt-o3" })?.attributes).toEqual({ tier: "newer" });
  });
});

describe("which writes create a profile, in realtime mode (docs/relay.md)", () => {
  it("a single-route write for an unknown visitor creates it amid other traffic: other visitors, batches, queued fallbacks", async () => {
    const { emulator } = fakeTarget({ clientCode: "mix1" });
    const { bindings, updates } = realtimeBindings({ TARGET_CLIENT_CODE: "mix1", RELAY_REALTIME_CALLS_PER_DAY: 4 });

    await Promise.all([
      ...["rt-m1", "rt-m2", "rt-m3", "rt-m4", "rt-m5", "rt-m6"].map((id) => write(bindings, id, { tier: id })),
      handleRequest(
        post("/v1/profiles", { updates: [{ mbox3rdPartyId: "rt-m7", attributes: { tier: "batch" } }] }),
        bindings,
      ),
    ]);
    // Four went in real time (the cap), two to the queues: delivered now.
    const queued = queuedUpdates(updates);
    expect(queued).toHaveLength(2);
    await consume(QUEUES.deliveries, [{ body: bundleMessage(queued) }], bindings);

    for (const id of ["rt-m1", "rt-m2", "rt-m3", "rt-m4", "rt-m5", "rt-m6"])
      expect(emulator.getProfile({ thirdPartyId: id })?.attributes).toEqual({ tier: id });
    expect(emulator.getProfile({ thirdPartyId: "rt-m7" })?.attributes).toEqual({ tier: "batch" });
    expect(emulator.deliveryStats().billedCalls).toBe(4);
  });
});
