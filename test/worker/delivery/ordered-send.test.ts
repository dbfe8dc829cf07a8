import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DIRECT_LEASE_MS } from "../../../worker/delivery/ordered-send.js";
import type { BundleMessage, FollowUpMessage } from "../../../worker/delivery/queue-messages.js";
import { writesOf } from "../../../worker/delivery/writes.js";
import type { Env } from "../../../worker/env.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { admitDirectWrites, admitWrites, confirmWrites } from "../../../worker/objects/newest-writes-client.js";
import { capturedLogs, errorOf, fakeTarget, post } from "../helpers.js";
import { bundleMessage, consume, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

const newestWrites = env.NEWEST_WRITES as NonNullable<Env["NEWEST_WRITES"]>;
const writesOfMessage = (message: ReturnType<typeof updateMessage>) => {
  const { type: _, ...update } = message;
  return writesOf([update]);
};
/** An older write of the queues, admitted by the deliveries consumer and not yet confirmed: on its way to Target. */
async function onItsWay(mbox3rdPartyId: string, attributes: Record<string, string>) {
  const older = updateMessage(mbox3rdPartyId, attributes, Date.now() - 60_000, "batch");
  expect(await admitWrites(newestWrites, writesOfMessage(older))).toEqual(Object.keys(attributes).map(() => "send"));
  return older;
}
const operations = (emulator: ReturnType<typeof fakeTarget>["emulator"]) =>
  emulator.calls.map(({ operation }) => operation);

describe('direct sends, in order with the queues (RELAY_DELIVERY = "direct", queues bound)', () => {
  it("go at once when nothing older is on its way, and are confirmed: a later older write is dropped", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "o-1" });
    const { bindings, updates } = queuedBindings({ RELAY_DELIVERY: "direct" });

    const response = await handleRequest(post("/v1/profiles/o-1", { attributes: { tier: "direct" } }), bindings);
    const late = updateMessage("o-1", { tier: "older" }, Date.now() - 60_000, "batch");
    await consume(QUEUES.deliveries, [{ body: bundleMessage([late]) }], bindings);

    expect(response.status).toBe(202);
    expect(await response.json()).not.toHaveProperty("queued");
    expect(updates.sent).toEqual([]);
    expect(operations(emulator)).toEqual(["update"]);
    expect(emulator.getProfile({ thirdPartyId: "o-1" })?.attributes).toEqual({ tier: "direct" });
  });

  it("are queued after an older write still on its way through the queues, and sent nothing directly", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "o-2" });
    const { bindings, updates } = queuedBindings({ RELAY_DELIVERY: "direct" });
    const older = await onItsWay("o-2", { tier: "older" });

    const response = await handleRequest(post("/v1/profiles/o-2", { attributes: { tier: "newer" } }), bindings);

    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ queued: 1 });
    expect(emulator.calls).toEqual([]);
    expect(updates.sent).toHaveLength(1);

    // Once the older one landed, the next write goes at once again.
    await confirmWrites(newestWrites, writesOfMessage(older));
    const next = await handleRequest(post("/v1/profiles/o-2", { attributes: { tier: "newest" } }), bindings);
    expect(await next.json()).not.toHaveProperty("queued");
    expect(operations(emulator)).toEqual(["update"]);
  });

  it("queue a batch request after older writes of its visitors still on their way", async () => {
    const { emulator } = fakeTarget();
    const { bindings, deliveries } = queuedBindings({ RELAY_DELIVERY: "direct" });
    await onItsWay("o-3", { tier: "older" });

    const response = await handleRequest(
      post("/v1/profiles", {
        updates: [
          { mbox3rdPartyId: "o-3", attributes: { tier: "newer" } },
          { mbox3rdPartyId: "o-4", attributes: { tier: "gold" } },
        ],
      }),
      bindings,
    );

    expect(await response.json()).toMatchObject({ rows: 2, queued: 2 });
    expect(emulator.calls).toEqual([]);
    expect(deliveries.sent).toHaveLength(1);
  });

  it("answer 502 when Target fails, and release their admission: older queued writes are not held back for them", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "o-5" });
    emulator.injectFaults({ status: 503, times: 3 });
    const { bindings, updates } = queuedBindings({ RELAY_DELIVERY: "direct" });

    await capturedLogs(async () => {
      const response = await handleRequest(post("/v1/profiles/o-5", { attributes: { tier: "failed" } }), bindings);
      expect(response.status).toBe(502);
      expect((await errorOf(response)).code).toBe("upstream_failed");
    });
    const older = updateMessage("o-5", { tier: "older" }, Date.now() - 60_000, "batch");
    const settled = await consume(QUEUES.deliveries, [{ body: bundleMessage([older]) }], bindings);

    expect(updates.sent).toEqual([]);
    expect(settled.acked).toEqual(["msg-0"]);
    expect(emulator.getProfile({ thirdPartyId: "o-5" })?.attributes).toEqual({ tier: "older" });
  });
});

