import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../../worker/env.js";
import { LEDGER_RETENTION_MS, ledgerOf } from "../../../worker/objects/batch-ledger.js";
import { updateMessage } from "../queue-helpers.js";

const ledgers = env.BATCH_LEDGERS as NonNullable<Env["BATCH_LEDGERS"]>;

describe("a batch ledger", () => {
  it("is deleted by its alarm 15 days after it was first written, should no follow-up ever read it", async () => {
    const ledger = ledgerOf(ledgers, "acme-orphaned");
    const { type: _, ...update } = updateMessage("l-1", { tier: "gold" }, Date.now());
    const before = Date.now();

    await ledger.record([update]);
    const alarm = await runInDurableObject(ledger, (_instance, state) => state.storage.getAlarm());

    expect(alarm).toBeGreaterThanOrEqual(before + LEDGER_RETENTION_MS);
    expect(alarm).toBeLessThanOrEqual(Date.now() + LEDGER_RETENTION_MS);
    expect(await ledger.read()).toEqual([update]);
    expect(await runDurableObjectAlarm(ledger)).toBe(true);
    expect(await ledger.read()).toEqual([]);
  });

  it("drops its alarm when forgotten", async () => {
    const ledger = ledgerOf(ledgers, "acme-forgotten");
    const { type: _, ...update } = updateMessage("l-2", { tier: "gold" }, Date.now());

    await ledger.record([update]);
    await ledger.forget();

    expect(await runInDurableObject(ledger, (_instance, state) => state.storage.getAlarm())).toBeNull();
  });
});
