import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createTargetClient, encodeBatches, KEPT_BATCH_STATUSES } from "../../../src/index.js";
import type { BundleMessage, FollowUpMessage, QueueMessage } from "../../../worker/delivery/queue-messages.js";
import type { Env } from "../../../worker/env.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { quotasOf } from "../../../worker/objects/target-quotas.js";
import { PARK_SECONDS } from "../../../worker/queue/settle.js";
import { fakeTarget, post, TARGET_TOKEN } from "../helpers.js";
import { bundleMessage, consume, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

// Target keeps only the last 10 batch statuses of an account (docs/target-api.md): the relay keeps at most
// that many of its batches unread (worker/delivery/batch-slots.ts), so that no status it still has to read
// vanishes; and a status that vanished anyway counts as all of its rows failed.
const bundleOf = (id: string) => bundleMessage([updateMessage(id, { tier: "gold" }, Date.now(), "batch")]);
const submissions = (emulator: ReturnType<typeof fakeTarget>["emulator"]) =>
  emulator.calls.filter(({ operation, status }) => operation === "batchUpdate" && status === 200).length;

describe("at most 10 of the relay's batches unread", () => {
  it("parks a delivery while 10 batches are unread (acked and queued again, no retry used up), and sends it once a follow-up read one", async () => {
    const { emulator } = fakeTarget({ clientCode: "slots-queue", pollsUntilComplete: 0 });
    const { bindings, deliveries } = queuedBindings({ TARGET_CLIENT_CODE: "slots-queue" });
    for (let index = 0; index < KEPT_BATCH_STATUSES; index++)
      await consume(QUEUES.deliveries, [{ body: bundleOf(`slot-${index}`) }], bindings);
    const followUps = deliveries.sent
      .map(({ body }) => body as QueueMessage)
      .filter(({ type }) => type === "follow-up");

    const eleventh = bundleOf("slot-10");
    const parked = await consume(QUEUES.deliveries, [{ body: eleventh, attempts: 3 }], bindings);
    const afterParking = { submissions: submissions(emulator), sent: deliveries.sent.at(-1) };
    await consume(QUEUES.deliveries, [{ body: followUps[0] as FollowUpMessage }], bindings);
    const sentLater = await consume(QUEUES.deliveries, [{ body: eleventh }], bindings);

    expect(followUps).toHaveLength(KEPT_BATCH_STATUSES);
    expect(parked).toEqual({ acked: ["msg-0"], retried: new Map(), unsettled: [] });
    expect(afterParking).toEqual({
      submissions: KEPT_BATCH_STATUSES,
      sent: { body: eleventh, delaySeconds: PARK_SECONDS },
    });
    expect(sentLater.acked).toEqual(["msg-0"]);
    expect(submissions(emulator)).toBe(KEPT_BATCH_STATUSES + 1);
    expect(emulator.getProfile({ thirdPartyId: "slot-10" })?.attributes).toEqual({ tier: "gold" });
  });

  it("queues a direct batch while 10 batches are unread, instead of sending it", async () => {
    const { emulator } = fakeTarget({ clientCode: "slots-direct", pollsUntilComplete: 0 });
    const { bindings, deliveries } = queuedBindings({ TARGET_CLIENT_CODE: "slots-direct", RELAY_DELIVERY: "direct" });
    const quotas = quotasOf(env.TARGET_QUOTAS as NonNullable<Env["TARGET_QUOTAS"]>, "slots-direct");
    for (let index = 0; index < KEPT_BATCH_STATUSES; index++)
      await quotas.openBatch(`unread-${index}`, KEPT_BATCH_STATUSES, Date.now());

    const response = await handleRequest(
      post("/v1/profiles", { updates: [{ mbox3rdPartyId: "slot-direct", attributes: { tier: "gold" } }] }),
      bindings,
    );

    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ rows: 1, queued: 1 });
    expect(submissions(emulator)).toBe(0);
    expect((deliveries.sent[0]?.body as BundleMessage).updates.map(({ mbox3rdPartyId }) => mbox3rdPartyId)).toEqual([
      "slot-direct",
    ]);
  });
});

describe("a batch status Target no longer keeps", () => {
  it("counts as all of its rows failed: they are queued once more", async () => {
    const { emulator } = fakeTarget({ clientCode: "slots-vanished", pollsUntilComplete: 0 });
    const { bindings, deliveries } = queuedBindings({ TARGET_CLIENT_CODE: "slots-vanished" });
    await consume(
      QUEUES.deliveries,
      [
        {
          body: bundleMessage([
            updateMessage("gone-1", { tier: "gold" }, Date.now(), "batch"),
            updateMessage("gone-2", { tier: "gold" }, Date.now(), "batch"),
          ]),
        },
      ],
      bindings,
    );
    const followUp = deliveries.sent.at(-1)?.body as FollowUpMessage;
    // Another tool of the account submits 10 batches: Target forgets the relay's batch status.
    const other = createTargetClient({ clientCode: "slots-vanished", token: TARGET_TOKEN });
    for (let index = 0; index < KEPT_BATCH_STATUSES; index++)
      for (const file of encodeBatches([{ mbox3rdPartyId: `other-${index}`, attributes: { tier: "x" } }]))
        await other.submitBatch(file);

    const settled = await consume(QUEUES.deliveries, [{ body: followUp }], bindings);

    expect(emulator.calls.filter(({ operation }) => operation === "batchStatus").map(({ status }) => status)).toEqual([
      404,
    ]);
    expect(settled.acked).toEqual(["msg-0"]);
    const requeued = deliveries.sent.at(-1)?.body as BundleMessage;
    expect(requeued.updates.map(({ mbox3rdPartyId, requeued: marked }) => [mbox3rdPartyId, marked]).sort()).toEqual([
      ["gone-1", true],
      ["gone-2", true],
    ]);
  });
});
