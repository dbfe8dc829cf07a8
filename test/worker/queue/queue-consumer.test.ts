import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BundleMessage, FollowUpMessage } from "../../../worker/delivery/queue-messages.js";
import { FIRST_CHECK_SECONDS } from "../../../worker/delivery/schedule-follow-up.js";
import type { Env } from "../../../worker/env.js";
import { ledgerOf } from "../../../worker/objects/batch-ledger.js";
import { capturedLogs, fakeTarget } from "../helpers.js";
import { bundleMessage, consume, deadLetters, QUEUES, queuedBindings, updateMessage } from "../queue-helpers.js";

const ledgers = env.BATCH_LEDGERS as NonNullable<Env["BATCH_LEDGERS"]>;
const now = () => Date.now();

describe("the updates queue's consumer", () => {
  it("packs the updates into a bundle on the deliveries queue, and acks each once it is queued", async () => {
    const { bindings, deliveries } = queuedBindings();
    const messages = [
      updateMessage("g-1", { tier: "gold" }, now()),
      updateMessage("g-2", { ltv: 3 }, now()),
      updateMessage("g-1", { city: "Lyon" }, now()),
    ];

    const settled = await consume(
      QUEUES.updates,
      messages.map((body) => ({ body })),
      bindings,
    );

    expect(settled).toEqual({ acked: ["msg-0", "msg-1", "msg-2"], retried: new Map(), unsettled: [] });
    expect(deliveries.sent).toHaveLength(1);
    const [{ body, delaySeconds }] = deliveries.sent as [{ body: BundleMessage; delaySeconds: number }];
    expect(delaySeconds).toBe(0);
    expect(body.type).toBe("bundle");
    expect(body.updates).toEqual(messages.map(({ type: _, ...update }) => update));
  });

  it("retries every message with backoff, and notes why, when the deliveries queue fails", async () => {
    const { bindings, deliveries } = queuedBindings();
    deliveries.fail();
    const messages = [updateMessage("g-3", { tier: "gold" }, now()), updateMessage("g-4", { tier: "silver" }, now())];

    const settled = await consume(
      QUEUES.updates,
      [
        { body: messages[0], attempts: 1 },
        { body: messages[1], attempts: 3 },
      ],
      bindings,
    );

    expect(settled.acked).toEqual([]);
    // Equal jitter: attempt 1 waits 5–10 s, attempt 3 waits 20–40 s.
    expect(settled.retried.get("msg-0")).toBeGreaterThanOrEqual(5);
    expect(settled.retried.get("msg-0")).toBeLessThanOrEqual(10);
    expect(settled.retried.get("msg-1")).toBeGreaterThanOrEqual(20);
    expect(settled.retried.get("msg-1")).toBeLessThanOrEqual(40);
    expect(await deadLetters().failureReasons(messages.map(({ id }) => id))).toEqual(
      Object.fromEntries(messages.map(({ id }) => [id, "queue_unavailable"])),
    );
  });

  it("retries bodies that are not the relay's, never acking them (they reach the dead-letter queues, not the void)", async () => {
    const { bindings, deliveries } = queuedBindings();
    const good = updateMessage("g-5", { tier: "gold" }, now());

    const lines = await capturedLogs(async () => {
      const settled = await consume(
        QUEUES.updates,
        [{ body: "not json of ours" }, { body: { type: "update", id: "x" } }, { body: good }],
        bindings,
      );
      expect(settled.acked).toEqual(["msg-2"]);
      expect([...settled.retried.keys()]).toEqual(["msg-0", "msg-1"]);
    });

    expect(deliveries.sent).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      queue: QUEUES.updates,
      messages: 3,
      acked: 1,
      retried: 2,
      invalid: 2,
    });
  });
});