describe("a direct send's lease", () => {
  it("holds back newer queued writes of its attributes until it is confirmed", async () => {
    const { emulator } = fakeTarget();
    const { bindings } = queuedBindings();
    const sending = updateMessage("o-6", { tier: "sending" }, Date.now() - 1_000);
    expect(await admitDirectWrites(newestWrites, writesOfMessage(sending), Date.now() + DIRECT_LEASE_MS)).toBe(true);
    const newer = bundleMessage([updateMessage("o-6", { tier: "newer" }, Date.now(), "batch")]);

    const held = await consume(QUEUES.deliveries, [{ body: newer }], bindings);
    await confirmWrites(newestWrites, writesOfMessage(sending));
    const released = await consume(QUEUES.deliveries, [{ body: newer }], bindings);

    expect([...held.retried.keys()]).toEqual(["msg-0"]);
    expect(released.acked).toEqual(["msg-0"]);
    expect(operations(emulator)).toEqual(["batchUpdate"]);
    expect(emulator.getProfile({ thirdPartyId: "o-6" })?.attributes).toEqual({ tier: "newer" });
  });

  it("refuses a second direct send of the same attributes while the first is under way", async () => {
    const first = updateMessage("o-7", { tier: "first" }, Date.now() - 1_000);
    const second = updateMessage("o-7", { tier: "second" }, Date.now());

    expect(await admitDirectWrites(newestWrites, writesOfMessage(first), Date.now() + DIRECT_LEASE_MS)).toBe(true);
    expect(await admitDirectWrites(newestWrites, writesOfMessage(second), Date.now() + DIRECT_LEASE_MS)).toBe(false);
    await confirmWrites(newestWrites, writesOfMessage(first));
    expect(await admitDirectWrites(newestWrites, writesOfMessage(second), Date.now() + DIRECT_LEASE_MS)).toBe(true);
  });
});

describe("a direct send's lease, once over", () => {
  it("is taken back when it lapsed unconfirmed (its request died): older writes are not held back for ever", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "o-8" });
    const { bindings } = queuedBindings();
    const died = updateMessage("o-8", { tier: "died" }, Date.now() - 1_000);
    expect(await admitDirectWrites(newestWrites, writesOfMessage(died), Date.now() + 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const older = bundleMessage([updateMessage("o-8", { tier: "older" }, Date.now() - 60_000, "batch")]);

    const settled = await consume(QUEUES.deliveries, [{ body: older }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    expect(emulator.getProfile({ thirdPartyId: "o-8" })?.attributes).toEqual({ tier: "older" });
  });

  it("is given up when the send is confirmed: newer writes of one bundle do not wait for each other", async () => {
    const { emulator } = fakeTarget();
    emulator.seedProfile({ thirdPartyId: "o-9" });
    const { bindings } = queuedBindings({ RELAY_DELIVERY: "direct" });
    await handleRequest(post("/v1/profiles/o-9", { attributes: { tier: "direct" } }), bindings);
    const newer = bundleMessage([
      updateMessage("o-9", { tier: "newer" }, Date.now() + 1, "batch"),
      updateMessage("o-9", { tier: "newest" }, Date.now() + 2, "batch"),
    ]);

    const settled = await consume(QUEUES.deliveries, [{ body: newer }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    expect(emulator.getProfile({ thirdPartyId: "o-9" })?.attributes).toEqual({ tier: "newest" });
  });
});

describe("a direct batch, with the queues bound", () => {
  it("is followed up like a queued one: the rows Target fails are queued again", async () => {
    const { emulator } = fakeTarget({ pollsUntilComplete: 0 });
    emulator.failRows(["o-11"]);
    const { bindings, deliveries } = queuedBindings({ RELAY_DELIVERY: "direct" });

    const response = await handleRequest(
      post("/v1/profiles", {
        updates: [
          { mbox3rdPartyId: "o-10", attributes: { tier: "gold" } },
          { mbox3rdPartyId: "o-11", attributes: { tier: "silver" } },
        ],
      }),
      bindings,
    );
    const { batchId } = (await response.json()) as { batchId: string };
    const followUp = deliveries.sent.at(-1)?.body as FollowUpMessage;
    await consume(QUEUES.deliveries, [{ body: followUp }], bindings);

    expect(followUp).toMatchObject({ type: "follow-up", batchId, checks: 0 });
    const requeued = deliveries.sent.at(-1)?.body as BundleMessage;
    expect(
      requeued.updates.map(({ mbox3rdPartyId, attributes, requeued: marked }) => ({
        mbox3rdPartyId,
        attributes,
        marked,
      })),
    ).toEqual([{ mbox3rdPartyId: "o-11", attributes: { tier: "silver" }, marked: true }]);
  });
});
