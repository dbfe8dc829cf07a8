import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BundleMessage } from "../../../worker/delivery/queue-messages.js";
import type { Env } from "../../../worker/env.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { capturedLogs, fakeTarget, post, requestLines } from "../helpers.js";
import { consume, QUEUES, queuedBindings } from "../queue-helpers.js";

// A route answers 5xx only when nothing reached Target. When Target accepted the request and a later step
// fails (the batch's ledger and follow-up, recording the writes as delivered, keeping the idempotent
// answer), the caller still gets the accepted answer; the step is retried through the queue and logged.

/** A Durable Object namespace whose objects fail `method`, and pass every other call to the real ones. */
function failing<T extends Rpc.DurableObjectBranded>(namespace: DurableObjectNamespace<T>, method: string) {
  return {
    idFromName: (name: string) => namespace.idFromName(name),
    getByName(name: string) {
      const stub = namespace.getByName(name) as unknown as Record<string, unknown>;
      return new Proxy(stub, {
        get: (target, property) =>
          property === method
            ? async () => {
                throw new Error("canary-object-down");
              }
            : target[property as string],
      });
    },
  };
}

const ledgers = env.BATCH_LEDGERS as NonNullable<Env["BATCH_LEDGERS"]>;
const newestWrites = env.NEWEST_WRITES as NonNullable<Env["NEWEST_WRITES"]>;
const idempotencyKeys = env.IDEMPOTENCY_KEYS as NonNullable<Env["IDEMPOTENCY_KEYS"]>;
const batchOf = (...ids: string[]) =>
  post("/v1/profiles", { updates: ids.map((id) => ({ mbox3rdPartyId: id, attributes: { tier: "gold" } })) });

describe("never a failure after success", () => {
  it("answers a direct batch Target accepted with 202 when its follow-up cannot be written, and queues its writes again", async () => {
    const { emulator } = fakeTarget({ pollsUntilComplete: 0 });
    const { bindings, deliveries } = queuedBindings({
      RELAY_DELIVERY: "direct",
      BATCH_LEDGERS: failing(ledgers, "record"),
    });

    let response = new Response();
    const lines = await capturedLogs(async () => {
      response = await handleRequest(batchOf("after-1", "after-2"), bindings);
    });

    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ requestId: expect.any(String), batchId: expect.any(String), rows: 2 });
    expect(emulator.getProfile({ thirdPartyId: "after-1" })?.attributes).toEqual({ tier: "gold" });
    expect(requestLines(lines)[0]).toMatchObject({ level: "error", status: 202, failedSteps: ["follow_up:requeued"] });
    // Queued again: the queue sends them once more (the same values) and follows that batch up itself.
    const requeued = deliveries.sent.map(({ body }) => body as BundleMessage);
    expect(requeued.flatMap(({ updates }) => updates.map(({ mbox3rdPartyId }) => mbox3rdPartyId))).toEqual([
      "after-1",
      "after-2",
    ]);
    const redelivered = await consume(
      QUEUES.deliveries,
      requeued.map((body) => ({ body })),
      queuedBindings({ RELAY_DELIVERY: "direct" }).bindings,
    );
    expect(redelivered.acked).toHaveLength(requeued.length);
    expect(emulator.calls.filter(({ operation }) => operation === "batchUpdate")).toHaveLength(2);
  });

  it("still answers 202 when the queue fails too, and logs the follow-up as lost", async () => {
    fakeTarget();
    const { bindings, deliveries } = queuedBindings({
      RELAY_DELIVERY: "direct",
      BATCH_LEDGERS: failing(ledgers, "record"),
    });
    deliveries.fail();

    let response = new Response();
    const lines = await capturedLogs(async () => {
      response = await handleRequest(batchOf("after-3"), bindings);
    });

    expect(response.status).toBe(202);
    expect(requestLines(lines)[0]).toMatchObject({ level: "error", status: 202, failedSteps: ["follow_up:lost"] });
    expect(lines.join("\n")).not.toContain("canary-object-down");
  });

  it("answers a direct single update Target accepted with 202 when it cannot be recorded as delivered, and logs it", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "after-4" });
    const { bindings, updates } = queuedBindings({
      RELAY_DELIVERY: "direct",
      NEWEST_WRITES: failing(newestWrites, "confirm"),
    });

    let response = new Response();
    const lines = await capturedLogs(async () => {
      response = await handleRequest(post("/v1/profiles/after-4", { attributes: { tier: "gold" } }), bindings);
    });

    expect(response.status).toBe(202);
    expect(emulator.getProfile({ thirdPartyId: "after-4" })?.attributes).toEqual({ tier: "gold" });
    expect(updates.sent).toHaveLength(1);
    expect(requestLines(lines)[0]).toMatchObject({ status: 202, failedSteps: ["confirm:requeued"] });
  });

  it("answers 202 when the idempotent answer cannot be kept, and logs it", async () => {
    const { bindings } = queuedBindings({ IDEMPOTENCY_KEYS: failing(idempotencyKeys, "answer") });

    let response = new Response();
    const lines = await capturedLogs(async () => {
      response = await handleRequest(
        post("/v1/profiles/after-5", { attributes: { tier: "gold" } }, { headers: { "idempotency-key": "after-5" } }),
        bindings,
      );
    });

    expect(response.status).toBe(202);
    expect(requestLines(lines)[0]).toMatchObject({ status: 202, failedSteps: ["idempotency_answer:lost"] });
  });
});
