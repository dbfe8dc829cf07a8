import { describe, expect, it } from "vitest";
import type { QueueMessage } from "../../../worker/delivery/queue-messages.js";
import type { Env } from "../../../worker/env.js";
import { handleRequest } from "../../../worker/http/handle-request.js";
import { envWith, fakeTarget, post } from "../helpers.js";
import { consume, QUEUES, queuedBindings } from "../queue-helpers.js";

// Whether a write creates a profile Target does not have yet follows one rule per route and delivery mode
// (docs/relay.md), whatever else is in flight: the batch route always creates (v2 batches); the single
// route never does in direct, queue and auto (single updates, or v1 batch files when queued).
type Mode = "direct, without queues" | "direct" | "queue" | "auto";
const MODES: readonly Mode[] = ["direct, without queues", "direct", "queue", "auto"];

/** The relay in `mode` for a Target account of its own, and a way to run its queues to the end. */
function relay(mode: Mode, clientCode: string) {
  const { emulator } = fakeTarget({ clientCode, pollsUntilComplete: 0 });
  if (mode === "direct, without queues") {
    const bindings = envWith({ TARGET_CLIENT_CODE: clientCode, UPDATES_QUEUE: undefined });
    return { emulator, bindings, drain: async () => {} };
  }
  const { bindings, updates, deliveries } = queuedBindings({
    TARGET_CLIENT_CODE: clientCode,
    RELAY_DELIVERY: mode,
    // Auto sends at once while under its share: a share of 1 a day keeps the first direct, queues the rest.
    RELAY_SINGLE_UPDATE_SHARE: String(1 / 1_000_000),
  });
  /** Everything queued so far, through both consumers: single updates gathered, bundles delivered together. */
  const drain = async () => {
    const gathered = updates.sent.splice(0);
    if (gathered.length > 0) await consume(QUEUES.updates, gathered, bindings as Env);
    const bundles = deliveries.sent.splice(0).filter(({ body }) => (body as QueueMessage).type === "bundle");
    if (bundles.length > 0) await consume(QUEUES.deliveries, bundles, bindings as Env);
  };
  return { emulator, bindings, drain };
}

const singleWrite = (id: string) => post(`/v1/profiles/${id}`, { attributes: { tier: "gold" } });
const batchWrite = (...ids: string[]) =>
  post("/v1/profiles", { updates: ids.map((id) => ({ mbox3rdPartyId: id, attributes: { tier: "silver" } })) });

describe.each(MODES)("RELAY_DELIVERY %s", (mode) => {
  const code = (name: string) => `pc-${mode.replace(/\W+/g, "-")}-${name}`;
  // Visitors of this mode's own: the relay keeps what it knows of a visitor (its versions, its creation)
  // whatever the Target account.
  const single = (id: string) => singleWrite(code(id));
  const batch = (...ids: string[]) => batchWrite(...ids.map(code));
  const profile = (emulator: ReturnType<typeof fakeTarget>["emulator"], id: string) =>
    emulator.getProfile({ thirdPartyId: code(id) });

  it("a single-route write for an unknown visitor, alone, creates no profile", async () => {
    const { emulator, bindings, drain } = relay(mode, code("alone"));

    expect((await handleRequest(single("unknown-1"), bindings)).status).toBe(202);
    await drain();

    expect(profile(emulator, "unknown-1")).toBeUndefined();
  });

  it("a single-route write for an unknown visitor, amid other writes, creates no profile; theirs are created", async () => {
    const { emulator, bindings, drain } = relay(mode, code("amid"));
    emulator.seedProfile({ thirdPartyId: code("known-1") });

    const statuses = [];
    statuses.push((await handleRequest(batch("new-1", "new-2"), bindings)).status);
    statuses.push((await handleRequest(single("known-1"), bindings)).status);
    statuses.push((await handleRequest(single("unknown-2"), bindings)).status);
    statuses.push((await handleRequest(batch("new-3"), bindings)).status);
    statuses.push((await handleRequest(single("unknown-3"), bindings)).status);
    await drain();

    expect(statuses).toEqual([202, 202, 202, 202, 202]);
    expect(profile(emulator, "unknown-2")).toBeUndefined();
    expect(profile(emulator, "unknown-3")).toBeUndefined();
    expect(profile(emulator, "known-1")?.attributes).toEqual({ tier: "gold" });
    for (const id of ["new-1", "new-2", "new-3"]) expect(profile(emulator, id)?.attributes).toEqual({ tier: "silver" });
  });

  it("a batch-route write creates its visitor even when a newer single-route write of the same attribute follows at once", async () => {
    const { emulator, bindings, drain } = relay(mode, code("mixed"));

    await handleRequest(batch("new-4"), bindings);
    // Sent at once (direct, or auto under its share), it would reach Target first, update-only: it waits
    // for the batch write's v2 file instead, or goes in it.
    await handleRequest(single("new-4"), bindings);
    await drain();

    expect(profile(emulator, "new-4")?.attributes).toEqual({ tier: "gold" });
  });
});

describe("a batch-route write overtaken in the queue", () => {
  it("still creates its visitor when a newer single-route write of the same attribute is delivered first", async () => {
    const { emulator } = fakeTarget({ clientCode: "pc-overtaken", pollsUntilComplete: 0 });
    const { bindings, updates, deliveries } = queuedBindings({ TARGET_CLIENT_CODE: "pc-overtaken" });

    await handleRequest(batchWrite("new-5"), bindings);
    await handleRequest(singleWrite("new-5"), bindings);
    // The queues deliver out of order: the newer single-route write first, on its own.
    const [olderBatch] = deliveries.sent.splice(0);
    await consume(QUEUES.updates, updates.sent.splice(0), bindings);
    await consume(QUEUES.deliveries, deliveries.sent.splice(0), bindings);
    await consume(QUEUES.deliveries, [olderBatch as { body: unknown }], bindings);

    expect(emulator.getProfile({ thirdPartyId: "new-5" })?.attributes).toEqual({ tier: "gold" });
  });
});