describe("the deliveries queue's consumer", () => {
  it("coalesces the bundles per visitor into one batch, acks them once Target accepted it, and follows the batch up", async () => {
    const { emulator } = fakeTarget();
    const { bindings, deliveries } = queuedBindings();
    // Single-route writes go in a v1 file, which updates existing profiles only.
    for (const id of ["d-1", "d-2", "d-3"]) emulator.seedProfile({ thirdPartyId: id });
    const t = now();
    const first = bundleMessage([
      updateMessage("d-1", { tier: "silver", ltv: 1 }, t),
      updateMessage("d-2", { tier: "gold" }, t + 1),
    ]);
    const second = bundleMessage([
      updateMessage("d-1", { tier: "gold" }, t + 2),
      updateMessage("d-3", { city: "Lyon" }, t + 3),
    ]);

    const settled = await consume(QUEUES.deliveries, [{ body: second }, { body: first }], bindings);

    expect(settled).toEqual({ acked: ["msg-0", "msg-1"], retried: new Map(), unsettled: [] });
    expect(emulator.calls.map(({ operation }) => operation)).toEqual(["batchUpdate"]);
    expect(emulator.getProfile({ thirdPartyId: "d-1" })?.attributes).toEqual({ tier: "gold", ltv: "1" });
    expect(emulator.getProfile({ thirdPartyId: "d-3" })?.attributes).toEqual({ city: "Lyon" });

    const [{ body: followUp, delaySeconds }] = deliveries.sent as [{ body: FollowUpMessage; delaySeconds: number }];
    expect(followUp).toMatchObject({ type: "follow-up", checks: 0 });
    expect(delaySeconds).toBe(FIRST_CHECK_SECONDS);
    // The ledger keeps what went out, newest write per attribute, for the follow-up.
    const ledger = await ledgerOf(ledgers, followUp.batchId).read();
    expect(ledger.map(({ mbox3rdPartyId, attributes }) => JSON.stringify([mbox3rdPartyId, attributes])).sort()).toEqual(
      ['["d-1",{"ltv":1}]', '["d-1",{"tier":"gold"}]', '["d-2",{"tier":"gold"}]', '["d-3",{"city":"Lyon"}]'],
    );
  });

  it("drops a write older than the one on record, and acks it: a late redelivery cannot overwrite newer data", async () => {
    const { emulator } = fakeTarget();
    const { bindings } = queuedBindings();
    const t = now();
    const newer = bundleMessage([updateMessage("d-4", { tier: "gold" }, t + 10, "batch")]);
    const older = bundleMessage([
      updateMessage("d-4", { tier: "bronze", ltv: 7 }, t, "batch"),
      updateMessage("d-5", { tier: "silver" }, t, "batch"),
    ]);

    await consume(
      QUEUES.deliveries,
      [{ body: newer }, { body: bundleMessage([updateMessage("d-5", { city: "Oslo" }, t, "batch")]) }],
      bindings,
    );
    const lines = await capturedLogs(async () => {
      expect((await consume(QUEUES.deliveries, [{ body: older }], bindings)).acked).toEqual(["msg-0"]);
    });

    expect(emulator.getProfile({ thirdPartyId: "d-4" })?.attributes).toEqual({ tier: "gold", ltv: "7" });
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      updates: 2,
      superseded: 1,
      waiting: 0,
      rows: 2,
      via: "bulk",
      acked: 1,
    });
  });

  it("retries every bundle with backoff on its attempts when Target fails, and the same bundle goes through on its retry", async () => {
    const { emulator } = fakeTarget();
    const { bindings } = queuedBindings();
    for (const id of ["d-6", "d-7", "d-8"]) emulator.seedProfile({ thirdPartyId: id });
    const bundle = bundleMessage([
      updateMessage("d-6", { tier: "gold" }, now()),
      updateMessage("d-7", { tier: "gold" }, now()),
      updateMessage("d-8", { tier: "gold" }, now()),
    ]);
    emulator.injectFaults({ status: 503 });

    const failed = await consume(QUEUES.deliveries, [{ body: bundle, attempts: 4 }], bindings);
    const retried = await consume(QUEUES.deliveries, [{ body: bundle, attempts: 5 }], bindings);

    // Attempt 4 waits 40–80 s; its admitted versions did not block its own retry (≥, not >).
    expect(failed.acked).toEqual([]);
    expect(failed.retried.get("msg-0")).toBeGreaterThanOrEqual(40);
    expect(failed.retried.get("msg-0")).toBeLessThanOrEqual(80);
    expect(await deadLetters().failureReasons([bundle.id])).toEqual({ [bundle.id]: "TargetHttpError 503" });
    expect(retried.acked).toEqual(["msg-0"]);
    expect(emulator.getProfile({ thirdPartyId: "d-8" })?.attributes).toEqual({ tier: "gold" });
  });

  it("sends single updates instead for one or two visitors whose writes came through the single-update route", async () => {
    const { emulator } = fakeTarget();
    const { bindings } = queuedBindings();
    for (const id of ["d-9", "d-10", "d-11"]) emulator.seedProfile({ thirdPartyId: id });
    const t = now();

    await consume(
      QUEUES.deliveries,
      [
        {
          body: bundleMessage([updateMessage("d-9", { tier: "gold" }, t), updateMessage("d-10", { tier: "gold" }, t)]),
        },
      ],
      bindings,
    );
    const singles = emulator.calls.map(({ operation }) => operation);
    await consume(
      QUEUES.deliveries,
      [{ body: bundleMessage([updateMessage("d-11", { tier: "gold" }, t, "batch")]) }],
      bindings,
    );

    expect(singles).toEqual(["update", "update"]);
    expect(emulator.calls.at(-1)?.operation).toBe("batchUpdate");
    expect(emulator.getProfile({ thirdPartyId: "d-10" })?.attributes).toEqual({ tier: "gold" });
  });

  it("keeps a malformed update in a bundle from failing the others", async () => {
    const { emulator } = fakeTarget();
    const { bindings } = queuedBindings();
    const bundle = bundleMessage([
      updateMessage("d-12", { tier: "gold" }, now(), "batch"),
      updateMessage("d-13", { tier: "gold" }, now(), "batch"),
      updateMessage("d-14", { tier: "gold" }, now(), "batch"),
    ]);
    (bundle.updates as unknown[]).push({ id: "broken", mbox3rdPartyId: "d/15", attributes: { tier: "" } });

    const settled = await consume(QUEUES.deliveries, [{ body: bundle }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    expect(
      emulator
        .profiles()
        .map(({ thirdPartyId }) => thirdPartyId)
        .sort(),
    ).toEqual(["d-12", "d-13", "d-14"]);
  });
});

