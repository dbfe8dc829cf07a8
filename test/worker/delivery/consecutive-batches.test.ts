import { describe, expect, it } from "vitest";
import type { QueueMessage } from "../../../worker/delivery/queue-messages.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { fakeTarget, post } from "../helpers.js";
import { consume, QUEUES, queuedBindings } from "../queue-helpers.js";

// Adobe: consecutive v2 batches for one id "override the properties updated in the first batch update call".
// On the strict reading (the emulator's consecutiveBatches: "replace"), a second v2 batch for a visitor takes
// back what the first set. The relay sends a visitor in one v2 file at most: its later writes go in v1 files,
// which update the profile the v2 file created (docs/relay.md, "Consecutive v2 batches").
describe.each(["queue", "direct"] as const)(
  "RELAY_DELIVERY %s, under the strict reading of consecutive v2 batches",
  (mode) => {
    it("keeps every attribute of a visitor's consecutive batch-route writes", async () => {
      const clientCode = `consecutive-${mode}`;
      const { emulator } = fakeTarget({ clientCode, pollsUntilComplete: 0, consecutiveBatches: "replace" });
      const { bindings, deliveries } = queuedBindings({ TARGET_CLIENT_CODE: clientCode, RELAY_DELIVERY: mode });
      const write = (attributes: Record<string, string>) =>
        handleRequest(post("/v1/profiles", { updates: [{ mbox3rdPartyId: `${mode}-new-1`, attributes }] }), bindings);
      /** Runs what the deliveries queue holds: bundles, then (`followUps`) the follow-ups of their batches. */
      const deliver = async (followUps: boolean) => {
        const held = deliveries.sent.splice(0);
        const bundles = held.filter(({ body }) => (body as QueueMessage).type === "bundle");
        if (bundles.length > 0) await consume(QUEUES.deliveries, bundles, bindings);
        const later = held.filter(({ body }) => (body as QueueMessage).type === "follow-up");
        if (followUps && later.length > 0) await consume(QUEUES.deliveries, later, bindings);
        else deliveries.sent.push(...later);
      };

      expect((await write({ tier: "silver" })).status).toBe(202);
      await deliver(false);
      // Before the first batch's status is read, and after.
      expect((await write({ city: "Paris" })).status).toBe(202);
      await deliver(true);
      await deliver(true);
      expect((await write({ score: "7" })).status).toBe(202);
      await deliver(true);

      expect(emulator.getProfile({ thirdPartyId: `${mode}-new-1` })?.attributes).toEqual({
        tier: "silver",
        city: "Paris",
        score: "7",
      });
      // One v2 file carried the visitor; the rest went in v1 files (or as a single update, once it was created).
      const v2Files = emulator.calls.filter(
        ({ operation, status, url }) => operation === "batchUpdate" && status === 200 && url.includes("/v2/"),
      );
      expect(v2Files).toHaveLength(1);
    });
  },
);
