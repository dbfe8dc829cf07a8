import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../worker/env.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { quotasOf } from "../../../worker/objects/target-quotas.js";
import { envWith, errorOf, fakeTarget, get, post, READ_KEY } from "../helpers.js";
import { bundleMessage, consume, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

// Every bulk call the relay makes (route submissions and status reads, the consumer's deliveries and
// follow-ups) takes a slot of one budget per account; status reads only within a share (10 of 50 a
// minute); a route's caller the budget cannot serve soon gets 429 with Retry-After. Each test has a
// Target account (client code) of its own, so that its budget starts empty.
const quotas = (clientCode: string) => quotasOf(env.TARGET_QUOTAS as NonNullable<Env["TARGET_QUOTAS"]>, clientCode);

/** The relay and Target for one account. */
function account(clientCode: string, overrides: Partial<Record<keyof Env, unknown>> = {}) {
  const target = fakeTarget({ clientCode, pollsUntilComplete: 0 });
  return { ...target, bindings: envWith({ TARGET_CLIENT_CODE: clientCode, ...overrides }) };
}

const batchCalls = (emulator: ReturnType<typeof fakeTarget>["emulator"], operation: string) =>
  emulator.calls.filter((call) => call.operation === operation).length;

describe("the one bulk budget", () => {
  it("lets status reads take only their share: past 10 a minute a reader gets 429, and a writer's batch still goes at once", async () => {
    const { emulator, bindings } = account("budget-1");

    // 50 reads of distinct batches from a read-only key in quick succession (the attack).
    const reads = [];
    for (let index = 0; index < 50; index++)
      reads.push(await handleRequest(get(`/v1/batches/budget-1-${index}-1`, { key: READ_KEY }), bindings));
    const started = Date.now();
    const write = await handleRequest(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "w-1", attributes: { tier: "gold" } }] }),
      bindings,
    );

    expect(reads.filter(({ status }) => status === 404)).toHaveLength(10);
    const refused = reads.filter(({ status }) => status === 429);
    expect(refused).toHaveLength(40);
    expect(Number(refused[0]?.headers.get("retry-after"))).toBeGreaterThan(50);
    expect(await errorOf(refused[0] as Response)).toEqual({
      code: "rate_limited",
      message: "Adobe Target's bulk API budget for status reads is used up for now: try again later",
    });
    expect(write.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(batchCalls(emulator, "batchStatus")).toBe(10);
  });

  it("counts a route's batch submission: with the budget used up, the caller gets 429 and Retry-After, not a wait", async () => {
    const { emulator, bindings } = account("budget-2", { UPDATES_QUEUE: undefined });
    for (let index = 0; index < 50; index++) expect(await quotas("budget-2").takeBulkCall(50, Date.now())).toBe(0);

    const started = Date.now();
    const response = await handleRequest(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "w-2", attributes: { tier: "gold" } }] }),
      bindings,
    );

    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(50);
    expect((await errorOf(response)).message).toBe(
      "Adobe Target's bulk API budget for bulk calls is used up for now: try again later",
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(emulator.calls).toEqual([]);
  });

  it("counts a route's status read and a route's submission where the consumer counts its own", async () => {
    const { bindings: direct } = account("budget-3");
    const { bindings: queue } = queuedBindings({ TARGET_CLIENT_CODE: "budget-3" });

    await handleRequest(get("/v1/batches/budget-3-1-1", { key: READ_KEY }), direct);
    await handleRequest(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "w-3", attributes: { tier: "gold" } }] }),
      direct,
    );
    await consume(
      QUEUES.deliveries,
      [{ body: bundleMessage([updateMessage("w-4", { tier: "gold" }, Date.now(), "batch")]) }],
      queue,
    );

    // Three calls taken: 47 slots left of 50, whoever asks.
    for (let index = 0; index < 47; index++) expect(await quotas("budget-3").takeBulkCall(50, Date.now())).toBe(0);
    expect(await quotas("budget-3").takeBulkCall(50, Date.now())).toBeGreaterThan(0);
  });

  it("serves a batch's status again for a few seconds: 20 polls of one batch are one call to Target", async () => {
    const { emulator, bindings } = account("budget-4");
    const submitted = await handleRequest(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "w-5", attributes: { tier: "gold" } }] }),
      bindings,
    );
    const { batchId } = (await submitted.json()) as { batchId: string };

    const polls = await Promise.all(
      Array.from({ length: 20 }, () => handleRequest(get(`/v1/batches/${batchId}`, { key: READ_KEY }), bindings)),
    );

    expect(polls.map(({ status }) => status)).toEqual(Array(20).fill(200));
    expect(new Set(await Promise.all(polls.map((poll) => poll.text()))).size).toBe(1);
    expect(batchCalls(emulator, "batchStatus")).toBe(1);
  });
});