describe("batch follow-ups", () => {
  /** A batch submitted by the consumer (Target failing the `failing` rows), and its follow-up message. */
  async function submitted(updates: readonly ReturnType<typeof updateMessage>[], failing: readonly string[] = []) {
    const target = fakeTarget({ pollsUntilComplete: 0 });
    target.emulator.failRows(failing);
    const queues = queuedBindings();
    await consume(QUEUES.deliveries, [{ body: bundleMessage(updates) }], queues.bindings);
    const followUp = queues.deliveries.sent.at(-1)?.body as FollowUpMessage;
    return { ...target, ...queues, followUp };
  }
  const gold = (...ids: string[]) =>
    ids.map((id, index) => updateMessage(id, { tier: `gold-${index}` }, now(), "batch"));

  it("queues the updates of the rows Target failed once more, marked, and forgets the batch", async () => {
    const { bindings, deliveries, followUp } = await submitted(gold("f-1", "f-2", "f-3"), ["f-2"]);

    const settled = await consume(QUEUES.deliveries, [{ body: followUp }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    const requeued = deliveries.sent.at(-1)?.body as BundleMessage;
    expect(requeued.type).toBe("bundle");
    expect(
      requeued.updates.map(({ mbox3rdPartyId, attributes, requeued: marked }) => ({
        mbox3rdPartyId,
        attributes,
        marked,
      })),
    ).toEqual([{ mbox3rdPartyId: "f-2", attributes: { tier: "gold-1" }, marked: true }]);
    expect(await ledgerOf(ledgers, followUp.batchId).read()).toEqual([]);
  });

  it("dead-letters a row that fails again after its one re-enqueue, with the reason", async () => {
    const [requeued] = gold("f-5").map((update) => ({ ...update, requeued: true as const }));
    const { type: _, ...update } = requeued as NonNullable<typeof requeued>;
    const { bindings, deliveries, followUp } = await submitted([requeued as NonNullable<typeof requeued>], ["f-5"]);
    const sent = deliveries.sent.length;

    const settled = await consume(QUEUES.deliveries, [{ body: followUp }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    expect(deliveries.sent).toHaveLength(sent);
    const summary = await deadLetters().summary();
    expect(summary.reasons.find(({ reason }) => reason === "row_failed")?.count).toBe(1);
    expect(await deadLetters().peek(10, "row_failed")).toEqual([update]);
  });

  it("checks again later, with a longer delay, while the batch is incomplete", async () => {
    const { emulator, bindings, deliveries, followUp } = await submitted(gold("f-6"));
    emulator.injectFaults({
      status: 200,
      body: `<response><batchId>${followUp.batchId}</batchId><status>incomplete</status></response>`,
      operations: ["batchStatus"],
    });

    const settled = await consume(QUEUES.deliveries, [{ body: followUp }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    expect(deliveries.sent.at(-1)).toEqual({ body: { ...followUp, checks: 1 }, delaySeconds: 2 * FIRST_CHECK_SECONDS });
    expect(await ledgerOf(ledgers, followUp.batchId).read()).toHaveLength(1);
  });

  it("counts every row as failed when Target counts more failed rows than it lists", async () => {
    const { emulator, bindings, deliveries, followUp } = await submitted(gold("f-9", "f-10"));
    emulator.injectFaults({
      status: 200,
      body: `<response><batchId>${followUp.batchId}</batchId><status>complete</status><batchSize>2</batchSize><failedUpdates>1</failedUpdates></response>`,
      operations: ["batchStatus"],
    });

    await consume(QUEUES.deliveries, [{ body: followUp }], bindings);

    const requeued = deliveries.sent.at(-1)?.body as BundleMessage;
    expect(requeued.updates.map(({ mbox3rdPartyId }) => mbox3rdPartyId).sort()).toEqual(["f-10", "f-9"]);
  });

  it("counts every row as failed when the batch is stuck", async () => {
    const { emulator, bindings, deliveries, followUp } = await submitted(gold("f-7", "f-8"));
    emulator.injectFaults({
      status: 200,
      body: `<response><batchId>${followUp.batchId}</batchId><status>stuck</status></response>`,
      operations: ["batchStatus"],
    });

    await consume(QUEUES.deliveries, [{ body: followUp }], bindings);

    const requeued = deliveries.sent.at(-1)?.body as BundleMessage;
    expect(requeued.updates.map(({ mbox3rdPartyId }) => mbox3rdPartyId).sort()).toEqual(["f-7", "f-8"]);
  });
});

describe("the dead-letter queue's consumer", () => {
  it("keeps every update of what the queues gave up on, with the last reason noted, and acks", async () => {
    const { bindings } = queuedBindings();
    const single = updateMessage("x-1", { tier: "gold" }, now());
    const bundle = bundleMessage([
      updateMessage("x-2", { tier: "gold" }, now()),
      updateMessage("x-3", { tier: "gold" }, now()),
    ]);
    await deadLetters().noteFailures([bundle.id], "TargetHttpError 401", now());
    const before = (await deadLetters().summary()).total;

    const settled = await consume(QUEUES.deadLetters, [{ body: single }, { body: bundle }], bindings);

    expect(settled.acked).toEqual(["msg-0", "msg-1"]);
    const summary = await deadLetters().summary();
    expect(summary.total - before).toBe(3);
    expect(summary.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: "TargetHttpError 401", count: 2 }),
        expect.objectContaining({ reason: "unknown", count: 1 }),
      ]),
    );
    // The notes are settled with them.
    expect(await deadLetters().failureReasons([bundle.id])).toEqual({});
  });
});

describe("the dead-letter queue's consumer, with the rest of the configuration broken", () => {
  it("still keeps what it is given: it needs only its stores", async () => {
    const { bindings } = queuedBindings({ RELAY_KEYS: "not json", TARGET_TOKEN: undefined });
    const single = updateMessage("x-8", { tier: "gold" }, now());
    const before = (await deadLetters().summary()).total;

    const settled = await consume(QUEUES.deadLetters, [{ body: single }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    expect((await deadLetters().summary()).total - before).toBe(1);
  });

  it("while the other queues wait for a fixed configuration", async () => {
    const { bindings } = queuedBindings({ RELAY_KEYS: "not json" });

    const settled = await consume(
      QUEUES.deliveries,
      [{ body: bundleMessage([updateMessage("x-9", { tier: "gold" }, now())]) }],
      bindings,
    );

    expect(settled.acked).toEqual([]);
    expect([...settled.retried.keys()]).toEqual(["msg-0"]);
  });
});

describe("the dead-letter queue's consumer, for a follow-up that gave up", () => {
  it("keeps the updates of its batch's ledger, and forgets the ledger", async () => {
    const { bindings } = queuedBindings();
    const [first, second] = [
      updateMessage("x-4", { tier: "gold" }, now()),
      updateMessage("x-5", { tier: "gold" }, now()),
    ].map(({ type: _, ...update }) => update);
    const ledger = ledgerOf(ledgers, "acme-1-ledgered");
    await ledger.record([first, second] as NonNullable<typeof first>[]);
    const followUp: FollowUpMessage = {
      type: "follow-up",
      batchId: "acme-1-ledgered",
      statusUrl: "https://mboxedge45.tt.omtrdc.net/m2/acme/v2/profile/batchStatus?batchId=acme-1-ledgered",
      checks: 3,
    };
    await deadLetters().noteFailures(["batch:acme-1-ledgered"], "TargetHttpError 500", now());

    const settled = await consume(QUEUES.deadLetters, [{ body: followUp }], bindings);

    expect(settled.acked).toEqual(["msg-0"]);
    expect(await deadLetters().peek(10, "TargetHttpError 500")).toEqual([first, second]);
    expect(await ledger.read()).toEqual([]);
  });

  it("takes back their confirmations, so that a replay sends them again", async () => {
    const target = fakeTarget({ pollsUntilComplete: 0 });
    const queues = queuedBindings();
    const written = updateMessage("x-7", { tier: "lost" }, now(), "batch");
    await consume(QUEUES.deliveries, [{ body: bundleMessage([written]) }], queues.bindings);
    const followUp = queues.deliveries.sent.at(-1)?.body as FollowUpMessage;
    // The batch never landed after all, and its follow-up gave up.
    target.emulator.reset();
    await deadLetters().noteFailures([`batch:${followUp.batchId}`], "reason-retracted", now());
    await consume(QUEUES.deadLetters, [{ body: followUp }], queues.bindings);
    const [kept] = await deadLetters().peek(10, "reason-retracted");
    const calls = target.emulator.calls.length;

    // Replayed: delivered again, not dropped as already delivered.
    await consume(
      QUEUES.deliveries,
      [{ body: bundleMessage([{ type: "update", ...(kept as NonNullable<typeof kept>) }]) }],
      queues.bindings,
    );

    expect(target.emulator.calls.slice(calls).map(({ operation }) => operation)).toEqual(["batchUpdate"]);
  });

  it("merges parts of one update kept at different times", async () => {
    const { type: _, ...update } = updateMessage("x-6", { tier: "gold", ltv: 3 }, now());

    await deadLetters().keep([{ update: { ...update, attributes: { tier: "gold" } }, reason: "reason-merged" }], now());
    await deadLetters().keep([{ update: { ...update, attributes: { ltv: 3 } }, reason: "reason-merged" }], now());

    expect(await deadLetters().peek(10, "reason-merged")).toEqual([update]);
  });
});

describe("queue logs", () => {
  it("never hold an id, an attribute value or a batch id", async () => {
    const CANARY_ID = "canary-queued-id-5e21";
    const CANARY_VALUE = "canary-queued-value-9c04";
    const { emulator } = fakeTarget({ pollsUntilComplete: 0 });
    const { bindings, deliveries } = queuedBindings();
    const canary = () => updateMessage(CANARY_ID, { tier: CANARY_VALUE }, now(), "batch");
    let batchId = "";

    const lines = await capturedLogs(async () => {
      await consume(QUEUES.updates, [{ body: canary() }], bindings);
      await consume(QUEUES.deliveries, [{ body: deliveries.sent[0]?.body }], bindings);
      const followUp = deliveries.sent.at(-1)?.body as FollowUpMessage;
      batchId = followUp.batchId;
      emulator.injectFaults({ status: 503, times: 1 });
      await consume(QUEUES.deliveries, [{ body: followUp }], bindings);
      await consume(QUEUES.deliveries, [{ body: bundleMessage([canary()]) }], bindings);
      emulator.injectFaults({
        status: 200,
        body: `<response><success>false</success><message>${CANARY_ID} ${CANARY_VALUE}</message></response>`,
      });
      await consume(QUEUES.deliveries, [{ body: bundleMessage([canary()]) }], bindings);
      await consume(QUEUES.deadLetters, [{ body: bundleMessage([canary()]) }], bindings);
    });

    expect(emulator.getProfile({ thirdPartyId: CANARY_ID })?.attributes).toEqual({ tier: CANARY_VALUE });
    expect(batchId).toMatch(/^acme-/);
    expect(lines).toHaveLength(6);
    for (const line of lines) {
      for (const secret of [CANARY_ID, CANARY_VALUE, batchId]) expect(line).not.toContain(secret);
    }
    expect(lines.map((line) => JSON.parse(line).error).filter(Boolean)).toContain("TargetRejectedError");
  });
});
