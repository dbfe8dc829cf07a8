import { describe, expect, it, vi } from "vitest";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { capturedLogs, envWith, fakeTarget, post } from "../helpers.js";
import { QUEUES } from "../queue-helpers.js";

/**
 * Through the real local queues (Miniflare's, as `wrangler dev` runs them; vitest.config.ts only
 * shortens their batch timeouts): the Worker's producer bindings, its queue handler, its Durable
 * Objects. Target is the emulator behind a fetch spy, which reaches the consumer too: it runs in
 * this isolate.
 */
describe("the real local queues", () => {
  it("carry single and batch updates from the routes to Target, gathered into bulk calls", async () => {
    const { emulator } = fakeTarget();
    const visitors = Array.from({ length: 12 }, (_, index) => `lq-${index}`);
    for (const id of visitors) emulator.seedProfile({ thirdPartyId: id });
    const bindings = envWith({ RELAY_DELIVERY: "queue" });
    const expected: Record<string, Record<string, string>> = Object.fromEntries(visitors.map((id) => [id, {}]));

    const lines = await capturedLogs(async (logged) => {
      const statuses = [];
      for (let step = 0; step < 36; step++) {
        const id = visitors[step % visitors.length] as string;
        statuses.push(
          (await handleRequest(post(`/v1/profiles/${id}`, { attributes: { step: `s${step}` } }), bindings)).status,
        );
        (expected[id] as Record<string, string>).step = `s${step}`;
      }
      const batch = visitors.map((id) => ({ mbox3rdPartyId: id, attributes: { tier: `gold-${id}` } }));
      statuses.push((await handleRequest(post("/v1/profiles", { updates: batch }), bindings)).status);
      for (const { mbox3rdPartyId, attributes } of batch) Object.assign(expected[mbox3rdPartyId] as object, attributes);
      expect(statuses.every((status) => status === 202)).toBe(true);

      await vi.waitFor(
        () => {
          expect(
            Object.fromEntries(visitors.map((id) => [id, emulator.getProfile({ thirdPartyId: id })?.attributes])),
          ).toEqual(expected);
          // The delivery's log line comes once it has settled its messages, after Target took the batch.
          expect(logged.some((line) => line.includes(`"queue":"${QUEUES.deliveries}"`))).toBe(true);
        },
        { timeout: 15_000, interval: 50 },
      );
    });

    // 48 updates, a handful of bulk calls; and each queue logged its batches.
    const submissions = emulator.calls.filter(({ operation }) => operation === "batchUpdate").length;
    expect(submissions).toBeGreaterThanOrEqual(1);
    expect(submissions).toBeLessThan(10);
    const queues = new Set(
      lines.map((line) => JSON.parse(line) as { queue?: string }).flatMap(({ queue }) => (queue ? [queue] : [])),
    );
    expect(queues).toEqual(new Set([QUEUES.updates, QUEUES.deliveries]));
  }, 30_000);
});
